// Trajectory Consistency Distillation (Zheng et al. 2024) — diffusers TCDScheduler, 0.27.
//
// TCD's model predicts ε like LCM's, but its sampler ("strategic stochastic sampling", the paper's
// Algorithm 4) goes from t to an intermediate timestep s *before* the next scheduled t', then re-noises
// from s up to t'. γ (diffusers `eta`, default 0.3) sets how far below t' it goes:
//   s      = ⌊(1 − γ)·t'⌋                    (t' = 0 after the last step)
//   x̂₀, ε̂  from the model output, as DDIM      (ε̂ = ε for ε-prediction)
//   x_s    = √ᾱ_s·x̂₀ + √(1−ᾱ_s)·ε̂             (`pred_noised_sample`: a DDIM jump t → s)
//   x_{t'} = √(ᾱ_{t'}/ᾱ_s)·x_s + √(1 − ᾱ_{t'}/ᾱ_s)·z     (forward process s → t')
// γ = 0 makes s = t': deterministic, a DDIM step along the schedule, no draws. The last step
// returns x_s without noise. The SD pipelines pass their `eta` argument (default 0) as γ.

import { check, fmtValue } from '../core/errors.js';
import { linearCombination } from '../core/tensor-math.js';
import type { Tensor } from '../core/tensor.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { CONSISTENCY_DEFAULTS, CONSISTENCY_RULES, ConsistencyScheduler } from './consistency-base.js';

export const TCD_SPEC: ClassSpec = {
  className: 'TCDScheduler',
  defaults: CONSISTENCY_DEFAULTS,
  // null: sample from the whole 0 … T−1 grid instead of the distillation grid.
  rules: { ...CONSISTENCY_RULES, original_inference_steps: { type: 'number', integer: true, min: 1, nullable: true } },
};

/** diffusers' default γ when `step` is called without `eta`. */
const DEFAULT_GAMMA = 0.3;

export interface TCDStepOutput extends StepOutput {
  /** x_s, the sample at the intermediate timestep s before re-noising (diffusers `pred_noised_sample`). */
  predNoisedSample: Tensor<'float32'>;
}

export class TCDScheduler extends ConsistencyScheduler {
  static readonly spec = TCD_SPEC;

  constructor(config?: SchedulerConfigInput) {
    super(TCD_SPEC, config);
  }

  override drawsNoise(t: number, opts: StepOptions = {}): boolean {
    return gammaOf(opts) > 0 && !this.isLastStep(this.indexOfStep(t));
  }

  protected consistencyStep(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, index: number, opts: StepOptions): TCDStepOutput {
    const gamma = gammaOf(opts);
    const tNext = this.nextTimestep(index, 0);
    const aPrev = this.alphaProdPrev(tNext);
    const aS = this.alphaProd(Math.floor((1 - gamma) * tNext));
    const { x0, eps } = this.predictions(modelOutput, sample, this.alphaProd(t), false); // diffusers' TCD ignores clip_sample
    const predNoisedSample = linearCombination([[Math.sqrt(aS), x0], [Math.sqrt(1 - aS), eps]]);
    const prevSample = gamma > 0 && !this.isLastStep(index)
      ? linearCombination([[Math.sqrt(aPrev / aS), predNoisedSample], [Math.sqrt(1 - aPrev / aS), this.drawNoise(sample.shape, opts)]])
      : predNoisedSample;
    return { prevSample, predNoisedSample, predOriginalSample: x0 };
  }
}

function gammaOf(opts: StepOptions): number {
  const gamma = opts.eta ?? DEFAULT_GAMMA;
  check(typeof gamma === 'number' && gamma >= 0 && gamma <= 1, 'SCHEDULER_ETA',
    () => `TCDScheduler.step: eta (γ) is ${fmtValue(gamma)}; expected a number in [0, 1]`,
    { hint: 'γ = 0 is deterministic, 0.3 is the TCD paper\'s default, 1 re-noises fully.' });
  return gamma;
}
