// The latentlab-mini recipe's settings: one table, so the full run, the smoke run of the tests and
// the model card all read the same numbers. Step counts were chosen for ≤ 90 min on a 2-core CPU
// (docs/latentlab-mini.md has the measured stage times).

import type { LrSchedulerName } from '../lr-schedule.js';

export interface StageSettings {
  batch: number;
  steps: number;
  lr: number;
  lrScheduler: LrSchedulerName;
  warmupSteps: number;
  weightDecay: number;
  clipGradNorm?: number;
  emaDecay?: number;
  checkpointEvery: number;
}

export interface MiniRecipe {
  classifier: StageSettings;
  vae: StageSettings & { klWeight: number };
  diffusion: StageSettings;
  /** Training images used (the first N of the 60 000); all of them in the full recipe. */
  trainImages?: number;
  /** Images the VAE's scaling factor is measured on. */
  scalingImages: number;
}

export const MINI_RECIPE: MiniRecipe = {
  classifier: { batch: 64, steps: 2800, lr: 2e-3, lrScheduler: 'cosine', warmupSteps: 100, weightDecay: 1e-2, clipGradNorm: 1, checkpointEvery: 500 },
  vae: { batch: 32, steps: 700, lr: 1e-3, lrScheduler: 'cosine', warmupSteps: 50, weightDecay: 1e-2, clipGradNorm: 1, checkpointEvery: 200, klWeight: 1e-3 },
  diffusion: { batch: 64, steps: 2500, lr: 1e-3, lrScheduler: 'cosine', warmupSteps: 100, weightDecay: 1e-2, clipGradNorm: 1, emaDecay: 0.999, checkpointEvery: 250 },
  scalingImages: 2048,
};

/** A minute-scale version with the same code paths, for the tests. */
export const SMOKE_RECIPE: MiniRecipe = {
  classifier: { ...MINI_RECIPE.classifier, batch: 16, steps: 12, warmupSteps: 2, checkpointEvery: 6 },
  vae: { ...MINI_RECIPE.vae, batch: 8, steps: 12, warmupSteps: 2, checkpointEvery: 6 },
  diffusion: { ...MINI_RECIPE.diffusion, batch: 8, steps: 12, warmupSteps: 2, checkpointEvery: 6 },
  trainImages: 256,
  scalingImages: 64,
};
