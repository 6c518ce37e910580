// The DPM-Solver family (Lu et al. 2022, "DPM-Solver" and "DPM-Solver++"; UniPC, Zhao et al. 2023;
// DEIS, Zhang & Chen 2023) as diffusers 0.27 runs it: DPMSolverMultistep, DPMSolverSinglestep,
// UniPCMultistep, DEISMultistep. All are exponential integrators of the diffusion ODE in the
// half-log-SNR λ, in the variance-preserving parametrisation x_t = αₜ·x₀ + σₜ·ε:
//   from the k-diffusion σ:  αₜ = 1/√(σ² + 1),  σₜ = σ·αₜ,  λ = ln αₜ − ln σₜ  (= −ln σ)
// Timesteps are integers (N+1 points, t = 0 dropped), the sigmas end at 0 ("zero") or at the training
// schedule's σ_min = √((1 − ᾱ₀)/ᾱ₀) = 0.0292 ("sigma_min"; UniPC and DEIS in 0.27). The model input is
// not scaled and initNoiseSigma is 1. Multistep solvers keep the last `solver_order` converted model
// outputs per instance; `setTimesteps` clears them.

import type { Tensor } from '../core/tensor.js';
import { linearCombination } from '../core/tensor-math.js';
import { type NoiseLevel, Scheduler, type StepOptions } from './base.js';
import type { ClassSpec, SchedulerConfigInput, TimestepSpacing } from './config.js';
import { karrasSigmas, logSigmasOf, roundHalfEven, sigmasOf, sigmaToT, solverTimesteps } from './schedule.js';

const f32 = Math.fround;

/** αₜ, σₜ and λₜ of one noise level. */
export interface VP {
  alpha: number;
  sigma: number;
  lambda: number;
}

export function vp(sigmaVE: number): VP {
  const alpha = 1 / Math.sqrt(sigmaVE * sigmaVE + 1);
  const sigma = sigmaVE * alpha;
  return { alpha, sigma, lambda: Math.log(alpha) - Math.log(sigma) };
}

export abstract class DpmScheduler extends Scheduler {
  readonly timestepType = 'int';
  readonly initNoiseSigma = 1;
  readonly order = 1;
  /** σ (VE) for each timestep, plus the final one. */
  override sigmas: Float32Array = new Float32Array(0);
  protected readonly trainSigmas: Float32Array;
  protected readonly logSigmas: Float32Array;
  /** The last `solver_order` converted model outputs, oldest first (null until filled). */
  protected modelOutputs: (Tensor<'float32'> | null)[] = [];
  /** How many steps have run, capped at solver_order (the warm-up counter). */
  protected lowerOrderNums = 0;

  protected constructor(spec: ClassSpec, input?: SchedulerConfigInput) {
    super(spec, input);
    if (this.config.rescale_betas_zero_snr === true) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.trainSigmas = sigmasOf(this.alphasCumprod);
    this.logSigmas = logSigmasOf(this.trainSigmas);
  }

  /** Whether the solver works on the data prediction x̂₀ (DPM-Solver++, UniPC) or the noise ε̂. */
  protected abstract get predictsX0(): boolean;

  protected get solverOrder(): number {
    return this.config.solver_order as number;
  }

  protected finalSigmasType(): 'zero' | 'sigma_min' {
    return (this.config.final_sigmas_type as 'zero' | 'sigma_min' | undefined) ?? 'sigma_min';
  }

  protected spacing(): TimestepSpacing {
    return this.config.timestep_spacing ?? 'linspace';
  }

  /** Number of trailing training steps excluded by `lambda_min_clipped` (0 unless λ is clipped). */
  private clippedSteps(): number {
    const min = (this.config.lambda_min_clipped as number | undefined) ?? -Infinity;
    let count = 0; // torch.searchsorted(flip(λ), λ_min): entries of the ascending λ below λ_min
    for (const a of this.alphasCumprod) {
      const lambda = f32(f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a))))));
      if (lambda < min) count++;
    }
    return count;
  }

  protected computeTimesteps(n: number): void {
    const c = this.config;
    const T = c.num_train_timesteps;
    let ts = solverTimesteps(this.spacing(), T, T - this.clippedSteps(), n, c.steps_offset);
    let sigmas: number[];
    let last: number;
    if (c.use_karras_sigmas === true) {
      sigmas = karrasSigmas(this.trainSigmas[0], this.trainSigmas[T - 1], n);
      ts = sigmas.map((s) => roundHalfEven(sigmaToT(s, this.logSigmas)));
      last = sigmas[n - 1];
    } else {
      sigmas = ts.map((t) => this.trainSigmas[t]);
      last = this.trainSigmas[0];
    }
    this.timesteps = ts;
    this.sigmas = Float32Array.from([...sigmas, this.finalSigmasType() === 'zero' ? 0 : last]);
  }

  protected resetState(): void {
    this.modelOutputs = new Array<Tensor<'float32'> | null>(this.solverOrder).fill(null);
    this.lowerOrderNums = 0;
  }

  /** x_t = αₜ·(x₀ + σ·ε) with σ = sigmas[i] of the current call: sampleScale αₜ = 1/√(σ² + 1). */
  override noiseLevel(t: number): NoiseLevel {
    this.requireTimesteps('noiseLevel');
    const sigma = this.sigmas[this.currentIndex(t, true)];
    return { sigma, sampleScale: vp(sigma).alpha };
  }

  /** VP quantities of `sigmas[i]`. */
  protected vpAt(i: number): VP {
    return vp(this.sigmas[i]);
  }

  /**
   * The model output as the solver's variable at the current step (αₜ, σₜ of sigmas[stepIndex]):
   *   data prediction   epsilon: (x − σₜε)/αₜ      v: αₜx − σₜv      sample: output
   *   noise prediction  epsilon: ε                  v: αₜv + σₜx      sample: (x − αₜx̂₀)/σₜ
   */
  protected convert(modelOutput: Tensor<'float32'>, sample: Tensor<'float32'>): Tensor<'float32'> {
    const { alpha, sigma } = this.vpAt(this.stepIdx!);
    const p = this.config.prediction_type;
    if (this.predictsX0) {
      if (p === 'epsilon') return linearCombination([[1 / alpha, sample], [-sigma / alpha, modelOutput]]);
      if (p === 'v_prediction') return linearCombination([[alpha, sample], [-sigma, modelOutput]]);
      return modelOutput;
    }
    if (p === 'epsilon') return modelOutput;
    if (p === 'v_prediction') return linearCombination([[alpha, modelOutput], [sigma, sample]]);
    return linearCombination([[1 / sigma, sample], [-alpha / sigma, modelOutput]]);
  }

  protected pushModelOutput(m: Tensor<'float32'>): void {
    this.modelOutputs = [...this.modelOutputs.slice(1), m];
  }

  /** The k-th newest stored output (k = 0 is the newest). */
  protected output(k: number): Tensor<'float32'> {
    return this.modelOutputs[this.modelOutputs.length - 1 - k]!;
  }

  /**
   * First-order step from sigmas[i] to sigmas[i+1] (h = λ_t − λ_s), i.e. DDIM in λ:
   *   dpmsolver++      x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀
   *   dpmsolver, deis  x_t = (α_t/α_s)·x − σ_t(e^{h} − 1)·ε̂
   *   sde-dpmsolver++  x_t = (σ_t/σ_s)e^{−h}·x + α_t(1 − e^{−2h})·x̂₀ + σ_t√(1 − e^{−2h})·z
   *   sde-dpmsolver    x_t = (α_t/α_s)·x − 2σ_t(e^{h} − 1)·ε̂ + σ_t√(e^{2h} − 1)·z
   */
  protected firstOrderUpdate(m: Tensor<'float32'>, sample: Tensor<'float32'>, i: number, noise?: Tensor<'float32'>): Tensor<'float32'> {
    const t = this.vpAt(i + 1);
    const s = this.vpAt(i);
    const h = t.lambda - s.lambda;
    switch (this.config.algorithm_type) {
      case 'sde-dpmsolver++':
        return linearCombination([[(t.sigma / s.sigma) * Math.exp(-h), sample], [t.alpha * -Math.expm1(-2 * h), m], [t.sigma * Math.sqrt(-Math.expm1(-2 * h)), noise!]]);
      case 'sde-dpmsolver':
        return linearCombination([[t.alpha / s.alpha, sample], [-2 * t.sigma * Math.expm1(h), m], [t.sigma * Math.sqrt(Math.expm1(2 * h)), noise!]]);
      case 'dpmsolver':
      case 'deis':
        return linearCombination([[t.alpha / s.alpha, sample], [-t.sigma * Math.expm1(h), m]]);
      default:
        return linearCombination([[t.sigma / s.sigma, sample], [-t.alpha * Math.expm1(-h), m]]);
    }
  }

  /** The solver order of multistep step i: warm-up from 1, and lower order at the end when configured. */
  protected multistepOrder(i: number): number {
    const c = this.config;
    const n = this.timesteps.length;
    const lowFinal = c.lower_order_final === true && n < 15;
    const lowerFinal = i === n - 1 && (c.euler_at_final === true || lowFinal || c.final_sigmas_type === 'zero');
    const lowerSecond = i === n - 2 && lowFinal;
    if (this.solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal) return 1;
    if (this.solverOrder === 2 || this.lowerOrderNums < 2 || lowerSecond) return 2;
    return 3;
  }

  protected finishStep(i: number): void {
    if (this.lowerOrderNums < this.solverOrder) this.lowerOrderNums++;
    this.stepIdx = i + 1;
  }

  /** α_t·x₀ + σ_t·n at the index of t (begin index once set), α and σ in float32 like diffusers. */
  protected noiseCoefficients(t: number): readonly [number, number] {
    const s = this.sigmas[this.addNoiseIndex(t, true)];
    const alpha = f32(1 / f32(Math.sqrt(f32(f32(s * s) + 1))));
    return [alpha, f32(s * alpha)];
  }

  /** SDE variants draw one randn(sample.shape) per step. */
  override drawsNoise(_t?: number, _opts?: StepOptions): boolean {
    return String(this.config.algorithm_type).startsWith('sde-');
  }
}
