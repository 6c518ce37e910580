// diffusers' ResnetBlock2D, Downsample2D and Upsample2D (models/resnet.py, 0.27), shared by the
// UNet and the VAE.

import type { Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { conv2d, groupNorm, linear } from './layers.js';

export interface ResnetConfig {
  inChannels: number;
  outChannels: number;
  groups: number;
  eps: number;
  /** Width of the time embedding; undefined for the VAE (no time_emb_proj). */
  tembChannels?: number;
  /** diffusers' output_scale_factor: out = (shortcut + h) / factor. Default 1 (the UNet mid block's mid_block_scale_factor). */
  outputScaleFactor?: number;
  origin?: string;
}

/**
 * h = conv1(silu(norm1(x))) (+ time_emb_proj(silu(temb))[:, :, None, None])
 * h = conv2(silu(norm2(h)))
 * out = (shortcut(x) + h) / outputScaleFactor          shortcut = conv_shortcut (1×1) when the width changes
 * x [B, Cin, H, W] → [B, Cout, H, W]; temb [B, tembChannels].
 */
export function resnetBlock(m: Module, x: Value, temb: Value | undefined, cfg: ResnetConfig): Value {
  const { inChannels: cin, outChannels: cout, groups, eps, origin } = cfg;
  let h = op.silu(groupNorm(m.child('norm1'), x, cin, groups, eps, origin));
  h = conv2d(m.child('conv1'), h, cin, cout, 3, { padding: 1, origin });
  if (temb && cfg.tembChannels !== undefined) {
    const t = linear(m.child('time_emb_proj'), op.silu(temb), cfg.tembChannels, cout, { origin }); // [B, Cout]
    h = m.build(() => op.add(h, op.reshape(t, [t.shape[0], cout, 1, 1])));
  }
  h = op.silu(groupNorm(m.child('norm2'), h, cout, groups, eps, origin));
  h = conv2d(m.child('conv2'), h, cout, cout, 3, { padding: 1, origin });
  const shortcut = cin === cout ? x : conv2d(m.child('conv_shortcut'), x, cin, cout, 1, { origin });
  const factor = cfg.outputScaleFactor ?? 1;
  return m.build(() => (factor === 1 ? op.add(shortcut, h) : op.div(op.add(shortcut, h), factor)));
}

/**
 * Downsample2D: a stride-2 3×3 conv (`<path>.conv`). The UNet pads 1 on every side; the VAE
 * encoder pads only right/bottom by one (F.pad(x, (0, 1, 0, 1))) and convolves with padding 0.
 */
export function downsample(m: Module, x: Value, channels: number, padding: 'symmetric' | 'right-bottom', origin?: string): Value {
  // right-bottom is diffusers' F.pad(x, (0, 1, 0, 1)) with zeros: tiling changes only the convs' own padding.
  const pad = padding === 'symmetric' ? { padding: 1 } : { padding: [0, 0, 1, 1] as const, paddingMode: 'zeros' as const };
  return conv2d(m.child('conv'), x, channels, channels, 3, { stride: 2, ...pad, origin });
}

/**
 * Upsample2D: nearest ×2 (or to an explicit `size`, used when a latent side is not divisible by
 * the total downsampling factor) followed by a 3×3 conv (`<path>.conv`).
 */
export function upsample(m: Module, x: Value, channels: number, size?: readonly [number, number], origin?: string): Value {
  const up = m.build(() => op.resizeNearest(x, size ? { size } : { scale: 2 }));
  return conv2d(m.child('conv'), up, channels, channels, 3, { padding: 1, origin });
}
