// What a generation records about itself, shared by the CLI and the server: the settings object
// (the CLI's --json report `settings`, the server's job record), the AUTOMATIC1111 `parameters` text
// of each PNG, and JSON text with bigints.
//
// A1111 infotext (src/image/a1111.ts) has fixed fields — prompt, negative prompt, Steps, Sampler,
// CFG scale, Seed, Size, Model — and free `Key: value` pairs after them. We use A1111's own keys
// where it has one (Denoising strength, Clip skip, Batch size, Batch pos, Eta) and add what exact
// reproduction in latentlab needs: the diffusers scheduler class, and its full config when it came
// from --scheduler-config (a short name in `Sampler` says everything otherwise), and the
// --loss-guidance presets (`Loss guidance: "blue:200:5"`), which change the image, and the UNet's
// arithmetic when it is not float32 (`Precision: int8`; A1111 has no such key, and a float32 run
// writes none, so its infotext stays exactly A1111's).

import type { A1111Parameters } from '../image/a1111.js';
import { infotextChunks } from '../image/infotext-chunks.js';
import type { PromptSyntax } from './prompt-conditioning.js';

/** A textual-inversion embedding a run loaded (A1111's `TI hashes`). */
export interface EmbeddingReport {
  file: string;
  token: string;
  /** Every token it added ([token, token_1, ...] for several vectors). */
  tokens: string[];
  ids: number[];
  /** First 12 hex digits of the file's SHA-256 (A1111's short hash). */
  hash: string;
}

/** A LoRA a run applied (A1111's `Lora hashes`). */
export interface LoraReport {
  file: string;
  name: string;
  weight: number;
  /** "flag" for --lora, "prompt" for a <lora:…> tag. */
  from: 'flag' | 'prompt';
  hash: string;
}

/** A1111's `TI hashes`: the embeddings whose token one of `texts` uses. */
export function tiHashes(embeddings: readonly EmbeddingReport[], texts: readonly string[]): string | undefined {
  const used = embeddings.filter((e) => texts.some((t) => t.includes(e.token)));
  return used.length === 0 ? undefined : used.map((e) => `${e.token}: ${e.hash}`).join(', ');
}

/** A1111's `Lora hashes`. */
export function loraHashes(loras: readonly LoraReport[]): string | undefined {
  return loras.length === 0 ? undefined : loras.map((l) => `${l.name}: ${l.hash}`).join(', ');
}

export interface SchedulerReport {
  /** latentlab's short name (`euler-a`), AUTOMATIC1111's (`Euler a`), diffusers' class. */
  name: string;
  a1111: string;
  className: string;
  /** The resolved config the run used (every field, diffusers' JSON names). */
  config: Record<string, unknown>;
  /** Where the choice came from (the CLI's flag, or a server request's field). */
  source: 'model' | '--scheduler' | '--scheduler-config' | 'request';
}

export interface GenerationSettings {
  /** The CLI's command; the server records its A1111 routes under the same two names. */
  command: 'generate' | 'img2img' | 'inpaint';
  /** --model as typed (a folder or a Hub id) and the folder it resolved to. */
  model: string;
  folder: string;
  variant?: string;
  revision?: string;
  /** A single-file checkpoint's A1111 "Model hash" (the CLI's model-hash.ts). */
  modelHash?: string;
  device?: string;
  threads?: number;
  scheduler: SchedulerReport;
  prompts: string[];
  /** One per prompt ('' when none was given). */
  negativePrompts: string[];
  /** How the prompts were read (docs/prompts.md); absent in settings saved before it existed. */
  promptSyntax?: PromptSyntax;
  numImagesPerPrompt: number;
  /** prompts × numImagesPerPrompt, the number of images. */
  batchSize: number;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  seed: number | bigint;
  eta?: number;
  clipSkip?: number;
  /** Seamless tiling (circular padding in every conv); A1111's `Tiling: True`. Absent when off. */
  tiling?: boolean;
  /** LoRAs applied with --lora or <lora:name:w> tags (lora-flags.ts). */
  loras?: LoraReport[];
  /** Textual-inversion embeddings loaded with --embedding / --embeddings-dir. */
  embeddings?: EmbeddingReport[];
  /** --vae / --preview-vae: `{ kind: 'taesd', path }`. */
  vae?: { kind: string; path: string };
  previewVae?: { kind: string; path: string };
  /** The UNet's arithmetic (CompileOptions.precision); recorded only when it is not 'fp32'. */
  precision?: 'int8';
  /** --loss-guidance presets, as canonical text (`blue:200:5`). */
  lossGuidance?: string[];
  /** img2img and inpaint. */
  image?: string;
  /** inpaint: the mask file and the blur radius applied to it. */
  mask?: string;
  maskBlur?: number;
  strength?: number;
  /** img2img: the input's own size, when --width/--height resized it. */
  resizedFrom?: { width: number; height: number };
  /** txt2img with A1111's hires fix (hires-fix.ts); width × height stay the first pass's, as A1111 writes them. */
  hires?: HiresReport;
}

/** The hires fix as A1111's infotext names it ("Hires upscale: 2, Hires upscaler: Latent"). */
export interface HiresReport {
  strength: number;
  /** hr_scale, when the size came from it; else `resize` (hr_resize_x × hr_resize_y). */
  scale?: number;
  resize?: { x: number; y: number };
  /** hr_second_pass_steps when given (A1111 writes it only then). */
  steps?: number;
  upscaler?: string;
  /** The second pass's A1111 sampler, prompt and negative prompt when they differ from the first's. */
  sampler?: string;
  prompt?: string;
  negativePrompt?: string;
}

/** The prompt index of batch item i (batch order: prompt-major, numImagesPerPrompt each). */
export function promptIndex(s: GenerationSettings, i: number): number {
  return Math.floor(i / s.numImagesPerPrompt);
}

/** A model name for the `Model:` field: the Hub id as typed, or the folder's name. */
export function modelName(model: string, isFolder: boolean): string {
  return isFolder ? model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? model : model;
}

/**
 * The PNG text chunks of image `i` of the batch: A1111's `parameters`, and the exact prompts where
 * it is ambiguous. `version` is latentlab's package version (the `Version` field).
 */
export function pngTextFor(s: GenerationSettings, i: number, model: string, version: string): Record<string, string> {
  return infotextChunks(a1111Parameters(s, i, model, version));
}

/** The infotext fields of image `i` of the batch. */
export function a1111Parameters(s: GenerationSettings, i: number, model: string, version: string): A1111Parameters {
  const p = promptIndex(s, i);
  const extra: Record<string, string> = {};
  if (s.command !== 'generate') extra['Denoising strength'] = String(s.strength);
  if (s.hires) {
    const r = s.hires; // A1111's order: Denoising strength, then the Hires fields as its init() adds them
    extra['Denoising strength'] = String(r.strength);
    if (r.sampler !== undefined) extra['Hires sampler'] = r.sampler;
    if (r.prompt !== undefined) extra['Hires prompt'] = r.prompt;
    if (r.negativePrompt !== undefined) extra['Hires negative prompt'] = r.negativePrompt;
    if (r.resize) extra['Hires resize'] = `${r.resize.x}x${r.resize.y}`;
    else extra['Hires upscale'] = String(r.scale ?? 2);
    if (r.steps) extra['Hires steps'] = String(r.steps);
    if (r.upscaler !== undefined) extra['Hires upscaler'] = r.upscaler;
  }
  if (s.command === 'inpaint') extra['Mask blur'] = String(s.maskBlur ?? 0); // A1111's key (its default is 4, diffusers' 0)
  // A1111 counts CLIP layers from 1 (= the last); diffusers' clip_skip counts the layers skipped.
  if (s.clipSkip !== undefined) extra['Clip skip'] = String(s.clipSkip + 1);
  if (s.tiling) extra.Tiling = 'True'; // A1111 writes the field only when on, spelled as Python's bool
  if (s.eta !== undefined) extra.Eta = String(s.eta);
  if (s.lossGuidance?.length) extra['Loss guidance'] = s.lossGuidance.join(', ');
  const ti = tiHashes(s.embeddings ?? [], [s.prompts[p], s.negativePrompts[p]]);
  if (ti !== undefined) extra['TI hashes'] = ti;
  const lora = loraHashes(s.loras ?? []);
  if (lora !== undefined) extra['Lora hashes'] = lora;
  if (s.batchSize > 1) {
    extra['Batch size'] = String(s.batchSize);
    extra['Batch pos'] = String(i);
  }
  // A1111 names the VAE file it decoded with; ours is a folder, named the same way as the model.
  if (s.vae) extra.VAE = modelName(s.vae.path, true);
  if (s.resizedFrom) extra['Resized from'] = `${s.resizedFrom.width}x${s.resizedFrom.height}`;
  if (s.promptSyntax) extra['Prompt syntax'] = s.promptSyntax;
  extra.Scheduler = s.scheduler.className;
  if (s.scheduler.source === '--scheduler-config') extra['Scheduler config'] = stringifyJson(s.scheduler.config, { python: true });
  if (s.precision) extra.Precision = s.precision;
  if (s.variant) extra.Variant = s.variant;
  if (s.revision) extra.Revision = s.revision;
  extra.Version = `latentlab ${version}`;
  return {
    prompt: s.prompts[p],
    negativePrompt: s.negativePrompts[p],
    steps: s.steps,
    sampler: s.scheduler.a1111,
    cfgScale: s.guidance,
    seed: s.seed,
    width: s.width,
    height: s.height,
    model,
    modelHash: s.modelHash,
    extra,
  };
}

export interface JsonOptions {
  /**
   * Non-finite numbers as Python's json writes them (`-Infinity`, the form scheduler_config.json
   * files use and --scheduler-config reads); otherwise as the strings "-Infinity", "Infinity",
   * "NaN", so that strict JSON readers (jq, JSON.parse) accept the report.
   */
  python?: boolean;
  indent?: number;
}

const MARK = '\u0000raw:';

/** JSON text with bigints written as plain integers and non-finite numbers as chosen above. */
export function stringifyJson(value: unknown, options: JsonOptions = {}): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${MARK}${v}`;
    if (typeof v === 'number' && !Number.isFinite(v)) return options.python ? `${MARK}${v}` : String(v);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  }, options.indent);
  return text.replace(/"\\u0000raw:([^"]*)"/g, '$1');
}
