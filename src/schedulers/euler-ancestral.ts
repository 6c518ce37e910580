// Euler ancestral (k-diffusion `sample_euler_ancestral`) — diffusers EulerAncestralDiscreteScheduler, 0.27.
//
// Each step goes down to σ_down with Euler, then adds fresh noise of size σ_up so that the marginal
// matches σ_{i+1} again (σ_down² + σ_up² = σ_{i+1}²):
//   σ_up   = √(σ_{i+1}²·(σᵢ² − σ_{i+1}²)/σᵢ²)      σ_down = √(σ_{i+1}² − σ_up²)
//   x_{i+1} = x + (x − x̂₀)/σᵢ·(σ_down − σᵢ) + σ_up·z        z drawn after the deterministic part

import type { Tensor } from '../core/tensor.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { SigmaScheduler } from './sigma-base.js';

export const EULER_ANCESTRAL_SPEC: ClassSpec = {
  className: 'EulerAncestralDiscreteScheduler',
  defaults: { timestep_spacing: 'linspace', rescale_betas_zero_snr: false },
  rules: { prediction_type: { type: 'enum', values: ['epsilon', 'v_prediction'] } },
};

export class EulerAncestralDiscreteScheduler extends SigmaScheduler {
  static readonly spec = EULER_ANCESTRAL_SPEC;
  readonly order = 1;

  constructor(config?: SchedulerConfigInput) {
    super(EULER_ANCESTRAL_SPEC, config);
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.baseSchedule(n);
    this.timesteps = timesteps;
    this.sigmas = Float32Array.from([...sigmas, 0]);
  }

  protected resetState(): void {}

  override drawsNoise(): boolean {
    return true;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t);
    const from = this.sigmas[i];
    const to = this.sigmas[i + 1];
    const x0 = this.predX0(modelOutput, sample, from);
    const sigmaUp = Math.sqrt((to * to * (from * from - to * to)) / (from * from));
    const sigmaDown = Math.sqrt(Math.max(to * to - sigmaUp * sigmaUp, 0)); // ≥ 0 exactly; guard the rounding
    const dt = sigmaDown - from;
    const z = this.drawNoise(sample.shape, opts);
    const prev = sample.clone();
    for (let k = 0; k < prev.size; k++) {
      const x = sample.data[k];
      prev.data[k] = x + ((x - x0.data[k]) / from) * dt + z.data[k] * sigmaUp;
    }
    this.stepIdx = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
