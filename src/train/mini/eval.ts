// `latentlab eval-mini`: how good latentlab-mini is, measured with its own classifier.
//
//   classifier   accuracy on the 10 000 tinted test images (the measuring stick's own accuracy)
//   vae          reconstruction PSNR on test images: decode(mean of encode(x)) against x
//   generation   `perClass` images per class from "a photo of a <colour> <class>" (colours in
//                turn), the pipeline's default sampler, steps and guidance — and again at guidance 1:
//                class accuracy (the classifier's argmax), colour accuracy (dominantColor), and the
//                Fréchet distance to the test set in the classifier's feature space, with the
//                distance of as many real training images to the test set as its floor
//
// `precision: 'int8'` runs the generations on the int8 UNet, as the pipeline option does (the text
// encoder, the VAE and the classifier — the measuring stick — stay float32): docs/benchmarks.md#int8.

import { Tensor } from '../../core/tensor.js';
import { preprocessBatch } from '../../image/convert.js';
import type { RgbImage } from '../../image/rgb-image.js';
import { AutoencoderKL } from '../../models/autoencoder-kl.js';
import { GarmentClassifier } from '../../models/garment-classifier.js';
import { StableDiffusionPipeline } from '../../pipelines/stable-diffusion.js';
import { caption, CLASS_NAMES, COLORS, dominantColor, drawExample, tintedBatch, type GarmentImages, type TintedExample } from './data.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { featureGaussian, frechetDistance, type Gaussian } from './frechet.js';

export interface MiniEvalOptions {
  model: string;
  data: string;
  /** Generated images per class (default 100). */
  perClass?: number;
  /** Test images for the classifier, the VAE and the reference statistics (default: all 10 000). */
  testImages?: number;
  seed?: number;
  threads?: number;
  /** The generating pipeline's UNet precision (default 'fp32'). */
  precision?: 'fp32' | 'int8';
  onNote?(message: string): void;
}

export interface GenerationScores {
  guidanceScale: number;
  images: number;
  classAccuracy: number;
  colorAccuracy: number;
  frechetDistance: number;
}

export interface MiniEvalReport {
  classifierTestAccuracy: number;
  reconstructionPsnr: number;
  /** Fréchet distance of `perClass · 10` real training images to the test set (the floor). */
  frechetFloor: number;
  generated: GenerationScores[];
  testImages: number;
  steps: number;
  scheduler: string;
  seed: number;
  /** The UNet precision the generations ran with. */
  precision: 'fp32' | 'int8';
}

const BATCH = 100;

function tinted(images: GarmentImages, seed: number, count: number, offset = 0): TintedExample[] {
  return Array.from({ length: count }, (_, i) => drawExample(images, i, seed, offset + i));
}

async function classifyAll(cls: GarmentClassifier, batches: AsyncIterable<Tensor<'float32'>> | Iterable<Tensor<'float32'>>): Promise<{ predicted: number[]; features: Float32Array[] }> {
  const predicted: number[] = [];
  const features: Float32Array[] = [];
  for await (const x of batches) {
    const r = await cls.classify(x);
    const k = cls.config.num_classes;
    for (let b = 0; b < x.shape[0]; b++) {
      const row = r.logits.data.subarray(b * k, (b + 1) * k);
      predicted.push(row.indexOf(Math.max(...row)));
    }
    features.push(r.features.data.slice());
  }
  return { predicted, features };
}

function* batchesOf(images: GarmentImages, examples: readonly TintedExample[], size: number): Generator<Tensor<'float32'>> {
  for (let i = 0; i < examples.length; i += BATCH) yield tintedBatch(images, examples.slice(i, i + BATCH), size);
}

const gaussianOf = (features: Float32Array[], dim: number): Gaussian => {
  const all = new Float32Array(features.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of features) {
    all.set(f, at);
    at += f.length;
  }
  return featureGaussian(all, dim);
};

export async function evaluateMini(o: MiniEvalOptions): Promise<MiniEvalReport> {
  const seed = o.seed ?? 0;
  const perClass = o.perClass ?? 100;
  const test = await loadFashionMnist(o.data, 'test', o.testImages);
  const train = await loadFashionMnist(o.data, 'train');
  const compile = o.threads ? { threads: o.threads } : {};
  const cls = await GarmentClassifier.fromPretrained(o.model, compile);
  const pipe = await StableDiffusionPipeline.fromPretrained(o.model, { ...compile, ...(o.precision ? { precision: o.precision } : {}) });
  const vae = await AutoencoderKL.fromPretrained(o.model, compile);
  const S = cls.config.sample_size;
  const dim = cls.config.hidden_size;
  try {
    // 1. The classifier on the test set (tints drawn with the eval seed).
    const testEx = tinted(test, seed, test.count);
    const real = await classifyAll(cls, batchesOf(test, testEx, S));
    const classifierTestAccuracy = real.predicted.filter((p, i) => p === testEx[i].label).length / test.count;
    o.onNote?.(`classifier: ${(100 * classifierTestAccuracy).toFixed(2)}% on ${test.count} test images`);
    const testStats = gaussianOf(real.features, dim);
    const floorEx = tinted(train, seed + 1, perClass * CLASS_NAMES.length);
    const frechetFloor = frechetDistance(gaussianOf((await classifyAll(cls, batchesOf(train, floorEx, S))).features, dim), testStats);

    // 2. VAE reconstruction PSNR (peak-to-peak 2 in [−1, 1]) over the first 2 000 test images.
    let se = 0;
    let n = 0;
    for (const x of batchesOf(test, testEx.slice(0, 2000), S)) {
      const y = (await vae.decode((await vae.encode(x)).latentDist.mean)).sample.data;
      for (let i = 0; i < y.length; i++) se += (Math.max(-1, Math.min(1, y[i])) - x.data[i]) ** 2;
      n += y.length;
    }
    const reconstructionPsnr = 10 * Math.log10(4 / (se / n));
    o.onNote?.(`vae: reconstruction PSNR ${reconstructionPsnr.toFixed(2)} dB`);

    // 3. Generation at the default guidance and without guidance.
    const prompts = Array.from({ length: perClass * CLASS_NAMES.length }, (_, i) => ({
      label: i % CLASS_NAMES.length, color: Math.floor(i / CLASS_NAMES.length) % COLORS.length,
    }));
    const generated: GenerationScores[] = [];
    for (const guidanceScale of [7.5, 1]) {
      const images: RgbImage[] = [];
      for (let i = 0; i < prompts.length; i += BATCH) {
        const chunk = prompts.slice(i, i + BATCH);
        const r = await pipe.call({ prompt: chunk.map((p) => caption('a photo of a {c} {k}', COLORS[p.color][0], CLASS_NAMES[p.label])), seed: seed + i, guidanceScale });
        images.push(...r.images);
      }
      const g = await classifyAll(cls, (function* () {
        for (let i = 0; i < images.length; i += BATCH) yield preprocessBatch(images.slice(i, i + BATCH));
      })());
      const scores: GenerationScores = {
        guidanceScale, images: images.length,
        classAccuracy: g.predicted.filter((p, i) => p === prompts[i].label).length / images.length,
        colorAccuracy: images.filter((im, i) => dominantColor(im.data) === prompts[i].color).length / images.length,
        frechetDistance: frechetDistance(gaussianOf(g.features, dim), testStats),
      };
      o.onNote?.(`guidance ${guidanceScale}: class ${(100 * scores.classAccuracy).toFixed(1)}%, colour ${(100 * scores.colorAccuracy).toFixed(1)}%, Fréchet ${scores.frechetDistance.toFixed(3)} (floor ${frechetFloor.toFixed(3)})`);
      generated.push(scores);
    }
    return { classifierTestAccuracy, reconstructionPsnr, frechetFloor, generated, testImages: test.count, steps: 50, scheduler: pipe.scheduler.className, seed, precision: pipe.unet.precision };
  } finally {
    await pipe.release();
    await vae.release();
    await cls.release();
  }
}
