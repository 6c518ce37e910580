// AUTOMATIC1111's request and response bodies (modules/api/models.py, 1.10), declared once with
// zod: the server validates requests with them and builds /openapi.json from them (openapi.ts).
//
// A1111's models are pydantic classes whose fields are nearly all Optional with a default; clients
// send `null` for "the default" and often send fields this server has no use for. So every field
// is nullish, unknown fields are dropped (as pydantic does), and the fields latentlab cannot honour
// are accepted and reported under `ignored` in the response's `info` (generate.ts), as A1111 runs
// without a missing extension. A wrong type or range is a 422 naming the field.

import { z } from 'zod';

const n = <T extends z.ZodType>(schema: T, description: string) => schema.nullish().describe(description);
const int = z.number().int();

/** What txt2img and img2img share (StableDiffusionProcessing's fields plus the API layer's). */
export const generationFields = {
  prompt: n(z.string(), 'The prompt, in A1111\'s syntax ((emphasis), [from:to:when], <lora:name:w> with name a file of GET /sdapi/v1/loras). Default "".'),
  negative_prompt: n(z.string(), 'Default "".'),
  styles: n(z.array(z.string()), 'Prompt styles: none are defined on this server; a named style is reported as ignored.'),
  seed: n(int.min(-1).max(2 ** 53 - 1), 'The first image\'s seed; image k of the request uses seed + k (A1111). -1 (default): random.'),
  subseed: n(int.min(-1), 'Variation seed: ignored (reported in info.ignored when subseed_strength > 0).'),
  subseed_strength: n(z.number().min(0).max(1), 'Variation strength: not supported; 0 (default) is the only value honoured.'),
  seed_resize_from_h: n(int, 'Not supported; -1 or 0 (default).'),
  seed_resize_from_w: n(int, 'Not supported; -1 or 0 (default).'),
  sampler_name: n(z.string(), 'An A1111 sampler name from /sdapi/v1/samplers ("Euler a", "DPM++ 2M", …). Default: sampler_index, then "Euler".'),
  sampler_index: n(z.string(), 'The older name of sampler_name.'),
  scheduler: n(z.string(), 'A1111 1.9\'s schedule type: "Automatic" (default) or "Karras"; others are reported as ignored.'),
  batch_size: n(int.min(1), 'Images per batch. Default 1.'),
  n_iter: n(int.min(1), 'Number of batches. Default 1.'),
  steps: n(int.min(1), 'Sampling steps. Default 50.'),
  cfg_scale: n(z.number(), 'Classifier-free guidance scale. Default 7.'),
  width: n(int.min(8), 'Image width, a multiple of 8. Default 512.'),
  height: n(int.min(8), 'Image height, a multiple of 8. Default 512.'),
  eta: n(z.number().min(0), 'DDIM\'s η (ignored by other samplers).'),
  s_min_uncond: n(z.number(), 'Not supported; accepted.'),
  s_churn: n(z.number(), 'Not supported; accepted.'),
  s_tmax: n(z.number(), 'Not supported; accepted.'),
  s_tmin: n(z.number(), 'Not supported; accepted.'),
  s_noise: n(z.number(), 'Not supported; accepted.'),
  restore_faces: n(z.boolean(), 'Face restoration: not available; true is reported as ignored.'),
  tiling: n(z.boolean(), 'Seamless tiling: every conv of the UNet and the VAE pads circularly, so the image repeats without seams (infotext "Tiling: True").'),
  do_not_save_samples: n(z.boolean(), 'Accepted; this server never saves files.'),
  do_not_save_grid: n(z.boolean(), 'Accepted; this server never saves files.'),
  denoising_strength: n(z.number().min(0).max(1), 'img2img: how much to change the image (default 0.75). txt2img with enable_hr: the hires pass\'s strength (default 0.75, A1111\'s API default; 0: the upscaled picture is decoded without a pass).'),
  override_settings: n(z.record(z.string(), z.unknown()), 'Settings for this request only; sd_model_checkpoint picks a listed model, others are reported as ignored.'),
  override_settings_restore_afterwards: n(z.boolean(), 'Accepted; overrides never outlive the request here.'),
  refiner_checkpoint: n(z.string(), 'Not supported; reported as ignored.'),
  refiner_switch_at: n(z.number(), 'Not supported.'),
  disable_extra_networks: n(z.boolean(), 'Accepted.'),
  comments: n(z.record(z.string(), z.unknown()), 'Accepted.'),
  script_name: n(z.string(), 'Extension scripts are not available; a script is reported as ignored.'),
  script_args: n(z.array(z.unknown()), 'Accepted with script_name.'),
  send_images: n(z.boolean(), 'Return the images (default true).'),
  save_images: n(z.boolean(), 'Not supported (the server opens no file path); true is reported as ignored.'),
  alwayson_scripts: n(z.record(z.string(), z.unknown()), 'Extension scripts are not available; any is reported as ignored.'),
  force_task_id: n(z.string(), 'Accepted.'),
  infotext: n(z.string(), 'Not supported; reported as ignored.'),
};

const hiresFields = {
  enable_hr: n(z.boolean(), 'Hires fix: draw at width × height, upscale, then an img2img pass at the larger size (A1111\'s sample_hr_pass; docs/server.md). Default false.'),
  firstphase_width: n(int, 'Old hires field (A1111 < 1.0): when set (with firstphase_height), the first pass runs at this size instead of width; the target still comes from hr_scale / hr_resize_x/y, as in A1111.'),
  firstphase_height: n(int, 'Old hires field: see firstphase_width.'),
  hr_scale: n(z.number(), 'Hires upscale factor (default 2) when hr_resize_x and hr_resize_y are 0.'),
  hr_upscaler: n(z.string(), 'A latent upscale mode ("Latent" (default), "Latent (nearest)", "Latent (bicubic)", … : GET /sdapi/v1/latent-upscale-modes) or a picture upscaler ("Lanczos", "Nearest", "None": GET /sdapi/v1/upscalers). Others are a 422.'),
  hr_second_pass_steps: n(int, 'Steps of the hires pass; 0 (default): steps. A1111 runs exactly this many, on a schedule stretched to int(steps / denoising_strength).'),
  hr_resize_x: n(int, 'Hires target width instead of hr_scale (0: from hr_resize_y and the aspect ratio). With both, the picture is scaled to cover them and cropped, as A1111 does.'),
  hr_resize_y: n(int, 'Hires target height instead of hr_scale.'),
  hr_checkpoint_name: n(z.string(), 'Another model for the hires pass: not supported; reported as ignored.'),
  hr_sampler_name: n(z.string(), 'The hires pass\'s sampler (default: sampler_name).'),
  hr_scheduler: n(z.string(), 'The hires pass\'s schedule type, with hr_sampler_name ("Automatic" or "Karras").'),
  hr_prompt: n(z.string(), 'The hires pass\'s prompt (default "": the prompt). Its LoRA tags are removed; the prompt\'s LoRAs apply to both passes.'),
  hr_negative_prompt: n(z.string(), 'The hires pass\'s negative prompt (default "": negative_prompt).'),
};

export const txt2imgRequest = z.object({ ...generationFields, ...hiresFields }).describe('StableDiffusionTxt2ImgProcessingAPI');

export const img2imgRequest = z.object({
  ...generationFields,
  init_images: z.array(z.string().min(1)).min(1).describe('The starting image(s): base64 or a data: URL (PNG, JPEG, WebP). One is used for every image.'),
  resize_mode: n(int.min(0).max(3), 'Only 0 ("Just resize", Lanczos to width × height) is supported.'),
  image_cfg_scale: n(z.number(), 'Instruct-pix2pix only; accepted.'),
  mask: n(z.string(), 'Inpainting: a base64 mask (white = repaint, black = keep), resized to width × height. Runs StableDiffusionInpaintPipeline (an inpainting model\'s 9-channel UNet, else the 4-channel blend); the original is laid back outside the mask, as A1111 does.'),
  mask_blur: n(int, 'Blur of the mask in pixels before use (default 4, as A1111).'),
  mask_blur_x: n(int, 'Horizontal blur (default mask_blur); if it differs from mask_blur_y, the larger is used both ways (reported as ignored).'),
  mask_blur_y: n(int, 'Vertical blur (default mask_blur).'),
  inpainting_fill: n(int, 'What the masked area starts from: 1 (original) is what the pipeline does; 0 (fill, A1111\'s default), 2 (latent noise) and 3 (latent nothing) run as 1 and are reported as ignored.'),
  inpaint_full_res: n(z.union([z.boolean(), int]), 'A1111\'s "inpaint only the masked area" (its default true): not supported; unless false or 0, reported as ignored and the whole picture is inpainted.'),
  inpaint_full_res_padding: n(int, 'With inpaint_full_res; accepted.'),
  inpainting_mask_invert: n(z.union([z.boolean(), int]), '1 or true: repaint the black part instead (the mask inverted). Default 0.'),
  initial_noise_multiplier: n(z.number(), 'Not supported; a value other than 1 is reported as ignored.'),
  include_init_images: n(z.boolean(), 'Return the init images after the results (default false).'),
}).describe('StableDiffusionImg2ImgProcessingAPI');

export type Txt2ImgRequest = z.output<typeof txt2imgRequest>;
export type Img2ImgRequest = z.output<typeof img2imgRequest>;
export type GenerationRequest = Txt2ImgRequest | Img2ImgRequest;

export const generationResponse = z.object({
  images: z.array(z.string()).describe('Base64 PNGs (no data: prefix), each with A1111\'s infotext in its `parameters` text chunk.'),
  parameters: z.record(z.string(), z.unknown()).describe('The request as received.'),
  info: z.string().describe('A JSON string: A1111\'s processing info (seed, all_seeds, infotexts, …) plus `ignored` and `warnings`.'),
});

export const progressResponse = z.object({
  progress: z.number().describe('0–1 over the whole request.'),
  eta_relative: z.number().describe('Seconds left, estimated from the time so far.'),
  state: z.object({
    skipped: z.boolean(), interrupted: z.boolean(), job: z.string(), job_count: z.number(), job_timestamp: z.string(),
    job_no: z.number(), sampling_step: z.number(), sampling_steps: z.number(),
  }),
  current_image: z.string().nullable().describe('A small base64 PNG preview of the current image (a linear map of the latents), or null.'),
  textinfo: z.string().nullable(),
  current_task: z.string().nullable(),
});

export const pngInfoRequest = z.object({ image: z.string().min(1).describe('A base64 PNG or data: URL.') });
export const pngInfoResponse = z.object({
  info: z.string().describe('The `parameters` text chunk (A1111\'s infotext), or "".'),
  items: z.record(z.string(), z.string()).describe('Every other text chunk.'),
  parameters: z.record(z.string(), z.unknown()).describe('The infotext parsed into A1111\'s keys (Steps, Sampler, …).'),
});

export const optionsUpdate = z.record(z.string(), z.unknown()).describe('A partial settings dict; sd_model_checkpoint switches the model.');

export const a1111Error = z.object({
  error: z.string(), detail: z.unknown(), body: z.unknown(), errors: z.unknown(),
}).describe('A1111\'s error shape.');
