// Linear multistep (k-diffusion `sample_lms`) — diffusers LMSDiscreteScheduler, 0.27.
//
// Keeps the last (up to 4) derivatives dₖ = (xₖ − x̂₀ₖ)/σₖ and integrates their Lagrange interpolant
// in σ over the step (an Adams–Bashforth method on the non-uniform σ grid):
//   x_{i+1} = xᵢ + Σⱼ cⱼ·d_{i−j},   cⱼ = ∫_{σᵢ}^{σ_{i+1}} ∏_{k≠j} (τ − σ_{i−k})/(σ_{i−j} − σ_{i−k}) dτ
// with order = min(i + 1, 4) terms. diffusers integrates numerically (scipy quad); the integrand is a
// polynomial of degree < 4, so 3-point Gauss–Legendre quadrature here is exact.

import type { Tensor } from '../core/tensor.js';
import { linearCombination } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { SigmaScheduler } from './sigma-base.js';

export const LMS_SPEC: ClassSpec = {
  className: 'LMSDiscreteScheduler',
  defaults: { use_karras_sigmas: false, timestep_spacing: 'linspace' },
};

const MAX_ORDER = 4;
// Gauss–Legendre nodes and weights on [−1, 1], exact for polynomials of degree ≤ 5.
const GL_NODES = [-Math.sqrt(3 / 5), 0, Math.sqrt(3 / 5)];
const GL_WEIGHTS = [5 / 9, 8 / 9, 5 / 9];

export interface LMSStepOptions extends StepOptions {
  /** Number of past derivatives to combine (diffusers `order`, default 4). */
  lmsOrder?: number;
}

export class LMSDiscreteScheduler extends SigmaScheduler {
  static readonly spec = LMS_SPEC;
  readonly order = 1;
  private derivatives: Tensor<'float32'>[] = [];

  constructor(config?: SchedulerConfigInput) {
    super(LMS_SPEC, config);
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.baseSchedule(n);
    this.timesteps = timesteps;
    this.sigmas = Float32Array.from([...sigmas, 0]);
  }

  protected resetState(): void {
    this.derivatives = [];
  }

  /** cⱼ for `order` derivatives at step i (j = 0 is the newest). */
  lmsCoefficient(order: number, i: number, j: number): number {
    const s = this.sigmas;
    const basis = (tau: number) => {
      let prod = 1;
      for (let k = 0; k < order; k++) if (k !== j) prod *= (tau - s[i - k]) / (s[i - j] - s[i - k]);
      return prod;
    };
    const a = s[i];
    const b = s[i + 1];
    const half = (b - a) / 2;
    const mid = (a + b) / 2;
    return half * GL_NODES.reduce((acc, x, k) => acc + GL_WEIGHTS[k] * basis(mid + half * x), 0);
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: LMSStepOptions): StepOutput {
    const maxOrder = opts.lmsOrder ?? MAX_ORDER;
    const i = this.initStepIndex(t);
    const sigma = this.sigmas[i];
    const x0 = this.predX0(modelOutput, sample, sigma);
    const d = linearCombination([[1 / sigma, sample], [-1 / sigma, x0]]); // (x − x̂₀)/σ
    this.derivatives = [...this.derivatives, d].slice(-maxOrder);
    // The coefficients use order = min(i + 1, maxOrder) even when fewer derivatives exist (img2img
    // starts mid-schedule with one): diffusers zips them with the derivatives it has, dropping the rest.
    const order = Math.min(i + 1, maxOrder);
    const terms = Array.from({ length: Math.min(order, this.derivatives.length) },
      (_, j) => [this.lmsCoefficient(order, i, j), this.derivatives[this.derivatives.length - 1 - j]] as const);
    this.stepIdx = i + 1;
    return { prevSample: linearCombination([[1, sample], ...terms]), predOriginalSample: x0 };
  }
}
