// A network trainer on latentlab's own graphs: one compiled session computes the loss and
// ∂loss/∂θ for every trainable weight θ (grad(), with the weights fed as inputs: CompileOptions.
// trainable), and the host does what diffusers' train scripts do around `loss.backward()`:
//
//   g ← ∂loss/∂θ                                   (the session)
//   g ← g · min(1, c / ‖g‖₂)                        clip_grad_norm_(θ, c): one norm over all tensors
//   θ ← AdamW(θ, g, lr(k))                         torch.optim.AdamW semantics (adamw.ts)
//   θ_ema ← θ_ema − (1 − d_k)(θ_ema − θ)           EMAModel: d_k = min(decay, (1 + k) / (10 + k))
//
// Batches are a pure function of the step (the caller's `batch(k)`), so a run resumed from a
// checkpoint (params, AdamW moments, EMA) continues exactly as the uninterrupted run.

import { LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import { fileSystem } from '../core/io.js';
import { Tensor } from '../core/tensor.js';
import { grad } from '../graph/autodiff/grad.js';
import type { Graph, Value } from '../graph/graph.js';
import { CompiledGraph, CompileOptions, GRADIENT_COMPILE_DEFAULTS, runtime } from '../graph/runtime.js';
import { AdamW, type AdamWOptions } from './adamw.js';
import { checkpointName, configMismatches, latestCheckpoint, readTrainingState, saveTrainingState } from './checkpoint.js';
import { runTrainingLoop, type TrainingProgress } from './loop.js';

/** Adds the outputs `loss` and `grad.<key>` for each key to a graph whose scalar loss is `loss`. */
export function addWeightGradients(g: Graph, loss: Value, keys: readonly string[]): void {
  const values = keys.map((k) => {
    const w = g.weights.get(k);
    if (!w) throw new LatentlabError('TRAIN_OPTION', `trainable weight "${k}" is not declared by graph ${g.name}`, { key: k });
    return w.value;
  });
  g.output('loss', loss);
  grad(loss, values).forEach((d, i) => g.output(`grad.${keys[i]}`, d));
}

export interface EmaOptions {
  /** The largest decay (EMAModel's `decay`); the warm-up (1 + k) / (10 + k) caps it early on. */
  decay: number;
}

export interface TrainerOptions {
  /** Name for messages and the checkpoint's config. */
  name: string;
  /** The step graph: outputs `loss` (scalar) and `grad.<key>` for every trainable key (addWeightGradients). */
  graph: Graph;
  /** Initial values of the trainable weights (updated in place). */
  params: Map<string, Tensor<'float32'>>;
  /** Frozen weights the graph also declares (in memory or in files). */
  frozen?: ReadonlyMap<string, WeightData>;
  adam: AdamWOptions;
  /** lr(k) for update k (lr-schedule.ts). */
  lr: (k: number) => number;
  totalSteps: number;
  /** The feeds of step k (everything but the weights). */
  batch: (k: number) => Record<string, Tensor>;
  clipGradNorm?: number;
  ema?: EmaOptions;
  /** Folder for checkpoint-<step>.safetensors; none when omitted. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Settings a resumed run must share with the checkpoint. */
  config: Record<string, unknown>;
  /** Continue from the latest checkpoint in checkpointDir when there is one. */
  resume?: boolean;
  compile?: CompileOptions;
  /** Extra scalar outputs of the graph to report (e.g. a KL term). */
  report?: readonly string[];
  onProgress?(p: TrainingProgress & { values: Record<string, number>; gradNorm: number }): void;
  signal?: AbortSignal;
}

export interface TrainerResult {
  /** The trained weights (EMA weights when EMA is on). */
  weights: Map<string, Tensor<'float32'>>;
  /** The raw (non-EMA) weights. */
  params: Map<string, Tensor<'float32'>>;
  /** Loss per step of this process's steps, [step, loss]. */
  losses: [number, number][];
}

/** Global L2 norm of the gradients; scales them in place to at most `max` (clip_grad_norm_). Returns the norm before clipping. */
export function clipGradNorm(grads: ReadonlyMap<string, Tensor>, max: number | undefined): number {
  let sq = 0;
  for (const g of grads.values()) {
    const d = g.data as Float32Array;
    for (let i = 0; i < d.length; i++) sq += d[i] * d[i];
  }
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) throw new LatentlabError('TRAIN_GRADIENT', `the gradient norm is ${norm}: the loss diverged`, { hint: 'lower the learning rate or enable gradient clipping' });
  if (max !== undefined && norm > max) {
    const s = Math.fround(max / (norm + 1e-6)); // torch: clip_coef = max_norm / (total_norm + 1e-6)
    for (const g of grads.values()) {
      const d = g.data as Float32Array;
      for (let i = 0; i < d.length; i++) d[i] *= s;
    }
  }
  return norm;
}

/** EMAModel.step: ema ← ema − (1 − d)(ema − θ) with d = min(decay, (1 + k) / (10 + k)), k = updates done − 1. */
export function emaUpdate(ema: ReadonlyMap<string, Tensor<'float32'>>, params: ReadonlyMap<string, Tensor<'float32'>>, step: number, decay: number): void {
  const k = step - 1;
  const d = k <= 0 ? 0 : Math.min(decay, (1 + k) / (10 + k));
  const oneMinus = Math.fround(1 - d);
  for (const [key, e] of ema) {
    const p = params.get(key)!.data;
    const x = e.data;
    for (let i = 0; i < x.length; i++) x[i] -= oneMinus * (x[i] - p[i]);
  }
}

const EMA_PREFIX = 'ema/';

export async function train(o: TrainerOptions): Promise<TrainerResult> {
  const keys = [...o.params.keys()];
  const adam = new AdamW(o.params, o.adam);
  const ema = o.ema ? new Map([...o.params].map(([k, t]) => [k, t.clone() as Tensor<'float32'>])) : undefined;
  let start = 0;
  if (o.resume && o.checkpointDir) {
    const file = await latestCheckpoint(o.checkpointDir);
    if (file) start = await resumeFrom(file, o, adam, ema);
  }
  const weights = new Map<string, WeightData>([...(o.frozen ?? new Map()), ...o.params]);
  const session: CompiledGraph = await runtime().compile(o.graph, weights, { ...GRADIENT_COMPILE_DEFAULTS, ...o.compile, trainable: keys });
  const losses: [number, number][] = [];
  const save = async (step: number) => {
    if (!o.checkpointDir) return;
    await fileSystem().mkdirp(o.checkpointDir);
    const extra = ema ? new Map([...ema].map(([k, t]) => [`${EMA_PREFIX}${k}`, t])) : undefined;
    await saveTrainingState(fileSystem().join(o.checkpointDir, checkpointName(step)), step, adam, { trainer: o.name, ...o.config }, extra);
  };
  let last: { values: Record<string, number>; gradNorm: number } = { values: {}, gradNorm: 0 };
  try {
    await runTrainingLoop({
      startStep: start,
      totalSteps: o.totalSteps,
      signal: o.signal,
      step: async (k) => {
        const r = await session.run({ ...o.batch(k), ...Object.fromEntries(o.params) });
        const loss = Number(r.loss.data[0]);
        if (!Number.isFinite(loss)) throw new LatentlabError('TRAIN_GRADIENT', `${o.name}: the loss is ${loss} at step ${k + 1}`, { hint: 'lower the learning rate' });
        const grads = new Map(keys.map((key) => [key, r[`grad.${key}`]]));
        const gradNorm = clipGradNorm(grads, o.clipGradNorm);
        const lr = o.lr(k);
        adam.step(grads, lr);
        if (ema) emaUpdate(ema, o.params, adam.stepCount, o.ema!.decay);
        losses.push([k + 1, loss]);
        last = { values: Object.fromEntries((o.report ?? []).map((n) => [n, Number(r[n].data[0])])), gradNorm };
        return { loss, lr };
      },
      periodic: o.checkpointDir && o.checkpointEvery ? [{ every: o.checkpointEvery, atEnd: true, run: save }] : [],
      onProgress: (p) => o.onProgress?.({ ...p, ...last }),
      onCancel: save,
    });
  } finally {
    await session.release();
  }
  return { weights: ema ?? o.params, params: o.params, losses };
}

async function resumeFrom(file: string, o: TrainerOptions, adam: AdamW, ema: Map<string, Tensor<'float32'>> | undefined): Promise<number> {
  const state = await readTrainingState(file);
  const mismatch = configMismatches(state.config, { trainer: o.name, ...o.config });
  if (mismatch.length) {
    throw new LatentlabError('TRAIN_RESUME', `${file} was written by a run with other settings: ${mismatch.join('; ')}`, { file, hint: 'resume with the same settings, or start again in an empty folder' });
  }
  for (const [k, p] of o.params) {
    const saved = state.params.get(k);
    if (!saved || saved.data.length !== p.data.length) throw new LatentlabError('TRAIN_RESUME', `${file} has no parameter "${k}" of ${p.data.length} elements`, { file, key: k });
    p.data.set(saved.data);
    if (ema) {
      const e = state.extra.get(`${EMA_PREFIX}${k}`);
      if (!e) throw new LatentlabError('TRAIN_RESUME', `${file} has no EMA weights for "${k}"`, { file, key: k, hint: 'resume with the EMA setting the checkpoint was written with' });
      ema.get(k)!.data.set(e.data);
    }
  }
  adam.loadState(state.adamStep, state.moments);
  return state.step;
}
