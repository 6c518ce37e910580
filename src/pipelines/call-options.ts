// The options of `pipe.call(...)`, as one zod schema per pipeline: the single place where a call's
// options are checked, before any compute (DESIGN.md: validate at the boundary, never silently
// correct). The TypeScript types of the options are inferred from these schemas, and the HTTP
// server can reuse them (zod 4 → JSON Schema / OpenAPI for the JSON-representable fields), so the
// library, the server and their docs cannot drift apart.
//
// Adding an option is one line in the right field list below, e.g.
//
//   promptSyntax: opt(z.enum(['plain', 'a1111']), '"plain" or "a1111"', 'how to read the prompt'),
//
// `opt(schema, expected, doc)` makes the field optional and records two texts: `expected` is what
// an error says the value should have been ("numInferenceSteps is 2.5; expected an integer ≥ 1"),
// `doc` is the field's description (hover text, OpenAPI). Objects are strict: an unknown option
// (`{ steps: 2 }`) is an error naming it, with the closest known name.

import { z } from 'zod';

import { fmtValue, LatentlabError } from '../core/errors.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from '../image/index.js';
import type { GrayImage } from '../image/mask.js';
import { Scheduler } from '../schedulers/index.js';
import { closestKey } from '../weights/similar.js';
import type { StepCallback } from './denoise.js';
import type { LossGuidance } from './loss-guidance.js';
import { PROMPT_SYNTAXES } from './prompt-conditioning.js';

interface FieldMeta {
  expected: string;
  description: string;
}

const metas = new WeakMap<z.ZodType, FieldMeta>();

/** An optional option with its error text and description (see the header). */
export function opt<T extends z.ZodType>(schema: T, expected: string, description: string): z.ZodOptional<T> {
  const field = schema.optional().describe(description);
  metas.set(field, { expected, description });
  return field;
}

const MAX_SEED = (1n << 64n) - 1n;
const positiveInt = z.number().int().min(1);
const finite = z.number();
const float32Tensor = z.custom<Tensor<'float32'>>((v) => v instanceof Tensor && v.dtype === 'float32');
const rgbImage = z.custom<RgbImage>((v) => {
  const i = v as RgbImage;
  return typeof v === 'object' && v !== null && Number.isInteger(i.width) && Number.isInteger(i.height) && i.data instanceof Uint8Array
    && i.data.length === i.width * i.height * 3;
});
const text = z.union([z.string(), z.array(z.string()).min(1).readonly()]);

/** What txt2img and img2img share (diffusers' `__call__` arguments, camelCased). */
export const commonCallOptionFields = {
  prompt: opt(text, 'a string or a non-empty list of strings', 'One prompt or a batch of prompts. Omit when passing promptEmbeds.'),
  negativePrompt: opt(text, 'a string or a list of strings', 'Default "" (for every prompt). One string applies to all prompts; a list needs one per prompt.'),
  promptSyntax: opt(z.enum(PROMPT_SYNTAXES), 'one of "a1111", "comfy", "plain"',
    'How the prompt text is read (default "a1111"): AUTOMATIC1111\'s syntax with its weighting, ComfyUI\'s weighting ("comfy"), or diffusers\' plain text cut at 77 tokens.'),
  promptEmbeds: opt(float32Tensor, 'a float32 Tensor [batch, 77, hidden]', 'Precomputed text embeddings [B, 77, H] instead of prompt.'),
  negativePromptEmbeds: opt(float32Tensor, 'a float32 Tensor shaped like promptEmbeds', 'Precomputed negative embeddings, shaped like promptEmbeds.'),
  numImagesPerPrompt: opt(positiveInt, 'an integer ≥ 1', 'Images per prompt. Default 1.'),
  numInferenceSteps: opt(positiveInt, 'an integer ≥ 1', 'Denoising steps. Default 50.'),
  guidanceScale: opt(finite, 'a finite number', 'Classifier-free guidance scale w; guidance is off at w ≤ 1. Default 7.5.'),
  eta: opt(finite.min(0), 'a finite number ≥ 0', "DDIM's η (ignored by other schedulers). Default 0."),
  generator: opt(z.instanceof(Generator), 'a Generator', 'A seeded generator (shared across all random draws, in diffusers\' order).'),
  seed: opt(z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.bigint().min(0n).max(MAX_SEED)]),
    'an integer in [0, 2^64) (a bigint above 2^53)', "torch.manual_seed's range; used when no generator is given."),
  clipSkip: opt(z.number().int().min(0), 'an integer ≥ 0', "diffusers' clip_skip: use the text encoder's layer N from the end."),
  outputType: opt(z.enum(['pil', 'latent']), '"pil" or "latent"', '"pil" (default): decode to images; "latent": return only the final latents.'),
  callback: opt(z.custom<StepCallback>((v) => typeof v === 'function'), 'a function (info: StepInfo) => void', 'Called after every scheduler step (previews, progress).'),
  signal: opt(z.instanceof(AbortSignal), 'an AbortSignal', 'Aborting it stops the loop after the current step (CANCELLED).'),
  // Entries are checked in depth (and their losses built) by checkLossGuidance, before the loop.
  lossGuidance: opt(z.array(z.custom<LossGuidance>((v) => typeof v === 'object' && v !== null)).readonly(), 'a list of { loss, scale, every? }',
    'Loss guidance (the deep dive\'s blue loss, classifier guidance): every `every` steps the latents move down the gradient of loss(decoded image) · scale.'),
  scheduler: opt(z.union([z.string().min(1), z.custom<Scheduler>((v) => v instanceof Scheduler)]), 'a scheduler name (one of schedulerNames()) or a Scheduler',
    'The sampler of this call: a name (`euler-a`, `DPM++ 2M Karras`) applied to the pipeline scheduler\'s config, or a Scheduler whose config is used. Each call builds its own instance, so concurrent calls never share a schedule. Default: pipe.scheduler\'s config.'),
  onWarning: opt(z.custom<(message: string) => void>((v) => typeof v === 'function'), 'a function (message: string) => void',
    'Receives this call\'s warnings (a truncated prompt, …) instead of the global warning handler, so concurrent calls keep theirs apart.'),
  tiling: opt(z.boolean(), 'true or false',
    'Seamless tiling (AUTOMATIC1111\'s "Tiling"): every conv of the UNet and the VAE pads circularly, so the image continues across its left/right and top/bottom edges. Runs sessions of their own. Default false.'),
  memoryLimit: opt(positiveInt, 'a number of bytes ≥ 1', 'Refuse calls whose estimated memory exceeds this many bytes (RESOURCE_MEMORY). Default: the available memory.'),
};

export const txt2imgOptionFields = {
  ...commonCallOptionFields,
  height: opt(positiveInt, 'a positive multiple of 8', 'Default: unet sample_size × 8 (512 for SD 1.x). Must be a multiple of 8.'),
  width: opt(positiveInt, 'a positive multiple of 8', 'Default: unet sample_size × 8 (512 for SD 1.x). Must be a multiple of 8.'),
  latents: opt(float32Tensor, 'a float32 Tensor [B·n, 4, H/8, W/8]', 'Start from these latents instead of drawing them (still scaled by init_noise_sigma).'),
};

const imageList = z.union([rgbImage, z.array(rgbImage).min(1).readonly()]).describe('The starting image(s): one for all prompts, or one per prompt.');
metas.set(imageList, { expected: 'an RgbImage {width, height, data} or a non-empty list of them', description: 'The starting image(s).' });

export const img2imgOptionFields = {
  ...commonCallOptionFields,
  // Required: the one field that is not optional. A latent tensor is diffusers' `image` of 4 channels:
  // used as the encoded image itself (no VAE encode, no generator draw) — the hires fix's second pass.
  image: z.union([imageList, float32Tensor]).describe('The starting image(s): one for all prompts, or one per prompt; or their latents [N, 4, h, w] (UNet scale).'),
  strength: opt(finite.gt(0).max(1), 'a number in (0, 1] (0.3 keeps most of the image, 1.0 replaces it entirely)', 'How much to change the image, in (0, 1]: 1 ignores it entirely. Default 0.8.'),
};
metas.set(img2imgOptionFields.image, { expected: 'an RgbImage {width, height, data}, a non-empty list of them, or a float32 latent Tensor [N, 4, h, w]', description: 'The starting image(s) or their latents.' });

const grayImage = z.custom<GrayImage>((v) => {
  const i = v as GrayImage;
  return typeof v === 'object' && v !== null && Number.isInteger(i.width) && Number.isInteger(i.height) && i.data instanceof Uint8Array
    && i.data.length === i.width * i.height;
});
const maskImage = z.union([grayImage, rgbImage]);

export const inpaintOptionFields = {
  ...commonCallOptionFields,
  image: imageList,
  maskImage: z.union([maskImage, z.array(maskImage).min(1).readonly()]).describe('The mask(s): white (≥ 128 after conversion to grey) = repaint, black = keep. One for all images, or one per image.'),
  strength: opt(finite.gt(0).max(1), 'a number in (0, 1] (1.0 repaints the masked area from pure noise)', 'How much to change the masked area, in (0, 1]. Default 1.0 (diffusers\' inpainting default).'),
  maskBlur: opt(finite.min(0), 'a number of pixels ≥ 0', 'Blur the mask first (PIL GaussianBlur radius, diffusers\' mask_processor.blur), which moves its binarised edge. Default 0.'),
};
metas.set(inpaintOptionFields.maskImage, { expected: 'a GrayImage or RgbImage {width, height, data}, or a non-empty list of them', description: 'The mask(s).' });

export const commonCallOptionsSchema = z.strictObject(commonCallOptionFields);
export const txt2imgOptionsSchema = z.strictObject(txt2imgOptionFields);
export const img2imgOptionsSchema = z.strictObject(img2imgOptionFields);
export const inpaintOptionsSchema = z.strictObject(inpaintOptionFields);

/** Names users reach for from other tools (A1111, the CLI, Python), and the option they mean. */
const ALIASES: Record<string, string> = {
  steps: 'numInferenceSteps', num_inference_steps: 'numInferenceSteps', guidance: 'guidanceScale', cfg: 'guidanceScale',
  cfgScale: 'guidanceScale', guidance_scale: 'guidanceScale', negative_prompt: 'negativePrompt', numImages: 'numImagesPerPrompt',
  num_images_per_prompt: 'numImagesPerPrompt', mask: 'maskImage', mask_image: 'maskImage', blurFactor: 'maskBlur', batchSize: 'numImagesPerPrompt', clip_skip: 'clipSkip', output_type: 'outputType',
};

function unknownOption(name: string, known: readonly string[]): LatentlabError {
  const guess = ALIASES[name] !== undefined && known.includes(ALIASES[name]) ? ALIASES[name] : closestKey(name, known);
  return new LatentlabError('PIPELINE_OPTION_UNKNOWN', `unknown option ${JSON.stringify(name)}${guess ? ` (did you mean ${guess}?)` : ''}`, {
    key: name, hint: `the options are: ${known.join(', ')}`,
  });
}

/**
 * Checks `options` against `schema` and returns them (typed). Throws one LatentlabError for the
 * first problem: PIPELINE_OPTION_UNKNOWN for an unknown name, PIPELINE_ARGUMENT naming the option,
 * the value found and what was expected.
 */
export function parseCallOptions<S extends z.ZodObject>(schema: S, options: unknown): z.output<S> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `the options are ${fmtValue(options)}; expected an object such as { prompt: "a cat" }`);
  }
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const known = Object.keys(schema.shape);
  const issue = result.error.issues[0];
  if (issue.code === 'unrecognized_keys') throw unknownOption(issue.keys[0], known);
  const name = String(issue.path[0] ?? '');
  const value = (options as Record<string, unknown>)[name];
  const meta = metas.get(schema.shape[name] as z.ZodType);
  const where = issue.path.length > 1 ? ` (at ${issue.path.join('.')})` : '';
  const shown = value instanceof Tensor ? `a ${value.dtype} Tensor [${value.shape}]` : typeof value === 'number' ? String(value) : fmtValue(value);
  throw new LatentlabError('PIPELINE_ARGUMENT', `${name} is ${shown}${where}; expected ${meta?.expected ?? issue.message}`, { key: name });
}

/** The options types, inferred from the schemas (what callers may pass). */
export type CommonCallOptions = z.input<typeof commonCallOptionsSchema>;
export type Txt2ImgOptions = z.input<typeof txt2imgOptionsSchema>;
export type Img2ImgOptions = z.input<typeof img2imgOptionsSchema>;
export type InpaintOptions = z.input<typeof inpaintOptionsSchema>;
