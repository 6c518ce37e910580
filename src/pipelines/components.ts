// Loading a Stable Diffusion pipeline folder (diffusers DiffusionPipeline.from_pretrained, 0.27):
// model_index.json names the components; latentlab loads tokenizer, text_encoder, unet, vae and
// the scheduler config, and skips safety_checker / feature_extractor / image_encoder.

import { inFile, LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { warn } from '../core/log.js';
import { resolveModelPath, ResolveOptions } from '../core/model-resolver.js';
import type { CompileOptions } from '../graph/runtime.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { AutoencoderTiny } from '../models/autoencoder-tiny.js';
import { CLIPTextModel } from '../models/clip-text-model.js';
import { UNet2DConditionModel } from '../models/unet-2d-condition-model.js';
import { Scheduler, schedulerFromConfig } from '../schedulers/index.js';
import { CLIPTokenizer } from '../tokenizers/index.js';
import { readConfigFile } from '../weights/index.js';
import type { PipelineVae } from './latents.js';

export interface PipelineLoadOptions extends CompileOptions, Omit<ResolveOptions, 'variant'> {
  /** Weight variant of every component, e.g. "fp16" (computed in float32 on the CPU). */
  variant?: string;
  /** A scheduler name (`euler-a`, `DPM++ 2M Karras`, `EulerDiscreteScheduler`, …) or a full scheduler config object. */
  scheduler?: string | Record<string, unknown>;
  /**
   * Release each network's ONNX Runtime sessions as soon as a call no longer needs them (the text
   * encoder after encoding, the UNet before the VAE decode, the VAE at the end). Default true: a
   * 512×512 SD 1.5 generation then peaks at the UNet's ~4.7 GB instead of ~7 GB with all three
   * alive (docs/benchmarks.md), and re-creating the sessions costs ~0.3 s per call at the default
   * optimisation level. Set false for many calls in one process with costly sessions (fp16
   * variants, optimizationLevel 'all'), if the memory is there.
   */
  releaseSessions?: boolean;
  /**
   * Use this autoencoder instead of the folder's `vae/` (diffusers `from_pretrained(…, vae=…)`),
   * e.g. `await AutoencoderTiny.fromPretrained('madebyollin/taesd')` for ~1%-cost decoding.
   */
  vae?: PipelineVae;
}

export interface PipelineComponents {
  /** The local folder the pipeline was loaded from (a Hub snapshot for Hub ids). */
  folder: string;
  tokenizer: CLIPTokenizer;
  textEncoder: CLIPTextModel;
  unet: UNet2DConditionModel;
  vae: PipelineVae;
  scheduler: Scheduler;
  /** The model's own scheduler_config.json (after diffusers' compatibility fixes). */
  schedulerConfig: Record<string, unknown>;
  /** See PipelineLoadOptions.releaseSessions (default true). */
  releaseSessions?: boolean;
}

const REQUIRED = ['tokenizer', 'text_encoder', 'unet', 'vae', 'scheduler'] as const;

/**
 * diffusers' StableDiffusionPipeline.__init__ rewrites two outdated scheduler settings (with a
 * deprecation warning); we do the same so old checkpoints give diffusers' images.
 */
export function fixLegacySchedulerConfig(config: Record<string, unknown>): Record<string, unknown> {
  const fixed = { ...config };
  if (typeof fixed.steps_offset === 'number' && fixed.steps_offset !== 1) {
    warn(`the scheduler config has steps_offset=${fixed.steps_offset}; like diffusers, latentlab uses steps_offset=1 (update the model's scheduler_config.json)`);
    fixed.steps_offset = 1;
  }
  if (fixed.clip_sample === true) {
    warn('the scheduler config has clip_sample=true; like diffusers, latentlab uses clip_sample=false (update the model\'s scheduler_config.json)');
    fixed.clip_sample = false;
  }
  return fixed;
}

/** The scheduler for a pipeline: the model's own, switched by name, or a full config. */
export function makeScheduler(modelConfig: Record<string, unknown>, choice?: string | Record<string, unknown>): Scheduler {
  if (choice === undefined) return schedulerFromConfig(modelConfig);
  if (typeof choice === 'string') return schedulerFromConfig(modelConfig, { name: choice });
  return schedulerFromConfig(choice);
}

/** The model_index.json classes whose folders hold an SD 1.x / 2.x pipeline (tokenizer, CLIP, UNet, AutoencoderKL). */
export const SD_PIPELINE_CLASSES = ['StableDiffusionPipeline', 'StableDiffusionImg2ImgPipeline', 'StableDiffusionInpaintPipeline', 'LatentConsistencyModelPipeline'] as const;

/**
 * Another pipeline's folder (SDXL, video, Kandinsky, …) has other components with the same folder
 * names: loading it would fail much later, on a weight, or silently produce noise. Refuse it here.
 */
function checkPipelineClass(index: Record<string, unknown>, indexFile: string): void {
  const found = index._class_name;
  if (found === undefined || (SD_PIPELINE_CLASSES as readonly unknown[]).includes(found)) return;
  throw new LatentlabError('PIPELINE_UNSUPPORTED', `${indexFile} declares "_class_name": ${JSON.stringify(found)}; latentlab loads Stable Diffusion 1.x / 2.x pipelines`, {
    file: indexFile, key: '_class_name',
    hint: `supported: ${SD_PIPELINE_CLASSES.join(', ')}. SDXL, SD 3, video and other pipelines have other networks; use a SD 1.x / 2.x model`,
  });
}

export async function loadPipelineComponents(pathOrId: string, options: PipelineLoadOptions = {}): Promise<PipelineComponents> {
  const fs = fileSystem();
  const folder = await resolveModelPath(pathOrId, options);
  const indexFile = fs.join(folder, 'model_index.json');
  if (!(await fs.stat(indexFile))?.isFile) {
    throw new LatentlabError('PIPELINE_NOT_DIFFUSERS', `${folder} is not a diffusers pipeline folder: it has no model_index.json`, {
      file: folder,
      hint: 'pass the top folder of a diffusers Stable Diffusion model (it holds model_index.json and the unet/, vae/, text_encoder/, tokenizer/, scheduler/ folders), or a Hub id such as stable-diffusion-v1-5/stable-diffusion-v1-5',
    });
  }
  const index = await readConfigFile(indexFile);
  checkPipelineClass(index, indexFile);
  const missing = REQUIRED.filter((c) => !Array.isArray(index[c]) || (index[c] as unknown[])[0] === null);
  if (missing.length > 0) {
    throw new LatentlabError('PIPELINE_NOT_DIFFUSERS', `${indexFile} lacks the component(s) ${missing.join(', ')} that a Stable Diffusion pipeline needs`, {
      file: indexFile, hint: 'latentlab loads StableDiffusionPipeline-style folders (SD 1.x / 2.x)',
    });
  }
  const { vae: givenVae, precision, ...modelOptions } = options;
  // model_index.json names the VAE's class: a pipeline may ship a TAESD as its vae.
  const Vae = (index.vae as unknown[])[1] === 'AutoencoderTiny' ? AutoencoderTiny : AutoencoderKL;
  const [tokenizer, textEncoder, unet, vae] = await Promise.all([
    CLIPTokenizer.fromPretrained(folder, { subfolder: 'tokenizer' }),
    CLIPTextModel.fromPretrained(folder, { ...modelOptions, subfolder: 'text_encoder' }),
    // precision 'int8' is the UNet's: it holds nearly all the compute (the VAE's convs stay float32).
    UNet2DConditionModel.fromPretrained(folder, { ...modelOptions, precision, subfolder: 'unet' }),
    givenVae ?? Vae.fromPretrained(folder, { ...modelOptions, subfolder: 'vae' }),
  ]);
  const schedulerFile = fs.join(folder, 'scheduler', 'scheduler_config.json');
  const schedulerConfig = fixLegacySchedulerConfig(await readConfigFile(schedulerFile));
  // A full config object passed by the caller is not the file's fault.
  const scheduler = typeof options.scheduler === 'object' ? makeScheduler(schedulerConfig, options.scheduler) : inFile(schedulerFile, () => makeScheduler(schedulerConfig, options.scheduler));
  return { folder, tokenizer, textEncoder, unet, vae, scheduler, schedulerConfig, releaseSessions: options.releaseSessions ?? true };
}
