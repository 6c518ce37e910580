// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework") — diffusers
// UniPCMultistepScheduler, 0.27 (default: bh2, order 2, data prediction).
//
// Every call first *corrects* the previous step with the new model output (UniC), then *predicts*
// the next sample (UniP). With h = λ_t − λ_{s0}, rₖ = (λ_{sₖ} − λ_{s0})/h, Dₖ = (mₖ − m₀)/rₖ and, for
// data prediction, hh = −h:
//   φ₁ = e^{hh} − 1,   B(h) = hh (bh1) or e^{hh} − 1 (bh2)
//   bₖ = k!·φ_{k+1}(hh)/B(h) with φ_{k+1} = φₖ/hh − 1/k!,  R_{jk} = rₖ^j  (rₙ = 1 appended)
//   UniP:  x_t = (σ_t/σ_{s0})·x − α_t·φ₁·m₀ − α_t·B(h)·Σₖ ρₖ^p·Dₖ,   ρ^p solves R[:-1,:-1]ρ = b[:-1] (½ for order 2)
//   UniC:  the same from the previous sample, with ρ^c solving Rρ = b (½ for order 1) and the new
//          output as the extra difference D_t = m_t − m₀ weighted by ρ^c_last.
// The sigmas end at σ_min (0.0292), not 0, so the last step never divides by σ = 0.

import { check } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { linearCombination, type Term } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { DpmScheduler } from './dpm-base.js';

export const UNIPC_SPEC: ClassSpec = {
  className: 'UniPCMultistepScheduler',
  defaults: {
    solver_order: 2,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    predict_x0: true,
    solver_type: 'bh2',
    lower_order_final: true,
    disable_corrector: [],
    solver_p: null,
    use_karras_sigmas: false,
    timestep_spacing: 'linspace',
  },
  rules: {
    solver_type: { type: 'enum', values: ['bh1', 'bh2'] },
    predict_x0: { type: 'bool' },
    disable_corrector: { type: 'numbers', integer: true },
    solver_p: { type: 'enum', values: [null] },
  },
  coerce: (c) => {
    if (c.solver_type === 'midpoint' || c.solver_type === 'heun' || c.solver_type === 'logrho') c.solver_type = 'bh2';
  },
};

/** Solves the small dense system A·x = b (Gaussian elimination with partial pivoting, float64). */
export function solveLinear(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

export class UniPCMultistepScheduler extends DpmScheduler {
  static readonly spec = UNIPC_SPEC;
  private lastSample: Tensor<'float32'> | null = null;
  private thisOrder = 1;

  constructor(config?: SchedulerConfigInput) {
    super(UNIPC_SPEC, config);
  }

  protected get predictsX0(): boolean {
    return this.config.predict_x0 === true;
  }

  protected override resetState(): void {
    super.resetState();
    this.lastSample = null;
    this.thisOrder = 1;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, _opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t, true);
    const disabled = this.config.disable_corrector as number[];
    const m = this.convert(modelOutput, sample);
    let x = sample;
    if (i > 0 && !disabled.includes(i - 1) && this.lastSample !== null) x = this.update(this.lastSample, i - 1, this.thisOrder, m);
    this.pushModelOutput(m);
    const order = this.config.lower_order_final === true ? Math.min(this.solverOrder, this.timesteps.length - i) : this.solverOrder;
    this.thisOrder = Math.min(order, this.lowerOrderNums + 1);
    check(this.thisOrder > 0, 'SCHEDULER_STATE', () => 'UniPC: no solver order left for this step');
    this.lastSample = x;
    const prev = this.update(x, i, this.thisOrder);
    this.finishStep(i);
    return { prevSample: prev };
  }

  /**
   * One B(h) update from sigmas[from] to sigmas[from + 1] starting at x, using the stored outputs
   * (m₀ = newest). Without `mt` it is the predictor UniP; with the new output `mt` the corrector UniC.
   */
  private update(x: Tensor<'float32'>, from: number, order: number, mt?: Tensor<'float32'>): Tensor<'float32'> {
    const [t, s0] = [this.vpAt(from + 1), this.vpAt(from)];
    const h = t.lambda - s0.lambda;
    const m0 = this.output(0);
    const rks: number[] = [];
    const ds: Tensor<'float32'>[] = [];
    for (let k = 1; k < order; k++) {
      const rk = (this.vpAt(from - k).lambda - s0.lambda) / h;
      rks.push(rk);
      ds.push(linearCombination([[1 / rk, this.output(k)], [-1 / rk, m0]]));
    }
    rks.push(1);
    const x0 = this.predictsX0;
    const hh = x0 ? -h : h;
    const hPhi1 = Math.expm1(hh);
    const bh = this.config.solver_type === 'bh1' ? hh : Math.expm1(hh);
    const R: number[][] = [];
    const b: number[] = [];
    let hPhiK = hPhi1 / hh - 1;
    let factorial = 1;
    for (let k = 1; k <= order; k++) {
      R.push(rks.map((r) => r ** (k - 1)));
      b.push((hPhiK * factorial) / bh);
      factorial *= k + 1;
      hPhiK = hPhiK / hh - 1 / factorial;
    }
    const scaleX = x0 ? t.sigma / s0.sigma : t.alpha / s0.alpha;
    const w = x0 ? t.alpha : t.sigma; // the weight of the model-output terms
    const terms: Term[] = [[scaleX, x], [-w * hPhi1, m0]];
    if (mt === undefined) {
      if (ds.length > 0) {
        const rhos = order === 2 ? [0.5] : solveLinear(R.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
        ds.forEach((d, k) => terms.push([-w * bh * rhos[k], d]));
      }
    } else {
      const rhos = order === 1 ? [0.5] : solveLinear(R, b);
      ds.forEach((d, k) => terms.push([-w * bh * rhos[k], d]));
      const last = rhos[rhos.length - 1];
      terms.push([-w * bh * last, mt], [w * bh * last, m0]); // ρ_last·(m_t − m₀)
    }
    return linearCombination(terms);
  }
}
