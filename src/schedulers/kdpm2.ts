// DPM-Solver-2 in k-diffusion form (`sample_dpm_2`, Karras et al. 2022 appendix) — diffusers
// KDPM2DiscreteScheduler, 0.27 ("DPM2" in AUTOMATIC1111).
//
// A midpoint method in log σ: each step evaluates the model again at σ_mid = √(σᵢ·σ_{i+1}) (the
// geometric mean, i.e. the midpoint of ln σ), so the schedule interleaves the midpoints' timesteps:
// [t₀, t_mid₁, t₁, t_mid₂, t₂, …] (2N − 1 calls).
//   1st call:  d = (x − x̂₀(σᵢ))/σᵢ,  x_mid = x + d·(σ_mid − σᵢ)         — remember x
//   2nd call at x_mid:  d' = (x_mid − x̂₀(σ_mid))/σ_mid,  x_{i+1} = x + d'·(σ_{i+1} − σᵢ)

import type { Tensor } from '../core/tensor.js';
import { linearCombination } from '../core/tensor-math.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { sigmaToT } from './schedule.js';
import { SigmaScheduler } from './sigma-base.js';

export const KDPM2_SPEC: ClassSpec = {
  className: 'KDPM2DiscreteScheduler',
  defaults: { beta_start: 0.00085, beta_end: 0.012, use_karras_sigmas: false, timestep_spacing: 'linspace' },
  rules: { prediction_type: { type: 'enum', values: ['epsilon', 'v_prediction'] } },
};

const f32 = Math.fround;

/** [a, b, c] → [a, b, b, c, c, c]: diffusers' `cat([s[:1], s[1:].repeat_interleave(2), s[-1:]])`. */
function arrange(xs: readonly number[]): number[] {
  return [xs[0], ...xs.slice(1).flatMap((x) => [x, x]), xs[xs.length - 1]];
}

export class KDPM2DiscreteScheduler extends SigmaScheduler {
  static readonly spec = KDPM2_SPEC;
  readonly order = 2;
  /** σ_mid for each call (float32), arranged like `sigmas`. */
  sigmasInterpol: Float32Array = new Float32Array(0);
  private savedSample: Tensor<'float32'> | null = null;

  constructor(config?: SchedulerConfigInput) {
    super(KDPM2_SPEC, config);
  }

  get stateInFirstOrder(): boolean {
    return this.savedSample === null;
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.baseSchedule(n, { roundKarras: true });
    const s = [...sigmas.map(f32), 0];
    // ln σ_mid = lerp(ln σᵢ, ln σᵢ₋₁, ½) in float32, torch's lerp form for weight ≥ ½: end − (end − start)·(1 − w).
    // Entry 0 pairs σ₀ with the final 0 (ln 0 = −∞) and is never used.
    const interpol = s.map((sigma, i) => {
      const a = f32(Math.log(sigma));
      const b = f32(Math.log(s[(i - 1 + s.length) % s.length]));
      return f32(Math.exp(f32(b - f32(f32(b - a) * 0.5))));
    });
    this.sigmas = Float32Array.from(arrange(s));
    this.sigmasInterpol = Float32Array.from(arrange(interpol));
    const mids = interpol.slice(1, -1).map((m) => f32(sigmaToT(m, this.logSigmas, true)));
    this.timesteps = [timesteps[0], ...timesteps.slice(1).flatMap((t, k) => [mids[k], t])];
  }

  protected resetState(): void {
    this.savedSample = null;
  }

  protected override inputSigma(i: number): number {
    return this.stateInFirstOrder ? this.sigmas[i] : this.sigmasInterpol[i];
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, _opts: StepOptions): StepOutput {
    const i = this.initStepIndex(t);
    const first = this.stateInFirstOrder;
    const sigma = first ? this.sigmas[i] : this.sigmas[i - 1];
    const sigmaMid = first ? this.sigmasInterpol[i + 1] : this.sigmasInterpol[i];
    const sigmaNext = first ? this.sigmas[i + 1] : this.sigmas[i];
    const x0 = this.predX0(modelOutput, sample, first ? sigma : sigmaMid);
    let prev: Tensor<'float32'>;
    if (first) {
      const d = linearCombination([[1 / sigma, sample], [-1 / sigma, x0]]);
      this.savedSample = sample;
      prev = linearCombination([[1, sample], [sigmaMid - sigma, d]]);
    } else {
      const d = linearCombination([[1 / sigmaMid, sample], [-1 / sigmaMid, x0]]);
      prev = linearCombination([[1, this.savedSample!], [sigmaNext - sigma, d]]);
      this.savedSample = null;
    }
    this.stepIdx = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
