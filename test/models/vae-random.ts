// Seeded random AutoencoderKL folders for the generalisation tests: a config.json plus a
// diffusion_pytorch_model.safetensors written with the project's own writer, holding exactly the
// weights the config implies (the keys and shapes the builder declares).
import '../../src/platform/node/index.js';

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Generator } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import { buildVaeProbeGraph } from '../../src/models/vae-graph.js';
import { writeSafetensors } from '../../src/weights/index.js';

/**
 * Writes `dir/config.json` and the weights. Scales keep activations O(1) through any depth:
 * conv/linear weights N(0, 1/fan_in), norm weights 1 + N(0, 0.1²), biases N(0, 0.1²).
 */
export async function writeRandomVae(dir: string, raw: Record<string, unknown>, seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const config = { _class_name: 'AutoencoderKL', ...raw };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const parsed = parseAutoencoderKLConfig(new ConfigReader(config, join(dir, 'config.json')));
  const g = new Generator(seed);
  const tensors = new Map<string, Tensor>();
  for (const { key, shape } of buildVaeProbeGraph(parsed).weights.values()) {
    const t = g.randn(shape);
    const isNorm = /norm[^.]*\.weight$/.test(key);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const scale = shape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.1;
    for (let i = 0; i < t.size; i++) t.data[i] = (isNorm ? 1 : 0) + scale * t.data[i];
    tensors.set(key, t);
  }
  await writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors, { format: 'pt' });
}
