// Training checkpoints: what a run needs to continue exactly where it stopped, in one
// .safetensors file written atomically (temporary file + rename):
//
//   tensors    the trained parameters by name, and AdamW's moments as "<name>.exp_avg" / "<name>.exp_avg_sq";
//              extra state under keys with a "/" (e.g. "ema/<name>": the EMA weights)
//   metadata   format, step (update steps done), adamw_step, and `config` (JSON): the settings that
//              must be the same for the continuation to be the uninterrupted run's
//
// Named `checkpoint-<step>.safetensors`, so "latest" is the largest step in the folder.

import { LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { Tensor } from '../core/tensor.js';
import { SafetensorsFile } from '../weights/safetensors-file.js';
import { writeSafetensors } from '../weights/safetensors-write.js';
import type { AdamW } from './adamw.js';

export const CHECKPOINT_FORMAT = 'latentlab-training-state-1';

export interface TrainingState {
  step: number;
  params: Map<string, Tensor<'float32'>>;
  adamStep: number;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
  /** Tensors saved beside the optimizer state (keys with a "/"). */
  extra: Map<string, Tensor<'float32'>>;
  config: Record<string, unknown>;
}

export const checkpointName = (step: number) => `checkpoint-${step}.safetensors`;

export async function saveTrainingState(path: string, step: number, adam: AdamW, config: Record<string, unknown>, extra?: ReadonlyMap<string, Tensor>): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of extra ?? []) tensors[k] = t;
  for (const [key, p] of adam.params) {
    const { m, v } = adam.moments(key);
    tensors[key] = p;
    tensors[`${key}.exp_avg`] = new Tensor('float32', p.shape, m);
    tensors[`${key}.exp_avg_sq`] = new Tensor('float32', p.shape, v);
  }
  await writeSafetensors(path, tensors, { format: CHECKPOINT_FORMAT, step: String(step), adamw_step: String(adam.stepCount), config: JSON.stringify(config) });
}

export async function readTrainingState(path: string): Promise<TrainingState> {
  const file = await SafetensorsFile.open(path);
  const meta = file.metadata ?? {};
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new LatentlabError('TRAIN_RESUME', `${path} is not a latentlab training checkpoint (format ${JSON.stringify(meta.format ?? null)})`, {
      file: path, hint: 'resume from a checkpoint-<step>.safetensors written by a training run (not a learned_embeds file)',
    });
  }
  const params = new Map<string, Tensor<'float32'>>();
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  const extra = new Map<string, Tensor<'float32'>>();
  for (const k of file.keys.filter((k) => k.includes('/'))) extra.set(k, (await file.read(k)).toFloat32().clone() as Tensor<'float32'>);
  const keys = file.keys.filter((k) => !k.includes('/') && !k.endsWith('.exp_avg') && !k.endsWith('.exp_avg_sq'));
  for (const k of keys) {
    params.set(k, (await file.read(k)).toFloat32().clone() as Tensor<'float32'>);
    moments.set(k, { m: (await file.read(`${k}.exp_avg`)).toFloat32().data.slice(), v: (await file.read(`${k}.exp_avg_sq`)).toFloat32().data.slice() });
  }
  return { step: Number(meta.step), adamStep: Number(meta.adamw_step), params, moments, extra, config: JSON.parse(meta.config ?? '{}') };
}

/** The checkpoint with the most steps in `dir`, or undefined. */
export async function latestCheckpoint(dir: string): Promise<string | undefined> {
  const fs = fileSystem();
  let best: [number, string] | undefined;
  for (const name of (await fs.stat(dir))?.isDirectory ? await fs.list(dir) : []) {
    const m = /^checkpoint-(\d+)\.safetensors$/.exec(name);
    if (m && (!best || Number(m[1]) > best[0])) best = [Number(m[1]), fs.join(dir, name)];
  }
  return best?.[1];
}

/** Settings that differ between a checkpoint and this run ([] when it may continue it). */
export function configMismatches(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  return Object.keys(now).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k])).map((k) => `${k}: checkpoint ${JSON.stringify(saved[k])}, now ${JSON.stringify(now[k])}`);
}
