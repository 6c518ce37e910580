// StableDiffusionImg2ImgPipeline (image + text → image), diffusers 0.27 semantics:
//
//   init_timestep = min(int(N·strength), N);  t_start = max(N − init_timestep, 0)
//   timesteps = scheduler.timesteps[t_start·order:];  scheduler.set_begin_index(t_start·order)
//   z0 = scaling_factor · vae.encode(2·image/255 − 1).latent_dist.sample(g)   ← FIRST draw of g
//   noise = randn(z0.shape, g)                                               ← SECOND draw
//   latents = scheduler.add_noise(z0, noise, timesteps[0])                   (no init_noise_sigma)
//   then the shared loop over `timesteps` and the decode, as txt2img.

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
    const images = this.inputImages(o.image);
    const { guidanceScale, guidance, scheduler, guide, embeds, batch, generator, seed, timesteps } = await this.prepareImageCall(o, images, strength);

    // Encode: one posterior sample for the whole image batch (diffusers encodes the batch at once).
    let z0 = await imageToLatents(this.vae, images, generator, { tiling: o.tiling });
    await this.doneWith(this.vae); // the encoder's session; the decoder's is created after the loop
    // One image per prompt: each repeated numImagesPerPrompt times to line up with the prompts. (diffusers
    // tiles [i0, i1, i0, i1] instead, which pairs images with the wrong prompts; with one image both agree.)
    z0 = repeatEach(z0, batch / images.length);
    const noise = generator.randn(z0.shape);
    const latents0 = scheduler.addNoise(z0, noise, [timesteps[0]]);

    const { images: out, latents } = await this.loopAndDecode(o, { scheduler, latents: latents0, timesteps, promptEmbeds: embeds, guidanceScale, doClassifierFreeGuidance: guidance, generator, guide });
    return { images: out, latents, seed, scheduler };
  }
}
