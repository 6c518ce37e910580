// The training loop every latentlab trainer shares: update steps k = start … total − 1, a progress
// report after each, periodic work (checkpoints, validation) every N steps, and Ctrl-C (an
// AbortSignal) handled between steps: the step in flight finishes, `onCancel` saves what it needs,
// then the loop throws CANCELLED. What a step does is the caller's.

import { LatentlabError } from '../core/errors.js';

export interface TrainingProgress {
  /** Update steps done (the script's global_step). */
  step: number;
  totalSteps: number;
  /** The loss of the step just taken (mean over its micro-batches). */
  loss: number;
  /** The learning rate that step used. */
  lr: number;
  /** Steps done in this process and the time they took (for a rate and an ETA after a resume). */
  stepsThisRun: number;
  elapsedMs: number;
}

export interface Periodic {
  every: number;
  /** Called after step `step` (1-based) when step % every === 0, and after the last step if `atEnd`. */
  run(step: number): Promise<void>;
  atEnd?: boolean;
}

export interface TrainingLoopOptions {
  startStep: number;
  totalSteps: number;
  /** Update step k (0-based): returns its loss and learning rate. */
  step(k: number): Promise<{ loss: number; lr: number }>;
  periodic?: readonly Periodic[];
  onProgress?(p: TrainingProgress): void;
  signal?: AbortSignal;
  /** Called once when the signal stops the loop, with the steps done; then CANCELLED is thrown. */
  onCancel?(step: number): Promise<void>;
}

export async function runTrainingLoop(o: TrainingLoopOptions): Promise<void> {
  const t0 = performance.now();
  for (let k = o.startStep; k < o.totalSteps; k++) {
    if (o.signal?.aborted) await cancel(o, k);
    const { loss, lr } = await o.step(k);
    const done = k + 1;
    o.onProgress?.({ step: done, totalSteps: o.totalSteps, loss, lr, stepsThisRun: done - o.startStep, elapsedMs: performance.now() - t0 });
    for (const p of o.periodic ?? []) {
      if (p.every > 0 && (done % p.every === 0 || (p.atEnd && done === o.totalSteps))) await p.run(done);
    }
  }
}

async function cancel(o: TrainingLoopOptions, done: number): Promise<never> {
  await o.onCancel?.(done);
  throw new LatentlabError('CANCELLED', `training cancelled after step ${done}`, { cause: o.signal?.reason });
}
