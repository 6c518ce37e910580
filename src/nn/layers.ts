// torch.nn layers on the graph: each declares its weights under the module's checkpoint path
// (`<path>.weight`, `<path>.bias`) with the shape PyTorch stores, and applies the op. Linear and
// conv layers also add the LoRA branches a LoRA plan gives their module (lora.ts); convs take their
// padding mode from the build (withConvPaddingMode: seamless tiling).

import type { Value } from '../graph/graph.js';
import { Module } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { type Conv2dOptions, convParams } from '../graph/ops/index.js';
import { addConvLora, addLinearLora } from './lora.js';

/** nn.Linear(inFeatures, outFeatures): x [..., in] → [..., out]; weight [out, in]. */
export function linear(m: Module, x: Value, inFeatures: number, outFeatures: number, options: { bias?: boolean; origin?: string } = {}): Value {
  return m.build(() => {
    const w = m.weight('weight', [outFeatures, inFeatures], options.origin);
    const b = options.bias === false ? undefined : m.weight('bias', [outFeatures], options.origin);
    return addLinearLora(m, x, op.linear(x, w, b));
  });
}

/**
 * torch's Conv2d `padding_mode` for the convs being built: 'zeros' (the default), or 'circular' —
 * seamless tiling, as AUTOMATIC1111's `tiling` sets every Conv2d of the UNet and the VAE to it, so
 * the image's left edge continues its right edge and its top continues its bottom.
 */
export type ConvPaddingMode = 'zeros' | 'circular';

let currentPaddingMode: ConvPaddingMode = 'zeros';

/** Builds with `mode` as every conv's padding mode (graph building is synchronous, so it cannot leak). */
export function withConvPaddingMode<T>(mode: ConvPaddingMode, build: () => T): T {
  const before = currentPaddingMode;
  currentPaddingMode = mode;
  try {
    return build();
  } finally {
    currentPaddingMode = before;
  }
}

/** Builds with circular conv padding when `tiling` is on (seamless tiling), zeros otherwise. */
export function withTiling<T>(tiling: boolean | undefined, build: () => T): T {
  return withConvPaddingMode(tiling ? 'circular' : 'zeros', build);
}

export interface Conv2dLayerOptions extends Conv2dOptions {
  bias?: boolean;
  origin?: string;
  /**
   * 'zeros' where `padding` stands for an explicit F.pad(…, mode="constant") before a padding-0
   * conv (the VAE encoder's right/bottom pad), which tiling leaves alone; default: the build's mode.
   */
  paddingMode?: ConvPaddingMode;
}

/**
 * nn.Conv2d(inChannels, outChannels, kernel): weight [out, in/groups, k, k]. With padding mode
 * 'circular' the input is padded by wrapping around (op.padCircular) and convolved without
 * padding, as torch does; a LoCon branch convolves the same wrapped input.
 */
export function conv2d(m: Module, x: Value, inChannels: number, outChannels: number, kernel: number, options: Conv2dLayerOptions = {}): Value {
  return m.build(() => {
    const groups = options.groups ?? 1;
    const w = m.weight('weight', [outChannels, inChannels / groups, kernel, kernel], options.origin);
    const b = options.bias === false ? undefined : m.weight('bias', [outChannels], options.origin);
    const [top, left, bottom, right] = convParams(options).pads;
    if ((options.paddingMode ?? currentPaddingMode) === 'circular' && top + left + bottom + right > 0) {
      const wrapped = op.padCircular(x, [[0, 0], [0, 0], [top, bottom], [left, right]]); // [B, C, H + top + bottom, W + left + right]
      const unpadded = { ...options, padding: 0 };
      return addConvLora(m, wrapped, op.conv2d(wrapped, w, b, unpadded), unpadded);
    }
    return addConvLora(m, x, op.conv2d(x, w, b, options), options);
  });
}

/** nn.GroupNorm(groups, channels, eps) with affine weight/bias [channels]. */
export function groupNorm(m: Module, x: Value, channels: number, groups: number, eps: number, origin?: string): Value {
  return m.build(() => op.groupNorm(x, m.weight('weight', [channels], origin), m.weight('bias', [channels], origin), groups, eps));
}

/** nn.LayerNorm(channels, eps) over the last dimension. */
export function layerNorm(m: Module, x: Value, channels: number, eps: number, origin?: string): Value {
  return m.build(() => op.layerNorm(x, m.weight('weight', [channels], origin), m.weight('bias', [channels], origin), eps));
}

/** nn.Embedding(num, dim): ids [...] → [..., dim]. */
export function embedding(m: Module, ids: Value, num: number, dim: number, origin?: string): Value {
  return m.build(() => op.gather(m.weight('weight', [num, dim], origin), ids));
}

/** Activation functions by the names configs use (`act_fn`, `hidden_act`). */
export function activation(name: string, x: Value): Value {
  switch (name) {
    case 'silu':
    case 'swish':
      return op.silu(x);
    case 'gelu':
      return op.gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return op.gelu(x, 'tanh');
    case 'quick_gelu':
      return op.quickGelu(x);
    default:
      // Config parsers validate activation names; reaching this is a programming error.
      throw new Error(`unknown activation ${name}`);
  }
}

export const ACTIVATIONS = ['silu', 'swish', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'quick_gelu'] as const;
