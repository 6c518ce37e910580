// The sampling loop both pipelines share (diffusers StableDiffusionPipeline.__call__, 0.27, step 7):
//
//   for t in timesteps:
//     x_in = scheduler.scale_model_input(cat([latents, latents]) if guidance else latents, t)
//     ε_u, ε_c = unet(x_in, t, encoder_hidden_states=cat([negative, positive]), timestep_cond=…).chunk(2)
//     ε = ε_u + w·(ε_c − ε_u)                         classifier-free guidance, w = guidance_scale
//     latents = latents − σ²·∇ loss(decode(x̂₀))         loss guidance, every few steps (loss-guidance.ts)
//     latents = scheduler.step(ε, t, latents, eta=…, generator=g).prev_sample
//
// LCM-distilled UNets (time_cond_proj_dim set) run without guidance: the scale w enters the UNet as
// timestep_cond = embedding(w − 1) instead (diffusers 0.27, StableDiffusionPipeline step 6.5).
//
// All host arithmetic is float32 with torch's rounding (each op rounded, Python scalars as float32).

import { LatentlabError } from '../core/errors.js';
import type { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { catChannels } from '../core/tensor-math.js';
import type { UNet2DConditionModel } from '../models/unet-2d-condition-model.js';
import { guidanceScaleEmbedding } from '../nn/timestep-embedding.js';
import type { Scheduler } from '../schedulers/index.js';
import { checkStepFinite } from './finite-check.js';
import type { LossGuide } from './loss-guidance.js';

export interface StepInfo {
  /** 0-based index into the loop's timesteps. */
  step: number;
  numSteps: number;
  timestep: number;
  /** Latents after this step (x_{t-1}). */
  latents: Tensor<'float32'>;
  /** The scheduler's estimate of the clean latents x̂₀ at this step, when it forms one (previews). */
  predOriginalSample?: Tensor<'float32'>;
  /** The guided noise prediction ε passed to `step`. */
  noisePred: Tensor<'float32'>;
}

export type StepCallback = (info: StepInfo) => void | Promise<void>;

export interface DenoiseArgs {
  unet: UNet2DConditionModel;
  scheduler: Scheduler;
  latents: Tensor<'float32'>;
  timesteps: readonly number[];
  /**
   * cat([negative, positive]) when guiding, else the positive embeddings — or a function of the
   * loop index giving them, when the prompt changes during sampling (prompt editing, alternation).
   */
  promptEmbeds: Tensor<'float32'> | ((step: number) => Tensor<'float32'>);
  guidanceScale: number;
  doClassifierFreeGuidance: boolean;
  generator: Generator;
  eta?: number;
  /** Seamless tiling: the UNet's convs pad circularly (its tiled session). */
  tiling?: boolean;
  /**
   * Inpainting with a 9-channel UNet: channels appended to the scaled UNet input, [2B or B, 5, h, w]
   * (mask, masked-image latents; not scaled by scale_model_input).
   */
  extraChannels?: Tensor<'float32'>;
  /** Inpainting with a 4-channel UNet: replaces the latents after each step (the blend outside the mask). */
  afterStep?: (step: number, latents: Tensor<'float32'>) => Tensor<'float32'>;
  /** Loss guidance: moves the latents after the UNet call and before the step, where it is due. */
  guide?: LossGuide;
  callback?: StepCallback;
  signal?: AbortSignal;
}

/** ε_u + w·(ε_c − ε_u) on the two halves of the UNet's batch, in float32. */
export function classifierFreeGuidance(noisePred: Tensor<'float32'>, guidanceScale: number): Tensor<'float32'> {
  const half = noisePred.size / 2;
  const w = Math.fround(guidanceScale);
  const out = new Tensor('float32', [noisePred.shape[0] / 2, ...noisePred.shape.slice(1)]);
  const d = noisePred.data;
  for (let i = 0; i < half; i++) {
    const u = d[i];
    out.data[i] = Math.fround(u + Math.fround(w * Math.fround(d[half + i] - u)));
  }
  return out;
}

export function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new LatentlabError('CANCELLED', 'generation was cancelled', { cause: signal.reason });
  }
}

/**
 * Classifier-free guidance runs when w > 1 — except for LCM-distilled UNets, whose guidance is an
 * input (diffusers' `do_classifier_free_guidance`).
 */
export function usesClassifierFreeGuidance(unet: Pick<UNet2DConditionModel, 'config'>, guidanceScale: number): boolean {
  return guidanceScale > 1 && unet.config.time_cond_proj_dim === null;
}

/** timestep_cond for an LCM-distilled UNet: embedding(w − 1) for each of `batch` latents; undefined for other UNets. */
export function guidanceCondition(unet: Pick<UNet2DConditionModel, 'config'>, guidanceScale: number, batch: number): Tensor<'float32'> | undefined {
  const dim = unet.config.time_cond_proj_dim;
  return dim === null ? undefined : guidanceScaleEmbedding(Array<number>(batch).fill(guidanceScale - 1), dim);
}

export async function denoise(a: DenoiseArgs): Promise<Tensor<'float32'>> {
  let latents = a.latents;
  const timestepCond = guidanceCondition(a.unet, a.guidanceScale, latents.shape[0]);
  for (let i = 0; i < a.timesteps.length; i++) {
    checkCancelled(a.signal);
    const t = a.timesteps[i];
    const input = a.doClassifierFreeGuidance ? Tensor.cat0([latents, latents]) : latents;
    const scaled = a.scheduler.scaleModelInput(input, t);
    const modelInput = a.extraChannels ? catChannels([scaled, a.extraChannels]) : scaled; // [2B, 4 (+5), h, w]
    const embeds = typeof a.promptEmbeds === 'function' ? a.promptEmbeds(i) : a.promptEmbeds;
    const { sample } = await a.unet.forward(modelInput, t, embeds, { timestepCond, tiling: a.tiling });
    const noisePred = a.doClassifierFreeGuidance ? classifierFreeGuidance(sample, a.guidanceScale) : sample;
    if (a.guide) latents = await a.guide.apply(i, t, latents, noisePred);
    const out = a.scheduler.step(noisePred, t, latents, { generator: a.generator, eta: a.eta });
    latents = a.afterStep ? a.afterStep(i, out.prevSample) : out.prevSample;
    checkStepFinite({ step: i, numSteps: a.timesteps.length, timestep: t, sample, noisePred, latents, guidanceScale: a.guidanceScale });
    await a.callback?.({ step: i, numSteps: a.timesteps.length, timestep: t, latents, predOriginalSample: out.predOriginalSample, noisePred });
  }
  checkCancelled(a.signal);
  return latents;
}
