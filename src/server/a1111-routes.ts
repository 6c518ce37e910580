// AUTOMATIC1111's /sdapi/v1 routes. txt2img and img2img go through the job queue like every job
// (so they wait their turn and show in /progress), then answer when their job ends.

import type { Context } from 'hono';
import { z } from 'zod';

import { decodeImage, LatentlabError, parseA1111Parameters, pngText, schedulerChoices } from '../node.js';
import {
  type GenerationRequest, generationResponse, img2imgRequest, optionsUpdate, pngInfoRequest, pngInfoResponse, progressResponse, txt2imgRequest,
} from './a1111-schemas.js';
import { base64Image, timestamp } from './generate.js';
import { latentUpscaleModes, upscalerList } from './hires.js';
import { loraList } from './loras.js';
import type { JobKind, JobQueue, JobRecord } from './jobs.js';
import type { ModelHost } from './models.js';
import type { RouteTable } from './routes.js';

export interface ServerLimits {
  maxBodyBytes: number;
  /** width × height of a generated or input image. */
  maxPixels: number;
  maxSteps: number;
  /** batch_size × n_iter. */
  maxImages: number;
  maxQueue: number;
}

export const DEFAULT_LIMITS: ServerLimits = { maxBodyBytes: 32 * 1024 * 1024, maxPixels: 2048 * 2048, maxSteps: 150, maxImages: 16, maxQueue: 100 };

function limitError(field: string, value: number, limit: number, what: string): LatentlabError {
  return new LatentlabError('SERVER_REQUEST', `${field} is ${value}; this server allows at most ${limit} ${what}`, { key: field, hint: 'ask for less, or start the server with a higher limit (docs/server.md)' });
}

/** The server's limits on a request, before it is queued. */
export function checkLimits(req: GenerationRequest, limits: ServerLimits): void {
  const width = req.width ?? 512;
  const height = req.height ?? 512;
  if (width * height > limits.maxPixels) throw limitError('width', width, limits.maxPixels, `pixels (width × height = ${width * height})`);
  if ((req.steps ?? 50) > limits.maxSteps) throw limitError('steps', req.steps!, limits.maxSteps, 'steps');
  const images = (req.batch_size ?? 1) * (req.n_iter ?? 1);
  if (images > limits.maxImages) throw limitError('batch_size', req.batch_size ?? 1, limits.maxImages, `images per request (batch_size × n_iter = ${images})`);
}

/** A finished job as A1111's answer: the images, the request echoed and info as a JSON string. */
export function a1111Answer(c: Context, job: JobRecord, body: unknown): Response {
  if (job.state === 'completed') return c.json({ images: job.result!.images, parameters: body, info: JSON.stringify(job.result!.info) });
  if (job.state === 'cancelled') return c.json({ images: [], parameters: body, info: JSON.stringify({ interrupted: true, job_timestamp: timestamp() }) });
  const e = job.error!;
  return c.json({ error: e.code, detail: e.hint ? `${e.message}. ${e.hint}` : e.message, body: '', errors: e.message, key: e.key ?? null }, e.status as 422);
}

export function addA1111Routes(t: RouteTable, q: JobQueue, host: ModelHost, limits: ServerLimits): void {
  const generation = (kind: JobKind) => async (c: Context, body: GenerationRequest) => {
    checkLimits(body, limits);
    const job = await q.submit(kind, body);
    return a1111Answer(c, await q.wait(job.id), await c.req.json());
  };
  t.add({ method: 'post', path: '/sdapi/v1/txt2img', tag: 'A1111', summary: 'Text to image', body: txt2imgRequest, response: generationResponse }, generation('txt2img'));
  t.add({ method: 'post', path: '/sdapi/v1/img2img', tag: 'A1111', summary: 'Image to image', body: img2imgRequest, response: generationResponse }, generation('img2img'));

  t.add({ method: 'get', path: '/sdapi/v1/progress', tag: 'A1111', summary: 'Progress of the running job, with a preview', response: progressResponse, query: { skip_current_image: 'true: leave current_image null' } }, async (c) => {
    const job = (await q.running())[0];
    const skip = c.req.query('skip_current_image') === 'true';
    const p = job?.progress;
    const elapsed = job?.startedAt ? (Date.now() - job.startedAt) / 1000 : 0;
    const fraction = p?.fraction ?? 0;
    return c.json({
      progress: fraction,
      eta_relative: fraction > 0 ? Math.max(0, elapsed / fraction - elapsed) : 0,
      state: {
        skipped: false, interrupted: false, job: job ? `task(${job.id})` : '', job_count: p?.jobCount ?? (job ? 1 : 0), job_timestamp: timestamp(new Date(job?.startedAt ?? Date.now())),
        job_no: p?.jobNo ?? 0, sampling_step: p?.step ?? 0, sampling_steps: p?.steps ?? 0,
      },
      current_image: !skip && p?.preview ? p.preview : null,
      textinfo: null,
      current_task: job ? `task(${job.id})` : null,
    });
  });
  t.add({ method: 'post', path: '/sdapi/v1/interrupt', tag: 'A1111', summary: 'Stop the running job(s) after the current step', response: z.object({}) }, async (c) => {
    await q.interruptAll();
    return c.json({});
  });
  t.add({ method: 'post', path: '/sdapi/v1/skip', tag: 'A1111', summary: 'As interrupt (latentlab has no per-image skip)', response: z.object({}) }, async (c) => {
    await q.interruptAll();
    return c.json({});
  });

  t.add({ method: 'get', path: '/sdapi/v1/sd-models', tag: 'A1111', summary: 'The listed models' }, (c) => c.json(host.models.map((m) => ({
    title: m.title, model_name: m.name, hash: null, sha256: null, filename: m.name, config: null,
  }))));
  t.add({ method: 'post', path: '/sdapi/v1/refresh-checkpoints', tag: 'A1111', summary: 'No-op: the list is fixed at start' }, (c) => c.json(null));
  t.add({ method: 'get', path: '/sdapi/v1/samplers', tag: 'A1111', summary: 'Samplers (A1111 names; latentlab short names as aliases)' }, (c) => c.json(
    schedulerChoices().filter((s) => s.a1111).map((s) => ({ name: s.a1111, aliases: [s.name], options: { scheduler_class: s.className } })),
  ));
  t.add({ method: 'get', path: '/sdapi/v1/schedulers', tag: 'A1111', summary: 'Schedule types (the `scheduler` field)' }, (c) => c.json([
    { name: 'automatic', label: 'Automatic', aliases: null, default_rho: -1, need_inner_model: false },
    { name: 'karras', label: 'Karras', aliases: null, default_rho: 7, need_inner_model: false },
  ]));
  t.add({ method: 'get', path: '/sdapi/v1/upscalers', tag: 'A1111', summary: 'Picture upscalers (hr_upscaler: these or a latent upscale mode)' }, (c) => c.json(upscalerList()));
  t.add({ method: 'get', path: '/sdapi/v1/latent-upscale-modes', tag: 'A1111', summary: 'Latent upscale modes (hr_upscaler; "Latent" is the default)' }, (c) => c.json(latentUpscaleModes()));
  t.add({ method: 'get', path: '/sdapi/v1/loras', tag: 'A1111', summary: 'The LoRA files of --lora-dir, for <lora:name:w> prompt tags' }, async (c) => c.json(await loraList(host)));
  t.add({ method: 'post', path: '/sdapi/v1/refresh-loras', tag: 'A1111', summary: 'No-op: /loras reads the folder at each call' }, (c) => c.json(null));
  for (const path of ['hypernetworks', 'face-restorers', 'realesrgan-models', 'prompt-styles', 'sd-vae', 'sd-modules', 'scripts-info']) {
    t.add({ method: 'get', path: `/sdapi/v1/${path}`, tag: 'A1111', summary: 'None on this server' }, (c) => c.json([]));
  }
  t.add({ method: 'get', path: '/sdapi/v1/scripts', tag: 'A1111', summary: 'No extension scripts' }, (c) => c.json({ txt2img: [], img2img: [] }));
  t.add({ method: 'get', path: '/sdapi/v1/embeddings', tag: 'A1111', summary: 'The --embeddings-dir embeddings the current model took, and those it skipped' }, async (c) => {
    if (!host.embeddingsDir) return c.json({ loaded: {}, skipped: {} });
    const m = await host.get(); // A1111 lists the loaded model's
    const entry = (vectors: number | null, shape: number | null) => ({ step: null, sd_checkpoint: null, sd_checkpoint_name: null, shape, vectors });
    const hidden = m.inpaint.textEncoder.config.hidden_size;
    return c.json({
      loaded: Object.fromEntries(m.embeddings.map((e) => [e.token, entry(e.tokens.length, hidden)])),
      skipped: Object.fromEntries(m.skippedEmbeddings.map((e) => [e.name, entry(null, null)])),
    });
  });
  t.add({ method: 'get', path: '/sdapi/v1/cmd-flags', tag: 'A1111', summary: 'The server\'s command-line settings' }, (c) => c.json({
    api: true, nowebui: true, port: Number(new URL(c.req.url).port || 80), listen: false, 'api-auth': null, ckpt: host.current.path ? host.current.name : null,
  }));
  t.add({ method: 'get', path: '/sdapi/v1/options', tag: 'A1111', summary: 'Settings' }, (c) => c.json(options(host)));
  t.add({ method: 'post', path: '/sdapi/v1/options', tag: 'A1111', summary: 'Change settings (sd_model_checkpoint switches the model)', body: optionsUpdate }, async (c, body) => {
    if (body.sd_model_checkpoint !== undefined) {
      if (typeof body.sd_model_checkpoint !== 'string') throw new LatentlabError('SERVER_REQUEST', 'sd_model_checkpoint must be a string (a title from /sdapi/v1/sd-models)', { key: 'sd_model_checkpoint' });
      const m = host.find(body.sd_model_checkpoint);
      await host.get(m); // load before answering, as A1111 does
      host.current = m;
    }
    for (const [key, value] of Object.entries(body)) if (STORED_OPTIONS.has(key)) host.options[key] = value;
    return c.json(null);
  });
  t.add({ method: 'post', path: '/sdapi/v1/png-info', tag: 'A1111', summary: 'The generation settings in a PNG', body: pngInfoRequest, response: pngInfoResponse }, async (c, body) => {
    const bytes = base64Image(body.image, 'image');
    let chunks: Record<string, string>;
    try {
      chunks = pngText(bytes, { source: 'image' });
    } catch {
      await decodeImage(bytes, 'image', { maxPixels: limits.maxPixels }); // not a PNG: a readable image has no text (A1111 answers "")
      chunks = {};
    }
    const { parameters: info = '', ...items } = chunks;
    return c.json({ info, items, parameters: info ? a1111Keys(info) : {} });
  });
}

/**
 * Settings a client may write and read back (A1111's UI settings: they change nothing a request
 * makes here, nor through A1111's API). sd_model_checkpoint switches the model; other keys are
 * accepted and not stored, so GET never claims a setting that has no effect.
 */
const STORED_OPTIONS = new Set(['send_seed', 'send_size', 'samples_save', 'samples_format', 'save_images_add_number', 'show_progressbar', 'live_previews_enable',
  'show_progress_every_n_steps', 'show_progress_type', 'enable_pnginfo']);

function options(host: ModelHost): Record<string, unknown> {
  return {
    sd_model_checkpoint: host.current.title, sd_checkpoint_hash: null, sd_vae: 'Automatic', CLIP_stop_at_last_layers: 1, samples_format: 'png',
    samples_save: false, save_images_add_number: true, eta_ddim: 0, eta_ancestral: 1, show_progressbar: true, live_previews_enable: true,
    show_progress_every_n_steps: 1, show_progress_type: 'Approx cheap', enable_pnginfo: true, send_seed: true, send_size: true, ...host.options,
  };
}

/** The infotext parsed into A1111's `parameters` keys (as its parse_generation_parameters names them). */
function a1111Keys(info: string): Record<string, unknown> {
  const p = parseA1111Parameters(info);
  const out: Record<string, unknown> = { Prompt: p.prompt, 'Negative prompt': p.negativePrompt ?? '' };
  if (p.steps !== undefined) out.Steps = String(p.steps);
  if (p.sampler !== undefined) out.Sampler = p.sampler;
  if (p.cfgScale !== undefined) out['CFG scale'] = String(p.cfgScale);
  if (p.seed !== undefined) out.Seed = String(p.seed);
  if (p.width !== undefined) Object.assign(out, { Size: `${p.width}x${p.height}`, 'Size-1': String(p.width), 'Size-2': String(p.height) });
  if (p.model !== undefined) out.Model = p.model;
  if (p.modelHash !== undefined) out['Model hash'] = p.modelHash;
  return { ...out, ...p.extra };
}
