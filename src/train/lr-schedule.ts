// Learning-rate schedules with warm-up, as diffusers' `get_scheduler` (optimization.py, 0.27) makes
// them: a LambdaLR whose factor λ(k) multiplies the base rate at optimizer step k = 0, 1, … (the
// scheduler steps after each update, so update k uses λ(k)). W = warm-up steps, T = training steps.
//
//   constant               1
//   constant_with_warmup   k/W during warm-up, then 1
//   linear                 k/W, then (T − k)/(T − W) down to 0
//   cosine                 k/W, then ½(1 + cos(π · 2·0.5 · p)),  p = (k − W)/(T − W)  (half a cosine)
//   cosine_with_restarts   k/W, then ½(1 + cos(π · ((cycles · p) mod 1))), 0 once p ≥ 1
//   polynomial             k/W, then ((1 − lr_end/lr)(1 − p)^power + lr_end/lr), lr_end = 1e-7, power 1

import { LatentlabError } from '../core/errors.js';

export const LR_SCHEDULERS = ['constant', 'constant_with_warmup', 'linear', 'cosine', 'cosine_with_restarts', 'polynomial'] as const;
export type LrSchedulerName = (typeof LR_SCHEDULERS)[number];

export interface LrScheduleOptions {
  warmupSteps?: number;
  /** T, needed by every schedule that decays. */
  trainingSteps: number;
  /** cosine_with_restarts only (diffusers passes --lr_num_cycles there, default 1). */
  numCycles?: number;
  /** polynomial only. */
  power?: number;
  lrEnd?: number;
}

/** lr(k) = base · λ(k) for optimizer step k (0-based). */
export function lrSchedule(name: LrSchedulerName, base: number, o: LrScheduleOptions): (k: number) => number {
  if (!LR_SCHEDULERS.includes(name)) {
    throw new LatentlabError('TRAIN_OPTION', `unknown lr scheduler ${JSON.stringify(name)}`, { key: 'lrScheduler', hint: `one of ${LR_SCHEDULERS.join(', ')}` });
  }
  const W = o.warmupSteps ?? 0;
  const T = o.trainingSteps;
  const warm = (k: number) => k / Math.max(1, W);
  const progress = (k: number) => (k - W) / Math.max(1, T - W);
  const lambda: (k: number) => number = {
    constant: () => 1,
    constant_with_warmup: (k: number) => (k < W ? warm(k) : 1),
    linear: (k: number) => (k < W ? warm(k) : Math.max(0, (T - k) / Math.max(1, T - W))),
    cosine: (k: number) => (k < W ? warm(k) : Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress(k))))),
    cosine_with_restarts: (k: number) => {
      if (k < W) return warm(k);
      const p = progress(k);
      return p >= 1 ? 0 : Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (((o.numCycles ?? 1) * p) % 1))));
    },
    polynomial: (k: number) => {
      const end = o.lrEnd ?? 1e-7;
      if (k < W) return warm(k);
      if (k > T) return end / base;
      const decay = (base - end) * (1 - (k - W) / Math.max(1, T - W)) ** (o.power ?? 1) + end;
      return decay / base;
    },
  }[name];
  return (k) => base * lambda(k);
}
