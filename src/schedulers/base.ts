// The scheduler interface and what every scheduler shares (diffusers SchedulerMixin + the
// bookkeeping each 0.27 scheduler repeats): config resolution, the training tables βₜ and ᾱₜ,
// `setTimesteps`, the step counter with its begin index, timestep → index lookup, noise drawing, and
// the argument checks of `step` / `scaleModelInput` / `addNoise`. The three families build on it:
//   alpha-base.ts   DDPM, DDIM, PNDM            (work on ᾱₜ at integer timesteps)
//   sigma-base.ts   LMS, Euler, Euler a, Heun, KDPM2  (k-diffusion: σ tables, float timesteps)
//   dpm-base.ts     DPM-Solver++ 2M, DPM-Solver singlestep, UniPC, DEIS  (exponential integrators in λ)

import { check, fmtShape, fmtValue, LatentlabError } from '../core/errors.js';
import { defaultGenerator, type Generator } from '../core/random.js';
import { batchedLinearCombination } from '../core/tensor-math.js';
import type { Tensor } from '../core/tensor.js';
import { type ClassSpec, resolveConfig, type SchedulerConfig, type SchedulerConfigInput } from './config.js';
import { alphasCumprodOf, betasFor } from './schedule.js';

export interface StepOptions {
  /** Draws the step's noise (default: the shared `defaultGenerator`, like torch's global RNG). */
  generator?: Generator;
  /** Use this tensor as the step's noise instead of drawing it (same shape as the sample). */
  noise?: Tensor<'float32'>;
  /** DDIM's η: 0 = deterministic DDIM, 1 = DDPM-like ancestral noise. */
  eta?: number;
  /** Euler's "churn" (Karras et al. 2022, Algorithm 2): s_churn, s_tmin, s_tmax, s_noise. */
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

export interface StepOutput {
  /** x_{t−1}: the sample to feed to the next model call. */
  prevSample: Tensor<'float32'>;
  /** x̂₀: the model's current estimate of the clean sample, where the algorithm forms one. */
  predOriginalSample?: Tensor<'float32'>;
}

export type TimestepType = 'int' | 'float';

/**
 * The noise level of a sample in the variance-exploding view sample = sampleScale·(x₀ + σ·ε): the
 * σ-schedulers' samples are x₀ + σ·ε already (sampleScale 1); the others' are x_t = √ᾱₜ·x₀ +
 * √(1 − ᾱₜ)·ε = √ᾱₜ·(x₀ + σ·ε) with σ = √((1 − ᾱₜ)/ᾱₜ) (sampleScale √ᾱₜ).
 */
export interface NoiseLevel {
  sigma: number;
  sampleScale: number;
}

export abstract class Scheduler {
  /** The full resolved config (diffusers `scheduler.config`), JSON field names. */
  readonly config: SchedulerConfig;
  /** βₜ, t = 0 … T−1 (float32). */
  readonly betas: Float32Array;
  /** ᾱₜ = ∏(1 − βₛ) (float32). */
  readonly alphasCumprod: Float32Array;
  /** The timesteps of the sampling loop, one per `step` call, in order (empty before `setTimesteps`). */
  timesteps: number[] = [];
  /** σ (variance-exploding noise level) per timestep plus the final one, for the classes that use σ. */
  sigmas?: Float32Array;
  numInferenceSteps: number | null = null;
  /** How many model evaluations one solver step uses (2 for Heun / KDPM2, diffusers `order`). */
  abstract readonly order: number;
  /** Integer timesteps (int64 for the UNet) or fractional float32 ones. */
  abstract readonly timestepType: TimestepType;
  /** Standard deviation of the initial noise: latents = randn · initNoiseSigma. */
  abstract get initNoiseSigma(): number;

  protected stepIdx: number | null = null;
  protected beginIdx: number | null = null;

  protected constructor(spec: ClassSpec, input?: SchedulerConfigInput) {
    this.config = resolveConfig(spec, input);
    this.betas = betasFor(this.config);
    this.alphasCumprod = alphasCumprodOf(this.betas);
  }

  get className(): string {
    return this.config._class_name;
  }

  /** Index into `timesteps` of the next `step` call, once the first call has fixed it. */
  get stepIndex(): number | null {
    return this.stepIdx;
  }

  get beginIndex(): number | null {
    return this.beginIdx;
  }

  /** Computes the inference schedule for `numInferenceSteps` model steps and resets all history. */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.num_train_timesteps;
    check(Number.isInteger(numInferenceSteps) && numInferenceSteps >= 1 && numInferenceSteps <= T, 'SCHEDULER_STEPS',
      () => `${this.className}.setTimesteps: numInferenceSteps is ${fmtValue(numInferenceSteps)}; expected an integer in [1, ${T}]`,
      { hint: `the model was trained with ${T} timesteps; sample with at most that many steps.` });
    this.checkSteps(numInferenceSteps);
    this.numInferenceSteps = numInferenceSteps;
    this.computeTimesteps(numInferenceSteps);
    this.stepIdx = null;
    this.beginIdx = null;
    this.resetState();
  }

  /**
   * Starts the step counter at `timesteps[beginIndex]` instead of looking the first timestep up
   * (img2img calls it with `tStart · order`). DDPM/DDIM/PNDM derive everything from t and ignore it.
   */
  setBeginIndex(beginIndex: number): void {
    check(Number.isInteger(beginIndex) && beginIndex >= 0 && (this.timesteps.length === 0 || beginIndex < this.timesteps.length),
      'SCHEDULER_BEGIN_INDEX', () => `${this.className}.setBeginIndex: ${fmtValue(beginIndex)} is not an index into the ${this.timesteps.length} timesteps`);
    this.beginIdx = beginIndex;
  }

  /** The model input for timestep t (the k-diffusion schedulers divide by √(σ² + 1)). */
  scaleModelInput(sample: Tensor<'float32'>, t: number): Tensor<'float32'> {
    this.requireTimesteps('scaleModelInput');
    return this.scale(sample, t);
  }

  /** One solver step from `sample` at timestep t, given the model's output there. */
  step(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions = {}): StepOutput {
    this.requireTimesteps('step');
    checkShapes(`${this.className}.step`, [['modelOutput', modelOutput], ['sample', sample], ...(opts.noise ? [['noise', opts.noise] as const] : [])]);
    check(typeof t === 'number' && Number.isFinite(t), 'SCHEDULER_TIMESTEP', () => `${this.className}.step: timestep ${fmtValue(t)} is not a number`);
    return this.stepImpl(modelOutput, t, sample, opts);
  }

  /**
   * The noise level of the sample this step is given (call it after scaleModelInput, before step):
   * what loss guidance needs to form x̂₀ = sample/sampleScale − σ·ε̂ the same way for every family.
   * Here, for the schedulers on ᾱₜ at integer timesteps (DDPM, DDIM, PNDM): ᾱₜ of t itself.
   */
  noiseLevel(t: number): NoiseLevel {
    this.requireTimesteps('noiseLevel');
    const T = this.config.num_train_timesteps;
    check(Number.isInteger(t) && t >= 0 && t < T, 'SCHEDULER_TIMESTEP', () => `${this.className}.noiseLevel: timestep ${fmtValue(t)} is not an integer in [0, ${T})`);
    const a = this.alphasCumprod[t];
    return { sigma: Math.sqrt((1 - a) / a), sampleScale: Math.sqrt(a) };
  }

  /** Whether `step(…, t, …, opts)` draws a `randn(sample.shape)` from the generator. */
  drawsNoise(_t: number, _opts: StepOptions = {}): boolean {
    return false;
  }

  /** The forward process q(x_t | x₀): `original` noised to each batch item's timestep. */
  addNoise(original: Tensor<'float32'>, noise: Tensor<'float32'>, timesteps: readonly number[]): Tensor<'float32'> {
    checkShapes(`${this.className}.addNoise`, [['original', original], ['noise', noise]]);
    const batch = original.shape[0] ?? 1;
    check(timesteps.length === batch || timesteps.length === 1, 'SCHEDULER_TIMESTEP',
      () => `${this.className}.addNoise: ${timesteps.length} timesteps for a batch of ${batch}; expected ${batch} (one per item) or 1`);
    const coefs = timesteps.map((t) => this.noiseCoefficients(t));
    const per = (k: 0 | 1) => Array.from({ length: batch }, (_, b) => coefs[timesteps.length === 1 ? 0 : b][k]);
    return batchedLinearCombination([[per(0), original], [per(1), noise]]);
  }

  // ---- for subclasses ------------------------------------------------------------------------------

  /** A class's own limits on the step count, checked before anything changes (LCM: N ≤ its grid). */
  protected checkSteps(_numInferenceSteps: number): void {}
  protected abstract computeTimesteps(numInferenceSteps: number): void;
  /** Clears per-run history (multistep buffers, Heun's saved state, PNDM's counter). */
  protected abstract resetState(): void;
  protected abstract stepImpl(modelOutput: Tensor<'float32'>, t: number, sample: Tensor<'float32'>, opts: StepOptions): StepOutput;
  /** [a, b] with addNoise(x₀, n, t) = a·x₀ + b·n. */
  protected abstract noiseCoefficients(t: number): readonly [number, number];

  protected scale(sample: Tensor<'float32'>, _t: number): Tensor<'float32'> {
    return sample;
  }

  protected requireTimesteps(what: string): void {
    if (this.numInferenceSteps === null) {
      throw new LatentlabError('SCHEDULER_NOT_READY', `${this.className}.${what} was called before setTimesteps`, {
        hint: 'call scheduler.setTimesteps(numInferenceSteps) first; it computes the schedule this call needs.',
      });
    }
  }

  /** The step's noise: the caller's tensor, or a fresh `randn(shape)` from the generator. */
  protected drawNoise(shape: readonly number[], opts: StepOptions): Tensor<'float32'> {
    return opts.noise ?? (opts.generator ?? defaultGenerator).randn(shape);
  }

  /**
   * Position of t in `schedule` (diffusers `index_for_timestep`). A timestep that occurs twice (Heun,
   * KDPM2, img2img starting mid-schedule) resolves to its *second* occurrence, so the first step never
   * skips a σ. Missing: the DPM family falls back to the last index (as diffusers does); the others fail.
   */
  protected indexForTimestep(t: number, schedule: readonly number[] = this.timesteps, lastIfMissing = false): number {
    const key = this.timestepType === 'float' ? Math.fround(t) : t;
    const matches: number[] = [];
    for (let i = 0; i < schedule.length && matches.length < 2; i++) if (schedule[i] === key) matches.push(i);
    if (matches.length === 0) {
      if (lastIfMissing) return schedule.length - 1;
      throw new LatentlabError('SCHEDULER_TIMESTEP', `${this.className}: timestep ${fmtValue(t)} is not one of the scheduler's timesteps`, {
        hint: `pass a value from scheduler.timesteps (${schedule.slice(0, 6).join(', ')}${schedule.length > 6 ? ', …' : ''}).`,
      });
    }
    return matches.length > 1 ? matches[1] : matches[0];
  }

  /** Fixes the step counter on the first call: the begin index if one was set, else the lookup of t. */
  protected initStepIndex(t: number, lastIfMissing = false): number {
    if (this.stepIdx === null) this.stepIdx = this.beginIdx ?? this.indexForTimestep(t, this.timesteps, lastIfMissing);
    return this.stepIdx;
  }

  /** The index the current call uses, without fixing it (noiseLevel may come before the first step). */
  protected currentIndex(t: number, lastIfMissing = false): number {
    return this.stepIdx ?? this.beginIdx ?? this.indexForTimestep(t, this.timesteps, lastIfMissing);
  }

  /** The index addNoise uses: the begin index (or current step) once set, else the lookup of t. */
  protected addNoiseIndex(t: number, lastIfMissing = false): number {
    this.requireTimesteps('addNoise');
    if (this.beginIdx === null) return this.indexForTimestep(t, this.timesteps, lastIfMissing);
    return this.stepIdx ?? this.beginIdx;
  }
}

function checkShapes(what: string, named: readonly (readonly [string, Tensor])[]): void {
  const [[firstName, first]] = named;
  for (const [name, t] of named) {
    check(t.dtype === 'float32', 'SCHEDULER_DTYPE', () => `${what}: ${name} is ${t.dtype}; expected float32`,
      { hint: 'convert with tensor.toFloat32() (the schedulers compute in float32, like diffusers).' });
    check(t.rank === first.rank && t.shape.every((d, i) => d === first.shape[i]), 'SCHEDULER_SHAPE',
      () => `${what}: ${name} has shape ${fmtShape(t.shape)} but ${firstName} has ${fmtShape(first.shape)}; they must match`);
  }
}
