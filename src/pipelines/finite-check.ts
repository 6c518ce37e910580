// No silent black images: NaN or ±Inf anywhere in the prompt embeddings, the latents of a step or
// the decoded pixels stops the call with NUMERIC_NONFINITE, naming where it first appeared and its
// likely cause. Without this check a NaN flows on to the PNG, where the uint8 conversion turns it
// into black pixels, and the run "succeeds".
//
// Where it first appears tells the cause apart:
//   prompt embeddings          NaN/Inf weights in text_encoder
//   the UNet's raw prediction  NaN/Inf weights in unet (or latents that were already bad)
//   the guided prediction      a guidance scale so large that w·(ε_c − ε_u) overflows float32
//   the scheduler's step       a scheduler config that makes its coefficients infinite
//   the decoded pixels         NaN/Inf weights in vae (scaling_factor is checked at load)
// Each scan is one pass over a few hundred kilobytes: nothing next to a UNet call.

import { LatentlabError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';

/** How many values of `t` are NaN / ±Inf. */
export function countNonFinite(t: Tensor<'float32'>): { nan: number; inf: number } {
  let nan = 0;
  let inf = 0;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v - v !== 0) {
      // only NaN and ±Inf fail x − x = 0
      if (Number.isNaN(v)) nan++;
      else inf++;
    }
  }
  return { nan, inf };
}

/** Throws NUMERIC_NONFINITE if `t` holds a NaN or ±Inf: "`where` holds …", with `cause` as the hint. */
export function checkFinite(t: Tensor<'float32'>, where: string, cause: string): void {
  const { nan, inf } = countNonFinite(t);
  if (nan + inf === 0) return;
  const what = [nan > 0 ? `${nan} NaN` : '', inf > 0 ? `${inf} infinite` : ''].filter(Boolean).join(' and ');
  throw new LatentlabError('NUMERIC_NONFINITE', `${where} holds ${what} value${nan + inf === 1 ? '' : 's'} (of ${t.size}); the result would be a wrong (black) image`, { hint: cause });
}

export interface StepValues {
  step: number;
  numSteps: number;
  timestep: number;
  /** The UNet's raw output (both halves with guidance). */
  sample: Tensor<'float32'>;
  /** After classifier-free guidance. */
  noisePred: Tensor<'float32'>;
  /** The scheduler's prevSample. */
  latents: Tensor<'float32'>;
  guidanceScale: number;
}

/** The check after each denoising step, telling the UNet, the guidance and the scheduler apart. */
export function checkStepFinite(s: StepValues): void {
  const at = `step ${s.step + 1} of ${s.numSteps} (timestep ${s.timestep})`;
  checkFinite(s.sample, `the UNet's prediction at ${at}`,
    'the UNet weights (unet/*.safetensors) probably hold NaN or Inf values, or the starting latents did; check the model files (re-download them)');
  checkFinite(s.noisePred, `the guided noise prediction at ${at}`,
    `the guidance scale ${s.guidanceScale} is so large that ε_u + w·(ε_c − ε_u) overflows float32; use a guidance scale between 1 and about 30`);
  checkFinite(s.latents, `the latents after ${at}`,
    'the scheduler\'s coefficients are not finite for this timestep: check the scheduler config (betas, timestep spacing, sigmas)');
}
