// A pipeline from one checkpoint file (diffusers 0.27 `StableDiffusionPipeline.from_single_file`):
// the file's three networks through the LDM → diffusers renaming (weights/single-file/), the
// tokenizer that ships with latentlab (SD 1: pad <|endoftext|>; SD 2: pad "!"), and the scheduler
// diffusers builds for a single file (DDIM with the YAML's βₜ and prediction type). And the way
// back: a pipeline folder saved as one file.

import type { ResolveOptions } from '../core/model-resolver.js';
import { ConfigReader } from '../models/config-reader.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { CLIPTextModel } from '../models/clip-text-model.js';
import { UNet2DConditionModel } from '../models/unet-2d-condition-model.js';
import { loadComponent } from '../models/pretrained.js';
import { bundledClipTokenizer, type CLIPTokenizer } from '../tokenizers/index.js';
import { saveSingleFile } from '../weights/single-file/save.js';
import { openSingleFile, type SingleFileCheckpoint, type SingleFileComponent, type SingleFileOptions } from '../weights/single-file/single-file.js';
import { makeScheduler, type PipelineComponents, type PipelineLoadOptions } from './components.js';

export interface SingleFileLoadOptions extends Omit<PipelineLoadOptions, keyof ResolveOptions>, SingleFileOptions {
  /** Use this tokenizer instead of the bundled CLIP BPE. */
  tokenizer?: CLIPTokenizer;
}

/** The components of `file`, plus what was found out about it (family, YAML, inferred configs). */
export async function loadSingleFileComponents(file: string, options: SingleFileLoadOptions = {}): Promise<PipelineComponents & { checkpoint: SingleFileCheckpoint }> {
  const { originalConfig, predictionType, tokenizer: givenTokenizer, vae: givenVae, scheduler: choice, releaseSessions, precision, ...compile } = options;
  const sf = await openSingleFile(file, { originalConfig, predictionType });
  const part = (c: SingleFileComponent, name: string) => ({
    folder: file, weights: c.weights, config: new ConfigReader(c.config, `${file} (${name} config inferred${sf.yamlFile ? ` from ${sf.yamlFile}` : ' from the weights'})`),
  });
  const textEncoder = CLIPTextModel.fromComponent(part(sf.components.text_encoder, 'text_encoder'), compile);
  const unet = UNet2DConditionModel.fromComponent(part(sf.components.unet, 'unet'), { ...compile, precision }); // int8 is the UNet's (components.ts)
  const vae = givenVae ?? AutoencoderKL.fromComponent(part(sf.components.vae, 'vae'), compile);
  const tokenizer = givenTokenizer ?? (await bundledClipTokenizer(sf.family));
  const schedulerConfig = sf.configs.scheduler;
  const scheduler = makeScheduler(schedulerConfig, choice);
  return { folder: file, tokenizer, textEncoder, unet, vae, scheduler, schedulerConfig, releaseSessions: releaseSessions ?? true, checkpoint: sf };
}

/**
 * A diffusers pipeline folder saved as one LDM-layout .safetensors checkpoint (weights/single-file/
 * save.ts): SD 1 layout for a CLIP (quick_gelu) text encoder, SD 2's OpenCLIP layout for a gelu one.
 * The scheduler, tokenizer and prediction type are not in the file (as in every single file): an SD 2
 * v-prediction model needs its YAML or `predictionType` when loaded. Returns the layout written.
 */
export async function savePipelineAsSingleFile(folder: string, file: string, options: { variant?: string } = {}): Promise<'sd1' | 'sd2'> {
  const [unet, vae, text] = await Promise.all((['unet', 'vae', 'text_encoder'] as const).map((c) => loadComponent(folder, c, { subfolder: c, variant: options.variant })));
  const family = text.config.raw.hidden_act === 'gelu' ? 'sd2' : 'sd1';
  await saveSingleFile(file, { unet: unet.weights, vae: vae.weights, textEncoder: text.weights }, family);
  return family;
}
