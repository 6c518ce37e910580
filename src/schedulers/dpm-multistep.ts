// DPM-Solver++ (2M / 3M) and DPM-Solver multistep (Lu et al. 2022) — diffusers
// DPMSolverMultistepScheduler, 0.27. "DPM++ 2M (Karras)" in AUTOMATIC1111.
//
// With h = λ_t − λ_{s0}, h₀ = λ_{s0} − λ_{s1}, r₀ = h₀/h, D₀ = m₀, D₁ = (m₀ − m₁)/r₀ (m = stored
// model outputs, m₀ the newest), the second-order update of DPM-Solver++ (data prediction) is
//   midpoint:  x_t = (σ_t/σ_{s0})·x − α_t(e^{−h} − 1)·D₀ − ½·α_t(e^{−h} − 1)·D₁
//   heun:      x_t = (σ_t/σ_{s0})·x − α_t(e^{−h} − 1)·D₀ + α_t((e^{−h} − 1)/h + 1)·D₁
// and symmetric forms for DPM-Solver (noise prediction) and the SDE variants. The first step warms
// up with order 1; the last step is order 1 too when the final σ is 0 (or lower_order_final with
// fewer than 15 steps).

import { check } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { linearCombination, type Term } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { DpmScheduler } from './dpm-base.js';
import { coerceDpmSolver, DPM_SOLVER_RULES } from './dpm-solver-common.js';

export const DPM_MULTISTEP_SPEC: ClassSpec = {
  className: 'DPMSolverMultistepScheduler',
  defaults: {
    solver_order: 2,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    algorithm_type: 'dpmsolver++',
    solver_type: 'midpoint',
    lower_order_final: true,
    euler_at_final: false,
    use_karras_sigmas: false,
    use_lu_lambdas: false,
    final_sigmas_type: 'zero',
    lambda_min_clipped: -Infinity,
    variance_type: null,
    timestep_spacing: 'linspace',
    rescale_betas_zero_snr: false,
  },
  rules: { ...DPM_SOLVER_RULES, solver_order: { type: 'number', integer: true, min: 1 }, euler_at_final: { type: 'bool' }, use_lu_lambdas: { type: 'bool' } },
  coerce: coerceDpmSolver('DPMSolverMultistepScheduler'),
};

export class DPMSolverMultistepScheduler extends DpmScheduler {
  static readonly spec = DPM_MULTISTEP_SPEC;

  constructor(config?: SchedulerConfigInput) {
    super(DPM_MULTISTEP_SPEC, config);
    check(this.config.use_lu_lambdas !== true, 'SCHEDULER_UNSUPPORTED', () => 'DPMSolverMultistepScheduler: use_lu_lambdas is not supported',
      { key: 'use_lu_lambdas', hint: 'set "use_lu_lambdas": false (or use_karras_sigmas for a similar respacing).' });
    check((this.config.solver_order as number) <= 3, 'SCHEDULER_CONFIG', () => `DPMSolverMultistepScheduler: solver_order ${String(this.config.solver_order)} is not 1, 2 or 3`, { key: 'solver_order' });
  }

  protected get predictsX0(): boolean {
    return this.config.algorithm_type === 'dpmsolver++' || this.config.algorithm_type === 'sde-dpmsolver++';
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t, true);
    const order = this.multistepOrder(i);
    const m = this.convert(modelOutput, sample);
    this.pushModelOutput(m);
    const noise = this.drawsNoise() ? this.drawNoise(sample.shape, opts) : undefined;
    const prev = order === 1 ? this.firstOrderUpdate(m, sample, i, noise) : order === 2 ? this.secondOrder(sample, i, noise) : this.thirdOrder(sample, i);
    this.finishStep(i);
    return { prevSample: prev, ...(this.predictsX0 ? { predOriginalSample: m } : {}) };
  }

  private secondOrder(sample: Tensor<'float32'>, i: number, noise?: Tensor<'float32'>): Tensor<'float32'> {
    const [t, s0, s1] = [this.vpAt(i + 1), this.vpAt(i), this.vpAt(i - 1)];
    const h = t.lambda - s0.lambda;
    const r0 = (s0.lambda - s1.lambda) / h;
    const [m0, m1] = [this.output(0), this.output(1)];
    const d1 = linearCombination([[1 / r0, m0], [-1 / r0, m1]]);
    const heun = this.config.solver_type === 'heun';
    const e = (x: number) => Math.expm1(x);
    let terms: Term[];
    switch (this.config.algorithm_type) {
      case 'dpmsolver++':
        terms = [[t.sigma / s0.sigma, sample], [-t.alpha * e(-h), m0], [heun ? t.alpha * (e(-h) / h + 1) : -0.5 * t.alpha * e(-h), d1]];
        break;
      case 'dpmsolver':
        terms = [[t.alpha / s0.alpha, sample], [-t.sigma * e(h), m0], [heun ? -t.sigma * (e(h) / h - 1) : -0.5 * t.sigma * e(h), d1]];
        break;
      case 'sde-dpmsolver++':
        terms = [[(t.sigma / s0.sigma) * Math.exp(-h), sample], [-t.alpha * e(-2 * h), m0],
          [heun ? t.alpha * (-e(-2 * h) / (-2 * h) + 1) : -0.5 * t.alpha * e(-2 * h), d1], [t.sigma * Math.sqrt(-e(-2 * h)), noise!]];
        break;
      default: // sde-dpmsolver
        terms = [[t.alpha / s0.alpha, sample], [-2 * t.sigma * e(h), m0],
          [heun ? -2 * t.sigma * (e(h) / h - 1) : -t.sigma * e(h), d1], [t.sigma * Math.sqrt(e(2 * h)), noise!]];
    }
    return linearCombination(terms);
  }

  /** Third order (DPM-Solver++ 3M): D₁ and D₂ from three stored outputs. ODE variants only. */
  private thirdOrder(sample: Tensor<'float32'>, i: number): Tensor<'float32'> {
    const [t, s0, s1, s2] = [this.vpAt(i + 1), this.vpAt(i), this.vpAt(i - 1), this.vpAt(i - 2)];
    const h = t.lambda - s0.lambda;
    const r0 = (s0.lambda - s1.lambda) / h;
    const r1 = (s1.lambda - s2.lambda) / h;
    const [m0, m1, m2] = [this.output(0), this.output(1), this.output(2)];
    const d10 = linearCombination([[1 / r0, m0], [-1 / r0, m1]]);
    const d11 = linearCombination([[1 / r1, m1], [-1 / r1, m2]]);
    const d1 = linearCombination([[1 + r0 / (r0 + r1), d10], [-r0 / (r0 + r1), d11]]);
    const d2 = linearCombination([[1 / (r0 + r1), d10], [-1 / (r0 + r1), d11]]);
    if (this.predictsX0) {
      const e = Math.expm1(-h);
      return linearCombination([[t.sigma / s0.sigma, sample], [-t.alpha * e, m0], [t.alpha * (e / h + 1), d1], [-t.alpha * ((e + h) / (h * h) - 0.5), d2]]);
    }
    const e = Math.expm1(h);
    return linearCombination([[t.alpha / s0.alpha, sample], [-t.sigma * e, m0], [-t.sigma * (e / h - 1), d1], [-t.sigma * ((e - h) / (h * h) - 0.5), d2]]);
  }
}
