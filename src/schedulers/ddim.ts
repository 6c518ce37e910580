// DDIM (Song et al. 2021, "Denoising Diffusion Implicit Models") — diffusers DDIMScheduler, 0.27.
//
// With a = ᾱₜ and a' = ᾱ_{t'} (t' = t − T//N), eq. 12 of the paper:
//   x_{t'} = √a'·x̂₀ + √(1 − a' − σₜ²)·ε̂ + σₜ·z
//   σₜ = η·√((1 − a')/(1 − a) · (1 − a/a'))
// η = 0 is the deterministic DDIM sampler (no noise drawn); η = 1 has DDPM's variance. diffusers
// draws z only when η > 0 — also on the last step.

import type { Tensor } from '../core/tensor.js';
import { check, fmtValue } from '../core/errors.js';
import { linearCombination } from '../core/tensor-math.js';
import { AlphaScheduler } from './alpha-base.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';

export const DDIM_SPEC: ClassSpec = {
  className: 'DDIMScheduler',
  defaults: {
    clip_sample: true,
    set_alpha_to_one: true,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    clip_sample_range: 1.0,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    rescale_betas_zero_snr: false,
  },
};

export interface DDIMStepOptions extends StepOptions {
  /** Recompute ε̂ from the clipped x̂₀ (diffusers `use_clipped_model_output`). */
  useClippedModelOutput?: boolean;
}

export class DDIMScheduler extends AlphaScheduler {
  static readonly spec = DDIM_SPEC;
  readonly order = 1;

  constructor(config?: SchedulerConfigInput) {
    super(DDIM_SPEC, config);
  }

  protected get finalAlphaCumprod(): number {
    return this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  protected computeTimesteps(n: number): void {
    this.timesteps = this.spaced(n);
  }

  protected resetState(): void {}

  override drawsNoise(_t: number, opts: StepOptions = {}): boolean {
    return (opts.eta ?? 0) > 0;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: DDIMStepOptions): StepOutput {
    const eta = opts.eta ?? 0;
    check(typeof eta === 'number' && eta >= 0, 'SCHEDULER_ETA', () => `DDIMScheduler.step: eta is ${fmtValue(eta)}; expected a number ≥ 0`);
    const a = this.alphaProd(t);
    const aPrev = this.alphaProdPrev(this.prevTimestep(t));
    const { x0, eps: epsRaw } = this.predictions(modelOutput, sample, a);
    const eps = opts.useClippedModelOutput ? this.epsFromX0(x0, sample, a) : epsRaw;
    const sigmaT = eta * Math.sqrt(((1 - aPrev) / (1 - a)) * (1 - a / aPrev));
    const terms: [number, Tensor<'float32'>][] = [[Math.sqrt(aPrev), x0], [Math.sqrt(Math.max(1 - aPrev - sigmaT * sigmaT, 0)), eps]]; // ≥ 0 exactly; guard rounding (η = 1, ᾱₜ = 0)
    if (eta > 0) terms.push([sigmaT, this.drawNoise(sample.shape, opts)]);
    return { prevSample: linearCombination(terms), predOriginalSample: x0 };
  }
}
