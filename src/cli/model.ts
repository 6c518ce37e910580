// --model and the flags that go with it, and the scheduler choice (--scheduler NAME or
// --scheduler-config FILE.json), shared by every command that loads something.

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { type Command, Option } from 'commander';

import {
  a1111SamplerName, DEFAULT_MODEL_NAME, defaultModelPath, type Device, type HubProgressEvent, ioError, LatentlabError, parseJson, resolveModelPath, type Scheduler, schedulerFromConfig, schedulerName,
  terminalProgress,
} from '../node.js';
import { checkApplicable } from './applicability.js';
import { flagError } from './errors.js';
import type { SchedulerReport } from './metadata.js';
import type { Session } from './session.js';
import { deviceFlag, integerFlag, nonEmptyFlag, schedulerFlag } from './values.js';

export interface ModelFlags {
  model?: string;
  variant?: string;
  revision?: string;
  device?: Device;
  threads?: number;
}

export interface SchedulerFlags {
  scheduler?: string;
  schedulerConfig?: string;
}

/** --model plus the loading flags (--variant, --revision; --device, --threads when the command runs networks). */
export function addModelOptions(cmd: Command, o: { required: boolean; runs: boolean }): Command {
  const model = new Option('--model <dir|id|file>', 'a diffusers pipeline folder, a Hugging Face Hub id such as stable-diffusion-v1-5/stable-diffusion-v1-5 (downloaded into the Hub cache), or (generate, img2img) a single-file checkpoint .safetensors / .ckpt')
    .argParser(nonEmptyFlag('--model'));
  // Commands that need a model fall back to the shipped one (models/latentlab-mini), so they work offline on a fresh clone.
  cmd.addOption(o.required ? model.default(defaultModelPath(), `the shipped ${DEFAULT_MODEL_NAME}`) : model);
  cmd.addOption(new Option('--variant <name>', 'weights variant, e.g. fp16 (computed in float32)').argParser(nonEmptyFlag('--variant')));
  cmd.addOption(new Option('--revision <rev>', 'Hub branch, tag or commit (default: main)').argParser(nonEmptyFlag('--revision')));
  if (o.runs) {
    cmd.addOption(new Option('--device <device>', 'ONNX Runtime execution provider (default: cpu)').argParser(deviceFlag));
    cmd.addOption(new Option('--threads <n>', 'intra-op threads (default: ONNX Runtime\'s choice)').argParser(integerFlag('--threads', 1)));
  }
  return cmd;
}

export function addSchedulerOptions(cmd: Command): Command {
  cmd.addOption(new Option('--scheduler <name>', 'sampler: a short name (euler-a, dpm++2m-karras, …), an A1111 name ("DPM++ 2M Karras") or a diffusers class; default: the model\'s own')
    .argParser(schedulerFlag).conflicts('schedulerConfig'));
  cmd.addOption(new Option('--scheduler-config <file.json>', 'a full scheduler config (scheduler_config.json format, -Infinity allowed)').argParser(nonEmptyFlag('--scheduler-config')));
  return cmd;
}

/** The options the library's loaders take from the flags. */
export function loadOptions(f: ModelFlags): { variant?: string; revision?: string; device?: Device; threads?: number } {
  return { variant: f.variant, revision: f.revision, device: f.device, threads: f.threads };
}

/** Is --model an existing folder (as opposed to a Hub id)? */
export async function isFolder(model: string): Promise<boolean> {
  return (await stat(model).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * --model → a local folder (downloading a Hub id into the cache if needed, with the Hub client's
 * progress bar on a terminal; its warnings, e.g. "the Hub is unreachable, using the cache", go
 * through the session so that --json lists them too).
 */
export async function resolveFolder(f: ModelFlags, session: Session): Promise<string> {
  if (f.model === undefined) throw flagError('--model', '', 'a diffusers folder or a Hub id');
  checkApplicable(f, { localFolder: await isFolder(f.model) });
  const bar = terminalProgress(session.streams.stderr);
  const onProgress = (e: HubProgressEvent) => (e.type === 'warning' ? session.warn(e.message) : bar(e));
  return resolve(await resolveModelPath(f.model, { variant: f.variant, revision: f.revision, onProgress: onProgress as (event: never) => void }));
}

/** Fails clearly when the folder is not a diffusers pipeline (no model_index.json). */
export async function requirePipelineFolder(folder: string): Promise<void> {
  if (!(await stat(join(folder, 'model_index.json')).catch(() => undefined))?.isFile()) {
    throw new LatentlabError('PIPELINE_NOT_DIFFUSERS', `${folder} is not a diffusers pipeline folder: it has no model_index.json`, {
      file: folder,
      hint: 'pass the top folder of a diffusers Stable Diffusion model (it holds model_index.json and the unet/, vae/, text_encoder/, tokenizer/, scheduler/ folders), or a Hub id such as stable-diffusion-v1-5/stable-diffusion-v1-5',
    });
  }
}

/** A scheduler config file (Python-style JSON: -Infinity, NaN allowed), checked by building the scheduler. */
export async function readSchedulerConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw ioError(e, path, 'read', '--scheduler-config');
  }
  let config: unknown;
  try {
    config = parseJson(text, { nonFinite: true });
  } catch (e) {
    throw new LatentlabError('CONFIG_JSON', `--scheduler-config ${path}: not valid JSON (${(e as Error).message})`, { file: path, cause: e });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config) || typeof (config as Record<string, unknown>)._class_name !== 'string') {
    throw new LatentlabError('CONFIG_JSON', `--scheduler-config ${path}: expected a JSON object with "_class_name" (a diffusers scheduler config)`, {
      file: path, hint: 'use --scheduler NAME to switch the model\'s scheduler by name instead',
    });
  }
  schedulerFromConfig(config as Record<string, unknown>);
  return config as Record<string, unknown>;
}

/** What the library's `scheduler` load option gets: a name, a config object, or nothing (the model's own). */
export async function schedulerChoice(f: SchedulerFlags): Promise<{ choice?: string | Record<string, unknown>; source: SchedulerReport['source'] }> {
  if (f.schedulerConfig !== undefined) return { choice: await readSchedulerConfig(f.schedulerConfig), source: '--scheduler-config' };
  if (f.scheduler !== undefined) return { choice: f.scheduler, source: '--scheduler' };
  return { source: 'model' };
}

export function schedulerReport(s: Scheduler, source: SchedulerReport['source']): SchedulerReport {
  return { name: schedulerName(s), a1111: a1111SamplerName(s), className: s.className, config: { ...s.config }, source };
}
