// What the consistency-distilled samplers share (diffusers LCMScheduler and TCDScheduler, 0.27):
// the distillation timestep grid, the step counter that decides which step is the last, and the
// next timestep *in the schedule* (unlike DDIM, which steps to t − T//N).
//
// Consistency distillation (Song et al. 2023; Luo et al. 2023, "Latent Consistency Models") trains the
// model on a coarse grid of O = `original_inference_steps` timesteps with skipping step k = T // O:
//   training grid   (1, 2, …, O)·k − 1, reversed        999, 979, …, 19 for O = 50
//   N-step schedule the entries floor(linspace(0, O, N, endpoint=False)) of that grid
// so for O = 50: N = 4 → 999, 759, 499, 259. `steps_offset` and `timestep_spacing` are not used.

import { check, fmtValue } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { AlphaScheduler } from './alpha-base.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, FieldRule, SchedulerConfigInput } from './config.js';

/** diffusers' `__init__` defaults shared by LCMScheduler and TCDScheduler, 0.27. */
export const CONSISTENCY_DEFAULTS = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
} as const;

export const CONSISTENCY_RULES: Readonly<Record<string, FieldRule>> = {
  original_inference_steps: { type: 'number', integer: true, min: 1 },
  timestep_scaling: { type: 'number', min: 0 },
};

export abstract class ConsistencyScheduler extends AlphaScheduler {
  readonly order = 1;

  protected constructor(spec: ClassSpec, input?: SchedulerConfigInput) {
    super(spec, input);
  }

  /** ᾱ past the end of the schedule (only reached by a negative timestep, which the grid never has). */
  protected get finalAlphaCumprod(): number {
    return this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  /** O, or null for TCD's "whole 0 … T−1 grid" (a config with `original_inference_steps: null`). */
  protected get originalSteps(): number | null {
    return this.config.original_inference_steps as number | null;
  }

  /** The distillation grid (1 … O)·k − 1, ascending (TCD without O: every training timestep). */
  private grid(): number[] {
    const T = this.config.num_train_timesteps;
    const O = this.originalSteps;
    return O === null ? Array.from({ length: T }, (_, i) => i) : Array.from({ length: O }, (_, i) => (i + 1) * Math.floor(T / O) - 1);
  }

  protected override checkSteps(n: number): void {
    const T = this.config.num_train_timesteps;
    const O = this.originalSteps;
    check(O === null || O <= T, 'SCHEDULER_CONFIG',
      () => `${this.className}: original_inference_steps is ${fmtValue(O)}, more than num_train_timesteps (${T})`,
      { key: 'original_inference_steps', hint: `use at most ${T} (the distilled models use 50).` });
    const size = O ?? T;
    check(n <= size, 'SCHEDULER_STEPS',
      () => `${this.className}.setTimesteps: numInferenceSteps is ${n}, more than original_inference_steps (${size})`,
      { hint: `the schedule is a subset of the ${size}-step distillation grid; sample with at most ${size} steps (1–8 is typical).` });
  }

  protected computeTimesteps(n: number): void {
    const grid = this.grid().reverse();
    // np.linspace(0, len, n, endpoint=False) = i·(len/n), floored to indices.
    const stride = grid.length / n;
    this.timesteps = Array.from({ length: n }, (_, i) => grid[Math.floor(i * stride)]);
  }

  protected resetState(): void {}

  /** The index of the step `step(…, t, …)` takes: t's position (the schedule has no repeats). */
  protected indexOfStep(t: number): number {
    return this.indexForTimestep(t);
  }

  /** diffusers tests `step_index != num_inference_steps − 1`: the last step never re-noises. */
  protected isLastStep(index: number): boolean {
    return index === (this.numInferenceSteps ?? 0) - 1;
  }

  /** The schedule's next timestep after step `index`, or `fallback` after the last one. */
  protected nextTimestep(index: number, fallback: number): number {
    return index + 1 < this.timesteps.length ? this.timesteps[index + 1] : fallback;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions): StepOutput {
    const index = this.initStepIndex(t);
    const out = this.consistencyStep(modelOutput, t, sample, index, opts);
    this.stepIdx = index + 1;
    return out;
  }

  protected abstract consistencyStep(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, index: number, opts: StepOptions): StepOutput;
}
