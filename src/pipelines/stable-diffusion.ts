// StableDiffusionPipeline (text → image), with diffusers 0.27's `__call__` semantics:
//
//   const pipe = await StableDiffusionPipeline.fromPretrained('stable-diffusion-v1-5/stable-diffusion-v1-5', {variant: 'fp16'})
//   const { images } = await pipe.call({ prompt: 'an astronaut riding a horse', seed: 42 })
//
// latents = randn([B, 4, H/8, W/8], generator) · init_noise_sigma (the generator's FIRST draw), then
// the shared denoising loop (denoise.ts), then vae.decode(latents / scaling_factor).

import { LatentlabError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { scale } from '../core/tensor-math.js';
import { PipelineBase, PipelineOutput } from './base.js';
import { parseCallOptions, type Txt2ImgOptions, txt2imgOptionsSchema } from './call-options.js';
import { loadPipelineComponents, PipelineLoadOptions } from './components.js';
import { loadSingleFileComponents, type SingleFileLoadOptions } from './single-file.js';
import { defaultModelPath } from './default-model.js';

export type { Txt2ImgOptions } from './call-options.js';

export class StableDiffusionPipeline extends PipelineBase {
  /** `pathOrId` defaults to the shipped latentlab-mini (default-model.ts). */
  static async fromPretrained(pathOrId: string = defaultModelPath(), options: PipelineLoadOptions = {}): Promise<StableDiffusionPipeline> {
    return new StableDiffusionPipeline(await loadPipelineComponents(pathOrId, options));
  }

  /**
   * From one checkpoint file in the original LDM layout (.safetensors or .ckpt), as diffusers'
   * `from_single_file`: configs from `<stem>.yaml` beside it, `originalConfig`, or the weights.
   */
  static async fromSingleFile(file: string, options: SingleFileLoadOptions = {}): Promise<StableDiffusionPipeline> {
    return new StableDiffusionPipeline(await loadSingleFileComponents(file, options));
  }

  /** The image size the model was trained at (unet sample_size × vae scale factor). */
  get defaultSize(): number {
    return this.unet.config.sample_size * this.vaeScaleFactor;
  }

  checkSize(height: number, width: number): void {
    const f = this.vaeScaleFactor;
    for (const [name, v] of [['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v < f || v % f !== 0) {
        const down = Math.max(f, Math.floor(v / f) * f);
        throw new LatentlabError('PIPELINE_SIZE', `${name} is ${v}; it must be a positive multiple of ${f} (the VAE's downscaling factor)`, {
          key: name, hint: `use ${down} or ${down + f}`,
        });
      }
    }
  }

  async call(options: Txt2ImgOptions): Promise<PipelineOutput> {
    const o = parseCallOptions(txt2imgOptionsSchema, options);
    const height = o.height ?? this.defaultSize;
    const width = o.width ?? this.defaultSize;
    this.checkSize(height, width);
    const { steps, guidanceScale, guidance } = this.checkCommon(o);
    this.admit(o, { width, height }, guidance);
    const guide = this.lossGuide(o, height / this.vaeScaleFactor, width / this.vaeScaleFactor);
    const { embeds, batch } = await this.promptEmbeddings(o, guidance, steps);
    await this.doneWith(this.textEncoder);
    const { generator, seed } = this.generatorFor(o);
    const scheduler = this.scheduler;
    scheduler.setTimesteps(steps);

    const shape = [batch, this.unet.config.in_channels, height / this.vaeScaleFactor, width / this.vaeScaleFactor];
    let initial: Tensor<'float32'>;
    if (o.latents) {
      if (o.latents.shape.join() !== shape.join()) {
        throw new LatentlabError('PIPELINE_ARGUMENT', `latents have shape [${o.latents.shape}], expected [${shape}] (batch × channels × height/8 × width/8)`, { key: 'latents' });
      }
      initial = o.latents;
    } else {
      initial = generator.randn(shape);
    }
    const latents0 = scale(initial, scheduler.initNoiseSigma);

    const { images, latents } = await this.loopAndDecode(o, { latents: latents0, timesteps: scheduler.timesteps, promptEmbeds: embeds, guidanceScale, doClassifierFreeGuidance: guidance, generator, guide });
    return { images, latents, seed };
  }
}
