// DEIS (Zhang & Chen 2023, "Fast Sampling of Diffusion Models with Exponential Integrator"), the
// log-ρ multistep variant — diffusers DEISMultistepScheduler, 0.27.
//
// Works on the noise prediction ε̂ in ρ = σₜ/αₜ (the VE σ). The past outputs are interpolated by a
// Lagrange polynomial in ln ρ and integrated exactly over [ρ_{s0}, ρ_t]:
//   x_t = α_t·(x/α_{s0} + Σₖ cₖ·mₖ),   cₖ = ∫_{ρ_{s0}}^{ρ_t} ℓₖ(ln ρ) dρ
// First order is DPM-Solver-1 (= DDIM); the last step is first order with lower_order_final.

import type { Tensor } from '../core/tensor.js';
import { check } from '../core/errors.js';
import { linearCombination } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { DpmScheduler } from './dpm-base.js';

export const DEIS_SPEC: ClassSpec = {
  className: 'DEISMultistepScheduler',
  defaults: {
    solver_order: 2,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    algorithm_type: 'deis',
    solver_type: 'logrho',
    lower_order_final: true,
    use_karras_sigmas: false,
    timestep_spacing: 'linspace',
  },
  rules: { algorithm_type: { type: 'enum', values: ['deis'] }, solver_type: { type: 'enum', values: ['logrho'] } },
  coerce: (c) => {
    if (c.algorithm_type === 'dpmsolver' || c.algorithm_type === 'dpmsolver++') c.algorithm_type = 'deis';
    if (c.solver_type === 'midpoint' || c.solver_type === 'heun' || c.solver_type === 'bh1' || c.solver_type === 'bh2') c.solver_type = 'logrho';
  },
};

/** ∫ of the order-2 Lagrange basis in ln ρ: antiderivative at t of (ln τ − ln c)/(ln b − ln c). */
function ind2(t: number, b: number, c: number): number {
  return (t * (-Math.log(c) + Math.log(t) - 1)) / (Math.log(b) - Math.log(c));
}

/** The order-3 counterpart: (ln τ − ln c)(ln τ − ln d)/((ln b − ln c)(ln b − ln d)). */
function ind3(t: number, b: number, c: number, d: number): number {
  const [lt, lb, lc, ld] = [Math.log(t), Math.log(b), Math.log(c), Math.log(d)];
  return (t * (lc * (ld - lt + 1) - ld * lt + ld + lt * lt - 2 * lt + 2)) / ((lb - lc) * (lb - ld));
}

export class DEISMultistepScheduler extends DpmScheduler {
  static readonly spec = DEIS_SPEC;

  constructor(config?: SchedulerConfigInput) {
    super(DEIS_SPEC, config);
    check((this.config.solver_order as number) <= 3, 'SCHEDULER_CONFIG', () => `DEISMultistepScheduler: solver_order ${String(this.config.solver_order)} is not 1, 2 or 3`, { key: 'solver_order' });
  }

  protected get predictsX0(): boolean {
    return false;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, _opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t, true);
    const order = this.multistepOrder(i);
    const m = this.convert(modelOutput, sample);
    this.pushModelOutput(m);
    const prev = order === 1 ? this.firstOrderUpdate(m, sample, i) : this.logRhoUpdate(sample, i, order);
    this.finishStep(i);
    return { prevSample: prev };
  }

  private logRhoUpdate(sample: Tensor<'float32'>, i: number, order: number): Tensor<'float32'> {
    const pts = [this.vpAt(i + 1), ...Array.from({ length: order }, (_, k) => this.vpAt(i - k))];
    const [rt, ...rs] = pts.map((p) => p.sigma / p.alpha); // ρ_t, ρ_{s0}, ρ_{s1}, …
    const coefs = order === 2
      ? [ind2(rt, rs[0], rs[1]) - ind2(rs[0], rs[0], rs[1]), ind2(rt, rs[1], rs[0]) - ind2(rs[0], rs[1], rs[0])]
      : [ind3(rt, rs[0], rs[1], rs[2]) - ind3(rs[0], rs[0], rs[1], rs[2]),
        ind3(rt, rs[1], rs[2], rs[0]) - ind3(rs[0], rs[1], rs[2], rs[0]),
        ind3(rt, rs[2], rs[0], rs[1]) - ind3(rs[0], rs[2], rs[0], rs[1])];
    const [at, as0] = [pts[0].alpha, pts[1].alpha];
    return linearCombination([[at / as0, sample], ...coefs.map((c, k) => [at * c, this.output(k)] as const)]);
  }
}
