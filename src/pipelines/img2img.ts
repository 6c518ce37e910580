// StableDiffusionImg2ImgPipeline (image + text → image), diffusers 0.27 semantics:
//
//   init_timestep = min(int(N·strength), N);  t_start = max(N − init_timestep, 0)
//   timesteps = scheduler.timesteps[t_start·order:];  scheduler.set_begin_index(t_start·order)
//   z0 = scaling_factor · vae.encode(2·image/255 − 1).latent_dist.sample(g)   ← FIRST draw of g
//   noise = randn(z0.shape, g)                                               ← SECOND draw
//   latents = scheduler.add_noise(z0, noise, timesteps[0])                   (no init_noise_sigma)
//   then the shared loop over `timesteps` and the decode, as txt2img.

import { LatentlabError } from '../core/errors.js';
import type { RgbImage } from '../image/index.js';
import { PipelineBase, PipelineOutput } from './base.js';
import { type Img2ImgOptions, img2imgOptionsSchema, parseCallOptions } from './call-options.js';
import { loadPipelineComponents, PipelineLoadOptions } from './components.js';
import { loadSingleFileComponents, type SingleFileLoadOptions } from './single-file.js';
import { repeatEach } from './encode-prompt.js';
import { imageToLatents } from './latents.js';
import { defaultModelPath } from './default-model.js';

export type { Img2ImgOptions } from './call-options.js';

/** The part of the schedule img2img runs (diffusers `get_timesteps`). */
export function img2imgTimesteps(timesteps: readonly number[], order: number, steps: number, strength: number): { timesteps: number[]; tStart: number } {
  const initTimestep = Math.min(Math.trunc(steps * strength), steps); // Python int(N·strength): truncation of the double product
  const tStart = Math.max(steps - initTimestep, 0);
  return { timesteps: timesteps.slice(tStart * order), tStart };
}

export class StableDiffusionImg2ImgPipeline extends PipelineBase {
  /** `pathOrId` defaults to the shipped latentlab-mini (default-model.ts). */
  static async fromPretrained(pathOrId: string = defaultModelPath(), options: PipelineLoadOptions = {}): Promise<StableDiffusionImg2ImgPipeline> {
    return new StableDiffusionImg2ImgPipeline(await loadPipelineComponents(pathOrId, options));
  }

  /** From one LDM-layout checkpoint file (see StableDiffusionPipeline.fromSingleFile). */
  static async fromSingleFile(file: string, options: SingleFileLoadOptions = {}): Promise<StableDiffusionImg2ImgPipeline> {
    return new StableDiffusionImg2ImgPipeline(await loadSingleFileComponents(file, options));
  }

  async call(options: Img2ImgOptions): Promise<PipelineOutput> {
    const o = parseCallOptions(img2imgOptionsSchema, options);
    const strength = o.strength ?? 0.8; // in (0, 1]: checked by the schema
    const images = Array.isArray(o.image) ? (o.image as RgbImage[]) : [o.image as RgbImage];
    const f = this.vaeScaleFactor;
    for (const img of images) {
      if (img.width % f !== 0 || img.height % f !== 0 || img.width < f || img.height < f) {
        throw new LatentlabError('PIPELINE_SIZE', `the input image is ${img.width}×${img.height}; its sides must be multiples of ${f}`, {
          key: 'image', hint: `resize or crop it first (e.g. to ${Math.max(f, Math.floor(img.width / f) * f)}×${Math.max(f, Math.floor(img.height / f) * f)}); latentlab does not resize silently`,
        });
      }
      if (img.width !== images[0].width || img.height !== images[0].height) {
        throw new LatentlabError('PIPELINE_SIZE', 'all input images must have the same size', { key: 'image' });
      }
    }
    const { steps, guidanceScale, guidance } = this.checkCommon(o);
    this.admit(o, images[0], guidance, true);
    const guide = this.lossGuide(o, images[0].height / f, images[0].width / f);
    const { embeds, batch } = await this.promptEmbeddings(o, guidance, steps);
    await this.doneWith(this.textEncoder);
    if (batch % images.length !== 0) {
      throw new LatentlabError('PIPELINE_ARGUMENT', `${images.length} input images cannot be spread over a batch of ${batch} (prompts × numImagesPerPrompt)`, {
        key: 'image', hint: 'pass one image, or one per prompt',
      });
    }
    const { generator, seed } = this.generatorFor(o);
    const scheduler = this.scheduler;
    scheduler.setTimesteps(steps);
    const { timesteps, tStart } = img2imgTimesteps(scheduler.timesteps, scheduler.order, steps, strength);
    scheduler.setBeginIndex(tStart * scheduler.order);

    // Encode: one posterior sample for the whole image batch (diffusers encodes the batch at once).
    let z0 = await imageToLatents(this.vae, images, generator);
    await this.doneWith(this.vae); // the encoder's session; the decoder's is created after the loop
    // One image per prompt: each repeated numImagesPerPrompt times to line up with the prompts. (diffusers
    // tiles [i0, i1, i0, i1] instead, which pairs images with the wrong prompts; with one image both agree.)
    z0 = repeatEach(z0, batch / images.length);
    const noise = generator.randn(z0.shape);
    const latents0 = scheduler.addNoise(z0, noise, [timesteps[0]]);

    const { images: out, latents } = await this.loopAndDecode(o, { latents: latents0, timesteps, promptEmbeds: embeds, guidanceScale, doClassifierFreeGuidance: guidance, generator, guide });
    return { images: out, latents, seed };
  }
}
