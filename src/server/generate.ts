// One A1111 txt2img / img2img request, run on the library's pipelines.
//
// Image k of a request (k = 0 … batch_size·n_iter − 1) is its own pipeline call with seed + k, as
// A1111 gives every image of a batch its own seed (`all_seeds`). Each image is then exactly what
// `latentlab generate --seed <its seed>` makes with the same settings, bit for bit, and its PNG
// carries the same infotext (the run record is the library's: pipelines/generation-record.ts).

import {
  a1111SamplerName, checkAgainstModel, type CheckVocabulary, checkHiresSchedule, checkDenoisingSteps, decodeImage, encodePng, extractLoraTags, type GenerationSettings,
  Generator, hiresFix, LatentlabError, overlayOriginal, parseA1111Parameters, type PipelineBase, pngTextFor, resizeImage, type RgbImage, type Scheduler,
  schedulerFromConfig, schedulerName, type StepInfo, type Tensor,
} from '../node.js';
import type { GenerationRequest, Img2ImgRequest, Txt2ImgRequest } from './a1111-schemas.js';
import { hiresPlan } from './hires.js';
import { inpaintMask } from './inpaint.js';
import { resolveLoras } from './loras.js';
import type { LoadedModel, ModelHost } from './models.js';
import { latentPreview } from './preview.js';

/** A1111's field names, for the library's model-dependent checks. */
const FIELDS: CheckVocabulary = { steps: 'steps', strength: 'denoising_strength', clipSkip: 'clip_skip', code: 'SERVER_REQUEST' };

export interface StepReport {
  /** Image k of the request (A1111's job_no) and their number (job_count). */
  jobNo: number;
  jobCount: number;
  step: number;
  steps: number;
  /** The latest latents (x̂₀ where the scheduler forms it), for a preview on demand. */
  latents: Tensor<'float32'>;
}

export interface RunContext {
  signal?: AbortSignal;
  onStep?: (r: StepReport) => void;
}

export interface GenerationResult {
  images: string[];
  /** A1111's info object (the route sends it JSON-encoded). */
  info: Record<string, unknown>;
}

export interface RunLimits {
  maxPixels: number;
  /** The most steps of a pass (the hires fix's second pass is checked here; the first by the route). Default 150. */
  maxSteps?: number;
}

/** "data:image/png;base64,…" or bare base64 → bytes; a field-naming 422 for anything else. */
export function base64Image(text: string, field: string): Uint8Array {
  const body = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  const clean = body.replace(/\s+/g, '');
  if (!text.startsWith('data:') || text.includes(';base64,')) {
    if (clean.length > 0 && clean.length % 4 !== 1 && /^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return new Uint8Array(Buffer.from(clean, 'base64'));
  }
  throw new LatentlabError('SERVER_REQUEST', `${field} is not base64 image data (${JSON.stringify(text.slice(0, 40))}${text.length > 40 ? '…' : ''})`, {
    key: field, hint: 'send the image file\'s bytes as base64, bare or as a data:image/png;base64,… URL',
  });
}

/** A1111's sampler_name plus its 1.9 `scheduler` field, as one latentlab scheduler on the model's config. */
function samplerFor(req: GenerationRequest, base: Scheduler, ignored: string[]): Scheduler {
  const field = req.sampler_name ? 'sampler_name' : 'sampler_index';
  let name = req.sampler_name ?? req.sampler_index ?? 'Euler';
  const schedule = req.scheduler?.toLowerCase();
  if (schedule === 'karras' && !/karras$/i.test(name)) name = `${name} Karras`;
  else if (schedule && schedule !== 'automatic' && schedule !== 'karras') ignored.push(`scheduler: ${req.scheduler}`);
  try {
    return schedulerFromConfig(base.config, { name });
  } catch (e) {
    if (e instanceof LatentlabError && e.code === 'SCHEDULER_UNKNOWN') {
      throw new LatentlabError('SERVER_REQUEST', `${field} is ${JSON.stringify(name)}; expected a sampler of GET /sdapi/v1/samplers`, { key: field, hint: e.hint, cause: e });
    }
    throw e;
  }
}

/** The fields latentlab cannot honour, named as A1111 names them (they go to info.ignored). */
function ignoredFields(req: GenerationRequest): string[] {
  const out: string[] = [];
  const flag = (on: unknown, what: string) => on && out.push(what);
  flag((req.subseed_strength ?? 0) > 0, 'subseed_strength (variation seeds)');
  flag((req.seed_resize_from_h ?? -1) > 0 || (req.seed_resize_from_w ?? -1) > 0, 'seed_resize_from_h/w');
  flag(req.restore_faces, 'restore_faces');
  flag(req.script_name, `script_name: ${req.script_name}`);
  flag(req.alwayson_scripts && Object.keys(req.alwayson_scripts).length > 0, `alwayson_scripts: ${Object.keys(req.alwayson_scripts ?? {}).join(', ')}`);
  flag(req.save_images, 'save_images');
  flag(req.styles?.length, `styles: ${req.styles?.join(', ')}`);
  flag(req.refiner_checkpoint, 'refiner_checkpoint');
  flag(req.infotext, 'infotext');
  for (const key of Object.keys(req.override_settings ?? {})) if (key !== 'sd_model_checkpoint') out.push(`override_settings.${key}`);
  return out;
}

async function initImage(req: Img2ImgRequest, width: number, height: number, limits: RunLimits): Promise<RgbImage> {
  if ((req.resize_mode ?? 0) !== 0) {
    throw new LatentlabError('SERVER_REQUEST', `resize_mode is ${req.resize_mode}; only 0 ("Just resize") is supported`, { key: 'resize_mode', hint: 'send resize_mode 0, or crop the image yourself' });
  }
  const image = await decodeImage(base64Image(req.init_images[0], 'init_images[0]'), 'init_images[0]', { maxPixels: limits.maxPixels });
  return image.width === width && image.height === height ? image : resizeImage(image, width, height);
}

/** The pipeline a request runs, or a 422 when the model has not got it. */
function pipelineFor(loaded: LoadedModel, kind: 'txt2img' | 'img2img', masked: boolean): PipelineBase {
  if (masked) return loaded.inpaint;
  const pipe = kind === 'txt2img' ? loaded.txt2img : loaded.img2img;
  if (!pipe) {
    throw new LatentlabError('SERVER_REQUEST', `${loaded.model.name} is an inpainting model (its UNet takes the mask too); it only runs img2img with a mask`, {
      key: kind === 'txt2img' ? 'sd_model_checkpoint' : 'mask', hint: 'send a mask to /sdapi/v1/img2img, or choose another model (GET /sdapi/v1/sd-models)',
    });
  }
  return pipe;
}

export async function runA1111(kind: 'txt2img' | 'img2img', req: GenerationRequest, host: ModelHost, version: string, limits: RunLimits, ctx: RunContext = {}): Promise<GenerationResult> {
  const model = req.override_settings?.sd_model_checkpoint !== undefined
    ? host.find(String(req.override_settings.sd_model_checkpoint), 'override_settings.sd_model_checkpoint') : host.current;
  const ignored = ignoredFields(req);
  const warnings: string[] = [];
  const i2i = kind === 'img2img' ? req as Img2ImgRequest : undefined;
  const t2i = kind === 'txt2img' ? req as Txt2ImgRequest : undefined;
  const masked = i2i?.mask !== undefined && i2i.mask !== null && i2i.mask !== '';
  const loaded = await host.get(model);
  const pipe = pipelineFor(loaded, kind, masked);
  const scheduler = samplerFor(req, pipe.scheduler, ignored);
  const steps = req.steps ?? 50;
  const strength = req.denoising_strength ?? 0.75;
  let width = req.width ?? 512;
  let height = req.height ?? 512;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (v % 8 !== 0) throw new LatentlabError('SERVER_REQUEST', `${name} is ${v}; expected a multiple of 8`, { key: name, hint: `use ${Math.max(8, Math.floor(v / 8) * 8)}` });
  }
  const hires = t2i ? hiresPlan(t2i, width, height) : undefined;
  if (hires) {
    [width, height] = [hires.width, hires.height];
    if (hires.outWidth * hires.outHeight > limits.maxPixels) {
      throw new LatentlabError('SERVER_REQUEST', `the hires size ${hires.outWidth}×${hires.outHeight} is more than this server's ${limits.maxPixels} pixels`, { key: 'hr_scale', hint: 'ask for a smaller hr_scale or hr_resize_x/y' });
    }
    if ((hires.options.steps ?? 0) > (limits.maxSteps ?? 150)) throw new LatentlabError('SERVER_REQUEST', `hr_second_pass_steps is ${hires.options.steps}; this server allows at most ${limits.maxSteps ?? 150} steps`, { key: 'hr_second_pass_steps' });
    if (t2i!.hr_checkpoint_name) ignored.push(`hr_checkpoint_name: ${t2i!.hr_checkpoint_name}`);
    checkHiresSchedule(hires.options.steps || steps, hires.options.strength, Number(pipe.scheduler.config.num_train_timesteps ?? 1000), { strength: 'denoising_strength', steps: 'hr_second_pass_steps' });
  }
  checkAgainstModel(pipe, { steps, scheduler }, FIELDS);
  if (kind === 'img2img') {
    if (strength === 0) throw new LatentlabError('SERVER_REQUEST', 'denoising_strength is 0; expected a number in (0, 1]', { key: 'denoising_strength' });
    checkDenoisingSteps(steps, strength, FIELDS);
  }
  const image = i2i ? await initImage(i2i, width, height, limits) : undefined;
  const mask = masked ? await inpaintMask(i2i!, width, height, limits.maxPixels, ignored) : undefined;
  const tags = extractLoraTags(req.prompt ?? '');
  const loras = await resolveLoras(host, tags.tags, warnings, ignored);
  const prompt = tags.prompt;
  const negative = req.negative_prompt ?? '';
  const hiresPrompt = t2i?.hr_prompt ? extractLoraTags(t2i.hr_prompt).prompt : undefined;
  const hiresScheduler = hires && t2i!.hr_sampler_name ? samplerFor({ sampler_name: t2i!.hr_sampler_name, scheduler: t2i!.hr_scheduler ?? req.scheduler }, pipe.scheduler, ignored) : undefined;
  const seed = req.seed === undefined || req.seed === null || req.seed === -1 ? Math.floor(Math.random() * 2 ** 32) : req.seed;
  const count = (req.batch_size ?? 1) * (req.n_iter ?? 1);
  const guidance = req.cfg_scale ?? 7;
  const images: string[] = [];
  const infotexts: string[] = [];
  const seeds = Array.from({ length: count }, (_, k) => seed + k);
  const sendImages = req.send_images ?? true;
  const apply = () => pipe.setLoras(loras.reports.map((l) => ({ file: l.file, weight: l.weight }))).then(() => undefined);

  await loaded.loras.run(loras.key, apply, async () => {
    for (let k = 0; k < count; k++) {
      const callback = (info: StepInfo) => ctx.onStep?.({ jobNo: k, jobCount: count, step: info.step + 1, steps: info.numSteps, latents: info.predOriginalSample ?? info.latents });
      const common = {
        prompt, negativePrompt: negative, promptSyntax: 'a1111' as const, numImagesPerPrompt: 1, numInferenceSteps: steps, guidanceScale: guidance,
        eta: req.eta ?? undefined, tiling: req.tiling ?? undefined, scheduler, signal: ctx.signal, callback, onWarning: (m: string) => warnings.push(m),
      };
      let out: RgbImage;
      if (mask) {
        const r = await loaded.inpaint.call({ ...common, generator: new Generator(seeds[k]), image: image!, maskImage: mask.mask, strength });
        out = overlayOriginal(r.images[0], image!, mask.mask);
      } else if (image) {
        out = (await loaded.img2img!.call({ ...common, generator: new Generator(seeds[k]), image, strength })).images[0];
      } else if (hires) {
        // seed, not a generator: the second pass draws from a fresh Generator(seed), as A1111's does (hires-fix.ts)
        const r = await hiresFix(loaded.txt2img!, { ...common, seed: seeds[k], width, height }, {
          ...hires.options, prompt: hiresPrompt, negativePrompt: t2i!.hr_negative_prompt || undefined, scheduler: hiresScheduler,
        });
        out = r.images[0];
      } else {
        out = (await loaded.txt2img!.call({ ...common, generator: new Generator(seeds[k]), width, height })).images[0];
      }
      const settings: GenerationSettings = {
        command: mask ? 'inpaint' : kind === 'txt2img' ? 'generate' : 'img2img', model: model.name, folder: model.path, scheduler: {
          name: schedulerName(scheduler), a1111: a1111SamplerName(scheduler), className: scheduler.className, config: { ...scheduler.config }, source: 'request',
        },
        prompts: [req.prompt ?? ''], negativePrompts: [negative], promptSyntax: 'a1111', numImagesPerPrompt: 1, batchSize: 1, steps, guidance, width, height,
        seed: seeds[k], eta: req.eta ?? undefined, ...(req.tiling ? { tiling: true } : {}), ...(image ? { image: 'init_images[0]', strength } : {}), ...(mask ? { mask: 'mask', maskBlur: mask.blur } : {}),
        ...(pipe.unet.precision === 'int8' ? { precision: 'int8' as const } : {}), ...(loras.reports.length > 0 ? { loras: loras.reports } : {}), ...(loaded.embeddings.length > 0 ? { embeddings: loaded.embeddings } : {}),
        ...(hires ? {
          hires: {
            ...hires.report, sampler: hiresScheduler && t2i!.hr_sampler_name !== (req.sampler_name ?? req.sampler_index ?? 'Euler') ? t2i!.hr_sampler_name! : undefined,
            prompt: hiresPrompt !== undefined && t2i!.hr_prompt !== req.prompt ? t2i!.hr_prompt! : undefined,
            negativePrompt: t2i!.hr_negative_prompt && t2i!.hr_negative_prompt !== negative ? t2i!.hr_negative_prompt : undefined,
          },
        } : {}),
      };
      const text = pngTextFor(settings, 0, model.name, version);
      infotexts.push(text.parameters);
      if (sendImages) images.push(Buffer.from(await encodePng(out, { text })).toString('base64'));
    }
  });
  if (i2i?.include_init_images) images.push(...i2i.init_images);
  return {
    images,
    info: {
      prompt: req.prompt ?? '', all_prompts: seeds.map(() => req.prompt ?? ''), negative_prompt: negative, all_negative_prompts: seeds.map(() => negative),
      seed, all_seeds: seeds, subseed: req.subseed ?? -1, all_subseeds: seeds.map(() => req.subseed ?? -1), subseed_strength: req.subseed_strength ?? 0,
      width, height, sampler_name: a1111SamplerName(scheduler), cfg_scale: guidance, steps, batch_size: req.batch_size ?? 1, restore_faces: req.restore_faces ?? false,
      face_restoration_model: null, sd_model_name: model.name, sd_model_hash: null, sd_vae_name: null, sd_vae_hash: null,
      seed_resize_from_w: req.seed_resize_from_w ?? -1, seed_resize_from_h: req.seed_resize_from_h ?? -1,
      denoising_strength: kind === 'img2img' ? strength : hires ? hires.report.strength : req.denoising_strength ?? 0,
      extra_generation_params: { Scheduler: scheduler.className, ...(hires ? hiresParams(infotexts[0]) : {}) },
      index_of_first_image: 0, infotexts, styles: req.styles ?? [], job_timestamp: timestamp(), clip_skip: 1, is_using_inpainting_conditioning: masked && loaded.inpaint.unetInputKind === 'inpainting',
      version: `latentlab ${version}`, ignored, warnings,
    },
  };
}

/** The hires fields of an infotext (A1111's info.extra_generation_params has them). */
function hiresParams(infotext: string | undefined): Record<string, string> {
  const extra = (infotext === undefined ? undefined : parseA1111Parameters(infotext).extra) ?? {};
  return Object.fromEntries(Object.entries(extra).filter(([k]) => k.startsWith('Hires ') || k === 'Denoising strength'));
}

/** A1111's job_timestamp: local time as YYYYMMDDhhmmss. */
export function timestamp(d = new Date()): string {
  const p = (v: number) => String(v).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export { latentPreview };
