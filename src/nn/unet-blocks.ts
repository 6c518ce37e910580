// The UNet's blocks (diffusers models/unets/unet_2d_blocks.py, 0.27): CrossAttnDownBlock2D /
// DownBlock2D, UNetMidBlock2DCrossAttn and CrossAttnUpBlock2D / UpBlock2D. A block without
// `attention` is the plain DownBlock2D / UpBlock2D (resnets only).
//
// Skip connections: a down block returns, besides its output, the output of every resnet(+attention)
// pair and of its downsampler; the UNet stacks them after conv_in's output, and each up block pops
// as many as it has resnets, concatenating one onto the channels before each resnet.

import type { Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { downsample, resnetBlock, upsample } from './resnet.js';
import { transformer2d } from './transformer-2d.js';

/** The Transformer2DModel settings of a cross-attention block. */
export interface BlockAttention {
  heads: number;
  crossDim: number;
  /** BasicTransformerBlocks per Transformer2DModel (transformer_layers_per_block). */
  depth: number;
  linearProjection: boolean;
}

export interface UNetBlockConfig {
  /** Input width; for up blocks diffusers' in_channels: the width of the level above, which the last skip has. */
  inChannels: number;
  outChannels: number;
  /** Resnets in the block (layers_per_block, +1 for up blocks). */
  layers: number;
  tembChannels: number;
  groups: number;
  /** norm_eps of the resnet GroupNorms. */
  eps: number;
  /** Present for the CrossAttn* blocks. */
  attention?: BlockAttention;
  /** The config fields these weights' shapes come from, for loading errors. */
  origin?: string;
}

interface Context {
  temb: Value;
  /** encoder_hidden_states [B, S, crossDim]. */
  context: Value;
}

function attend(m: Module, x: Value, ctx: Context, channels: number, cfg: UNetBlockConfig): Value {
  const a = cfg.attention!;
  // diffusers: Transformer2DModel(heads, out_channels // heads, in_channels=out_channels, ...).
  return transformer2d(m, x, ctx.context, {
    channels, heads: a.heads, headDim: Math.floor(channels / a.heads), crossDim: a.crossDim, depth: a.depth,
    groups: cfg.groups, linearProjection: a.linearProjection, origin: cfg.origin,
  });
}

/**
 * CrossAttnDownBlock2D / DownBlock2D: layers × (resnet → attention), then an optional stride-2
 * downsampler. x [B, Cin, h, w] → out [B, Cout, h', w'] (h' = ⌈h/2⌉ with a downsampler) and the skips.
 */
export function downBlock(
  m: Module, x: Value, ctx: Context, cfg: UNetBlockConfig & { downsample?: 'symmetric' | 'right-bottom' },
): { out: Value; skips: Value[] } {
  const skips: Value[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const cin = i === 0 ? cfg.inChannels : cfg.outChannels;
    x = resnetBlock(m.child('resnets').child(i), x, ctx.temb, {
      inChannels: cin, outChannels: cfg.outChannels, groups: cfg.groups, eps: cfg.eps, tembChannels: cfg.tembChannels, origin: cfg.origin,
    });
    if (cfg.attention) x = attend(m.child('attentions').child(i), x, ctx, cfg.outChannels, cfg);
    skips.push(x);
  }
  if (cfg.downsample) {
    x = downsample(m.child('downsamplers').child(0), x, cfg.outChannels, cfg.downsample, cfg.origin); // [B, C, ⌈h/2⌉, ⌈w/2⌉]
    skips.push(x);
  }
  return { out: x, skips };
}

/** UNetMidBlock2DCrossAttn (one attention): resnets.0 → attentions.0 → resnets.1, at constant width. */
export function midBlock(m: Module, x: Value, ctx: Context, cfg: UNetBlockConfig & { outputScaleFactor: number }): Value {
  const resnet = (i: number, v: Value) => resnetBlock(m.child('resnets').child(i), v, ctx.temb, {
    inChannels: cfg.inChannels, outChannels: cfg.inChannels, groups: cfg.groups, eps: cfg.eps, tembChannels: cfg.tembChannels,
    outputScaleFactor: cfg.outputScaleFactor, origin: cfg.origin,
  });
  x = resnet(0, x);
  x = attend(m.child('attentions').child(0), x, ctx, cfg.inChannels, cfg);
  return resnet(1, x);
}

/**
 * CrossAttnUpBlock2D / UpBlock2D: layers × (concat the next skip → resnet → attention), then an
 * optional upsampler: ×2, or to `upsampleSize` (the next skip's size) when the UNet asks for
 * explicit sizes. `skips` are this block's skip tensors in the order they were made (the last is
 * used first). x [B, prevOut, h, w] → [B, Cout, h·2 or size].
 */
export function upBlock(
  m: Module, x: Value, skips: readonly Value[], ctx: Context,
  cfg: UNetBlockConfig & { prevOutputChannels: number; upsample: boolean; upsampleSize?: readonly [number, number] },
): Value {
  const pending = [...skips];
  for (let i = 0; i < cfg.layers; i++) {
    const skip = pending.pop()!;
    // diffusers: the last resnet's skip comes from the level above (in_channels), the others from this level.
    const skipChannels = i === cfg.layers - 1 ? cfg.inChannels : cfg.outChannels;
    const cin = (i === 0 ? cfg.prevOutputChannels : cfg.outChannels) + skipChannels;
    const joined = m.build(() => op.concat([x, skip], 1)); // [B, C + C_skip, h, w]
    x = resnetBlock(m.child('resnets').child(i), joined, ctx.temb, {
      inChannels: cin, outChannels: cfg.outChannels, groups: cfg.groups, eps: cfg.eps, tembChannels: cfg.tembChannels, origin: cfg.origin,
    });
    if (cfg.attention) x = attend(m.child('attentions').child(i), x, ctx, cfg.outChannels, cfg);
  }
  if (cfg.upsample) x = upsample(m.child('upsamplers').child(0), x, cfg.outChannels, cfg.upsampleSize, cfg.origin);
  return x;
}
