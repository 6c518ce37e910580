// A1111's hires-fix fields (enable_hr, hr_scale, hr_upscaler, …) as the library's hiresFix options
// (pipelines/hires-fix.ts, which says what the fix does). The upscalers are A1111's latent modes
// plus the picture resizers latentlab has: "Lanczos" and "None" (A1111's "None" upscaler still ends
// with a Lanczos resize to the target size) and "Nearest".

import { A1111_IMAGE_UPSCALERS as IMAGE_UPSCALERS, A1111_UPSCALER_NAMES, a1111HiresTarget, a1111Upscaler, type HiresOptions, type HiresReport, LATENT_UPSCALE_MODES, LatentlabError } from '../node.js';
import type { Txt2ImgRequest } from './a1111-schemas.js';

/** A1111's default hr_upscaler when none is given (shared.latent_upscale_default_mode). */
const DEFAULT_UPSCALER = 'Latent';

/** GET /sdapi/v1/upscalers: A1111's list of picture upscalers (scale: A1111's nominal 4). */
export function upscalerList(): Record<string, unknown>[] {
  return Object.keys(IMAGE_UPSCALERS).map((name) => ({ name, model_name: null, model_path: null, model_url: null, scale: 4 }));
}

/** GET /sdapi/v1/latent-upscale-modes. */
export function latentUpscaleModes(): { name: string }[] {
  return Object.keys(LATENT_UPSCALE_MODES).map((name) => ({ name }));
}

export interface HiresPlan {
  /** The first pass's size (A1111's p.width × p.height, what the infotext's Size says). */
  width: number;
  height: number;
  /** The library's options, less prompt, negative prompt and scheduler (the caller's). */
  options: Omit<HiresOptions, 'prompt' | 'negativePrompt' | 'scheduler'>;
  report: HiresReport;
  /** The picture's final size. */
  outWidth: number;
  outHeight: number;
}

function requestError(key: string, message: string, hint: string): LatentlabError {
  return new LatentlabError('SERVER_REQUEST', message, { key, hint });
}

/** The plan of a txt2img request with enable_hr (its sizes checked), or undefined without it. */
export function hiresPlan(req: Txt2ImgRequest, width: number, height: number): HiresPlan | undefined {
  if (!req.enable_hr) return undefined;
  // Legacy fields (A1111 < 1.0): the first pass at firstphase_width × firstphase_height. A1111 then
  // computes the target from hr_scale / hr_resize as usual, and so does this.
  const [fw, fh] = [req.firstphase_width ?? 0, req.firstphase_height ?? 0];
  if (fw !== 0 || fh !== 0) {
    for (const [key, v] of [['firstphase_width', fw], ['firstphase_height', fh]] as const) {
      if (v <= 0 || v % 8 !== 0) throw requestError(key, `${key} is ${v}; with the other firstphase field set, expected a positive multiple of 8`, 'send both firstphase_width and firstphase_height, or neither (0)');
    }
    [width, height] = [fw, fh];
  }
  const upscaler = req.hr_upscaler ?? DEFAULT_UPSCALER;
  const resolved = a1111Upscaler(upscaler);
  if (resolved === undefined) {
    throw requestError('hr_upscaler', `hr_upscaler is ${JSON.stringify(upscaler)}; expected one of ${A1111_UPSCALER_NAMES.map((n) => JSON.stringify(n)).join(', ')}`,
      'GET /sdapi/v1/latent-upscale-modes and /sdapi/v1/upscalers list them; this server has no model upscalers (ESRGAN, …)');
  }
  const scale = req.hr_scale ?? 2;
  if (!(scale > 0)) throw requestError('hr_scale', `hr_scale is ${scale}; expected a number > 0`, 'e.g. 2');
  const [rx, ry] = [req.hr_resize_x ?? 0, req.hr_resize_y ?? 0];
  if (rx < 0 || ry < 0) throw requestError(rx < 0 ? 'hr_resize_x' : 'hr_resize_y', `hr_resize_x × hr_resize_y is ${rx}×${ry}; expected sizes ≥ 0 (0: from the other, or from hr_scale)`, 'send 0 to use hr_scale');
  const target = a1111HiresTarget(width, height, { scale, resizeX: rx, resizeY: ry });
  const outWidth = Math.floor(target.width / 8) * 8 - target.crop.x * 8;
  const outHeight = Math.floor(target.height / 8) * 8 - target.crop.y * 8;
  if (outWidth < 8 || outHeight < 8) {
    throw requestError(rx || ry ? 'hr_resize_x' : 'hr_scale', `the hires size would be ${outWidth}×${outHeight}; expected at least 8×8`, 'ask for a larger hr_scale or hr_resize_x/y');
  }
  const strength = req.denoising_strength ?? 0.75; // A1111's API default (StableDiffusionProcessingTxt2Img); its UI's is 0.7
  const steps = req.hr_second_pass_steps ?? 0;
  if (steps < 0) throw requestError('hr_second_pass_steps', `hr_second_pass_steps is ${steps}; expected 0 (the first pass's steps) or more`, 'send 0');
  return {
    width, height, outWidth, outHeight,
    options: { width: target.width, height: target.height, crop: target.crop, upscaler: resolved, strength, steps },
    report: {
      strength, ...(rx || ry ? { resize: { x: rx, y: ry } } : { scale }), steps: steps || undefined, upscaler: req.hr_upscaler ?? undefined,
    },
  };
}
