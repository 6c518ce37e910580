// DPM-Solver / DPM-Solver++ single-step (Lu et al. 2022, Algorithms 1–2) — diffusers
// DPMSolverSinglestepScheduler, 0.27.
//
// Unlike the multistep solver, a k-th order step spends k model calls inside one interval: the
// `order_list` (e.g. [1, 2, 1, 2, …] for order 2) says which timesteps start an interval (order 1:
// a first-order move to an intermediate point, remembering the starting sample) and which finish it
// from that remembered sample using the outputs gathered on the way. For order 2, with s₁ the start,
// s₀ the intermediate point, h = λ_t − λ_{s1}, r₀ = (λ_{s0} − λ_{s1})/h, D₀ = m₁, D₁ = (m₀ − m₁)/r₀:
//   midpoint:  x_t = (σ_t/σ_{s1})·x_{s1} − α_t(e^{−h} − 1)·D₀ − ½·α_t(e^{−h} − 1)·D₁   (DPM-Solver++)
// diffusers forces `lower_order_final: true` in set_timesteps when the final σ is 0 (the config
// changes; this does the same).

import type { Tensor } from '../core/tensor.js';
import { check } from '../core/errors.js';
import { linearCombination } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { DpmScheduler } from './dpm-base.js';
import { coerceDpmSolver, DPM_SOLVER_RULES } from './dpm-solver-common.js';

export const DPM_SINGLESTEP_SPEC: ClassSpec = {
  className: 'DPMSolverSinglestepScheduler',
  defaults: {
    solver_order: 2,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    algorithm_type: 'dpmsolver++',
    solver_type: 'midpoint',
    lower_order_final: false,
    use_karras_sigmas: false,
    final_sigmas_type: 'zero',
    lambda_min_clipped: -Infinity,
    variance_type: null,
  },
  rules: { ...DPM_SOLVER_RULES, algorithm_type: { type: 'enum', values: ['dpmsolver', 'dpmsolver++'] } },
  coerce: coerceDpmSolver('DPMSolverSinglestepScheduler'),
};

/** Orders of the successive steps (diffusers `get_order_list`). */
export function singlestepOrderList(steps: number, order: number, lowerOrderFinal: boolean, finalZero: boolean): number[] {
  const cycle = Array.from({ length: order }, (_, k) => k + 1);
  const repeat = (times: number) => Array.from({ length: Math.max(times, 0) }, () => cycle).flat();
  let orders: number[];
  if (!lowerOrderFinal) orders = repeat(Math.floor(steps / order));
  else if (order === 3) orders = steps % 3 === 0 ? [...repeat(steps / 3 - 1), 1, 2, 1] : steps % 3 === 1 ? [...repeat((steps - 1) / 3), 1] : [...repeat((steps - 2) / 3), 1, 2];
  else if (order === 2) orders = steps % 2 === 0 ? [...repeat(steps / 2 - 1), 1, 1] : [...repeat((steps - 1) / 2), 1];
  else orders = repeat(steps);
  if (finalZero && orders.length > 0) orders[orders.length - 1] = 1;
  return orders;
}

export class DPMSolverSinglestepScheduler extends DpmScheduler {
  static readonly spec = DPM_SINGLESTEP_SPEC;
  /** Solver order of each step. */
  orderList: number[] = [];
  private intervalStart: Tensor<'float32'> | null = null;

  constructor(config?: SchedulerConfigInput) {
    super(DPM_SINGLESTEP_SPEC, config);
    check((this.config.solver_order as number) <= 3, 'SCHEDULER_CONFIG', () => `DPMSolverSinglestepScheduler: solver_order ${String(this.config.solver_order)} is not 1, 2 or 3`, { key: 'solver_order' });
  }

  protected get predictsX0(): boolean {
    return this.config.algorithm_type === 'dpmsolver++';
  }

  protected override spacing(): 'linspace' {
    return 'linspace'; // this class has no timestep_spacing option
  }

  protected override computeTimesteps(n: number): void {
    super.computeTimesteps(n);
    const c = this.config;
    // diffusers rewrites the config here (and warns): single-step needs lower-order final steps when
    // N is not a multiple of the order or the final σ is 0.
    if (c.lower_order_final !== true && (n % this.solverOrder !== 0 || c.final_sigmas_type === 'zero')) c.lower_order_final = true;
    this.orderList = singlestepOrderList(n, this.solverOrder, c.lower_order_final === true, c.final_sigmas_type === 'zero');
  }

  protected override resetState(): void {
    super.resetState();
    this.intervalStart = null;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, _opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t, true);
    const m = this.convert(modelOutput, sample);
    this.pushModelOutput(m);
    let order = this.orderList[i];
    // Starting mid-schedule (img2img) can land on a higher-order step without the outputs it needs.
    while (this.modelOutputs[this.modelOutputs.length - order] === null) order--;
    if (order === 1) this.intervalStart = sample;
    const x = this.intervalStart!;
    const prev = order === 1 ? this.firstOrderUpdate(m, x, i) : order === 2 ? this.secondOrder(x, i) : this.thirdOrder(x, i);
    this.stepIdx = i + 1;
    return { prevSample: prev, ...(this.predictsX0 ? { predOriginalSample: m } : {}) };
  }

  private secondOrder(x: Tensor<'float32'>, i: number): Tensor<'float32'> {
    const [t, s0, s1] = [this.vpAt(i + 1), this.vpAt(i), this.vpAt(i - 1)];
    const h = t.lambda - s1.lambda;
    const r0 = (s0.lambda - s1.lambda) / h;
    const [m0, m1] = [this.output(0), this.output(1)];
    const d1 = linearCombination([[1 / r0, m0], [-1 / r0, m1]]);
    const heun = this.config.solver_type === 'heun';
    if (this.predictsX0) {
      const e = Math.expm1(-h);
      return linearCombination([[t.sigma / s1.sigma, x], [-t.alpha * e, m1], [heun ? t.alpha * (e / h + 1) : -0.5 * t.alpha * e, d1]]);
    }
    const e = Math.expm1(h);
    return linearCombination([[t.alpha / s1.alpha, x], [-t.sigma * e, m1], [heun ? -t.sigma * (e / h - 1) : -0.5 * t.sigma * e, d1]]);
  }

  private thirdOrder(x: Tensor<'float32'>, i: number): Tensor<'float32'> {
    const [t, s0, s1, s2] = [this.vpAt(i + 1), this.vpAt(i), this.vpAt(i - 1), this.vpAt(i - 2)];
    const h = t.lambda - s2.lambda;
    const r0 = (s0.lambda - s2.lambda) / h;
    const r1 = (s1.lambda - s2.lambda) / h;
    const [m0, m1, m2] = [this.output(0), this.output(1), this.output(2)];
    const d10 = linearCombination([[1 / r1, m1], [-1 / r1, m2]]);
    const d11 = linearCombination([[1 / r0, m0], [-1 / r0, m2]]);
    const d1 = linearCombination([[r0 / (r0 - r1), d10], [-r1 / (r0 - r1), d11]]);
    const d2 = linearCombination([[-2 / (r0 - r1), d10], [2 / (r0 - r1), d11]]);
    const heun = this.config.solver_type === 'heun';
    if (this.predictsX0) {
      const e = Math.expm1(-h);
      const base: [number, Tensor<'float32'>][] = [[t.sigma / s2.sigma, x], [-t.alpha * e, m2]];
      return linearCombination(heun ? [...base, [t.alpha * (e / h + 1), d1], [-t.alpha * ((e + h) / (h * h) - 0.5), d2]] : [...base, [t.alpha * (e / h + 1), d11]]);
    }
    const e = Math.expm1(h);
    const base: [number, Tensor<'float32'>][] = [[t.alpha / s2.alpha, x], [-t.sigma * e, m2]];
    return linearCombination(heun ? [...base, [-t.sigma * (e / h - 1), d1], [-t.sigma * ((e - h) / (h * h) - 0.5), d2]] : [...base, [-t.sigma * (e / h - 1), d11]]);
  }
}
