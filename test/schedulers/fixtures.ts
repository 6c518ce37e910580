// Loading the scheduler replay fixtures (conformance README section 7).

import type { Tensor } from '../../src/core/tensor.js';
import { loadTensors, readJson } from '../helpers/fixtures.js';

export interface CaseEntry {
  case: string;
  file: string;
  json: string;
  scheduler_class: string;
  config_overrides: Record<string, unknown>;
  num_inference_steps: number;
  step_kwargs: { eta?: number };
  draws_noise: boolean;
}

export interface CaseJson {
  case: string;
  scheduler_class: string;
  config: Record<string, unknown>;
  config_after_set_timesteps?: Record<string, unknown>;
  num_inference_steps: number;
  step_kwargs: { eta?: number };
  step_receives_generator: boolean;
  seed: number;
  order: number;
}

export function readSchedulerJson<T>(name: string): T {
  return readJson<T>('schedulers', name);
}

export const index = readSchedulerJson<{ base_config: Record<string, unknown>; cases: CaseEntry[] }>('index.json');

export interface LoadedCase {
  entry: CaseEntry;
  json: CaseJson;
  t: (name: string) => Tensor;
  has: (name: string) => boolean;
}

export async function loadCase(entry: CaseEntry): Promise<LoadedCase> {
  const tensors = await loadTensors('schedulers', entry.file);
  const json = readSchedulerJson<CaseJson>(entry.json);
  return {
    entry,
    json,
    has: (name) => tensors.has(name),
    t: (name) => {
      const v = tensors.get(name);
      if (!v) throw new Error(`${entry.file} has no tensor ${name}`);
      return v;
    },
  };
}

/** Values of an I64 / F32 tensor as numbers. */
export function numbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Item i along the leading (step) axis, as float32, e.g. step i of `[S, 1, 4, 2, 3]`. */
export function item(t: Tensor, i: number): Tensor<'float32'> {
  return t.slice0(i).reshape(t.shape.slice(1)).toFloat32();
}

/** Max relative error per case family, printed once at the end of the run (for the report). */
export const maxErrors = new Map<string, number>();
export function record(key: string, rel: number): void {
  maxErrors.set(key, Math.max(maxErrors.get(key) ?? 0, rel));
}
