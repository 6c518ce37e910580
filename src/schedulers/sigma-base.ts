// The k-diffusion family (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based
// Generative Models"; Katherine Crowson's k-diffusion) as diffusers 0.27 runs it: LMS, Euler,
// Euler ancestral, Heun, KDPM2. They integrate the probability-flow ODE dx/dσ = (x − x̂₀)/σ in the
// variance-exploding view x = x₀ + σ·ε, with σₜ = √((1 − ᾱₜ)/ᾱₜ).
//
//   timesteps   float32 and possibly fractional (N = 20, linspace: 946.4211, ...)
//   sigmas      σ(tᵢ) by linear interpolation of the training table, then a final 0
//   model input x/√(σ² + 1) — the UNet was trained on the variance-preserving x_t = √ᾱ·x₀ + √(1−ᾱ)·ε
//   initNoiseSigma  max σ, or √(max σ² + 1) with leading spacing (diffusers' choice, kept for parity)

import type { Tensor } from '../core/tensor.js';
import { zipWith } from '../core/tensor-math.js';
import { type NoiseLevel, Scheduler } from './base.js';
import type { ClassSpec, SchedulerConfigInput, TimestepSpacing } from './config.js';
import { interpOnIndexGrid, karrasSigmas, logSigmasOf, roundHalfEven, sigmasOf, sigmaToT, spacedTimesteps } from './schedule.js';

const f32 = Math.fround;

export abstract class SigmaScheduler extends Scheduler {
  readonly timestepType = 'float';
  /** σ for each entry of `timesteps`, plus the final σ = 0. */
  override sigmas: Float32Array = new Float32Array(0);
  /** σₜ of the training schedule, t = 0 … T−1. */
  protected readonly trainSigmas: Float32Array;
  protected readonly logSigmas: Float32Array;

  protected constructor(spec: ClassSpec, input?: SchedulerConfigInput) {
    super(spec, input);
    // With zero terminal SNR ᾱ_{T−1} = 0 would make σ infinite: diffusers uses 2^-24 instead.
    if (this.config.rescale_betas_zero_snr === true) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.trainSigmas = sigmasOf(this.alphasCumprod);
    this.logSigmas = logSigmasOf(this.trainSigmas);
  }

  get initNoiseSigma(): number {
    const max = this.sigmas.reduce((m, s) => Math.max(m, s), 0);
    const spacing = this.config.timestep_spacing;
    return spacing === 'linspace' || spacing === 'trailing' ? max : f32(Math.sqrt(f32(f32(max * max) + 1)));
  }

  /**
   * The N timesteps (float32 values) and their σ (float64), before a subclass arranges them. With
   * `use_karras_sigmas` the σ are respaced à la Karras between the ends of the schedule (or `range`)
   * and the timesteps become σ → t interpolations (rounded for KDPM2).
   */
  protected baseSchedule(n: number, opts: { range?: [number | null, number | null]; roundKarras?: boolean } = {}): { timesteps: number[]; sigmas: number[] } {
    const c = this.config;
    const ts = spacedTimesteps(c.timestep_spacing as TimestepSpacing, c.num_train_timesteps, n, c.steps_offset, false).map(f32);
    const sigmas = ts.map((t) => interpOnIndexGrid(t, this.trainSigmas));
    if (c.use_karras_sigmas !== true) return { timesteps: ts, sigmas };
    const [lo, hi] = opts.range ?? [null, null];
    const karras = karrasSigmas(lo ?? sigmas[sigmas.length - 1], hi ?? sigmas[0], n);
    const kts = karras.map((s) => sigmaToT(s, this.logSigmas));
    return { timesteps: (opts.roundKarras ? kts.map(roundHalfEven) : kts).map(f32), sigmas: karras };
  }

  protected resetCounter(): void {
    this.stepIdx = null;
  }

  /** σ of the sample at call i, used to scale the model input (KDPM2 overrides for its midpoints). */
  protected inputSigma(i: number): number {
    return this.sigmas[i];
  }

  /** The sample is x₀ + σ·ε with the σ its model input is scaled by. */
  override noiseLevel(t: number): NoiseLevel {
    this.requireTimesteps('noiseLevel');
    return { sigma: this.inputSigma(this.currentIndex(t)), sampleScale: 1 };
  }

  protected override scale(sample: Tensor<'float32'>, t: number): Tensor<'float32'> {
    const sigma = this.inputSigma(this.initStepIndex(t));
    const d = f32(Math.sqrt(f32(f32(sigma * sigma) + 1))); // float32, so the division is exactly torch's
    const out = sample.clone();
    for (let i = 0; i < out.size; i++) out.data[i] = sample.data[i] / d;
    return out;
  }

  /**
   * x̂₀ from the model output at noise level σ:
   *   epsilon       x̂₀ = x − σ·ε
   *   v_prediction  x̂₀ = v·(−σ/√(σ² + 1)) + x/(σ² + 1)
   *   sample        x̂₀ = output
   */
  protected predX0(modelOutput: Tensor<'float32'>, sample: Tensor<'float32'>, sigma: number): Tensor<'float32'> {
    switch (this.config.prediction_type) {
      case 'epsilon':
        return zipWith(sample, modelOutput, (x, e) => x - sigma * e);
      case 'v_prediction': {
        const cOut = -sigma / Math.sqrt(sigma * sigma + 1);
        const cSkip = 1 / (sigma * sigma + 1);
        return zipWith(sample, modelOutput, (x, v) => v * cOut + x * cSkip);
      }
      case 'sample':
        return modelOutput.clone();
    }
  }

  /** addNoise in the VE view: x₀ + σ·n. */
  protected noiseCoefficients(t: number): readonly [number, number] {
    return [1, this.sigmas[this.addNoiseIndex(t)]];
  }
}
