// What txt2img and img2img share: the components, argument checks, prompt embeddings with
// classifier-free guidance, the generator, and decoding latents to images.

import { check, fmtValue, LatentlabError } from '../core/errors.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from '../image/index.js';
import { type Scheduler, schedulerFromConfig } from '../schedulers/index.js';
import type { CommonCallOptions } from './call-options.js';
import { encodePrompt, repeatEach } from './encode-prompt.js';
import { checkFinite } from './finite-check.js';
import type { PipelineComponents } from './components.js';
import { denoise, type DenoiseArgs, usesClassifierFreeGuidance } from './denoise.js';
import { latentsToImages, type PipelineVae, type VaeCallOptions } from './latents.js';
import { checkLossGuidance, LossGuide } from './loss-guidance.js';
import { checkMemory, estimateCallMemory, type MemoryEstimate, type MemoryRequest } from './memory-estimate.js';
import { encodePromptConditioning } from './prompt-conditioning.js';
import { type PipelineLora, setPipelineLoras } from './lora.js';
import type { LoraFile } from '../weights/lora/lora-file.js';
import { loadTextualInversion, type LoadedTextualInversion, type LoadTextualInversionOptions, type TextualInversionSource } from './textual-inversion.js';

export type { CommonCallOptions } from './call-options.js';

export interface PipelineOutput {
  /** uint8 RGB images, in batch order (prompt-major: p0 image 0, p0 image 1, p1 image 0, …). Empty for outputType "latent". */
  images: RgbImage[];
  /** The final latents [B·n, 4, h, w] (before division by the scaling factor). */
  latents: Tensor<'float32'>;
  /** The seed used (given, or drawn when neither seed nor generator was passed). */
  seed?: number | bigint;
  /** The scheduler instance this call built and ran (its timesteps are the call's). */
  scheduler: Scheduler;
}

function argError(name: string, value: unknown, expected: string, hint?: string): LatentlabError {
  return new LatentlabError('PIPELINE_ARGUMENT', `${name} is ${fmtValue(value)}; expected ${expected}`, { key: name, hint });
}

function promptList(prompt: string | readonly string[]): string[] {
  const prompts = typeof prompt === 'string' ? [prompt] : [...prompt];
  if (prompts.length === 0 || prompts.some((p) => typeof p !== 'string')) throw argError('prompt', prompt, 'a string or a non-empty list of strings');
  return prompts;
}

/** The part of the schedule img2img runs (diffusers `get_timesteps`). */
export function img2imgTimesteps(timesteps: readonly number[], order: number, steps: number, strength: number): { timesteps: number[]; tStart: number } {
  const initTimestep = Math.min(Math.trunc(steps * strength), steps); // Python int(N·strength): truncation of the double product
  const tStart = Math.max(steps - initTimestep, 0);
  return { timesteps: timesteps.slice(tStart * order), tStart };
}

export class PipelineBase {
  readonly tokenizer;
  readonly textEncoder;
  readonly unet;
  /** AutoencoderKL or AutoencoderTiny; replaceable, like `pipe.vae = AutoencoderTiny.from_pretrained(…)`. */
  vae: PipelineVae;
  /**
   * Replaceable, like `pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)`.
   * A call never runs this instance: it builds its own from its config (schedulerFor), so two
   * calls at once (a server) cannot step each other's schedule.
   */
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

  /**
   * txt2img and img2img feed the UNet the latents alone: a UNet with more input channels (an
   * inpainting UNet's 9 = latents + mask + masked-image latents) needs StableDiffusionInpaintPipeline.
   */
  protected requireLatentOnlyUnet(pipeline: string): void {
    const c = this.unet.config.in_channels;
    const latent = this.vae.config.latent_channels;
    if (c === latent) return;
    const inpaint = c === 2 * latent + 1;
    throw new LatentlabError('PIPELINE_UNSUPPORTED', `${this.folder}: the UNet takes ${c} input channels${inpaint ? ' (an inpainting UNet: latents, mask, masked-image latents)' : ''}; ${pipeline} feeds it the ${latent} latent channels only`, {
      file: this.folder, key: 'unet.in_channels',
      hint: inpaint ? 'use StableDiffusionInpaintPipeline (`latentlab inpaint --image IMG --mask MASK`)' : `use a model whose UNet takes ${latent} input channels`,
    });
  }

  /** The starting image(s) of img2img / inpainting as a list: one size, sides multiples of the VAE's factor. */
  protected inputImages(image: RgbImage | readonly RgbImage[], key = 'image'): RgbImage[] {
    const images = Array.isArray(image) ? [...(image as readonly RgbImage[])] : [image as RgbImage];
    const f = this.vaeScaleFactor;
    for (const img of images) {
      if (img.width % f !== 0 || img.height % f !== 0 || img.width < f || img.height < f) {
        throw new LatentlabError('PIPELINE_SIZE', `the input image is ${img.width}×${img.height}; its sides must be multiples of ${f}`, {
          key, hint: `resize or crop it first (e.g. to ${Math.max(f, Math.floor(img.width / f) * f)}×${Math.max(f, Math.floor(img.height / f) * f)}); latentlab does not resize silently`,
        });
      }
      if (img.width !== images[0].width || img.height !== images[0].height) {
        throw new LatentlabError('PIPELINE_SIZE', `all input images must have the same size (${key})`, { key });
      }
    }
    return images;
  }

  /** 2^(number of VAE blocks − 1): 8 for every SD model. */
  get vaeScaleFactor(): number {
    return 2 ** (this.vae.config.block_out_channels.length - 1);
  }

  /** A fresh scheduler for one call: from the call's `scheduler` option (a name or an instance), else pipe.scheduler's config. */
  protected schedulerFor(o: CommonCallOptions): Scheduler {
    if (typeof o.scheduler === 'string') return schedulerFromConfig(this.scheduler.config, { name: o.scheduler });
    return schedulerFromConfig((o.scheduler ?? this.scheduler).config);
  }

  protected generatorFor(o: CommonCallOptions): { generator: Generator; seed?: number | bigint } {
    if (o.generator) return { generator: o.generator };
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32); // a given seed was checked by the schema
    return { generator: new Generator().manualSeed(seed), seed };
  }

  /**
   * cat([negative, positive]) embeddings for guidance (or just positive), each prompt repeated
   * numImagesPerPrompt times — from prompt text, a function of the loop index when the prompt
   * changes during sampling (prompt-conditioning.ts). Returns the batch size B·n.
   */
  protected async promptEmbeddings(o: CommonCallOptions, guidance: boolean, steps: number): Promise<{ embeds: DenoiseArgs['promptEmbeds']; batch: number }> {
    if (this.unet.precision === 'int8' && !this.unet.int8CalibrationContext) {
      // int8 UNet: its convs are calibrated on the empty prompt's embeddings (UNet2DConditionModel.int8CalibrationContext).
      this.unet.int8CalibrationContext = await encodePrompt(this.tokenizer, this.textEncoder, [''], { clipSkip: o.clipSkip });
    }
    const n = o.numImagesPerPrompt ?? 1;
    let positive: Tensor<'float32'>;
    let prompts: string[] | undefined;
    if (!o.promptEmbeds && !o.negativePromptEmbeds && o.prompt !== undefined) {
      prompts = promptList(o.prompt);
      const negativePrompts = guidance ? this.negativesFor(o, prompts.length) : undefined;
      const cond = await encodePromptConditioning(this.tokenizer, this.textEncoder, {
        prompts, negativePrompts, steps, syntax: o.promptSyntax, clipSkip: o.clipSkip, numImagesPerPrompt: n, onWarning: o.onWarning,
      });
      return { embeds: cond.isStatic ? cond.at(0) : (i) => cond.at(i), batch: prompts.length * n };
    }
    if (o.prompt !== undefined && o.negativePromptEmbeds && (o.promptSyntax ?? 'a1111') !== 'plain') {
      throw argError('promptSyntax', o.promptSyntax ?? 'a1111', '"plain" when a text prompt is combined with negativePromptEmbeds',
        'pass promptSyntax: "plain" (the negative embeddings are one 77-token chunk), or give negativePrompt as text');
    }
    if (o.promptEmbeds) {
      if (o.prompt !== undefined) throw argError('prompt', o.prompt, 'nothing when promptEmbeds is given', 'pass either prompt or promptEmbeds');
      positive = o.promptEmbeds;
      if (positive.rank !== 3) throw argError('promptEmbeds', `a tensor of shape [${positive.shape}]`, '[batch, 77, hidden]');
    } else {
      if (o.prompt === undefined) throw argError('prompt', undefined, 'a string or a list of strings', 'pass prompt (or promptEmbeds)');
      prompts = promptList(o.prompt);
      positive = await encodePrompt(this.tokenizer, this.textEncoder, prompts, { clipSkip: o.clipSkip, onWarning: o.onWarning });
    }
    checkFinite(positive, 'the prompt embeddings', 'the text encoder weights (text_encoder/*.safetensors) probably hold NaN or Inf values, or promptEmbeds did');
    const batch = positive.shape[0];
    if (!guidance) return { embeds: repeatEach(positive, n), batch: batch * n };
    let negative: Tensor<'float32'>;
    if (o.negativePromptEmbeds) {
      negative = o.negativePromptEmbeds;
      check(negative.shape.join() === positive.shape.join(), 'PIPELINE_ARGUMENT',
        () => `negativePromptEmbeds has shape [${negative.shape}] but promptEmbeds has [${positive.shape}]; they must match`);
    } else {
      negative = await encodePrompt(this.tokenizer, this.textEncoder, this.negativesFor(o, batch), { clipSkip: o.clipSkip, onWarning: o.onWarning });
    }
    return { embeds: Tensor.cat0([repeatEach(negative, n), repeatEach(positive, n)]), batch: batch * n };
  }

  /** One negative prompt per prompt: none → "", one → for all, else exactly one each. */
  private negativesFor(o: CommonCallOptions, batch: number): string[] {
    const neg = o.negativePrompt ?? '';
    const negatives = typeof neg === 'string' ? Array<string>(batch).fill(neg) : [...neg];
    if (negatives.length !== batch) {
      throw argError('negativePrompt', o.negativePrompt, `one negative prompt, or one per prompt (${batch})`, 'give a single negative prompt to use for all prompts');
    }
    return negatives;
  }

  /**
   * The shared options' defaults (their types and ranges were checked once, by the call's schema:
   * call-options.ts); guidance (classifier-free) is on when guidanceScale > 1, as in diffusers, unless
   * the UNet is LCM-distilled (its guidance is the timestep_cond input: denoise.ts).
   */
  protected checkCommon(o: CommonCallOptions): { steps: number; guidanceScale: number; guidance: boolean } {
    const steps = o.numInferenceSteps ?? 50;
    const guidanceScale = o.guidanceScale ?? 7.5;
    checkLossGuidance(o.lossGuidance);
    return { steps, guidanceScale, guidance: usesClassifierFreeGuidance(this.unet, guidanceScale) };
  }

  /**
   * What img2img and inpainting do before they encode the image: the shared checks, a scheduler of
   * their own, the loss guide, the prompt embeddings, the generator, and the schedule shortened by
   * `strength` with the scheduler's begin index set (diffusers' get_timesteps + set_begin_index).
   */
  protected async prepareImageCall(o: CommonCallOptions, images: readonly { width: number; height: number }[], strength: number) {
    const f = this.vaeScaleFactor;
    const { steps, guidanceScale, guidance } = this.checkCommon(o);
    this.admit(o, images[0], guidance, true);
    const scheduler = this.schedulerFor(o);
    const guide = this.lossGuide(o, scheduler, images[0].height / f, images[0].width / f);
    const { embeds, batch } = await this.promptEmbeddings(o, guidance, steps);
    await this.doneWith(this.textEncoder);
    if (batch % images.length !== 0) {
      throw new LatentlabError('PIPELINE_ARGUMENT', `${images.length} input images cannot be spread over a batch of ${batch} (prompts × numImagesPerPrompt)`, {
        key: 'image', hint: 'pass one image, or one per prompt',
      });
    }
    const { generator, seed } = this.generatorFor(o);
    scheduler.setTimesteps(steps);
    const { timesteps, tStart } = img2imgTimesteps(scheduler.timesteps, scheduler.order, steps, strength);
    if (steps - tStart < 1) { // diffusers: "num_inference_steps … is < 1" (PNDM's extra timestep aside, no step would run)
      throw new LatentlabError('PIPELINE_ARGUMENT', `numInferenceSteps ${steps} with strength ${strength} runs no step (int(${steps} × ${strength}) = 0)`, {
        key: 'strength', hint: `use at least ${Math.ceil(1 / strength)} steps for this strength`,
      });
    }
    scheduler.setBeginIndex(tStart * scheduler.order);
    return { steps, guidanceScale, guidance, scheduler, guide, embeds, batch, generator, seed, timesteps };
  }

  /** The loss guide for latents of h × w (its graphs built, so a faulty loss fails before the loop), or none. */
  protected lossGuide(o: CommonCallOptions, scheduler: Scheduler, h: number, w: number): LossGuide | undefined {
    return o.lossGuidance?.length ? LossGuide.create(this.vae, scheduler, o.lossGuidance, h, w, { tiling: o.tiling }) : undefined;
  }

  /** The memory a call with `request` needs (memory-estimate.ts): what `call` checks before any session is built. */
  estimateMemory(request: Omit<MemoryRequest, 'releaseSessions'>): MemoryEstimate {
    const configs = { unet: this.unet.config, vae: this.vae.config, textEncoder: this.textEncoder.config };
    return estimateCallMemory(configs, { releaseSessions: this.releaseSessions, ...request });
  }

  /** Refuses (RESOURCE_MEMORY) a call that would not fit in memory or under `o.memoryLimit`. */
  protected admit(o: CommonCallOptions, size: { width: number; height: number }, guidance: boolean, img2img = false): void {
    const prompts = o.promptEmbeds ? o.promptEmbeds.shape[0] : typeof o.prompt === 'string' ? 1 : o.prompt?.length ?? 1;
    checkMemory(this.estimateMemory({ batch: prompts * (o.numImagesPerPrompt ?? 1), ...size, guidance, img2img }), o.memoryLimit);
  }

  /**
   * What both pipelines end with: the denoising loop from `latents` over `timesteps`, then (unless
   * outputType is "latent") the decode, releasing each network when this call is done with it.
   */
  protected async loopAndDecode(
    o: CommonCallOptions,
    loop: Pick<DenoiseArgs, 'scheduler' | 'latents' | 'timesteps' | 'promptEmbeds' | 'guidanceScale' | 'doClassifierFreeGuidance' | 'generator' | 'guide' | 'extraChannels' | 'afterStep'>,
  ): Promise<{ images: RgbImage[]; latents: Tensor<'float32'> }> {
    const latents = await denoise({
      ...loop,
      unet: this.unet,
      tiling: o.tiling,
      eta: o.eta ?? 0,
      callback: o.callback,
      signal: o.signal,
    });
    await this.doneWith(this.unet);
    if (loop.guide) await this.doneWith(this.vae); // the gradient sessions, before the decoder's
    const images = o.outputType === 'latent' ? [] : await this.decodeLatents(latents, { tiling: o.tiling });
    await this.doneWith(this.vae);
    return { images, latents };
  }

  /** latents → images: vae.decode(latents / scaling_factor), then diffusers' postprocess (`tiling`: the circular-padded decoder). */
  decodeLatents(latents: Tensor<'float32'>, options: VaeCallOptions = {}): Promise<RgbImage[]> {
    return latentsToImages(this.vae, latents, options);
  }

  /** LoRAs on the UNet and the text encoder, each with its weight (pipelines/lora.ts); `[]` removes them. */
  setLoras(loras: readonly PipelineLora[]): Promise<LoraFile[]> {
    return setPipelineLoras(this, loras);
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.unet.release(), this.vae.release()]);
  }
}
