// StableDiffusionInpaintPipeline (image + mask + text → image), diffusers 0.27 semantics:
//
//   timesteps, t_start as img2img (get_timesteps with strength, default 1.0)
//   init_image = 2·image/255 − 1                                             [N, 3, H, W]
//   if unet.in_channels == 4 or strength < 1:
//       z0 = scaling_factor · vae.encode(init_image).latent_dist.sample(g)  ← draw 1 ("image_latents")
//   noise = randn([B, 4, h, w], g)                                          ← next draw
//   latents = noise · init_noise_sigma  if strength == 1  else  add_noise(z0, noise, timesteps[0])
//   mask_condition = (grey(mask)/255 ≥ 0.5)                                  [N, 1, H, W], 0/1 (image/mask.ts)
//   masked_image = init_image · (mask_condition < 0.5)                       the repaint region → 0
//   mask = mask_condition[:, :, ::8, ::8]                                    [N, 1, h, w] (nearest)
//   m_lat = scaling_factor · vae.encode(masked_image).latent_dist.sample(g) ← next draw (4-channel UNets too)
//   loop:  9 channels:  unet(cat([scale_model_input(x), mask, m_lat], dim=1), t, …)   mask parts unscaled
//          4 channels:  after each step  latents = (1 − mask)·add_noise(z0, noise, timesteps[i+1]) + mask·latents
//                       (the last step blends with z0 itself: outside the mask the result is the original)
//
// The output is the decoded image: diffusers pastes nothing of the input back (only with
// padding_mask_crop, which latentlab does not have), so pixels outside the mask change slightly.
// Unlike diffusers, which resizes image and mask to height × width (default 512²), latentlab takes
// the image's own size and refuses a mask of another size: a silent resize moves the mask's edge.

import { LatentlabError } from '../core/errors.js';
import type { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { preprocessBatch, type RgbImage } from '../image/index.js';
import { blurMask, downsampleMask, type GrayImage, maskCondition } from '../image/mask.js';
import { PipelineBase, type PipelineOutput } from './base.js';
import { type InpaintOptions, inpaintOptionsSchema, parseCallOptions } from './call-options.js';
import { loadPipelineComponents, type PipelineLoadOptions } from './components.js';
import { defaultModelPath } from './default-model.js';
import { repeatEach } from './encode-prompt.js';
import { loadSingleFileComponents, type SingleFileLoadOptions } from './single-file.js';
import { catChannels, scale } from '../core/tensor-math.js';

export type { InpaintOptions } from './call-options.js';

/** init_image · (mask_condition < 0.5), with one mask for all images or one each: [N, 3, H, W]. */
export function maskedImage(init: Tensor<'float32'>, condition: Tensor<'float32'>): Tensor<'float32'> {
  const [n, c, H, W] = init.shape;
  const plane = H * W;
  const out = new Tensor('float32', init.shape);
  for (let b = 0; b < n; b++) {
    const m = condition.data.subarray((condition.shape[0] === 1 ? 0 : b) * plane);
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * plane;
      for (let p = 0; p < plane; p++) out.data[base + p] = init.data[base + p] * (m[p] < 0.5 ? 1 : 0);
    }
  }
  return out;
}

/** (1 − mask)·original + mask·latents in float32, the mask [B, 1, h, w] broadcast over the channels. */
export function blendOutsideMask(latents: Tensor<'float32'>, original: Tensor<'float32'>, mask: Tensor<'float32'>): Tensor<'float32'> {
  const [b, c, h, w] = latents.shape;
  const plane = h * w;
  const out = new Tensor('float32', latents.shape);
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const m = mask.data[i * plane + p];
        out.data[base + p] = Math.fround(Math.fround(Math.fround(1 - m) * original.data[base + p]) + Math.fround(m * latents.data[base + p]));
      }
    }
  }
  return out;
}

export class StableDiffusionInpaintPipeline extends PipelineBase {
  /** `pathOrId` defaults to the shipped latentlab-mini (default-model.ts; a 4-channel model: the blend). */
  static async fromPretrained(pathOrId: string = defaultModelPath(), options: PipelineLoadOptions = {}): Promise<StableDiffusionInpaintPipeline> {
    return new StableDiffusionInpaintPipeline(await loadPipelineComponents(pathOrId, options));
  }

  /** From one LDM-layout checkpoint (an inpainting file has a 9-channel UNet; a normal one gets the 4-channel blend). */
  static async fromSingleFile(file: string, options: SingleFileLoadOptions = {}): Promise<StableDiffusionInpaintPipeline> {
    return new StableDiffusionInpaintPipeline(await loadSingleFileComponents(file, options));
  }

  /** 9 for an inpainting UNet (latents, mask, masked-image latents), 4 for a plain one (blend each step). */
  get unetInputKind(): 'inpainting' | 'blend' {
    const c = this.unet.config.in_channels;
    const latent = this.vae.config.latent_channels;
    if (c === 2 * latent + 1) return 'inpainting';
    if (c === latent) return 'blend';
    throw new LatentlabError('PIPELINE_UNSUPPORTED', `${this.folder}: the UNet takes ${c} input channels; inpainting needs ${2 * latent + 1} (latents, mask, masked-image latents) or ${latent}`, {
      file: this.folder, key: 'unet.in_channels', hint: 'use an SD 1.x / 2.x model or its inpainting variant',
    });
  }

  async call(options: InpaintOptions): Promise<PipelineOutput> {
    const o = parseCallOptions(inpaintOptionsSchema, options);
    const strength = o.strength ?? 1;
    const kind = this.unetInputKind;
    const images = this.inputImages(o.image);
    const masks = this.inputMasks(o.maskImage as GrayImage | RgbImage | readonly (GrayImage | RgbImage)[], images, o.maskBlur ?? 0);
    const f = this.vaeScaleFactor;
    const { guidanceScale, guidance, scheduler, guide, embeds, batch, generator, seed, timesteps } = await this.prepareImageCall(o, images, strength);

    const init = preprocessBatch(images); // [N, 3, H, W] in [−1, 1]
    const isStrengthMax = strength === 1;
    // Each per-image tensor is repeated to line up with the prompts (as img2img.ts; diffusers tiles).
    const perItem = (t: Tensor<'float32'>) => repeatEach(t, batch / t.shape[0]);
    const z0 = kind === 'blend' || !isStrengthMax ? perItem(await this.encodeLatents(init, generator, o.tiling)) : undefined;
    const [h, w] = [images[0].height / f, images[0].width / f];
    const noise = generator.randn([batch, this.vae.config.latent_channels, h, w]);
    const latents0 = isStrengthMax ? scale(noise, scheduler.initNoiseSigma) : scheduler.addNoise(z0!, noise, [timesteps[0]]);

    const condition = maskCondition(masks); // [M, 1, H, W]
    const mask = perItem(downsampleMask(condition, f)); // [B, 1, h, w]
    const maskedLatents = perItem(await this.encodeLatents(maskedImage(init, condition), generator, o.tiling)); // [B, 4, h, w]
    await this.doneWith(this.vae); // the encoder's session; the decoder's is created after the loop
    const cfg = (t: Tensor<'float32'>) => (guidance ? Tensor.cat0([t, t]) : t);

    const { images: out, latents } = await this.loopAndDecode(o, {
      scheduler,
      latents: latents0, timesteps, promptEmbeds: embeds, guidanceScale, doClassifierFreeGuidance: guidance, generator, guide,
      ...(kind === 'inpainting'
        ? { extraChannels: catChannels([cfg(mask), cfg(maskedLatents)]) } // [2B, 5, h, w]
        : {
          afterStep: (i: number, x: Tensor<'float32'>) => {
            const proper = i < timesteps.length - 1 ? scheduler.addNoise(z0!, noise, [timesteps[i + 1]]) : z0!;
            return blendOutsideMask(x, proper, mask);
          },
        }),
    });
    return { images: out, latents, seed, scheduler };
  }

  /** scaling_factor · a posterior sample (one generator draw) of [N, 3, H, W] pixels in [−1, 1]. */
  private async encodeLatents(pixels: Tensor<'float32'>, generator: Generator, tiling?: boolean): Promise<Tensor<'float32'>> {
    const encoded = await this.vae.encode(pixels, { tiling });
    const z = 'latentDist' in encoded ? encoded.latentDist.sample(generator) : encoded.latents;
    return scale(z, this.vae.scalingFactor);
  }

  /** The masks as a list (one for all images or one each), of the images' size, blurred if asked. */
  private inputMasks(mask: GrayImage | RgbImage | readonly (GrayImage | RgbImage)[], images: readonly RgbImage[], blur: number): (GrayImage | RgbImage)[] {
    const masks = Array.isArray(mask) ? [...(mask as readonly (GrayImage | RgbImage)[])] : [mask as GrayImage | RgbImage];
    if (masks.length !== 1 && masks.length !== images.length) {
      throw new LatentlabError('PIPELINE_ARGUMENT', `${masks.length} masks for ${images.length} images; expected one mask for all, or one per image`, { key: 'maskImage' });
    }
    const { width, height } = images[0];
    masks.forEach((m, i) => {
      if (m.width !== width || m.height !== height) {
        throw new LatentlabError('PIPELINE_SIZE', `mask ${i} is ${m.width}×${m.height} but the image is ${width}×${height}; they must match`, {
          key: 'maskImage', hint: 'draw or resize the mask at the image\'s size (latentlab does not resize it: that would move its edge)',
        });
      }
    });
    return blur > 0 ? masks.map((m) => blurMask(m, blur)) : masks;
  }
}
