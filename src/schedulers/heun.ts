// Heun's method (Karras et al. 2022, Algorithm 1, the 2nd-order EDM sampler) — diffusers
// HeunDiscreteScheduler, 0.27.
//
// Each σ-step takes two model calls, so the schedule repeats every timestep but the first:
// timesteps [t₀, t₁, t₁, t₂, t₂, …] (2N − 1 calls), sigmas [σ₀, σ₁, σ₁, …, σ_{N−1}, σ_{N−1}, 0].
//   1st call (predictor):  d = (x − x̂₀(σᵢ))/σᵢ,  x' = x + d·(σ_{i+1} − σᵢ)   — remember d, dt, x
//   2nd call at x' (corrector): d' = (x' − x̂₀(σ_{i+1}))/σ_{i+1},  x_{i+1} = x + (d + d')/2 · dt
// The last call (to σ = 0) stays first order: it leaves the corrector pending and returns x̂₀.

import type { Tensor } from '../core/tensor.js';
import { linearCombination, map } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { SigmaScheduler } from './sigma-base.js';

export const HEUN_SPEC: ClassSpec = {
  className: 'HeunDiscreteScheduler',
  defaults: { beta_start: 0.00085, beta_end: 0.012, use_karras_sigmas: false, clip_sample: false, clip_sample_range: 1.0, timestep_spacing: 'linspace' },
};

/** Repeats every entry but the first: [a, b, c] → [a, b, b, c, c]. */
export function repeatAfterFirst<T>(xs: readonly T[]): T[] {
  return [xs[0], ...xs.slice(1).flatMap((x) => [x, x])];
}

export class HeunDiscreteScheduler extends SigmaScheduler {
  static readonly spec = HEUN_SPEC;
  readonly order = 2;
  private prevDerivative: Tensor<'float32'> | null = null;
  private dt: number | null = null;
  private savedSample: Tensor<'float32'> | null = null;

  constructor(config?: SchedulerConfigInput) {
    super(HEUN_SPEC, config);
  }

  /** True when the next call is a predictor (first-order) call. */
  get stateInFirstOrder(): boolean {
    return this.dt === null;
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.baseSchedule(n);
    this.sigmas = Float32Array.from([...repeatAfterFirst(sigmas), 0]);
    this.timesteps = repeatAfterFirst(timesteps);
  }

  protected resetState(): void {
    this.prevDerivative = null;
    this.dt = null;
    this.savedSample = null;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, _opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t);
    const first = this.stateInFirstOrder;
    const sigma = first ? this.sigmas[i] : this.sigmas[i - 1];
    const sigmaNext = first ? this.sigmas[i + 1] : this.sigmas[i];
    let x0 = this.predX0(modelOutput, sample, first ? sigma : sigmaNext);
    if (this.config.clip_sample === true) {
      const r = Number(this.config.clip_sample_range);
      x0 = map(x0, (v) => Math.min(Math.max(v, -r), r));
    }
    let prev: Tensor<'float32'>;
    if (first) {
      const d = linearCombination([[1 / sigma, sample], [-1 / sigma, x0]]);
      const dt = sigmaNext - sigma;
      this.prevDerivative = d;
      this.dt = dt;
      this.savedSample = sample;
      prev = linearCombination([[1, sample], [dt, d]]);
    } else {
      const d2 = linearCombination([[1 / sigmaNext, sample], [-1 / sigmaNext, x0]]);
      const dt = this.dt!;
      prev = linearCombination([[1, this.savedSample!], [dt / 2, this.prevDerivative!], [dt / 2, d2]]);
      this.resetState();
    }
    this.stepIdx = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
