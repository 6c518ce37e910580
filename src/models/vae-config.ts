// The configuration of diffusers' AutoencoderKL (models/autoencoders/autoencoder_kl.py, 0.27),
// read from `vae/config.json`. Field names keep the JSON's spelling (DESIGN.md naming contract);
// defaults are diffusers' constructor defaults, so a config that omits a field means what it
// means in diffusers.

import { LatentlabError } from '../core/errors.js';
import type { ConfigReader } from './config-reader.js';

export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  latent_channels: number;
  /** Width of each encoder down block (the decoder's up blocks use them reversed). */
  block_out_channels: number[];
  /** Resnets per encoder block; the decoder's blocks have layers_per_block + 1. */
  layers_per_block: number;
  norm_num_groups: number;
  /** 'silu' (SD 1.x / 2.x); diffusers' "swish" is the same function. */
  act_fn: 'silu' | 'swish';
  down_block_types: 'DownEncoderBlock2D'[];
  up_block_types: 'UpDecoderBlock2D'[];
  /** Latents the UNet sees are `scaling_factor · sample`; the pipelines decode `latents / scaling_factor`. */
  scaling_factor: number;
  /** SD 3 / Flux-style shift (null for SD 1.x / 2.x); the pipelines apply it, the VAE does not. */
  shift_factor: number | null;
  sample_size: number;
  /** diffusers runs this VAE in float32 when the pipeline is float16; latentlab computes in float32 anyway. */
  force_upcast: boolean;
  /** Per-channel latent statistics some checkpoints record (SDXL-era pipelines); null here. */
  latents_mean: number[] | null;
  latents_std: number[] | null;
  /** The attention between the two mid-block resnets (encoder and decoder). */
  mid_block_add_attention: boolean;
}

/** Reads and validates an AutoencoderKL config.json. */
export function parseAutoencoderKLConfig(r: ConfigReader): AutoencoderKLConfig {
  // Other VAE classes (AutoencoderTiny, AsymmetricAutoencoderKL, ...) have other weights and blocks.
  r.unsupported('_class_name', ['AutoencoderKL', null]);
  // Fields of later diffusers versions (not in 0.27); only their default (the 1×1 convs exist) is supported.
  r.unsupported('use_quant_conv', [true, null]);
  r.unsupported('use_post_quant_conv', [true, null]);
  const block_out_channels = r.intList('block_out_channels', [64]);
  const n = block_out_channels.length;
  const latent_channels = r.int('latent_channels', 4, 1);
  const c: AutoencoderKLConfig = {
    in_channels: r.int('in_channels', 3, 1),
    out_channels: r.int('out_channels', 3, 1),
    latent_channels,
    block_out_channels,
    layers_per_block: r.int('layers_per_block', 1, 1),
    norm_num_groups: r.int('norm_num_groups', 32, 1),
    act_fn: unsupportedUnless(r, 'act_fn', ['silu', 'swish'], 'silu'),
    down_block_types: blockTypes(r, 'down_block_types', 'DownEncoderBlock2D', n),
    up_block_types: blockTypes(r, 'up_block_types', 'UpDecoderBlock2D', n),
    // The pipelines divide the latents by it: 0 gives Inf, a negative value a wrong image.
    scaling_factor: r.number('scaling_factor', 0.18215, { positive: true }),
    shift_factor: r.has('shift_factor') ? r.number('shift_factor') : null,
    sample_size: r.int('sample_size', 32, 1),
    force_upcast: r.bool('force_upcast', true),
    latents_mean: optionalNumbers(r, 'latents_mean', latent_channels),
    latents_std: optionalNumbers(r, 'latents_std', latent_channels),
    mid_block_add_attention: r.bool('mid_block_add_attention', true),
  };
  // Every GroupNorm of the VAE (resnets, mid-block attention, conv_norm_out) splits its channels
  // into norm_num_groups groups, so every block width must be divisible by it.
  block_out_channels.forEach((ch, i) => {
    if (ch % c.norm_num_groups !== 0) {
      throw new LatentlabError('CONFIG_FIELD', `${r.file}: block_out_channels[${i}] = ${ch} is not divisible by norm_num_groups = ${c.norm_num_groups}`, {
        file: r.file,
        key: 'norm_num_groups',
        hint: 'every block width must be a multiple of norm_num_groups (GroupNorm splits the channels into equal groups); check the config against the checkpoint',
      });
    }
  });
  return c;
}

/** A string field whose other (valid diffusers) values latentlab does not implement. */
function unsupportedUnless<T extends string>(r: ConfigReader, name: string, allowed: readonly T[], dflt: T): T {
  r.unsupported(name, [...allowed, null]);
  return r.has(name) ? r.string(name, allowed) : dflt;
}

/** One block type per entry of block_out_channels; only the SD 1.x / 2.x VAE blocks are supported. */
function blockTypes<T extends string>(r: ConfigReader, name: string, only: T, n: number): T[] {
  const v = r.has(name) ? r.raw[name] : Array<string>(n).fill(only);
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) {
    throw new LatentlabError('CONFIG_FIELD', `${r.file}: "${name}" must be a list of block type names, one per entry of block_out_channels`, { file: r.file, key: name });
  }
  const other = v.findIndex((t) => t !== only);
  if (other >= 0) {
    // Other diffusers VAEs use other blocks (AttnDownEncoderBlock2D, ...): valid there, not built here.
    throw new LatentlabError('CONFIG_UNSUPPORTED', `${r.file}: ${name}[${other}] = "${v[other]}" is not supported yet (supported: "${only}")`, {
      file: r.file,
      key: name,
      hint: 'latentlab supports the Stable Diffusion 1.x / 2.x VAE; open an issue with the model id if you need this block type',
    });
  }
  if (v.length !== n) {
    throw new LatentlabError('CONFIG_FIELD', `${r.file}: ${name} has ${v.length} entries but block_out_channels has ${n}`, {
      file: r.file,
      key: name,
      hint: 'there is one block type per entry of block_out_channels',
    });
  }
  return v as T[];
}

function optionalNumbers(r: ConfigReader, name: string, length: number): number[] | null {
  if (!r.has(name)) return null;
  const v = r.raw[name];
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new LatentlabError('CONFIG_FIELD', `${r.file}: "${name}" must be null or a list of ${length} numbers (one per latent channel)`, { file: r.file, key: name });
  }
  return [...(v as number[])];
}
