// Loss guidance, the deep dive's "guidance with a loss" (classifier guidance is the same with a
// classifier's −log p(class | image) as the loss): every few steps, push the latents down the
// gradient of a loss on the image they are heading for, then take the scheduler's step as usual.
//
//   x̂₀ = x − σ·ε̂                                      the clean latents the model predicts (ε̂ held fixed)
//   image = vae.decode(x̂₀ / scaling_factor) / 2 + 0.5   [1, 3, H, W], about 0…1, not clamped
//   g = ∇ₓ (loss(image) · scale)                       one ONNX session: decoder, loss and backward (grad())
//   x ← x − σ²·g
//
// x and σ are the variance-exploding view of the scheduler's sample, sample = s·(x₀ + σ·ε)
// (Scheduler.noiseLevel). The σ-schedulers (LMS, Euler, Euler a, Heun, KDPM2) hand over x₀ + σ·ε
// itself (s = 1), so this is the notebook's loop exactly. The others (DDIM, PNDM, DDPM, DPM-Solver,
// UniPC, DEIS) work on x_t = √ᾱₜ·x₀ + √(1 − ᾱₜ)·ε: x = x_t/√ᾱₜ, σ = √((1 − ᾱₜ)/ᾱₜ), and back
// x_t = √ᾱₜ·x. That gives DDIM's own x̂₀ = (x_t − √(1 − ᾱₜ)·ε̂)/√ᾱₜ and the step
// x_t ← x_t − (1 − ᾱₜ)·∇_{x_t}: the same move as the notebook's, measured in the VE frame.
//
// Each image of a batch is guided on its own (a batch-1 graph run per image), so it moves as it
// would alone; the mean in a loss is over one image. The graph is compiled once per size, loss and
// scale (AutoencoderKL.compileGraph) and reused across steps and calls.

import { fmtValue, LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import { Tensor } from '../core/tensor.js';
import { map, zipWith } from '../core/tensor-math.js';
import { grad } from '../graph/autodiff/grad.js';
import { Graph, Module, type Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { vaeDecoder } from '../models/vae-graph.js';
import { withTiling } from '../nn/layers.js';
import type { Scheduler } from '../schedulers/index.js';
import type { PipelineVae, VaeCallOptions } from './latents.js';

/** A loss on the decoded image [1, 3, H, W] (mapped by x/2 + 0.5, not clamped), built with latentlab's ops: one number. */
export type ImageLoss = (image: Value) => Value;

/** One entry of the pipelines' `lossGuidance` option. */
export interface LossGuidance {
  /** Builds the loss from the decoded image; called once per image size. */
  loss: ImageLoss;
  /** The loss is multiplied by this before its gradient is taken (the notebook's blue_loss_scale, 200). */
  scale: number;
  /** Guide at solver steps i with i % every == 0 (default 5, as the notebook). */
  every?: number;
  /** Weights of a network inside the loss (a classifier's), by checkpoint key; the VAE's are always there. */
  weights?: ReadonlyMap<string, WeightData>;
}

export const DEFAULT_LOSS_GUIDANCE_EVERY = 5;

/** The notebook's blue_loss: mean(|image[:, 2] − 0.9|), how far the blue channel is from 0.9. */
export function blueLoss(image: Value): Value {
  return op.reduceMean(op.abs(op.sub(op.slice(image, 1, 2, 3), 0.9)), [0, 1, 2, 3], false);
}

/** The mean over the three channels of mean(|image[:, c] − target_c|), target in [0, 1] (e.g. #ff8000 → [1, 0.502, 0]). */
export function colorLoss(target: readonly [number, number, number]): ImageLoss {
  if (target.length !== 3 || !target.every((c) => typeof c === 'number' && c >= 0 && c <= 1)) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `colorLoss: target is ${JSON.stringify(target)}; expected three numbers in [0, 1]`, {
      key: 'target', hint: 'divide 8-bit values by 255: #ff8000 is [1, 0.502, 0]',
    });
  }
  return (image) => op.reduceMean(op.abs(op.sub(image, image.graph.constant(Tensor.float32([1, 3, 1, 1], target)))), [0, 1, 2, 3], false);
}

/**
 * The graph of one guidance step for one image: inputs `latents` and `noise_pred` [1, L, h, w] and
 * `sigma` []; outputs `loss` (loss · scale) and `grad` (its gradient w.r.t. the latents). `name`
 * names the loss in errors.
 */
export function lossGuidanceGraph(vae: AutoencoderKL, height: number, width: number, loss: ImageLoss, scale: number, name = 'loss', options: VaeCallOptions = {}): Graph {
  const g = new Graph('loss_guidance');
  const shape = [1, vae.config.latent_channels, height, width];
  const latents = g.input('latents', 'float32', shape);
  const noisePred = g.input('noise_pred', 'float32', shape);
  const sigma = g.input('sigma', 'float32', []);
  const latentsX0 = op.sub(latents, op.mul(sigma, noisePred)); // x̂₀ = x − σ·ε̂
  const z = op.mul(latentsX0, 1 / vae.scalingFactor);
  const decoded = withTiling(options.tiling, () => vaeDecoder(new Module(g), z, vae.config)); // [1, 3, 8h, 8w]
  const image = op.add(op.div(decoded, 2), 0.5);
  const value = g.scoped('loss', () => loss(image));
  if (value === null || typeof value !== 'object' || value.graph !== g || value.shape.some((d) => d !== 1) || value.dtype !== 'float32') {
    const got = value && typeof value === 'object' && 'shape' in value ? `a ${value.dtype} value of shape [${value.shape}]` : String(value);
    throw new LatentlabError('PIPELINE_ARGUMENT', `${name} returned ${got}; expected one float32 number built from the image`, {
      key: name, hint: 'reduce it to a single number, e.g. ops.reduceMean(x, [0, 1, 2, 3], false), using the ops on the image value you are given',
    });
  }
  const scaled = op.mul(value, scale);
  const [gradient] = grad(scaled, [latents]); // [1, L, h, w]
  g.output('loss', scaled);
  g.output('grad', gradient);
  return g;
}

/** Checks the option's entries (cheap; before any compute). */
export function checkLossGuidance(entries: readonly LossGuidance[] | undefined): void {
  if (entries === undefined) return;
  if (!Array.isArray(entries)) throw optionError('lossGuidance', entries, 'a list of { loss, scale, every }');
  entries.forEach((e, k) => {
    if (typeof e?.loss !== 'function') throw optionError(`lossGuidance[${k}].loss`, e?.loss, 'a function (image: Value) => Value');
    if (typeof e.scale !== 'number' || !Number.isFinite(e.scale)) throw optionError(`lossGuidance[${k}].scale`, e.scale, 'a finite number');
    const every = e.every ?? DEFAULT_LOSS_GUIDANCE_EVERY;
    if (!Number.isInteger(every) || every < 1) throw optionError(`lossGuidance[${k}].every`, e.every, 'an integer ≥ 1');
  });
}

function optionError(key: string, value: unknown, expected: string): LatentlabError {
  return new LatentlabError('PIPELINE_ARGUMENT', `${key} is ${typeof value === 'function' ? 'a function' : fmtValue(value)}; expected ${expected}`, { key });
}

/** A stable id per loss function, so the same function reuses its compiled session. */
const lossIds = new WeakMap<ImageLoss, number>();
let lastLossId = 0;
function lossId(f: ImageLoss): number {
  if (!lossIds.has(f)) lossIds.set(f, ++lastLossId);
  return lossIds.get(f)!;
}

/** Runs the option's entries inside a denoising loop. Build it with `create` (which builds, but does not compile, the graphs). */
export class LossGuide {
  private constructor(
    private readonly vae: AutoencoderKL,
    private readonly scheduler: Scheduler,
    private readonly entries: readonly { every: number; key: string; graph: Graph; weights?: ReadonlyMap<string, WeightData> }[],
  ) {}

  /** Validates the entries and builds each graph for latents of height × width (errors in a loss function surface here). */
  static create(vae: PipelineVae, scheduler: Scheduler, entries: readonly LossGuidance[], height: number, width: number, options: VaeCallOptions = {}): LossGuide {
    checkLossGuidance(entries);
    if (!(vae instanceof AutoencoderKL)) {
      throw new LatentlabError('PIPELINE_ARGUMENT', 'lossGuidance differentiates through AutoencoderKL\'s decoder, but the pipeline\'s vae is an AutoencoderTiny (TAESD)', {
        key: 'lossGuidance', hint: 'keep the model\'s own AutoencoderKL as pipe.vae for loss guidance',
      });
    }
    const built = entries.map((e, k) => {
      const name = `lossGuidance[${k}].loss`;
      let graph: Graph;
      try {
        graph = lossGuidanceGraph(vae, height, width, e.loss, e.scale, name, options);
      } catch (cause) {
        if (cause instanceof LatentlabError && cause.key === name) throw cause;
        throw new LatentlabError('PIPELINE_ARGUMENT', `${name} failed on the decoded image: ${(cause as Error).message}`, { key: name, cause });
      }
      return { every: e.every ?? DEFAULT_LOSS_GUIDANCE_EVERY, key: `loss-guidance/${lossId(e.loss)}/${e.scale}/${height}x${width}/${options.tiling ?? false}`, graph, weights: e.weights };
    });
    return new LossGuide(vae, scheduler, built);
  }

  /**
   * Call `index` of the loop (0-based, as the loop's own counter) at timestep t: the guided latents
   * (or `latents` itself when no entry is due). Second-order schedulers (Heun, KDPM2) make two
   * calls per solver step; the guide counts solver steps and acts on the first call of a step,
   * since the second restarts from the sample saved at the first.
   */
  async apply(index: number, t: number, latents: Tensor<'float32'>, noisePred: Tensor<'float32'>): Promise<Tensor<'float32'>> {
    const order = this.scheduler.order;
    if (index % order !== 0) return latents;
    const due = this.entries.filter((e) => (index / order) % e.every === 0);
    if (due.length === 0) return latents;
    const { sigma, sampleScale } = this.scheduler.noiseLevel(t);
    if (!(sigma > 0 && Number.isFinite(sigma))) return latents; // σ = 0 needs no guidance; ᾱ = 0 (zero terminal SNR) has no x̂₀
    let x = sampleScale === 1 ? latents : map(latents, (v) => v / sampleScale); // the VE view x₀ + σ·ε
    const eps = this.epsilon(noisePred, x, sigma);
    for (const e of due) {
      const session = await this.vae.compileGraph(e.key, () => e.graph, {}, e.weights);
      const s2 = Math.fround(sigma * sigma); // torch: sigma**2 of a float32 sigma
      const items: Tensor<'float32'>[] = [];
      for (let b = 0; b < x.shape[0]; b++) {
        const xb = x.slice0(b);
        const r = await session.run({ latents: xb, noise_pred: eps.slice0(b), sigma: Tensor.float32([], [sigma]) });
        const g = r.grad.data as Float32Array;
        items.push(new Tensor('float32', xb.shape, xb.data.map((v, i) => v - Math.fround(g[i] * s2)))); // x − grad·σ²
      }
      x = Tensor.cat0(items);
    }
    return sampleScale === 1 ? x : map(x, (v) => v * sampleScale);
  }

  /**
   * ε̂ from the model output in the VE view (a = 1/(1 + σ²) = ᾱ): epsilon as is; v_prediction
   * ε̂ = √a·v + σ·a·x (= √ᾱ·v + √(1 − ᾱ)·x_t); sample ε̂ = (x − x̂₀)/σ.
   */
  private epsilon(modelOutput: Tensor<'float32'>, x: Tensor<'float32'>, sigma: number): Tensor<'float32'> {
    const a = 1 / (1 + sigma * sigma);
    switch (this.scheduler.config.prediction_type) {
      case 'epsilon':
        return modelOutput;
      case 'v_prediction':
        return zipWith(modelOutput, x, (v, xv) => Math.sqrt(a) * v + sigma * a * xv);
      default:
        return zipWith(modelOutput, x, (x0, xv) => (xv - x0) / sigma);
    }
  }
}
