// A random-weight pipeline with Stable Diffusion 2.1's shapes, for the full-size single-file check
// (bench/full-size-single-file.ts): stabilityai/stable-diffusion-2-1's configs as diffusers 0.27
// reads them — UNet 320/640/1280/1280 with head size 64 (5/10/20/20 heads), cross-attention 1024,
// linear proj_in/out; OpenCLIP ViT-H/14's text tower as diffusers keeps it (1024 wide, 23 of its 24
// layers, 16 heads, gelu); SD 1.5's VAE. Float32 only (~5.2 GB), written once, like sd15.ts.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createRandomPipeline, RANDOM_PIPELINE_PRESETS } from '../../src/pipelines/random-pipeline.js';
import { benchCacheDir } from './sd15.js';

const RECIPE = 'sd21-random v1 (seed 0, uniform std 1/sqrt(fan_in), float32 only)';
const sd15 = RANDOM_PIPELINE_PRESETS.sd15;

export const SD21_PRESET = {
  unet: { ...sd15.unet, attention_head_dim: [5, 10, 20, 20], cross_attention_dim: 1024, use_linear_projection: true, sample_size: 96 },
  vae: { ...sd15.vae, sample_size: 768 },
  textEncoder: {
    ...sd15.textEncoder, hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 23, num_attention_heads: 16, hidden_act: 'gelu',
    projection_dim: 512, bos_token_id: 0, eos_token_id: 2, pad_token_id: 1,
  },
  scheduler: {
    _class_name: 'DDIMScheduler', _diffusers_version: '0.27.2', beta_end: 0.012, beta_schedule: 'scaled_linear', beta_start: 0.00085, clip_sample: false,
    num_train_timesteps: 1000, prediction_type: 'v_prediction', set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, timestep_spacing: 'leading', trained_betas: null,
  },
};

export async function ensureSd21(): Promise<string> {
  const folder = join(benchCacheDir(), 'sd21-random');
  const marker = join(folder, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === RECIPE) return folder;
  process.stderr.write(`writing the random SD 2.1 pipeline to ${folder} (once; ~5.2 GB) … `);
  const t0 = performance.now();
  await createRandomPipeline(folder, SD21_PRESET, { seed: 0, variants: [] });
  writeFileSync(marker, RECIPE);
  process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return folder;
}
