// The shipped model (models/latentlab-mini): the default of fromPretrained() and of the CLI, a
// golden image it must reproduce (≤ 1 level off on ≤ 0.5% of values, as tinygrad's SD example
// checks itself), pictures of the asked class and colour, and classifier guidance that steers.

import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CLASS_NAMES, classifierGuidance, COLORS, defaultModelPath, dominantColor, GarmentClassifier, preprocessBatch, readImage, type RgbImage, StableDiffusionPipeline,
} from '../../src/node.js';
import { parseReport, runCli, tempDir } from '../cli/run-cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const GOLDEN = join(fixturePath('..'), 'golden', 'latentlab-mini-red-sneaker-seed0.png');
/** The golden image's settings: the pipeline's defaults otherwise (DPM++ 2M, 50 steps, guidance 7.5, 32×32). */
const PROMPT = 'a photo of a red sneaker';

let pipe: StableDiffusionPipeline;
let classifier: GarmentClassifier;
beforeAll(async () => {
  pipe = await StableDiffusionPipeline.fromPretrained();
  classifier = await GarmentClassifier.fromPretrained(defaultModelPath());
});
afterAll(async () => {
  await pipe.release();
  await classifier.release();
});

/** ≤ 1 level off on ≤ 0.5% of the values. */
async function expectGolden(image: RgbImage): Promise<void> {
  const golden = await readImage(GOLDEN);
  expect([image.width, image.height]).toEqual([golden.width, golden.height]);
  let off = 0;
  let worst = 0;
  image.data.forEach((v, i) => {
    const d = Math.abs(v - golden.data[i]);
    worst = Math.max(worst, d);
    if (d > 0) off++;
  });
  expect(worst).toBeLessThanOrEqual(1);
  expect(off / golden.data.length).toBeLessThanOrEqual(0.005);
}

async function probabilities(images: RgbImage[]): Promise<number[][]> {
  const { logits } = await classifier.classify(preprocessBatch(images));
  const k = classifier.config.num_classes;
  return images.map((_, b) => {
    const row = [...logits.data.subarray(b * k, (b + 1) * k)];
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const s = e.reduce((a, x) => a + x, 0);
    return e.map((x) => x / s);
  });
}

describe('latentlab-mini, the shipped default model', () => {
  it('is what fromPretrained() loads, at its own size', () => {
    expect(pipe.folder).toBe(defaultModelPath());
    expect([pipe.unet.config.sample_size, pipe.vae.config.latent_channels]).toEqual([8, 4]);
  });

  it('reproduces the golden image', async () => {
    const { images } = await pipe.call({ prompt: PROMPT, seed: 0 });
    await expectGolden(images[0]);
  });

  it('draws the asked class in the asked colour', async () => {
    const asked = [['red', 'sneaker'], ['blue', 'trousers'], ['yellow', 'bag'], ['green', 'dress']] as const;
    const { images } = await pipe.call({ prompt: asked.map(([c, k]) => `a photo of a ${c} ${k}`), seed: 1 });
    const p = await probabilities(images);
    asked.forEach(([color, kind], i) => {
      expect(COLORS[dominantColor(images[i].data)][0], `image ${i}: colour`).toBe(color);
      expect(CLASS_NAMES[p[i].indexOf(Math.max(...p[i]))], `image ${i}: class`).toBe(kind);
    });
  });

  it('steers an empty prompt to a class with classifier guidance', async () => {
    // The deep dive's settings (examples/deep-dive/12): Euler, no CFG, scale 0.1 at every step.
    for (const kind of ['trousers', 'ankle boot'] as const) {
      const target = CLASS_NAMES.indexOf(kind);
      const guide = classifierGuidance(classifier, kind, { scale: 0.1 });
      const plain: RgbImage[] = [];
      const guided: RgbImage[] = [];
      for (const seed of [0, 1, 2, 3]) {
        const common = { prompt: '', seed, numInferenceSteps: 30, guidanceScale: 1, scheduler: 'euler' } as const;
        plain.push((await pipe.call(common)).images[0]);
        guided.push((await pipe.call({ ...common, lossGuidance: [guide] })).images[0]);
      }
      const mean = (ps: number[][]) => ps.reduce((a, row) => a + row[target], 0) / ps.length;
      const [before, after] = [mean(await probabilities(plain)), mean(await probabilities(guided))];
      console.log(`classifier guidance to "${kind}": p = ${before.toFixed(3)} unguided, ${after.toFixed(3)} guided`);
      expect(after, kind).toBeGreaterThan(Math.max(0.5, before + 0.3));
    }
  });

  it('is the CLI\'s default: generate with no --model, offline', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--prompt', PROMPT, '--seed', '0', '--out', join(dir, 'sneaker.png'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.settings.folder).toBe(defaultModelPath());
    await expectGolden(await readImage(join(dir, 'sneaker.png')));
    const info = await runCli(['info']);
    expect(info.stdout).toMatch(/latentlab-mini[\s\S]*GarmentClassifier[\s\S]*default size 32×32/);
  });

  it('refuses classifier guidance at a size the classifier was not trained on', async () => {
    await expect(pipe.call({ prompt: '', numInferenceSteps: 2, height: 64, width: 64, lossGuidance: [classifierGuidance(classifier, 0)] })).rejects.toThrow(/decoded image is 3×64×64; the classifier takes 3×32×32/);
    expect(() => classifierGuidance(classifier, 'hat')).toThrow(/one of "t-shirt"/);
  });
});
