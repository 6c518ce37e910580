// What txt2img and img2img share: the components, argument checks, prompt embeddings with
// classifier-free guidance, the generator, and decoding latents to images.

import { check, fmtValue, LatentlabError } from '../core/errors.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from '../image/index.js';
import type { Scheduler } from '../schedulers/index.js';
import { encodePrompt, repeatEach } from './encode-prompt.js';
import type { PipelineComponents } from './components.js';
import { denoise, type DenoiseArgs, type StepCallback } from './denoise.js';
import { latentsToImages, type PipelineVae } from './latents.js';
import { type PipelineLora, setPipelineLoras } from './lora.js';
import type { LoraFile } from '../weights/lora/lora-file.js';
import { loadTextualInversion, type LoadedTextualInversion, type LoadTextualInversionOptions, type TextualInversionSource } from './textual-inversion.js';

export interface CommonCallOptions {
  /** One prompt or a batch of prompts. Omit when passing `promptEmbeds`. */
  prompt?: string | readonly string[];
  /** Default "" (for every prompt). One string applies to all prompts; a list needs one per prompt. */
  negativePrompt?: string | readonly string[];
  /** Precomputed text embeddings [B, 77, H] instead of `prompt`. */
  promptEmbeds?: Tensor<'float32'>;
  negativePromptEmbeds?: Tensor<'float32'>;
  numImagesPerPrompt?: number;
  /** Default 50. */
  numInferenceSteps?: number;
  /** Classifier-free guidance scale w; guidance is off at w ≤ 1. Default 7.5. */
  guidanceScale?: number;
  /** DDIM's η (ignored by other schedulers). Default 0. */
  eta?: number;
  /** A seeded generator (shared across all random draws, in diffusers' order), or a seed. */
  generator?: Generator;
  /** torch.manual_seed's range: an integer in [0, 2^64) (a bigint above 2^53). */
  seed?: number | bigint;
  clipSkip?: number;
  /** "pil" (default): decode to images; "latent": return only the final latents. */
  outputType?: 'pil' | 'latent';
  /** Called after every scheduler step (previews, progress). */
  callback?: StepCallback;
  signal?: AbortSignal;
}

export interface PipelineOutput {
  /** uint8 RGB images, in batch order (prompt-major: p0 image 0, p0 image 1, p1 image 0, …). Empty for outputType "latent". */
  images: RgbImage[];
  /** The final latents [B·n, 4, h, w] (before division by the scaling factor). */
  latents: Tensor<'float32'>;
  /** The seed used (given, or drawn when neither seed nor generator was passed). */
  seed?: number | bigint;
}

function argError(name: string, value: unknown, expected: string, hint?: string): LatentlabError {
  return new LatentlabError('PIPELINE_ARGUMENT', `${name} is ${fmtValue(value)}; expected ${expected}`, { key: name, hint });
}

export function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw argError(name, value, 'an integer ≥ 1');
}

export class PipelineBase {
  readonly tokenizer;
  readonly textEncoder;
  readonly unet;
  /** AutoencoderKL or AutoencoderTiny; replaceable, like `pipe.vae = AutoencoderTiny.from_pretrained(…)`. */
  vae: PipelineVae;
  /** Replaceable, like `pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)`. */
  scheduler: Scheduler;
  readonly folder: string;
  /** Release each network's sessions once a call is done with it (PipelineLoadOptions.releaseSessions). */
  releaseSessions: boolean;

  constructor(c: PipelineComponents) {
    this.tokenizer = c.tokenizer;
    this.textEncoder = c.textEncoder;
    this.unet = c.unet;
    this.vae = c.vae;
    this.scheduler = c.scheduler;
    this.folder = c.folder;
    this.releaseSessions = c.releaseSessions ?? true;
  }

  /**
   * diffusers' `load_textual_inversion`: adds the embedding's token(s) to the tokenizer and its
   * vectors to the text encoder's token table; prompts may then use the token (textual-inversion.ts).
   */
  async loadTextualInversion(source: TextualInversionSource | readonly TextualInversionSource[], options: LoadTextualInversionOptions = {}): Promise<LoadedTextualInversion[]> {
    return loadTextualInversion(this.tokenizer, this.textEncoder, source, options);
  }

  /** Frees a network's sessions when this call no longer needs it and releaseSessions is on. */
  protected async doneWith(model: { release(): Promise<void> }): Promise<void> {
    if (this.releaseSessions) await model.release();
  }

  /** 2^(number of VAE blocks − 1): 8 for every SD model. */
  get vaeScaleFactor(): number {
    return 2 ** (this.vae.config.block_out_channels.length - 1);
  }

  protected generatorFor(o: CommonCallOptions): { generator: Generator; seed?: number | bigint } {
    if (o.generator) return { generator: o.generator };
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
    const ok = typeof seed === 'bigint' ? seed >= 0n && seed < 2n ** 64n : Number.isSafeInteger(seed) && seed >= 0;
    if (!ok) throw argError('seed', seed, 'an integer in [0, 2^64) (a bigint above 2^53)');
    return { generator: new Generator().manualSeed(seed), seed };
  }

  /**
   * cat([negative, positive]) embeddings for guidance (or just positive), each prompt repeated
   * numImagesPerPrompt times. Returns the batch size B·n.
   */
  protected async promptEmbeddings(o: CommonCallOptions, guidance: boolean): Promise<{ embeds: Tensor<'float32'>; batch: number }> {
    const n = o.numImagesPerPrompt ?? 1;
    checkPositiveInt('numImagesPerPrompt', n);
    let positive: Tensor<'float32'>;
    let prompts: string[] | undefined;
    if (o.promptEmbeds) {
      if (o.prompt !== undefined) throw argError('prompt', o.prompt, 'nothing when promptEmbeds is given', 'pass either prompt or promptEmbeds');
      positive = o.promptEmbeds;
      if (positive.rank !== 3) throw argError('promptEmbeds', `a tensor of shape [${positive.shape}]`, '[batch, 77, hidden]');
    } else {
      if (o.prompt === undefined) throw argError('prompt', undefined, 'a string or a list of strings', 'pass prompt (or promptEmbeds)');
      prompts = typeof o.prompt === 'string' ? [o.prompt] : [...o.prompt];
      if (prompts.length === 0 || prompts.some((p) => typeof p !== 'string')) throw argError('prompt', o.prompt, 'a string or a non-empty list of strings');
      positive = await encodePrompt(this.tokenizer, this.textEncoder, prompts, { clipSkip: o.clipSkip });
    }
    const batch = positive.shape[0];
    if (!guidance) return { embeds: repeatEach(positive, n), batch: batch * n };
    let negative: Tensor<'float32'>;
    if (o.negativePromptEmbeds) {
      negative = o.negativePromptEmbeds;
      check(negative.shape.join() === positive.shape.join(), 'PIPELINE_ARGUMENT',
        () => `negativePromptEmbeds has shape [${negative.shape}] but promptEmbeds has [${positive.shape}]; they must match`);
    } else {
      const neg = o.negativePrompt ?? '';
      const negatives = typeof neg === 'string' ? Array<string>(batch).fill(neg) : [...neg];
      if (negatives.length !== batch) {
        throw argError('negativePrompt', o.negativePrompt, `one negative prompt, or one per prompt (${batch})`, 'give a single negative prompt to use for all prompts');
      }
      negative = await encodePrompt(this.tokenizer, this.textEncoder, negatives, { clipSkip: o.clipSkip });
    }
    return { embeds: Tensor.cat0([repeatEach(negative, n), repeatEach(positive, n)]), batch: batch * n };
  }

  /** Validates the shared options; guidance (classifier-free) is on when guidanceScale > 1, as in diffusers. */
  protected checkCommon(o: CommonCallOptions): { steps: number; guidanceScale: number; guidance: boolean } {
    const steps = o.numInferenceSteps ?? 50;
    checkPositiveInt('numInferenceSteps', steps);
    const guidanceScale = o.guidanceScale ?? 7.5;
    if (typeof guidanceScale !== 'number' || !Number.isFinite(guidanceScale)) throw argError('guidanceScale', guidanceScale, 'a finite number');
    if (o.eta !== undefined && !(o.eta >= 0)) throw argError('eta', o.eta, 'a number ≥ 0');
    return { steps, guidanceScale, guidance: guidanceScale > 1 };
  }

  /**
   * What both pipelines end with: the denoising loop from `latents` over `timesteps`, then (unless
   * outputType is "latent") the decode, releasing each network when this call is done with it.
   */
  protected async loopAndDecode(
    o: CommonCallOptions,
    loop: Pick<DenoiseArgs, 'latents' | 'timesteps' | 'promptEmbeds' | 'guidanceScale' | 'doClassifierFreeGuidance' | 'generator'>,
  ): Promise<{ images: RgbImage[]; latents: Tensor<'float32'> }> {
    const latents = await denoise({
      ...loop,
      unet: this.unet,
      scheduler: this.scheduler,
      eta: o.eta ?? 0,
      callback: o.callback,
      signal: o.signal,
    });
    await this.doneWith(this.unet);
    const images = o.outputType === 'latent' ? [] : await this.decodeLatents(latents);
    await this.doneWith(this.vae);
    return { images, latents };
  }

  /** latents → images: vae.decode(latents / scaling_factor), then diffusers' postprocess. */
  decodeLatents(latents: Tensor<'float32'>): Promise<RgbImage[]> {
    return latentsToImages(this.vae, latents);
  }

  /** LoRAs on the UNet and the text encoder, each with its weight (pipelines/lora.ts); `[]` removes them. */
  setLoras(loras: readonly PipelineLora[]): Promise<LoraFile[]> {
    return setPipelineLoras(this, loras);
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.unet.release(), this.vae.release()]);
  }
}
