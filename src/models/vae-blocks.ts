// The building blocks of diffusers' VAE Encoder / Decoder (0.27): DownEncoderBlock2D and
// UpDecoderBlock2D (models/unets/unet_2d_blocks.py), UNetMidBlock2D with its single attention
// layer, and that attention itself — diffusers' `Attention` with `norm_num_groups` and
// `residual_connection=True` (models/attention_processor.py, AttnProcessor on a 4-D input).
//
// Two constants here are not in any config file and are easy to get wrong:
//  * every GroupNorm of the VAE uses eps = 1e-6 (the Encoder/Decoder hard-code `resnet_eps=1e-6`),
//    not the 1e-5 of torch's default or of the UNet's norm_eps;
//  * the encoder's downsamplers pad only the right and bottom edge (Downsample2D with padding=0
//    does F.pad(x, (0, 1, 0, 1)) before its stride-2 3×3 conv).

import { staticShape } from '../graph/dims.js';
import type { Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { conv2d, groupNorm, linear } from '../nn/layers.js';
import { downsample, resnetBlock, upsample } from '../nn/resnet.js';

/** diffusers' Encoder/Decoder pass resnet_eps=1e-6 to every block; the attention's GroupNorm gets it too. */
export const VAE_NORM_EPS = 1e-6;

export interface VaeBlockConfig {
  groups: number;
  /** Names the config fields behind a weight's shape, for loading errors. */
  origin: string;
}

/**
 * The mid-block attention (`mid_block.attentions.0`): one head whose size is the full channel
 * width (UNetMidBlock2D passes attention_head_dim = in_channels, so heads = C / C = 1), q/k/v
 * with bias, applied to GroupNorm(x) as a sequence of h·w pixels, added back to x.
 * x [B, C, h, w] → [B, C, h, w].
 */
export function vaeAttention(m: Module, x: Value, channels: number, cfg: VaeBlockConfig): Value {
  const [b, c] = x.shape;
  const [h, w] = staticShape(x.shape.slice(2), `${m.path} (flattening the h·w pixels into a sequence)`);
  const hw = h * w;
  const normed = groupNorm(m.child('group_norm'), x, channels, cfg.groups, VAE_NORM_EPS, cfg.origin); // [B, C, h, w]
  // GroupNorm then flatten equals diffusers' flatten then GroupNorm on [B, C, h·w]: same groups, same statistics.
  const seq = m.build(() => op.transpose(op.reshape(normed, [b, c, hw]), [0, 2, 1])); // [B, h·w, C]
  const opts = { bias: true, origin: cfg.origin };
  const q = linear(m.child('to_q'), seq, channels, channels, opts); // [B, h·w, C]
  const k = linear(m.child('to_k'), seq, channels, channels, opts);
  const v = linear(m.child('to_v'), seq, channels, channels, opts);
  // diffusers upcasts this softmax to float32; the graph computes in float32 anyway.
  const a = m.build(() => op.attention(q, k, v, { heads: 1, scale: channels ** -0.5 })); // [B, h·w, C]
  const out = linear(m.child('to_out').child(0), a, channels, channels, opts); // [B, h·w, C]
  // rescale_output_factor is 1 for the VAE, so the residual is a plain sum.
  return m.build(() => op.add(op.reshape(op.transpose(out, [0, 2, 1]), [b, c, h, w]), x)); // [B, C, h, w]
}

/** UNetMidBlock2D without a time embedding: resnet → (attention) → resnet, width unchanged. */
export function vaeMidBlock(m: Module, x: Value, channels: number, addAttention: boolean, cfg: VaeBlockConfig): Value {
  const rc = { inChannels: channels, outChannels: channels, groups: cfg.groups, eps: VAE_NORM_EPS, origin: cfg.origin };
  let h = resnetBlock(m.child('resnets').child(0), x, undefined, rc);
  if (addAttention) h = vaeAttention(m.child('attentions').child(0), h, channels, cfg);
  return resnetBlock(m.child('resnets').child(1), h, undefined, rc);
}

/**
 * DownEncoderBlock2D: `layers` resnets (the first changes the width), then, unless it is the last
 * block, a stride-2 downsampler padded right/bottom. [B, Cin, H, W] → [B, Cout, ⌊H/2⌋, ⌊W/2⌋].
 */
export function downEncoderBlock(m: Module, x: Value, inChannels: number, outChannels: number, layers: number, addDownsample: boolean, cfg: VaeBlockConfig): Value {
  let h = x;
  for (let i = 0; i < layers; i++) {
    const rc = { inChannels: i === 0 ? inChannels : outChannels, outChannels, groups: cfg.groups, eps: VAE_NORM_EPS, origin: cfg.origin };
    h = resnetBlock(m.child('resnets').child(i), h, undefined, rc);
  }
  if (addDownsample) h = downsample(m.child('downsamplers').child(0), h, outChannels, 'right-bottom', cfg.origin);
  return h;
}

/**
 * UpDecoderBlock2D: `layers` resnets (the first changes the width), then, unless it is the last
 * block, nearest ×2 upsampling and a 3×3 conv. [B, Cin, h, w] → [B, Cout, 2h, 2w].
 * The VAE decoder never passes an explicit output size (there are no skip tensors to match), so
 * odd latent sides simply double.
 */
export function upDecoderBlock(m: Module, x: Value, inChannels: number, outChannels: number, layers: number, addUpsample: boolean, cfg: VaeBlockConfig): Value {
  let h = x;
  for (let i = 0; i < layers; i++) {
    const rc = { inChannels: i === 0 ? inChannels : outChannels, outChannels, groups: cfg.groups, eps: VAE_NORM_EPS, origin: cfg.origin };
    h = resnetBlock(m.child('resnets').child(i), h, undefined, rc);
  }
  if (addUpsample) h = upsample(m.child('upsamplers').child(0), h, outChannels, undefined, cfg.origin);
  return h;
}

/** conv_norm_out → SiLU → conv_out (3×3), the tail of both Encoder and Decoder. */
export function vaeOutput(m: Module, x: Value, inChannels: number, outChannels: number, cfg: VaeBlockConfig): Value {
  // diffusers hard-codes nn.SiLU() here (conv_act), whatever act_fn says.
  const h = op.silu(groupNorm(m.child('conv_norm_out'), x, inChannels, cfg.groups, VAE_NORM_EPS, cfg.origin));
  return conv2d(m.child('conv_out'), h, inChannels, outChannels, 3, { padding: 1, origin: cfg.origin });
}
