// The configuration of diffusers' AutoencoderTiny (models/autoencoders/autoencoder_tiny.py, 0.27) —
// Ollin Boer Bohan's TAESD ("tiny autoencoder for Stable Diffusion", madebyollin/taesd), read from
// its config.json. Field names keep the JSON spelling; defaults are diffusers' constructor defaults
// (the real TAESD: 64 channels, encoder blocks [1, 3, 3, 3], decoder blocks [3, 3, 3, 1]).

import { LatentlabError } from '../core/errors.js';
import type { ConfigReader } from './config-reader.js';

export interface AutoencoderTinyConfig {
  in_channels: number;
  out_channels: number;
  /** Width of each encoder level (all equal: the blocks keep the width, the skips are identities). */
  encoder_block_out_channels: number[];
  decoder_block_out_channels: number[];
  /** AutoencoderTinyBlocks per encoder level (level 0 at full size, each next one halves it). */
  num_encoder_blocks: number[];
  num_decoder_blocks: number[];
  act_fn: 'relu';
  latent_channels: number;
  upsampling_scaling_factor: number;
  /** scale_latents(z) = clamp(z / (2·latent_magnitude) + latent_shift, 0, 1) maps latents to bytes. */
  latent_magnitude: number;
  latent_shift: number;
  /** 1.0 for TAESD: its latents already live on the UNet's scale (≈ SD's latents × 0.18215). */
  scaling_factor: number;
  force_upcast: boolean;
  /** diffusers registers decoder_block_out_channels under this name too; the pipelines take vae_scale_factor from its length. */
  block_out_channels: number[];
}

/** Reads and validates an AutoencoderTiny config.json. */
export function parseAutoencoderTinyConfig(r: ConfigReader): AutoencoderTinyConfig {
  r.unsupported('_class_name', ['AutoencoderTiny', null]);
  // A later diffusers field; 0.27's decoder always upsamples with nearest.
  r.unsupported('upsample_fn', ['nearest', null]);
  const encoder = r.intList('encoder_block_out_channels', [64, 64, 64, 64]);
  const decoder = r.intList('decoder_block_out_channels', [64, 64, 64, 64]);
  const c: AutoencoderTinyConfig = {
    in_channels: r.int('in_channels', 3, 1),
    out_channels: r.int('out_channels', 3, 1),
    encoder_block_out_channels: encoder,
    decoder_block_out_channels: decoder,
    num_encoder_blocks: counts(r, 'num_encoder_blocks', [1, 3, 3, 3], encoder.length, 'encoder_block_out_channels'),
    num_decoder_blocks: counts(r, 'num_decoder_blocks', [3, 3, 3, 1], decoder.length, 'decoder_block_out_channels'),
    act_fn: r.string('act_fn', ['relu'], 'relu'),
    latent_channels: r.int('latent_channels', 4, 1),
    upsampling_scaling_factor: r.int('upsampling_scaling_factor', 2, 1),
    latent_magnitude: r.number('latent_magnitude', 3),
    latent_shift: r.number('latent_shift', 0.5),
    scaling_factor: r.number('scaling_factor', 1.0),
    force_upcast: r.bool('force_upcast', false),
    block_out_channels: decoder,
  };
  for (const [name, widths] of [['encoder_block_out_channels', encoder], ['decoder_block_out_channels', decoder]] as const) {
    // Unequal widths would give AutoencoderTinyBlock a 1×1 skip conv — and the level convs do not
    // change the width in diffusers' EncoderTiny, so such a checkpoint cannot exist there either.
    if (widths.some((w) => w !== widths[0])) {
      throw new LatentlabError('CONFIG_UNSUPPORTED', `${r.file}: ${name} = [${widths}] has unequal widths (supported: one width for all levels, as every TAESD)`, {
        file: r.file, key: name, hint: 'TAESD checkpoints use the same width at every level (64); check that this is an AutoencoderTiny folder',
      });
    }
  }
  return c;
}

/** One non-negative block count per level. */
function counts(r: ConfigReader, name: string, dflt: number[], levels: number, widthsName: string): number[] {
  const v = r.has(name) ? r.raw[name] : dflt;
  if (!Array.isArray(v) || v.length !== levels || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new LatentlabError('CONFIG_FIELD', `${r.file}: "${name}" must be a list of ${levels} block counts (one per entry of ${widthsName})`, { file: r.file, key: name });
  }
  return [...(v as number[])];
}
