// Seeded random UNet2DConditionModel folders for the generalisation tests: a config.json plus a
// diffusion_pytorch_model.safetensors written with the project's own writer, holding exactly the
// weights the config implies (the keys and shapes the builder declares).
import '../../src/platform/node/index.js';

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Tensor } from '../../src/core/tensor.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { randomWeight } from '../../src/pipelines/random-pipeline.js';
import { writeSafetensors } from '../../src/weights/index.js';

/** A small SD-shaped config; `over` replaces fields. */
export function unetConfig(over: Record<string, unknown>): Record<string, unknown> {
  return {
    _class_name: 'UNet2DConditionModel',
    _diffusers_version: '0.27.2',
    act_fn: 'silu',
    attention_head_dim: 2,
    block_out_channels: [8, 16],
    center_input_sample: false,
    cross_attention_dim: 12,
    down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
    downsample_padding: 1,
    flip_sin_to_cos: true,
    freq_shift: 0,
    in_channels: 4,
    layers_per_block: 1,
    mid_block_scale_factor: 1,
    norm_eps: 1e-5,
    norm_num_groups: 4,
    out_channels: 4,
    sample_size: 8,
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
    use_linear_projection: false,
    ...over,
  };
}

/**
 * Writes `dir/config.json` and random weights; returns them too. Weights come from the library's
 * randomWeight (std 1/√fan_in for kernels, norm scales 1 ± 0.1·u, biases ±0.1·u), which keeps activations O(1).
 */
export async function writeRandomUNet(dir: string, raw: Record<string, unknown>, seed: number): Promise<Map<string, Tensor<'float32'>>> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  const parsed = parseUNet2DConditionConfig(new ConfigReader(raw, join(dir, 'config.json')));
  const tensors = new Map<string, Tensor<'float32'>>();
  const probe = buildUNetGraph(parsed, { batch: 1, height: 8, width: 8, seqLen: 1, timestepCond: parsed.time_cond_proj_dim !== null });
  for (const { key, shape } of probe.weights.values()) {
    const t = randomWeight(key, shape, seed);
    tensors.set(key, t);
  }
  await writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors, { format: 'pt' });
  return tensors;
}
