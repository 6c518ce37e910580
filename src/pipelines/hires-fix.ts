// AUTOMATIC1111's "hires fix" (modules/processing.py, StableDiffusionProcessingTxt2Img.sample_hr_pass)
// on latentlab's pipelines: draw the picture at the size the model knows, then enlarge it and let
// a second, img2img-style pass add the detail the larger size can hold.
//
//   1. txt2img at width × height                                 → latents z [B, 4, h, w]
//   2. upscale to W × H:  a latent upscaler ("Latent" = bilinear, "Latent (nearest)", …)
//        z' = F.interpolate(z, size=(H/8, W/8), mode, antialias)                    (core/interpolate.ts)
//      or an image upscaler (Lanczos, Nearest): decode, resize the picture, and let step 3 encode it
//   3. crop (A1111's truncate_x/y, when hr_resize_x × hr_resize_y has another aspect ratio)
//   4. img2img from z' with `strength` and the second pass's steps S (0: the first pass's). A1111
//      (setup_img2img_steps) stretches the schedule rather than shortening it: it builds
//      N = int(S / min(strength, 0.999)) steps and runs the last S of them, so S steps always run.
//      diffusers' img2img runs int(N·strength') steps of N; strength' = (S + ½)/N (1 when N = S)
//      makes that exactly S, starting at A1111's index N − S.
//   strength 0: A1111 samples no step (its schedule is empty): the upscaled latents are decoded.
//
// Randomness: with `seed`, the second pass draws from a fresh Generator(seed), as A1111 makes a new
// ImageRNG from the image's seed for it; with `generator`, both passes draw from it in turn.

import { LatentlabError } from '../core/errors.js';
import { type InterpolateMode, interpolate } from '../core/interpolate.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from '../image/index.js';
import type { PipelineOutput } from './base.js';
import { StableDiffusionImg2ImgPipeline } from './img2img.js';
import { imageToLatents } from './latents.js';
import type { StableDiffusionPipeline, Txt2ImgOptions } from './stable-diffusion.js';

/** A1111's latent upscale modes (shared.latent_upscale_modes), by their names. */
export const LATENT_UPSCALE_MODES: Readonly<Record<string, { mode: InterpolateMode; antialias: boolean }>> = {
  Latent: { mode: 'bilinear', antialias: false },
  'Latent (antialiased)': { mode: 'bilinear', antialias: true },
  'Latent (bicubic)': { mode: 'bicubic', antialias: false },
  'Latent (bicubic antialiased)': { mode: 'bicubic', antialias: true },
  'Latent (nearest)': { mode: 'nearest', antialias: false },
  'Latent (nearest-exact)': { mode: 'nearest-exact', antialias: false },
};

/** The latent upscale mode of an A1111 name, or undefined (own keys only: "constructor" is no mode). */
export function latentUpscaleMode(name: string): { mode: InterpolateMode; antialias: boolean } | undefined {
  return Object.hasOwn(LATENT_UPSCALE_MODES, name) ? LATENT_UPSCALE_MODES[name] : undefined;
}

/** Resizes a picture (Lanczos, nearest, …): given by the caller, as resizing pixels is a platform's job. */
export type ImageUpscaler = (image: RgbImage, width: number, height: number) => Promise<RgbImage>;

export interface HiresOptions {
  /** The upscaled size (A1111's hr_upscale_to_x × hr_upscale_to_y), before the crop. */
  width: number;
  height: number;
  /** A name of LATENT_UPSCALE_MODES, or a function that resizes the decoded picture. */
  upscaler: string | ImageUpscaler;
  /** The second pass's denoising strength in [0, 1] (A1111's denoising_strength). */
  strength: number;
  /** Steps the second pass runs (A1111's hr_second_pass_steps); 0 or absent: the first pass's. */
  steps?: number;
  /** Latent pixels cut off the upscaled latents (A1111's truncate_x, truncate_y): ⌊x/2⌋ left, ⌈x/2⌉ right. */
  crop?: { x: number; y: number };
  /** The second pass's prompt, negative prompt and sampler (A1111's hr_prompt, …); default the first pass's. */
  prompt?: string | readonly string[];
  negativePrompt?: string | readonly string[];
  scheduler?: Txt2ImgOptions['scheduler'];
}

export interface HiresFixOutput extends PipelineOutput {
  /** The first pass's latents [B, 4, h, w]. */
  firstPassLatents: Tensor<'float32'>;
  /** The second pass's schedule: N steps built, S run (0 for strength 0). */
  secondPass: { numInferenceSteps: number; steps: number };
}

/** A1111's target of the upscale (calculate_target_resolution): size, and the crop in latent pixels. */
export function a1111HiresTarget(width: number, height: number, o: { scale?: number; resizeX?: number; resizeY?: number }): { width: number; height: number; crop: { x: number; y: number } } {
  const rx = o.resizeX ?? 0;
  const ry = o.resizeY ?? 0;
  if (rx === 0 && ry === 0) {
    const scale = o.scale ?? 2;
    return { width: Math.trunc(width * scale), height: Math.trunc(height * scale), crop: { x: 0, y: 0 } };
  }
  if (ry === 0) return { width: rx, height: Math.floor((rx * height) / width), crop: { x: 0, y: 0 } };
  if (rx === 0) return { width: Math.floor((ry * width) / height), height: ry, crop: { x: 0, y: 0 } };
  // Both given: scale to cover rx × ry, then crop the overhang (in latent pixels).
  const [w, h] = width / height < rx / ry ? [rx, Math.floor((rx * height) / width)] : [Math.floor((ry * width) / height), ry];
  return { width: w, height: h, crop: { x: Math.floor((w - rx) / 8), y: Math.floor((h - ry) / 8) } };
}

/** z[:, :, ⌊y/2⌋ : h − ⌈y/2⌉, ⌊x/2⌋ : w − ⌈x/2⌉] (A1111's truncation). */
function cropLatents(z: Tensor<'float32'>, crop: { x: number; y: number }): Tensor<'float32'> {
  if (crop.x === 0 && crop.y === 0) return z;
  const [b, c, h, w] = z.shape;
  const [top, left] = [Math.floor(crop.y / 2), Math.floor(crop.x / 2)];
  const [H, W] = [h - crop.y, w - crop.x];
  const out = new Tensor('float32', [b, c, H, W]);
  for (let p = 0; p < b * c; p++) {
    for (let y = 0; y < H; y++) out.data.set(z.data.subarray(p * h * w + (y + top) * w + left, p * h * w + (y + top) * w + left + W), (p * H + y) * W);
  }
  return out;
}

function cropImage(image: RgbImage, crop: { x: number; y: number }): RgbImage {
  if (crop.x === 0 && crop.y === 0) return image;
  const [top, left] = [Math.floor(crop.y / 2) * 8, Math.floor(crop.x / 2) * 8];
  const [W, H] = [image.width - crop.x * 8, image.height - crop.y * 8];
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) data.set(image.data.subarray(((y + top) * image.width + left) * 3, ((y + top) * image.width + left + W) * 3), y * W * 3);
  return { width: W, height: H, data };
}

/** The second pass's schedule (see the header): N built, S run, and diffusers' strength for it. */
export function hiresSchedule(steps: number, strength: number): { numInferenceSteps: number; steps: number; strength: number } {
  const n = Math.floor(steps / Math.min(strength, 0.999));
  return { numInferenceSteps: n, steps, strength: n === steps ? 1 : (steps + 0.5) / n };
}

/**
 * Refuses a second pass whose stretched schedule (N = int(S / strength)) has more steps than the
 * model has timesteps — a small strength with many steps; `keys` names the fields in the error.
 */
export function checkHiresSchedule(steps: number, strength: number, trainTimesteps: number, keys: { strength: string; steps: string }): void {
  if (strength === 0) return;
  const n = hiresSchedule(steps, strength).numInferenceSteps;
  if (n > trainTimesteps) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `${keys.strength} ${strength} with ${steps} second-pass steps needs a schedule of ${n} steps (int(${steps} / ${strength}), as A1111 stretches it); the model has ${trainTimesteps} timesteps`, {
      key: keys.strength, hint: `use a ${keys.strength} of at least ${Math.ceil((steps / trainTimesteps) * 1000) / 1000}, or fewer ${keys.steps}`,
    });
  }
}

/**
 * txt2img with A1111's hires fix: `options` is the first pass (a txt2img call at its width × height),
 * `hires` the upscale and the second pass. The images are hires.width × hires.height (less the crop).
 */
export async function hiresFix(pipe: StableDiffusionPipeline, options: Txt2ImgOptions, hires: HiresOptions): Promise<HiresFixOutput> {
  const f = pipe.vaeScaleFactor;
  if (!(hires.strength >= 0 && hires.strength <= 1)) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `hires strength is ${hires.strength}; expected a number in [0, 1]`, { key: 'strength' });
  }
  const latentMode = typeof hires.upscaler === 'string' ? latentUpscaleMode(hires.upscaler) : undefined;
  if (typeof hires.upscaler === 'string' && !latentMode) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `upscaler is ${JSON.stringify(hires.upscaler)}; expected one of ${Object.keys(LATENT_UPSCALE_MODES).map((k) => JSON.stringify(k)).join(', ')} or an image upscaler function`, { key: 'upscaler' });
  }
  const [h, w] = [Math.floor(hires.height / f), Math.floor(hires.width / f)];
  const crop = hires.crop ?? { x: 0, y: 0 };
  if (h - crop.y < 1 || w - crop.x < 1) {
    throw new LatentlabError('PIPELINE_SIZE', `the hires size ${hires.width}×${hires.height} (less the crop) is smaller than one latent pixel`, { key: 'width' });
  }
  const steps = hires.steps || (options.numInferenceSteps ?? 50);
  checkHiresSchedule(steps, hires.strength, Number(pipe.scheduler.config.num_train_timesteps ?? 1000), { strength: 'strength', steps: 'steps' });
  const first = await pipe.call({ ...options, outputType: 'latent' });
  const second = new StableDiffusionImg2ImgPipeline({
    folder: pipe.folder, tokenizer: pipe.tokenizer, textEncoder: pipe.textEncoder, unet: pipe.unet, vae: pipe.vae, scheduler: pipe.scheduler,
    schedulerConfig: pipe.scheduler.config, releaseSessions: pipe.releaseSessions,
  });
  const generator = options.generator ?? (first.seed !== undefined ? new Generator().manualSeed(first.seed) : undefined);
  // The second pass's input: upscaled latents, or the decoded picture resized (its encode is step 4's).
  let input: Tensor<'float32'> | RgbImage[];
  if (latentMode) {
    input = cropLatents(interpolate(first.latents, { size: [h, w], ...latentMode }), crop);
  } else {
    const pictures = await pipe.decodeLatents(first.latents, { tiling: options.tiling });
    input = await Promise.all(pictures.map(async (p) => cropImage(await (hires.upscaler as ImageUpscaler)(p, w * f, h * f), crop)));
  }
  if (hires.strength === 0) {
    const z = input instanceof Tensor ? input : await imageToLatents(pipe.vae, input, generator, { tiling: options.tiling });
    const images = options.outputType === 'latent' ? [] : await pipe.decodeLatents(z, { tiling: options.tiling });
    return { images, latents: z, seed: first.seed, scheduler: first.scheduler, firstPassLatents: first.latents, secondPass: { numInferenceSteps: 0, steps: 0 } };
  }
  const schedule = hiresSchedule(steps, hires.strength);
  const { latents: _latents, width: _width, height: _height, ...common } = options; // the first pass's alone
  const out = await second.call({
    ...common,
    image: input, strength: schedule.strength, numInferenceSteps: schedule.numInferenceSteps, generator, seed: undefined,
    prompt: hires.prompt ?? options.prompt, negativePrompt: hires.negativePrompt ?? options.negativePrompt, scheduler: hires.scheduler ?? options.scheduler,
  });
  return { ...out, seed: first.seed, firstPassLatents: first.latents, secondPass: { numInferenceSteps: schedule.numInferenceSteps, steps } };
}
