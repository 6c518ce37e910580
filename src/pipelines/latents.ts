// Images ↔ latents through the VAE, the two small functions every hand-written loop needs (the
// deep-dive notebook's `pil_to_latent` and `latents_to_pil`):
//
//   imageToLatents(vae, image, generator)  = scaling_factor · retrieve_latents(vae.encode(2·u8/255 − 1), g)
//   latentsToImages(vae, latents)          = postprocess(vae.decode(latents / scaling_factor).sample)
//
// The VAE is AutoencoderKL or AutoencoderTiny (TAESD). diffusers' `retrieve_latents` samples the
// posterior of the first (one generator draw) and takes the second's latents as they are (no draw,
// so an img2img run's `add_noise` noise becomes the generator's first draw); TAESD's scaling_factor
// is 1, its latents already being on the UNet's scale.
//
// "Latents" here are what the UNet works on: the VAE's latent times `scalingFactor` (0.18215 for
// SD 1.x/2.x), which brings them to roughly unit variance. The arithmetic is the pipelines' own
// (float32, the scaling factor rounded to float32 first, as torch does with a Python scalar), so a
// loop written with these gives the pipelines' pixels bit for bit.

import { defaultGenerator, type Generator } from '../core/random.js';
import type { Tensor } from '../core/tensor.js';
import { divide, scale } from '../core/tensor-math.js';
import { postprocess, preprocessBatch, type RgbImage } from '../image/index.js';
import type { AutoencoderKL } from '../models/autoencoder-kl.js';
import { checkFinite } from './finite-check.js';
import type { AutoencoderTiny } from '../models/autoencoder-tiny.js';

/** Either autoencoder a Stable Diffusion pipeline can use (diffusers accepts both as `vae`). */
export type PipelineVae = AutoencoderKL | AutoencoderTiny;

/** What the conversions may vary: `tiling` runs the VAE with circular padding (seamless tiling). */
export interface VaeCallOptions {
  tiling?: boolean;
}

/**
 * RGB image(s) → latents [B, 4, H/8, W/8]. AutoencoderKL: one draw `randn(mean.shape)` from
 * `generator` for the posterior sample (the first draw the img2img pipeline takes); AutoencoderTiny:
 * no draw. Sides must be multiples of 8.
 */
export async function imageToLatents(vae: PipelineVae, image: RgbImage | readonly RgbImage[], generator: Generator = defaultGenerator, options: VaeCallOptions = {}): Promise<Tensor<'float32'>> {
  const images = Array.isArray(image) ? (image as readonly RgbImage[]) : [image as RgbImage];
  const encoded = await vae.encode(preprocessBatch(images), { tiling: options.tiling });
  const latents = 'latentDist' in encoded ? encoded.latentDist.sample(generator) : encoded.latents;
  return scale(latents, vae.scalingFactor);
}

/** The raw decoder output [B, 3, H, W] (about −1…1) of UNet-scale latents: vae.decode(latents / scaling_factor).sample. */
export async function decodeToPixels(vae: PipelineVae, latents: Tensor<'float32'>, options: VaeCallOptions = {}): Promise<Tensor<'float32'>> {
  checkFinite(latents, 'the latents to decode', 'they come from a file or a loop that produced NaN/Inf; check where they were made');
  const { sample } = await vae.decode(divide(latents, vae.scalingFactor), { tiling: options.tiling });
  checkFinite(sample, 'the VAE decoder\'s output', 'the VAE weights (vae/*.safetensors) probably hold NaN or Inf values; check the model files (re-download them)');
  return sample;
}

/** Latents [B, 4, h, w] → B RGB images of 8h × 8w pixels (decode, then clamp and round like diffusers). */
export async function latentsToImages(vae: PipelineVae, latents: Tensor<'float32'>, options: VaeCallOptions = {}): Promise<RgbImage[]> {
  return postprocess(await decodeToPixels(vae, latents, options));
}
