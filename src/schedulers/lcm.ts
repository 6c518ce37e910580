// Latent Consistency Models (Luo et al. 2023) — diffusers LCMScheduler, 0.27.
//
// A consistency model maps any x_t on a trajectory straight to its origin. LCM parameterises that map
// with the boundary condition of Song et al. 2023 (eq. 3), σ_d = 0.5, s = timestep_scaling · t:
//   c_skip(t) = σ_d² / (s² + σ_d²)        c_out(t) = s / √(s² + σ_d²)
//   x̂₀       = (x_t − √(1−ᾱₜ)·ε)/√ᾱₜ      (or from v / x₀, as DDIM)
//   denoised = c_out·x̂₀ + c_skip·x_t      (≈ x̂₀: c_skip ≈ 1.6e-7 at t = 259)
// Multistep sampling (the paper's Algorithm 3) then re-noises `denoised` to the *next scheduled*
// timestep t': x_{t'} = √ᾱ_{t'}·denoised + √(1−ᾱ_{t'})·z. The last step returns `denoised` itself and
// draws nothing — so does a 1-step run.

import { linearCombination } from '../core/tensor-math.js';
import type { Tensor } from '../core/tensor.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { CONSISTENCY_DEFAULTS, CONSISTENCY_RULES, ConsistencyScheduler } from './consistency-base.js';

export const LCM_SPEC: ClassSpec = {
  className: 'LCMScheduler',
  defaults: CONSISTENCY_DEFAULTS,
  rules: CONSISTENCY_RULES,
};

/** σ_d of the consistency-model boundary condition (diffusers hard-codes it too). */
const SIGMA_DATA = 0.5;

export interface LCMStepOutput extends StepOutput {
  /** The consistency model's estimate of x₀ (diffusers `denoised`); also `predOriginalSample`, for previews. */
  denoised: Tensor<'float32'>;
}

export class LCMScheduler extends ConsistencyScheduler {
  static readonly spec = LCM_SPEC;

  constructor(config?: SchedulerConfigInput) {
    super(LCM_SPEC, config);
  }

  override drawsNoise(t: number): boolean {
    return !this.isLastStep(this.indexOfStep(t));
  }

  /** [c_skip, c_out] at timestep t. */
  boundaryScalings(t: number): [number, number] {
    const s = t * (this.config.timestep_scaling as number);
    const d2 = SIGMA_DATA * SIGMA_DATA;
    return [d2 / (s * s + d2), s / Math.sqrt(s * s + d2)];
  }

  protected consistencyStep(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, index: number, opts: StepOptions): LCMStepOutput {
    // The last step's "next" timestep is t itself (unused: nothing is re-noised).
    const aPrev = this.alphaProdPrev(this.nextTimestep(index, t));
    const [cSkip, cOut] = this.boundaryScalings(t);
    const { x0 } = this.predictions(modelOutput, sample, this.alphaProd(t));
    const denoised = linearCombination([[cOut, x0], [cSkip, sample]]);
    const prevSample = this.isLastStep(index)
      ? denoised
      : linearCombination([[Math.sqrt(aPrev), denoised], [Math.sqrt(1 - aPrev), this.drawNoise(sample.shape, opts)]]);
    return { prevSample, denoised, predOriginalSample: denoised };
  }
}
