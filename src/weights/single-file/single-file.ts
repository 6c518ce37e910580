// A single-file Stable Diffusion checkpoint opened as diffusers components: each of unet, vae and
// text_encoder is (inferred config, the file seen through the LDM → diffusers renaming), ready for
// the models' `fromComponent`. Nothing is read but the header (and the pickle of a .ckpt).
//
//   const sf = await openSingleFile('v1-5-pruned-emaonly.safetensors')
//   sf.family                       // 'sd1'
//   sf.components.unet.config       // { block_out_channels: [320, 640, 1280, 1280], ... }
//   sf.components.unet.weights.ref('down_blocks.0.attentions.0.proj_in.weight')  // into the file

import { LatentlabError } from '../../core/errors.js';
import type { WeightData } from '../../core/external.js';
import { fileSystem } from '../../core/io.js';
import { RefSource } from '../ref-source.js';
import type { WeightSource } from '../source.js';
import { openCheckpointSource } from './checkpoint-source.js';
import { type CheckpointFamily, detectFamily } from './detect.js';
import { type InferredConfigs, inferConfigs } from './infer-config.js';
import { clipRefs, openClipRefs, unetRefs, vaeRefs, VAE_PREFIX } from './ldm-keys.js';
import { parseLdmYaml } from './ldm-yaml.js';

export interface SingleFileOptions {
  /** An LDM YAML (v1-inference.yaml, …); default: `<stem>.yaml` beside the checkpoint, if present. */
  originalConfig?: string;
  /** Overrides the YAML's parameterization and the inference (SD 2 768 models are v-prediction). */
  predictionType?: 'epsilon' | 'v_prediction';
}

export interface SingleFileComponent {
  config: Record<string, unknown>;
  weights: WeightSource;
}

export interface SingleFileCheckpoint {
  file: string;
  format: 'safetensors' | 'ckpt';
  family: CheckpointFamily;
  /** The YAML the configs came from, if any. */
  yamlFile?: string;
  configs: InferredConfigs;
  components: { unet: SingleFileComponent; vae: SingleFileComponent; text_encoder: SingleFileComponent };
}

export async function openSingleFile(file: string, options: SingleFileOptions = {}): Promise<SingleFileCheckpoint> {
  const fs = fileSystem();
  if (!(await fs.stat(file))?.isFile) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${file}: no such file`, { file, hint: 'pass a .safetensors / .ckpt checkpoint or a diffusers folder' });
  }
  const { source, format, globalStep } = await openCheckpointSource(file);
  const family = detectFamily(source.keys, file);
  const yamlFile = options.originalConfig ?? (await besideYaml(file));
  if (options.originalConfig && !(await fs.stat(options.originalConfig))?.isFile) {
    throw new LatentlabError('CONFIG_MISSING', `${options.originalConfig}: no such file (--original-config)`, { file: options.originalConfig, hint: 'pass the LDM YAML the checkpoint was trained with' });
  }
  const yaml = yamlFile ? parseLdmYaml(await fs.readText(yamlFile), yamlFile) : undefined;
  const configs = inferConfigs(source, family, { yaml, predictionType: options.predictionType, globalStep });
  const L = configs.unet.layers_per_block as number;
  const part = (name: string, refs: Map<string, WeightData>) => new RefSource(refs, `${file} (${name}, LDM keys renamed to diffusers')`, [file]);
  const text = family === 'sd1' ? clipRefs(source) : openClipRefs(source, configs.textLayers);
  return {
    file, format, family, yamlFile, configs,
    components: {
      unet: { config: configs.unet, weights: part('unet', unetRefs(source, L)) },
      vae: { config: configs.vae, weights: part('vae', vaeRefs(source, VAE_PREFIX)) },
      text_encoder: { config: configs.textEncoder, weights: part('text_encoder', text) },
    },
  };
}

/** `model.yaml` beside `model.safetensors` (how AUTOMATIC1111 finds a checkpoint's config). */
async function besideYaml(file: string): Promise<string | undefined> {
  const fs = fileSystem();
  const stem = fs.basename(file).replace(/\.[^.]+$/, '');
  const candidate = fs.join(fs.dirname(file), `${stem}.yaml`);
  return (await fs.stat(candidate))?.isFile ? candidate : undefined;
}
