// The DDPM / DDIM / PNDM family (diffusers DDPMScheduler, DDIMScheduler, PNDMScheduler, 0.27):
// they work directly on ᾱₜ at integer timesteps, x_t = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε.
//
// Two things every port gets wrong: the step goes to t − T//N *whatever the spacing* (with
// trailing / linspace spacing that is not the next scheduled timestep), and below t = 0 the
// "previous" ᾱ is 1 (DDPM) or, with `set_alpha_to_one: false`, ᾱ₀ (DDIM, PNDM).

import { check, fmtValue } from '../core/errors.js';
import { zipWith } from '../core/tensor-math.js';
import type { Tensor } from '../core/tensor.js';
import { Scheduler } from './base.js';
import type { ClassSpec, SchedulerConfigInput, TimestepSpacing } from './config.js';
import { spacedTimesteps } from './schedule.js';

export abstract class AlphaScheduler extends Scheduler {
  readonly timestepType = 'int';
  readonly initNoiseSigma = 1;

  protected constructor(spec: ClassSpec, input?: SchedulerConfigInput) {
    super(spec, input);
  }

  /** ᾱ used when t − T//N falls below 0. */
  protected abstract get finalAlphaCumprod(): number;

  /** Integer timesteps, descending, for the configured spacing. */
  protected spaced(numInferenceSteps: number): number[] {
    const c = this.config;
    return spacedTimesteps(c.timestep_spacing as TimestepSpacing, c.num_train_timesteps, numInferenceSteps, c.steps_offset, true);
  }

  /** t − T//N: the timestep a step from t lands on (regardless of spacing). */
  protected prevTimestep(t: number): number {
    return t - Math.floor(this.config.num_train_timesteps / (this.numInferenceSteps ?? this.config.num_train_timesteps));
  }

  /** ᾱₜ, checking that t is a training timestep. */
  protected alphaProd(t: number): number {
    const T = this.config.num_train_timesteps;
    check(Number.isInteger(t) && t >= 0 && t < T, 'SCHEDULER_TIMESTEP',
      () => `${this.className}: timestep ${fmtValue(t)} is not an integer in [0, ${T})`,
      { hint: 'pass a value from scheduler.timesteps.' });
    return this.alphasCumprod[t];
  }

  protected alphaProdPrev(tPrev: number): number {
    return tPrev >= 0 ? this.alphaProd(tPrev) : this.finalAlphaCumprod;
  }

  /** √ᾱₜ·x₀ + √(1−ᾱₜ)·n, coefficients in float32 like diffusers. */
  protected noiseCoefficients(t: number): readonly [number, number] {
    const a = this.alphaProd(t);
    return [Math.fround(Math.sqrt(a)), Math.fround(Math.sqrt(Math.fround(1 - a)))];
  }

  /**
   * x̂₀ and ε̂ from the model output (a = ᾱₜ):
   *   epsilon       x̂₀ = (x − √(1−a)·ε)/√a,   ε̂ = ε
   *   v_prediction  x̂₀ = √a·x − √(1−a)·v,      ε̂ = √a·v + √(1−a)·x
   *   sample        x̂₀ = output,               ε̂ = (x − √a·x̂₀)/√(1−a)
   * then clipped to ±clip_sample_range when `clip_sample` is set (unless `honourClip` is false: TCD
   * never clips).
   */
  protected predictions(modelOutput: Tensor<'float32'>, sample: Tensor<'float32'>, a: number, honourClip = true): { x0: Tensor<'float32'>; eps: Tensor<'float32'> } {
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    const clip = honourClip && this.config.clip_sample === true ? Number(this.config.clip_sample_range ?? 1) : Infinity;
    const x0 = modelOutput.clone();
    const eps = modelOutput.clone();
    const m = modelOutput.data;
    const x = sample.data;
    for (let i = 0; i < m.length; i++) {
      let p: number;
      let e: number;
      switch (this.config.prediction_type) {
        case 'epsilon':
          p = (x[i] - sb * m[i]) / sa;
          e = m[i];
          break;
        case 'v_prediction':
          p = sa * x[i] - sb * m[i];
          e = sa * m[i] + sb * x[i];
          break;
        case 'sample':
          p = m[i];
          e = (x[i] - sa * p) / sb;
          break;
      }
      x0.data[i] = Math.min(Math.max(p, -clip), clip);
      eps.data[i] = e;
    }
    return { x0, eps };
  }

  /** ε̂ recomputed from a clipped x̂₀ (DDIM's `use_clipped_model_output`). */
  protected epsFromX0(x0: Tensor<'float32'>, sample: Tensor<'float32'>, a: number): Tensor<'float32'> {
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    return zipWith(x0, sample, (p, x) => (x - sa * p) / sb);
  }
}
