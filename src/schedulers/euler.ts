// Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 2 with optional "churn") —
// diffusers EulerDiscreteScheduler, 0.27.
//
//   γ = min(s_churn/(len(σ) − 1), √2 − 1) if s_tmin ≤ σᵢ ≤ s_tmax else 0,   σ̂ = σᵢ(1 + γ)
//   x̂ = x + √(σ̂² − σᵢ²)·s_noise·z          (only when γ > 0)
//   d = (x̂ − x̂₀)/σ̂,   x_{i+1} = x̂ + d·(σ_{i+1} − σ̂)
// diffusers draws z on *every* step, even with the default s_churn = 0 where it is unused; a
// pipeline that shares one generator depends on that, so this does the same.

import type { Tensor } from '../core/tensor.js';
import { Tensor as HostTensor } from '../core/tensor.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { SigmaScheduler } from './sigma-base.js';

export const EULER_SPEC: ClassSpec = {
  className: 'EulerDiscreteScheduler',
  defaults: {
    interpolation_type: 'linear',
    use_karras_sigmas: false,
    sigma_min: null,
    sigma_max: null,
    timestep_spacing: 'linspace',
    timestep_type: 'discrete',
    rescale_betas_zero_snr: false,
  },
  rules: {
    interpolation_type: { type: 'enum', values: ['linear'] },
    timestep_type: { type: 'enum', values: ['discrete', 'continuous'] },
    sigma_min: { type: 'number', nullable: true, min: 0 },
    sigma_max: { type: 'number', nullable: true, min: 0 },
  },
};

export class EulerDiscreteScheduler extends SigmaScheduler {
  static readonly spec = EULER_SPEC;
  readonly order = 1;

  constructor(config?: SchedulerConfigInput) {
    super(EULER_SPEC, config);
  }

  protected computeTimesteps(n: number): void {
    const c = this.config;
    const { timesteps, sigmas } = this.baseSchedule(n, { range: [c.sigma_min as number | null, c.sigma_max as number | null] });
    this.sigmas = Float32Array.from([...sigmas, 0]);
    // EDM-style continuous timesteps for v-prediction models: t = ¼·ln σ.
    this.timesteps = c.timestep_type === 'continuous' && c.prediction_type === 'v_prediction'
      ? Array.from(this.sigmas.subarray(0, n), (s) => Math.fround(0.25 * Math.fround(Math.log(s))))
      : timesteps;
  }

  protected resetState(): void {}

  override drawsNoise(): boolean {
    return true;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t);
    const sigma = this.sigmas[i];
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = opts;
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (this.sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const z = this.drawNoise(sample.shape, opts);
    const sigmaHat = sigma * (gamma + 1);
    let x = sample;
    if (gamma > 0) {
      const c = sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
      x = new HostTensor('float32', sample.shape, sample.data.map((v, k) => v + z.data[k] * c));
    }
    // x̂₀ uses σ̂ for epsilon (the churned level) but σ for v-prediction, as diffusers does.
    const x0 = this.config.prediction_type === 'epsilon' ? this.predX0(modelOutput, x, sigmaHat) : this.predX0(modelOutput, x, sigma);
    const dt = this.sigmas[i + 1] - sigmaHat;
    const prev = x.clone();
    for (let k = 0; k < prev.size; k++) prev.data[k] = x.data[k] + ((x.data[k] - x0.data[k]) / sigmaHat) * dt;
    this.stepIdx = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
