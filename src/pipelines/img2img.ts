// StableDiffusionImg2ImgPipeline (image + text → image), diffusers 0.27 semantics:
//
//   init_timestep = min(int(N·strength), N);  t_start = max(N − init_timestep, 0)
//   timesteps = scheduler.timesteps[t_start·order:];  scheduler.set_begin_index(t_start·order)
//   z0 = scaling_factor · vae.encode(2·image/255 − 1).latent_dist.sample(g)   ← FIRST draw of g
//   noise = randn(z0.shape, g)                                               ← SECOND draw
//   latents = scheduler.add_noise(z0, noise, timesteps[0])                   (no init_noise_sigma)
//   then the shared loop over `timesteps` and the decode, as txt2img.
// `image` may also be latents [N, 4, h, w] (diffusers takes a 4-channel `image` as z0): then there
// is no encode and no first draw — the noise is the generator's first draw.

import { LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from '../image/index.js';
import { PipelineBase, PipelineOutput } from './base.js';
import { type Img2ImgOptions, img2imgOptionsSchema, parseCallOptions } from './call-options.js';
import { loadPipelineComponents, type PipelineComponents, PipelineLoadOptions } from './components.js';
import { loadSingleFileComponents, type SingleFileLoadOptions } from './single-file.js';
import { repeatEach } from './encode-prompt.js';
import { imageToLatents } from './latents.js';
import { defaultModelPath } from './default-model.js';

export type { Img2ImgOptions } from './call-options.js';
export { img2imgTimesteps } from './base.js';

export class StableDiffusionImg2ImgPipeline extends PipelineBase {
  constructor(c: PipelineComponents) {
    super(c);
    this.requireLatentOnlyUnet('StableDiffusionImg2ImgPipeline');
  }

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
    const given = o.image instanceof Tensor ? this.inputLatents(o.image) : undefined;
    const images = given ? Array.from({ length: given.shape[0] }, () => ({ width: given.shape[3] * this.vaeScaleFactor, height: given.shape[2] * this.vaeScaleFactor })) : this.inputImages(o.image as RgbImage | readonly RgbImage[]);
    const { guidanceScale, guidance, scheduler, guide, embeds, batch, generator, seed, timesteps } = await this.prepareImageCall(o, images, strength);

    // Encode: one posterior sample for the whole image batch (diffusers encodes the batch at once).
    // Latents given (diffusers: an `image` of 4 channels) are z0 as they are: no encode, no draw.
    let z0 = given ?? await imageToLatents(this.vae, images as RgbImage[], generator, { tiling: o.tiling });
    if (!given) await this.doneWith(this.vae); // the encoder's session; the decoder's is created after the loop
    // One image per prompt: each repeated numImagesPerPrompt times to line up with the prompts. (diffusers
    // tiles [i0, i1, i0, i1] instead, which pairs images with the wrong prompts; with one image both agree.)
    z0 = repeatEach(z0, batch / images.length);
    const noise = generator.randn(z0.shape);
    const latents0 = scheduler.addNoise(z0, noise, [timesteps[0]]);

    const { images: out, latents } = await this.loopAndDecode(o, { scheduler, latents: latents0, timesteps, promptEmbeds: embeds, guidanceScale, doClassifierFreeGuidance: guidance, generator, guide });
    return { images: out, latents, seed, scheduler };
  }

  /** Latents passed as `image`: [N, latent_channels, h, w]. */
  private inputLatents(t: Tensor<'float32'>): Tensor<'float32'> {
    const c = this.vae.config.latent_channels;
    if (t.rank !== 4 || t.shape[1] !== c) {
      throw new LatentlabError('PIPELINE_ARGUMENT', `image is a tensor of shape [${t.shape}]; latents must be [N, ${c}, h, w]`, { key: 'image', hint: 'pass an RgbImage, or latents at the UNet\'s scale (a pipeline\'s output.latents)' });
    }
    return t;
  }
}
