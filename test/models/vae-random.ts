// Seeded random AutoencoderKL folders for the generalisation tests: a config.json plus a
// diffusion_pytorch_model.safetensors written with the project's own writer, holding exactly the
// weights the config implies (the keys and shapes the builder declares).
import '../../src/platform/node/index.js';

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Tensor } from '../../src/core/tensor.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import { buildVaeProbeGraph } from '../../src/models/vae-graph.js';
import { randomWeight } from '../../src/pipelines/random-pipeline.js';
import { writeSafetensors } from '../../src/weights/index.js';

/**
 * Writes `dir/config.json` and the weights. Weights come from the library's
 * randomWeight (std 1/√fan_in for kernels, norm scales 1 ± 0.1·u, biases ±0.1·u), which keeps activations O(1).
 */
export async function writeRandomVae(dir: string, raw: Record<string, unknown>, seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const config = { _class_name: 'AutoencoderKL', ...raw };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const parsed = parseAutoencoderKLConfig(new ConfigReader(config, join(dir, 'config.json')));
  const tensors = new Map<string, Tensor>();
  for (const { key, shape } of buildVaeProbeGraph(parsed).weights.values()) {
    const t = randomWeight(key, shape, seed);
    tensors.set(key, t);
  }
  await writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors, { format: 'pt' });
}
