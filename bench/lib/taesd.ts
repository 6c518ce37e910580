// A random-weight TAESD (madebyollin/taesd's config: 64 channels, encoder blocks [1, 3, 3, 3],
// decoder blocks [3, 3, 3, 1]) for the taesd-* benchmarks, written once to
// `.cache/latentlab-bench/taesd-random/` (9.5 MB). As for the SD 1.5 folder, the cost depends on
// the shapes only; the weights' scale (randomWeight: std 1/√fan_in) keeps activations finite.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { fileSystem } from '../../src/core/io.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { parseAutoencoderTinyConfig } from '../../src/models/taesd-config.js';
import { buildTinyProbeGraph } from '../../src/models/taesd-graph.js';
import { randomWeight } from '../../src/pipelines/random-pipeline.js';
import { writeSafetensors } from '../../src/weights/index.js';
import { benchCacheDir } from './sd15.js';

/** madebyollin/taesd's config.json (the TAESD for SD 1.x / 2.x latents). */
const TAESD_CONFIG = {
  _class_name: 'AutoencoderTiny', act_fn: 'relu', in_channels: 3, out_channels: 3, latent_channels: 4,
  encoder_block_out_channels: [64, 64, 64, 64], decoder_block_out_channels: [64, 64, 64, 64],
  num_encoder_blocks: [1, 3, 3, 3], num_decoder_blocks: [3, 3, 3, 1],
  upsampling_scaling_factor: 2, latent_magnitude: 3, latent_shift: 0.5, scaling_factor: 1.0, force_upcast: false,
};

/** The folder, written first if missing (config.json last: its presence marks a complete folder). */
export async function ensureTaesd(): Promise<string> {
  const folder = join(benchCacheDir(), 'taesd-random');
  const configFile = join(folder, 'config.json');
  if (existsSync(configFile)) return folder;
  const fs = fileSystem();
  await fs.mkdirp(folder);
  const decls = buildTinyProbeGraph(parseAutoencoderTinyConfig(new ConfigReader(TAESD_CONFIG, configFile))).weights.values();
  await writeSafetensors(join(folder, 'diffusion_pytorch_model.safetensors'), new Map([...decls].map((w) => [w.key, randomWeight(w.key, w.shape, 0)])), { format: 'pt' });
  await fs.writeFileAtomic(configFile, `${JSON.stringify(TAESD_CONFIG, null, 2)}\n`);
  return folder;
}
