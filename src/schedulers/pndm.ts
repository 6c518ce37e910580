// PNDM / PLMS (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion Models on Manifolds") —
// diffusers PNDMScheduler, 0.27. Stable Diffusion 1.x ships it with `skip_prk_steps: true` (PLMS only).
//
// The "transfer" φ(x, ε, t → t') moves a sample between timesteps along the DDIM path (eq. 11):
//   x_{t'} = √(a'/a)·x − (a' − a)·ε / (a·√(1 − a') + √(a(1 − a)a'))        a = ᾱₜ, a' = ᾱ_{t'}
// PLMS feeds it a linear-multistep combination of past ε (Adams–Bashforth, eq. 12):
//   1 stored: ε₀ … 2: (3e₋₁ − e₋₂)/2 … 3: (23e₋₁ − 16e₋₂ + 5e₋₃)/12 … ≥4: (55e₋₁ − 59e₋₂ + 37e₋₃ − 9e₋₄)/24
// With skip_prk_steps the warm-up is a pseudo-improved-Euler step: the schedule repeats its second
// timestep; the first call steps t₀ → t₀ − T//N with ε₀ and remembers x; the second call (model
// evaluated at that result) *redoes* the step from the remembered x with (ε₀ + ε₁)/2, and ε₁ is not
// kept in the history. Without skip_prk_steps the warm-up is 3 pseudo Runge–Kutta steps (12 calls).

import type { Tensor } from '../core/tensor.js';
import { check } from '../core/errors.js';
import { linearCombination } from '../core/tensor-math.js';
import { AlphaScheduler } from './alpha-base.js';
import type { StepOptions, StepOutput } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';

export const PNDM_SPEC: ClassSpec = {
  className: 'PNDMScheduler',
  defaults: { skip_prk_steps: false, set_alpha_to_one: false, timestep_spacing: 'leading' },
  rules: { skip_prk_steps: { type: 'bool' }, prediction_type: { type: 'enum', values: ['epsilon', 'v_prediction'] } },
};

/** Adams–Bashforth weights for 1 … 4 stored outputs, newest first. */
const PLMS_WEIGHTS: readonly (readonly number[])[] = [[1], [3 / 2, -1 / 2], [23 / 12, -16 / 12, 5 / 12], [55 / 24, -59 / 24, 37 / 24, -9 / 24]];
const PNDM_ORDER = 4;

export class PNDMScheduler extends AlphaScheduler {
  static readonly spec = PNDM_SPEC;
  readonly order = 1;
  /** The pseudo Runge–Kutta warm-up timesteps (empty with skip_prk_steps). */
  prkTimesteps: number[] = [];
  private ets: Tensor<'float32'>[] = [];
  private counter = 0;
  private curSample: Tensor<'float32'> | null = null;
  private curModelOutput: Tensor<'float32'> | null = null;

  constructor(config?: SchedulerConfigInput) {
    super(PNDM_SPEC, config);
  }

  protected get finalAlphaCumprod(): number {
    return this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  protected computeTimesteps(n: number): void {
    const asc = this.spaced(n).reverse();
    const half = Math.floor(Math.floor(this.config.num_train_timesteps / n) / 2);
    if (this.config.skip_prk_steps) {
      this.prkTimesteps = [];
      this.timesteps = [...asc.slice(0, -1), ...asc.slice(-2, -1), ...asc.slice(-1)].reverse();
    } else {
      // Last 4 timesteps, each followed by its half-step point; then every point doubled (RK stages).
      const pts = asc.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]);
      this.prkTimesteps = pts.slice(0, -1).flatMap((t) => [t, t]).slice(1, -1).reverse();
      this.timesteps = [...this.prkTimesteps, ...asc.slice(0, -3).reverse()];
    }
  }

  protected resetState(): void {
    this.ets = [];
    this.counter = 0;
    this.curSample = null;
    this.curModelOutput = null;
  }

  protected stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, _opts: StepOptions): StepOutput {
    const prevSample = this.counter < this.prkTimesteps.length ? this.stepPrk(modelOutput, t, sample) : this.stepPlms(modelOutput, t, sample);
    this.counter++;
    return { prevSample };
  }

  /** Pseudo Runge–Kutta (4 calls per step): ε = (k₁ + 2k₂ + 2k₃ + k₄)/6 at half-step points. */
  private stepPrk(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>): Tensor<'float32'> {
    const ratio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    const tPrev = t - (this.counter % 2 ? 0 : Math.floor(ratio / 2));
    const tFrom = this.prkTimesteps[Math.floor(this.counter / 4) * 4];
    const stage = this.counter % 4;
    let eps = modelOutput;
    if (stage === 0) {
      this.curModelOutput = linearCombination([[1 / 6, modelOutput]]);
      this.ets.push(modelOutput);
      this.curSample = sample;
    } else if (stage === 1 || stage === 2) {
      this.curModelOutput = linearCombination([[1, this.curModelOutput!], [1 / 3, modelOutput]]);
    } else {
      eps = linearCombination([[1, this.curModelOutput!], [1 / 6, modelOutput]]);
      this.curModelOutput = null;
    }
    return this.transfer(this.curSample ?? sample, tFrom, tPrev, eps);
  }

  private stepPlms(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>): Tensor<'float32'> {
    const ratio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    check(this.config.skip_prk_steps || this.ets.length >= 3, 'SCHEDULER_STATE',
      () => 'PNDMScheduler: a PLMS step needs the 3 Runge–Kutta warm-up steps first', { hint: 'step through all of scheduler.timesteps in order.' });
    let tFrom = t;
    let tTo = t - ratio;
    if (this.counter !== 1) {
      this.ets = [...this.ets.slice(-3), modelOutput];
    } else {
      // The repeated timestep: redo the first step from the saved sample.
      tTo = t;
      tFrom = t + ratio;
    }
    let eps: Tensor<'float32'>;
    let from = sample;
    if (this.ets.length === 1 && this.counter === 0) {
      eps = modelOutput;
      this.curSample = sample;
    } else if (this.ets.length === 1 && this.counter === 1) {
      eps = linearCombination([[0.5, modelOutput], [0.5, this.ets[0]]]);
      from = this.curSample!;
      this.curSample = null;
    } else {
      const w = PLMS_WEIGHTS[this.ets.length - 1];
      eps = linearCombination(w.map((c, k) => [c, this.ets[this.ets.length - 1 - k]] as const));
    }
    return this.transfer(from, tFrom, tTo, eps);
  }

  /** φ(x, ε, t → t'), eq. 11 above; v-prediction is turned into ε first. */
  private transfer(sample: Tensor<'float32'>, t: number, tPrev: number, modelOutput: Tensor<'float32'>): Tensor<'float32'> {
    const a = this.alphaProd(t);
    const aPrev = this.alphaProdPrev(tPrev);
    const eps = this.config.prediction_type === 'v_prediction'
      ? linearCombination([[Math.sqrt(a), modelOutput], [Math.sqrt(1 - a), sample]])
      : modelOutput;
    const denom = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
    return linearCombination([[Math.sqrt(aPrev / a), sample], [-(aPrev - a) / denom, eps]]);
  }
}
