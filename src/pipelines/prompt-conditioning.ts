// Prompt → the UNet's encoder_hidden_states for every sampling step, as AUTOMATIC1111 builds them:
//
//   schedule  = getPromptSchedule(prompt, N)          [[endAtStep, text], …]  (prompt editing, alternation)
//   chunks    = tokenizePromptChunks(text)            77 ids + 77 multipliers per chunk (emphasis, BREAK)
//   z_chunk   = weight(textEncoder(chunk ids))        [T, 77, H] for the T texts of the schedule at once
//   embeds    = cat(z_chunk₀, z_chunk₁, …, dim=1)     [1, 77·C, H] — cross-attention takes any length
//
// At loop index i each prompt uses the schedule entry `scheduleIndexAt(schedule, i)`. Every
// prompt and negative prompt is padded to the same number of chunks C with the empty prompt's
// chunk (A1111's "pad prompt/negative prompt to be same length"), so the UNet's batch is one
// tensor [2·B·n, 77·C, H]: negatives first, each prompt repeated n = numImagesPerPrompt times.
//
// syntax "plain" is diffusers' encode_prompt instead: the text as written, truncated at 77
// tokens with diffusers' warning, one embedding for all steps. A plain prompt of ≤ 75 tokens
// gives the same ids through both paths, and weights of 1 leave the encoder's output bit for bit
// as it is (z·1 = z, and the mean ratio is exactly 1), so "a1111" and "plain" agree there.

import { LatentlabError } from '../core/errors.js';
import { warn, type WarningHandler } from '../core/log.js';
import { Tensor } from '../core/tensor.js';
import type { CLIPTextModel } from '../models/clip-text-model.js';
import { emptyPromptChunk, getPromptSchedule, type PromptChunk, type PromptSchedule, scheduleIndexAt, tokenizePromptChunks } from '../prompts/index.js';
import type { CLIPTokenizer } from '../tokenizers/index.js';
import { encodePrompt, repeatEach } from './encode-prompt.js';
import { applyA1111Emphasis, applyComfyWeights, type Weighting } from './prompt-weighting.js';

/** How prompt text is read: A1111's syntax with A1111's or ComfyUI's weighting, or diffusers' plain text. */
export type PromptSyntax = 'a1111' | 'comfy' | 'plain';
export const PROMPT_SYNTAXES: readonly PromptSyntax[] = ['a1111', 'comfy', 'plain'];

export interface ScheduledEmbeds {
  prompt: string;
  /** [[endAtStep, text], …] (one entry, [N, prompt], in plain syntax). */
  schedule: PromptSchedule;
  /** One embedding [1, 77·C, H] per schedule entry. */
  embeds: Tensor<'float32'>[];
}

export interface EncodeScheduledOptions {
  /** The number of sampling steps the schedule is for. */
  steps: number;
  syntax?: PromptSyntax;
  clipSkip?: number;
  onWarning?: WarningHandler;
}

async function encodeChunks(textEncoder: CLIPTextModel, chunks: readonly PromptChunk[], clipSkip?: number): Promise<Tensor<'float32'>> {
  const ids = Tensor.int64([chunks.length, chunks[0].tokens.length], chunks.flatMap((c) => c.tokens));
  return (await textEncoder.forward(ids, { clipSkip })).lastHiddenState; // [T, 77, H]
}

/** [1, S, H] parts → [1, ΣS, H] (concatenation along the sequence). */
function catSequence(parts: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const h = parts[0].shape[2];
  const len = parts.reduce((s, p) => s + p.shape[1], 0);
  const out = new Tensor('float32', [1, len, h]);
  let at = 0;
  for (const p of parts) {
    out.data.set(p.data, at);
    at += p.size;
  }
  return out;
}

/** Row t of [T, S, H] as [1, S, H]. */
function row(z: Tensor<'float32'>, t: number): Tensor<'float32'> {
  const per = z.size / z.shape[0];
  return new Tensor('float32', [1, z.shape[1], z.shape[2]], z.data.slice(t * per, (t + 1) * per));
}

/** One prompt's embeddings for every entry of its schedule (see the header). */
export async function encodeScheduledPrompt(
  tokenizer: CLIPTokenizer,
  textEncoder: CLIPTextModel,
  prompt: string,
  options: EncodeScheduledOptions,
): Promise<ScheduledEmbeds> {
  const syntax = options.syntax ?? 'a1111';
  if (!PROMPT_SYNTAXES.includes(syntax)) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `promptSyntax is ${JSON.stringify(syntax)}; expected one of ${PROMPT_SYNTAXES.join(', ')}`, { key: 'promptSyntax' });
  }
  if (syntax === 'plain') {
    return { prompt, schedule: [[options.steps, prompt]], embeds: [await encodePrompt(tokenizer, textEncoder, [prompt], { clipSkip: options.clipSkip, onWarning: options.onWarning })] };
  }
  const schedule = getPromptSchedule(prompt, options.steps);
  const perText = schedule.map(([, text]) => tokenizePromptChunks(tokenizer, text).chunks);
  const count = Math.max(...perText.map((c) => c.length));
  const empty = emptyPromptChunk(tokenizer);
  const emptyEmbeds = syntax === 'comfy' ? await encodeChunks(textEncoder, [empty], options.clipSkip) : undefined;
  const parts: Tensor<'float32'>[][] = schedule.map(() => []);
  for (let c = 0; c < count; c++) {
    // Chunk c of every text of the schedule, encoded and weighted together (A1111's batch).
    const batch = perText.map((chunks) => chunks[c] ?? empty);
    const z = await encodeChunks(textEncoder, batch, options.clipSkip);
    const mults = batch.map((b) => b.multipliers);
    const weighted = (syntax as Weighting) === 'comfy' ? applyComfyWeights(z, mults, emptyEmbeds!) : applyA1111Emphasis(z, mults);
    parts.forEach((p, t) => p.push(row(weighted, t)));
  }
  return { prompt, schedule, embeds: parts.map(catSequence) };
}

export interface PromptConditioningOptions {
  prompts: readonly string[];
  /** One per prompt; omit without classifier-free guidance. */
  negativePrompts?: readonly string[];
  steps: number;
  syntax?: PromptSyntax;
  clipSkip?: number;
  numImagesPerPrompt?: number;
  /** Where this call's warnings go (core/log.ts); default: the global handler. */
  onWarning?: WarningHandler;
}

/** The conditioning of a whole batch, step by step: `at(i)` is the UNet's encoder_hidden_states at loop index i. */
export class PromptConditioning {
  private readonly cache = new Map<string, Tensor<'float32'>>();

  constructor(
    readonly positive: readonly ScheduledEmbeds[],
    readonly negative: readonly ScheduledEmbeds[] | undefined,
    /** The empty prompt's chunk [1, 77, H], for padding to the longest prompt (needed only when lengths differ). */
    private readonly padding: Tensor<'float32'> | undefined,
    readonly numImagesPerPrompt = 1,
  ) {
    this.sequenceLength = Math.max(...this.all.flatMap((p) => p.embeds.map((e) => e.shape[1])));
  }

  /** Tokens per prompt after padding: 77 · the largest number of chunks. */
  readonly sequenceLength: number;

  private get all(): readonly ScheduledEmbeds[] {
    return [...(this.negative ?? []), ...this.positive];
  }

  /** True when no prompt changes during sampling (then `at` is the same tensor at every step). */
  get isStatic(): boolean {
    return this.all.every((p) => p.embeds.length === 1);
  }

  /** cat([negatives, prompts]) at loop index `step`, each repeated numImagesPerPrompt times: [(2)·B·n, 77·C, H]. */
  at(step: number): Tensor<'float32'> {
    const picks = this.all.map((p) => scheduleIndexAt(p.schedule, step));
    const key = picks.join();
    let t = this.cache.get(key);
    if (!t) {
      t = Tensor.cat0(this.all.map((p, k) => repeatEach(this.padded(p.embeds[picks[k]]), this.numImagesPerPrompt)));
      this.cache.set(key, t);
    }
    return t;
  }

  private padded(e: Tensor<'float32'>): Tensor<'float32'> {
    if (e.shape[1] === this.sequenceLength) return e;
    const missing = (this.sequenceLength - e.shape[1]) / this.padding!.shape[1];
    return catSequence([e, ...Array<Tensor<'float32'>>(missing).fill(this.padding!)]);
  }
}

const AND = /(?<![\p{L}\p{N}_])AND(?![\p{L}\p{N}_])/u;

/** Encodes prompts (and negatives) for `steps` sampling steps; see the header. */
export async function encodePromptConditioning(
  tokenizer: CLIPTokenizer,
  textEncoder: CLIPTextModel,
  o: PromptConditioningOptions,
): Promise<PromptConditioning> {
  if (o.prompts.length === 0 || (o.negativePrompts && o.negativePrompts.length !== o.prompts.length)) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `${o.prompts.length} prompts and ${o.negativePrompts?.length ?? 'no'} negative prompts; expected at least one prompt and, if any, one negative prompt each`, {
      key: 'negativePrompts', hint: 'give one negative prompt per prompt ("" for none)',
    });
  }
  const options: EncodeScheduledOptions = { steps: o.steps, syntax: o.syntax, clipSkip: o.clipSkip, onWarning: o.onWarning };
  if (o.syntax !== 'plain' && o.prompts.some((p) => AND.test(p))) {
    warn('a prompt contains AND: A1111 composes prompts joined by AND ("composable diffusion"); latentlab does not, and reads AND as a word', o.onWarning);
  }
  const positive = [];
  for (const p of o.prompts) positive.push(await encodeScheduledPrompt(tokenizer, textEncoder, p, options));
  let negative: ScheduledEmbeds[] | undefined;
  if (o.negativePrompts) {
    negative = [];
    for (const p of o.negativePrompts) negative.push(await encodeScheduledPrompt(tokenizer, textEncoder, p, options));
  }
  const lengths = new Set([...positive, ...(negative ?? [])].map((p) => p.embeds[0].shape[1]));
  const padding = lengths.size > 1 ? await encodeChunks(textEncoder, [emptyPromptChunk(tokenizer)], o.clipSkip) : undefined;
  return new PromptConditioning(positive, negative, padding, o.numImagesPerPrompt ?? 1);
}
