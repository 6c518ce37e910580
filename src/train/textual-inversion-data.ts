// The training data of a textual-inversion run, as diffusers' TextualInversionDataset
// (examples/textual_inversion/textual_inversion.py) prepares it:
//
//   text    a random template ("a photo of a {}" — object; "a painting in the style of {}" — style)
//           filled with the placeholder tokens joined by spaces ("<cat-toy> <cat-toy>_1"),
//           tokenized to 77 ids with padding and truncation
//   pixels  the image resized to resolution² (and center-cropped first if asked — both done by
//           the caller when reading the files), flipped horizontally with probability ½,
//           x / 127.5 − 1 → [3, H, W]
//   order   `repeats` copies of the image list, shuffled anew each epoch (seeds.ts)
//
// The VAE posterior of each (image, flipped?) pair is computed once and kept: every later use
// only draws a new sample mean + std·ε from it (what encoding again would give, minus the encoder).

import { LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { AutoencoderKL } from '../models/autoencoder-kl.js';
import type { Generator } from '../core/random.js';
import { permutation, streamGenerator } from './seeds.js';

export const OBJECT_TEMPLATES = [
  'a photo of a {}', 'a rendering of a {}', 'a cropped photo of the {}', 'the photo of a {}', 'a photo of a clean {}', 'a photo of a dirty {}',
  'a dark photo of the {}', 'a photo of my {}', 'a photo of the cool {}', 'a close-up photo of a {}', 'a bright photo of the {}',
  'a cropped photo of a {}', 'a photo of the {}', 'a good photo of the {}', 'a photo of one {}', 'a close-up photo of the {}',
  'a rendition of the {}', 'a photo of the clean {}', 'a rendition of a {}', 'a photo of a nice {}', 'a good photo of a {}',
  'a photo of the nice {}', 'a photo of the small {}', 'a photo of the weird {}', 'a photo of the large {}', 'a photo of a cool {}',
  'a photo of a small {}',
] as const;

export const STYLE_TEMPLATES = [
  'a painting in the style of {}', 'a rendering in the style of {}', 'a cropped painting in the style of {}', 'the painting in the style of {}',
  'a clean painting in the style of {}', 'a dirty painting in the style of {}', 'a dark painting in the style of {}', 'a picture in the style of {}',
  'a cool painting in the style of {}', 'a close-up painting in the style of {}', 'a bright painting in the style of {}',
  'a cropped painting in the style of {}', 'a good painting in the style of {}', 'a close-up painting in the style of {}',
  'a rendition in the style of {}', 'a nice painting in the style of {}', 'a small painting in the style of {}',
  'a weird painting in the style of {}', 'a large painting in the style of {}',
] as const;

/** Random streams of a run (seeds.ts): the epoch order, and each micro-batch's choices and noise. */
export const STREAM_ORDER = 0;
export const STREAM_BATCH = 1;

/** Pixels of an image (flipped left–right if asked) as the script's x / 127.5 − 1, [1, 3, H, W]. */
export function pixelValues(image: RgbImage, flip: boolean): Tensor<'float32'> {
  const { width: W, height: H, data } = image;
  const out = new Tensor('float32', [1, 3, H, W]);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const src = (y * W + (flip ? W - 1 - x : x)) * 3;
      for (let c = 0; c < 3; c++) out.data[c * H * W + y * W + x] = Math.fround(data[src + c] / 127.5 - 1);
    }
  }
  return out;
}

/** Which image stream position `j` shows: epoch ⌊j / L⌋'s shuffle of `repeats` copies, L = images · repeats. */
export class DataOrder {
  private epoch = -1;
  private order: number[] = [];

  constructor(
    private readonly seed: number | bigint,
    private readonly images: number,
    private readonly repeats: number,
  ) {}

  imageAt(j: number): number {
    const L = this.images * this.repeats;
    const e = Math.floor(j / L);
    if (e !== this.epoch) {
      this.order = permutation(streamGenerator(this.seed, STREAM_ORDER, e), L);
      this.epoch = e;
    }
    return this.order[j % L] % this.images;
  }
}

/** The VAE posteriors of the training images, computed on first use per (image, flip). */
export class LatentCache {
  private readonly cache = new Map<string, { mean: Tensor<'float32'>; std: Tensor<'float32'> }>();

  constructor(
    private readonly vae: AutoencoderKL,
    private readonly images: readonly RgbImage[],
  ) {}

  /** scaling_factor · (mean + std·ε), ε ~ randn from `g`: [1, 4, h, w]. */
  async sample(image: number, flip: boolean, g: Generator): Promise<Tensor<'float32'>> {
    const key = `${image}:${flip}`;
    let dist = this.cache.get(key);
    if (!dist) {
      const { latentDist } = await this.vae.encode(pixelValues(this.images[image], flip));
      dist = { mean: latentDist.mean, std: latentDist.std };
      this.cache.set(key, dist);
    }
    const eps = g.randn(dist.mean.shape);
    const s = Math.fround(this.vae.scalingFactor);
    const out = new Tensor('float32', dist.mean.shape);
    for (let i = 0; i < out.size; i++) out.data[i] = Math.fround(s * Math.fround(dist.mean.data[i] + Math.fround(dist.std.data[i] * eps.data[i])));
    return out;
  }
}

/** The images must already be resolution² (the script resizes every image to that square). */
export function checkTrainingImages(images: readonly RgbImage[], resolution: number): void {
  if (!Array.isArray(images) || images.length === 0) {
    throw new LatentlabError('TRAIN_DATA', 'no training images', { key: 'images', hint: 'pass the concept\'s pictures (3–5 are typical), read with readTrainingImages(dir, { resolution })' });
  }
  images.forEach((im, i) => {
    if (im.width !== resolution || im.height !== resolution) {
      throw new LatentlabError('TRAIN_DATA', `training image ${i} is ${im.width}×${im.height}; every image must be ${resolution}×${resolution} (the resolution)`, {
        key: 'images', hint: 'read them with readTrainingImages(dir, { resolution }), which resizes (and optionally center-crops) as the script does',
      });
    }
  });
}
