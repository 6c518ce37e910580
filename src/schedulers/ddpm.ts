// DDPM ancestral sampling (Ho et al. 2020) — diffusers DDPMScheduler, 0.27.
//
// Each step samples from the posterior q(x_{t'} | x_t, x̂₀) of the forward process, t' = t − T//N:
//   mean  μ = (√ᾱ_{t'}·β̃ / (1 − ᾱₜ))·x̂₀ + (√α̃ₜ·(1 − ᾱ_{t'}) / (1 − ᾱₜ))·xₜ
//   with  α̃ₜ = ᾱₜ/ᾱ_{t'}, β̃ = 1 − α̃ₜ   (the "effective" α, β of the jump t → t')
//   var   fixed_small: β̃·(1 − ᾱ_{t'})/(1 − ᾱₜ) (clamped at 1e-20)   fixed_large: β̃
//   x_{t'} = μ + √var · z,  z ~ N(0, I) drawn only when t > 0.

import type { Tensor } from '../core/tensor.js';
import { linearCombination } from '../core/tensor-math.js';
import { AlphaScheduler } from './alpha-base.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';

export const DDPM_SPEC: ClassSpec = {
  className: 'DDPMScheduler',
  defaults: {
    variance_type: 'fixed_small',
    clip_sample: true,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    clip_sample_range: 1.0,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    rescale_betas_zero_snr: false,
  },
  rules: { variance_type: { type: 'enum', values: ['fixed_small', 'fixed_large'] } },
};

export class DDPMScheduler extends AlphaScheduler {
  static readonly spec = DDPM_SPEC;
  readonly order = 1;

  constructor(config?: SchedulerConfigInput) {
    super(DDPM_SPEC, config);
  }

  protected get finalAlphaCumprod(): number {
    return 1;
  }

  protected computeTimesteps(n: number): void {
    this.timesteps = this.spaced(n);
  }

  protected resetState(): void {}

  override drawsNoise(t: number): boolean {
    return t > 0;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions): StepOutput {
    const tPrev = this.prevTimestep(t);
    const a = this.alphaProd(t);
    const aPrev = this.alphaProdPrev(tPrev);
    const alphaT = a / aPrev; // α̃ₜ
    const betaT = 1 - alphaT; // β̃ₜ
    const { x0 } = this.predictions(modelOutput, sample, a);
    const x0Coef = (Math.sqrt(aPrev) * betaT) / (1 - a);
    const xCoef = (Math.sqrt(alphaT) * (1 - aPrev)) / (1 - a);
    const terms: [number, Tensor<'float32'>][] = [[x0Coef, x0], [xCoef, sample]];
    if (t > 0) {
      const variance = this.config.variance_type === 'fixed_large' ? betaT : Math.max(((1 - aPrev) / (1 - a)) * betaT, 1e-20);
      terms.push([Math.sqrt(variance), this.drawNoise(sample.shape, opts)]);
    }
    return { prevSample: linearCombination(terms), predOriginalSample: x0 };
  }
}
