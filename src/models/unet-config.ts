// The config of diffusers' UNet2DConditionModel (models/unets/unet_2d_condition.py, 0.27) as
// latentlab reads it from `unet/config.json`: the fields keep the JSON spelling; per-block fields
// that the JSON may give as one number or as a list are expanded here, once, to one entry per
// down block (index i = down_blocks.i; the up blocks use the lists reversed, the mid block the
// last entry — exactly as diffusers' __init__ does). Everything Stable Diffusion 1.x / 2.x does
// not use (class embeddings, SDXL's added conditioning, other block types, …) is refused here
// with CONFIG_UNSUPPORTED rather than silently ignored.

import { fmtValue, LatentlabError } from '../core/errors.js';
import type { ConfigReader } from './config-reader.js';

export const DOWN_BLOCK_TYPES = ['CrossAttnDownBlock2D', 'DownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['CrossAttnUpBlock2D', 'UpBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];

export interface UNet2DConditionConfig {
  in_channels: number;
  out_channels: number;
  /** The latent size the model was trained at (pipelines derive the default image size from it; any size runs). */
  sample_size: number;
  /** sample = 2·sample − 1 before conv_in. */
  center_input_sample: boolean;
  /** Sinusoidal features as [cos, sin] (true, SD) or [sin, cos]. */
  flip_sin_to_cos: boolean;
  /** diffusers' downscale_freq_shift: exponent_i = −ln(10000)·i / (half − freq_shift). */
  freq_shift: number;
  down_block_types: DownBlockType[];
  mid_block_type: 'UNetMidBlock2DCrossAttn';
  up_block_types: UpBlockType[];
  block_out_channels: number[];
  /** Resnets per down block (an int in the JSON is repeated); up block i has reversed[i] + 1. */
  layers_per_block: number[];
  /** Downsample2D padding: 1 = pad every side (SD); 0 = pad right/bottom only, then conv without padding. */
  downsample_padding: 0 | 1;
  /** The mid block's resnets divide their output by this (1 in SD). */
  mid_block_scale_factor: number;
  /** Nonlinearity of the time embedding, the resnets and conv_act. */
  act_fn: 'silu' | 'swish';
  norm_num_groups: number;
  /** Epsilon of the resnet GroupNorms and conv_norm_out (not of the transformers' GroupNorm: 1e-6). */
  norm_eps: number;
  /** Width of encoder_hidden_states, per down block (all equal: one tensor feeds every block). */
  cross_attention_dim: number[];
  /** BasicTransformerBlocks per Transformer2DModel, per down block. */
  transformer_layers_per_block: number[];
  /** As written in the JSON (null when only num_attention_heads is given). Despite the name it is the NUMBER OF HEADS; see num_attention_heads. */
  attention_head_dim: number | number[] | null;
  /** Resolved number of attention heads per down block (head size = channels / heads). */
  num_attention_heads: number[];
  /** proj_in/proj_out of every Transformer2DModel: Linear after flattening (true, SD 2) or 1×1 Conv2d before. */
  use_linear_projection: boolean;
  /** Computes q·kᵀ in float32 when the model runs in float16; latentlab computes in float32, so a no-op. */
  upcast_attention: boolean;
  /** Width of the time embedding: the JSON's time_embedding_dim, or 4 · block_out_channels[0]. */
  time_embedding_dim: number;
  conv_in_kernel: number;
  conv_out_kernel: number;
  resnet_time_scale_shift: 'default';
  time_embedding_type: 'positional';
  /**
   * Width of the guidance embedding of LCM-distilled UNets (LCM Dreamshaper: 256), null otherwise.
   * When set, time_embedding has a `cond_proj` (Linear, no bias) that adds the embedding of the
   * guidance scale w to the timestep features, and the pipelines run without classifier-free guidance.
   */
  time_cond_proj_dim: number | null;
}

/** Fields that must hold their "off" value: each one switches on a feature SD 1.x / 2.x does not have. */
const MUST_BE_OFF: readonly (readonly [string, readonly unknown[]])[] = [
  ['class_embed_type', [null]],
  ['num_class_embeds', [null]],
  ['addition_embed_type', [null]], // SDXL's text_time conditioning
  ['encoder_hid_dim', [null]],
  ['encoder_hid_dim_type', [null]],
  ['time_embedding_act_fn', [null]],
  ['timestep_post_act', [null]],
  ['cross_attention_norm', [null]],
  ['reverse_transformer_layers_per_block', [null]],
  ['attention_type', [null, 'default']], // "gated" (GLIGEN) adds fusers
  ['dual_cross_attention', [null, false]],
  ['mid_block_only_cross_attention', [null, false]],
  ['resnet_time_scale_shift', [null, 'default']], // "scale_shift" doubles time_emb_proj
  ['time_embedding_type', [null, 'positional']], // "fourier" uses GaussianFourierProjection
  ['_class_name', [null, 'UNet2DConditionModel']],
  ['act_fn', [null, 'silu', 'swish']], // the resnets and the time embedding are built with SiLU
];
// Not read on purpose: `dropout` (inference), and fields that only matter for block types or
// features refused above (`resnet_skip_time_act`, `resnet_out_scale_factor`, `class_embeddings_concat`,
// `projection_class_embeddings_input_dim`, `addition_time_embed_dim`, `addition_embed_type_num_heads`).

function unsupported(r: ConfigReader, name: string, value: unknown, supported: string): never {
  throw new LatentlabError('CONFIG_UNSUPPORTED', `${r.file}: ${name} = ${fmtValue(value)} is not supported yet (supported: ${supported})`, {
    file: r.file,
    key: name,
    hint: 'latentlab supports the Stable Diffusion 1.x and 2.x UNet; open an issue with the model id if you need this one',
  });
}

function invalid(r: ConfigReader, name: string, message: string, hint: string): never {
  throw new LatentlabError('CONFIG_FIELD', `${r.file}: ${message}`, { file: r.file, key: name, hint });
}

function blockTypes<T extends string>(r: ConfigReader, name: string, allowed: readonly T[], dflt: readonly T[]): T[] {
  const v = r.has(name) ? r.raw[name] : dflt;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    invalid(r, name, `"${name}" is ${fmtValue(v)}; expected a non-empty list of block class names`, 'compare with the model\'s original config.json');
  }
  // diffusers' get_down_block / get_up_block accept an optional "UNetRes" prefix and drop it.
  return (v as string[]).map((t, i) => {
    const type = t.startsWith('UNetRes') ? t.slice('UNetRes'.length) : t;
    if (!allowed.includes(type as T)) unsupported(r, `${name}[${i}]`, t, allowed.map((a) => JSON.stringify(a)).join(', '));
    return type as T;
  });
}

/** An explicit `null` where diffusers reads null as "leave this part out": not the default, so refuse it. */
function notNull(r: ConfigReader, name: string, supported: string): void {
  if (name in r.raw && r.raw[name] === null) unsupported(r, name, null, supported);
}

/** Reads and validates `unet/config.json` (defaults: diffusers' UNet2DConditionModel.__init__). */
export function parseUNet2DConditionConfig(r: ConfigReader): UNet2DConditionConfig {
  for (const [name, allowed] of MUST_BE_OFF) r.unsupported(name, allowed);
  const onlyCross = r.raw.only_cross_attention;
  if (!(onlyCross === undefined || onlyCross === null || onlyCross === false || (Array.isArray(onlyCross) && onlyCross.every((x) => x === false)))) {
    unsupported(r, 'only_cross_attention', onlyCross, 'false');
  }
  const midType = r.raw.mid_block_type;
  if (midType !== undefined && midType !== 'UNetMidBlock2DCrossAttn') unsupported(r, 'mid_block_type', midType, '"UNetMidBlock2DCrossAttn"');
  notNull(r, 'norm_num_groups', 'an integer (GroupNorm groups)');
  notNull(r, 'cross_attention_dim', 'an integer or a list of integers');

  const down = blockTypes(r, 'down_block_types', DOWN_BLOCK_TYPES, ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
  const up = blockTypes(r, 'up_block_types', UP_BLOCK_TYPES, ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']);
  const channels = r.intList('block_out_channels', [320, 640, 1280, 1280]);
  const n = down.length;
  if (up.length !== n || channels.length !== n) {
    invalid(r, 'block_out_channels', `down_block_types, up_block_types and block_out_channels must have the same length, got ${n}, ${up.length} and ${channels.length}`,
      'each level of the UNet has one down block, one up block and one entry of block_out_channels');
  }

  // The misnomer, resolved here once: diffusers' `attention_head_dim` holds the NUMBER of heads, not
  // their size (SD 1.x: 8 heads everywhere; SD 2.x: [5, 10, 20, 20]); the head size is channels /
  // heads. diffusers' __init__ does `num_attention_heads = num_attention_heads or attention_head_dim`
  // and the CrossAttn blocks use only that. diffusers 0.27 itself refuses an explicit
  // num_attention_heads; a config that gives one (for a later diffusers) means it as the head count.
  const headsGiven = r.has('num_attention_heads');
  let attention_head_dim: UNet2DConditionConfig['attention_head_dim'] = null;
  if (r.has('attention_head_dim')) attention_head_dim = Array.isArray(r.raw.attention_head_dim) ? r.intOrList('attention_head_dim', n) : r.int('attention_head_dim', undefined, 1);
  else if (!headsGiven) attention_head_dim = 8;
  const num_attention_heads = headsGiven ? r.intOrList('num_attention_heads', n) : r.intOrList('attention_head_dim', n, 8);

  const c: UNet2DConditionConfig = {
    in_channels: r.int('in_channels', 4, 1),
    out_channels: r.int('out_channels', 4, 1),
    sample_size: r.int('sample_size', undefined, 1),
    center_input_sample: r.bool('center_input_sample', false),
    flip_sin_to_cos: r.bool('flip_sin_to_cos', true),
    freq_shift: r.number('freq_shift', 0),
    down_block_types: down,
    mid_block_type: 'UNetMidBlock2DCrossAttn',
    up_block_types: up,
    block_out_channels: channels,
    layers_per_block: r.intOrList('layers_per_block', n, 2),
    downsample_padding: r.int('downsample_padding', 1) as 0 | 1,
    mid_block_scale_factor: r.number('mid_block_scale_factor', 1),
    act_fn: r.string('act_fn', ['silu', 'swish'] as const, 'silu'),
    norm_num_groups: r.int('norm_num_groups', 32, 1),
    norm_eps: r.number('norm_eps', 1e-5),
    cross_attention_dim: r.intOrList('cross_attention_dim', n, 1280),
    transformer_layers_per_block: r.intOrList('transformer_layers_per_block', n, 1),
    attention_head_dim,
    num_attention_heads,
    use_linear_projection: r.bool('use_linear_projection', false),
    upcast_attention: r.bool('upcast_attention', false),
    time_embedding_dim: r.has('time_embedding_dim') ? r.int('time_embedding_dim', undefined, 1) : 4 * channels[0],
    conv_in_kernel: r.int('conv_in_kernel', 3, 1),
    conv_out_kernel: r.int('conv_out_kernel', 3, 1),
    resnet_time_scale_shift: 'default',
    time_embedding_type: 'positional',
    time_cond_proj_dim: r.has('time_cond_proj_dim') ? r.int('time_cond_proj_dim', undefined, 4) : null,
  };
  validate(r, c);
  return c;
}

function validate(r: ConfigReader, c: UNet2DConditionConfig): void {
  if (c.downsample_padding !== 0 && c.downsample_padding !== 1) unsupported(r, 'downsample_padding', c.downsample_padding, '0, 1');
  for (const k of ['conv_in_kernel', 'conv_out_kernel'] as const) {
    if (c[k] % 2 !== 1) invalid(r, k, `${k} = ${c[k]} must be odd`, 'diffusers pads (kernel − 1) / 2 on each side to keep the size; use an odd kernel');
  }
  const groups = c.norm_num_groups;
  const n = c.block_out_channels.length;
  c.block_out_channels.forEach((ch, i) => {
    if (ch % groups !== 0) {
      invalid(r, 'norm_num_groups', `block_out_channels[${i}] = ${ch} is not divisible by norm_num_groups = ${groups}`,
        'every GroupNorm splits its channels into norm_num_groups groups: check both fields');
    }
    // Heads only matter where a Transformer2DModel is built: a CrossAttn block at this level, or the mid block.
    const attends = i === n - 1 || c.down_block_types[i] === 'CrossAttnDownBlock2D' || c.up_block_types[n - 1 - i] === 'CrossAttnUpBlock2D';
    if (attends && c.num_attention_heads[i] > ch) {
      const field = r.has('num_attention_heads') ? 'num_attention_heads' : 'attention_head_dim';
      invalid(r, field, `${field}[${i}] = ${c.num_attention_heads[i]} heads is more than block_out_channels[${i}] = ${ch} channels`,
        `${field} is the number of attention heads (head size = channels / heads)`);
    }
  });
  const width = c.cross_attention_dim[0];
  if (c.cross_attention_dim.some((d) => d !== width)) {
    invalid(r, 'cross_attention_dim', `cross_attention_dim = ${fmtValue(r.raw.cross_attention_dim)} has different widths, but one encoder_hidden_states tensor feeds every block`,
      'use one width (the text encoder\'s hidden size)');
  }
  const half = Math.floor(c.block_out_channels[0] / 2);
  if (half - c.freq_shift <= 0) {
    invalid(r, 'freq_shift', `freq_shift = ${c.freq_shift} leaves no frequencies for block_out_channels[0] / 2 = ${half}`, 'freq_shift is 0 (SD) or 1');
  }
}
