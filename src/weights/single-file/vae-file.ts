// A VAE as one file (vae-ft-mse-840000-ema-pruned.safetensors and the like): the LDM layout, with
// or without the `first_stage_model.` prefix, or diffusers' own layout (a VAE folder's
// diffusion_pytorch_model.safetensors on its own). The config comes from the shapes, with SD's
// constants for what shapes cannot tell (GroupNorm 32, scaling factor 0.18215).

import { LatentlabError } from '../../core/errors.js';
import type { WeightData } from '../../core/external.js';
import { RefSource } from '../ref-source.js';
import type { WeightSource } from '../source.js';
import { openCheckpointSource } from './checkpoint-source.js';
import { vaeRefs, VAE_PREFIX } from './ldm-keys.js';

export interface VaeFile {
  layout: 'ldm' | 'diffusers';
  config: Record<string, unknown>;
  weights: WeightSource;
}

export async function openVaeFile(file: string, options: { scalingFactor?: number } = {}): Promise<VaeFile> {
  const { source } = await openCheckpointSource(file);
  const keys = source.keys;
  let layout: VaeFile['layout'];
  let refs: Map<string, WeightData>;
  if (keys.some((k) => k.startsWith('decoder.up_blocks.'))) [layout, refs] = ['diffusers', new Map(keys.map((k) => [k, source.ref(k)]))];
  else {
    const prefix = keys.some((k) => k.startsWith(`${VAE_PREFIX}decoder.up.`)) ? VAE_PREFIX : '';
    if (!keys.some((k) => k.startsWith(`${prefix}decoder.up.`))) {
      throw new LatentlabError('VAE_NOT_A_VAE', `${file} is not a VAE: no decoder.up_blocks.* (diffusers) or decoder.up.* (LDM) keys; first key "${keys[0] ?? '(none)'}"`, {
        file, key: keys[0], hint: 'pass a VAE file or a diffusers VAE folder to --vae (`latentlab info FILE` tells what a file is)',
      });
    }
    layout = 'ldm';
    // A full checkpoint's VAE (prefix) or a VAE file's. Other keys (a full checkpoint's UNet, the
    // discriminator of a VAE training run under loss.*) are not the autoencoder's and are left out.
    refs = new Map([...vaeRefs(source, prefix)].filter(([k]) => /^(encoder|decoder|quant_conv|post_quant_conv)\./.test(k)));
  }
  const weights = new RefSource(refs, `${file} (VAE, ${layout} layout)`, [file]);
  return { layout, config: vaeConfigFromDiffusersKeys(weights, options.scalingFactor ?? 0.18215), weights };
}

/** AutoencoderKL's config from diffusers-named VAE weights. */
export function vaeConfigFromDiffusersKeys(w: WeightSource, scalingFactor: number): Record<string, unknown> {
  const need = (key: string) => {
    if (!w.has(key)) {
      throw new LatentlabError('SINGLE_FILE_INCOMPLETE', `${w.describe()} has no "${key}", which every SD VAE has`, { file: w.paths[0], key, hint: 'the file is truncated or not a VAE: download it again' });
    }
    return w.info(key).shape;
  };
  const levels = new Set(w.keys.filter((k) => k.startsWith('encoder.down_blocks.')).map((k) => Number(k.split('.')[2])));
  const layers = new Set(w.keys.filter((k) => k.startsWith('encoder.down_blocks.0.resnets.')).map((k) => k.split('.')[4]));
  const channels = [...levels].sort((a, b) => a - b).map((i) => need(`encoder.down_blocks.${i}.resnets.0.conv2.weight`)[0]);
  return {
    _class_name: 'AutoencoderKL',
    in_channels: need('encoder.conv_in.weight')[1],
    out_channels: need('decoder.conv_out.weight')[0],
    latent_channels: need('post_quant_conv.weight')[0],
    block_out_channels: channels,
    layers_per_block: layers.size,
    down_block_types: channels.map(() => 'DownEncoderBlock2D'),
    up_block_types: channels.map(() => 'UpDecoderBlock2D'),
    norm_num_groups: 32,
    scaling_factor: scalingFactor,
  };
}
