// Writes the sample pictures the deep-dive examples start from (examples/deep-dive/images/): a few
// Fashion-MNIST test images, padded to 32×32 and tinted exactly as latentlab-mini's training data
// (train/mini/data.ts), plus two handfuls for textual inversion (sections 11 and 13): eight
// garments tinted cyan (images/cyan), and the same eight untinted (images/white) — grey-white, a
// colour the mini model never saw. They come from the *test* split,
// so the model has not trained on them. Needs Debian's data set (`apt-get install dataset-fashion-mnist`):
//
//   npx tsx examples/deep-dive/make-sample-images.ts [--data /usr/share/datasets/fashion-mnist] [--out examples/deep-dive/images]

import { mkdir, rename } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import {
  caption, CLASS_NAMES, COLORS, DEFAULT_FASHION_MNIST_DIR, type GarmentImages, LatentlabError, loadFashionMnist, postprocess, Tensor, tintedBatch, type TintedExample,
  writePng,
} from 'latentlab';

import { runIfMain } from './common.js';

/** The tinted samples: class and colour (names as in the captions). */
const TINTED = [['sneaker', 'red'], ['ankle boot', 'blue'], ['dress', 'yellow'], ['bag', 'green']] as const;
/** The untinted ("white") samples: a few classes, two pictures each. */
const WHITE = ['sneaker', 'sneaker', 't-shirt', 't-shirt', 'dress', 'dress', 'bag', 'bag'] as const;

export const SAMPLE_DIR = fileURLToPath(new URL('images', import.meta.url));

export async function main(argv: string[] = []) {
  const data = argValue(argv, '--data') ?? DEFAULT_FASHION_MNIST_DIR;
  const out = argValue(argv, '--out') ?? SAMPLE_DIR;
  const test = await loadFashionMnist(data, 'test');
  const files: string[] = [];
  await mkdir(join(out, 'white'), { recursive: true });

  // The n-th test image of a class (test images are in no particular order).
  const nth = (className: string, n: number): number => {
    const label = CLASS_NAMES.indexOf(className as (typeof CLASS_NAMES)[number]);
    for (let i = 0, seen = 0; i < test.count; i++) if (test.labels[i] === label && seen++ === n) return i;
    throw new LatentlabError('EXAMPLE_ARGUMENT', `the test split has fewer than ${n + 1} images of "${className}"`, { hint: 'use the full Fashion-MNIST test split' });
  };

  // Tinted: the training data's own code, so the samples are what the model learned from.
  for (const [className, colorName] of TINTED) {
    const index = nth(className, 0);
    const color = COLORS.findIndex(([name]) => name === colorName);
    const example: TintedExample = { index, label: test.labels[index], color, caption: caption('a photo of a {c} {k}', colorName, className) };
    const [image] = postprocess(tintedBatch(test, [example], 32)); // [1, 3, 32, 32] in [−1, 1] → pixels
    files.push(await save(join(out, `${colorName}-${className.replace(' ', '-')}.png`), image));
  }

  // Untinted: the grey garment itself, padded like the tinted ones (white on black).
  const counts = new Map<string, number>();
  for (const className of WHITE) {
    const n = counts.get(className) ?? 0;
    counts.set(className, n + 1);
    const [image] = postprocess(grey(test, nth(className, n), 32));
    files.push(await save(join(out, 'white', `${className.replace(' ', '-')}-${n}.png`), image));
  }
  // Cyan: the same eight garments tinted cyan, for learning a new word for a colour (section 13).
  const cyan = COLORS.findIndex(([name]) => name === 'cyan');
  await mkdir(join(out, 'cyan'), { recursive: true });
  counts.clear();
  for (const className of WHITE) {
    const n = counts.get(className) ?? 0;
    counts.set(className, n + 1);
    const index = nth(className, n);
    const [image] = postprocess(tintedBatch(test, [{ index, label: test.labels[index], color: cyan, caption: '' }], 32));
    files.push(await save(join(out, 'cyan', `${className.replace(' ', '-')}-${n}.png`), image));
  }
  return { files };
}

/** Image `index` as [1, 3, size, size] in [−1, 1], untinted: 2·g − 1 in all three channels, centred. */
function grey(images: GarmentImages, index: number, size: number): Tensor<'float32'> {
  const { height: h, width: w } = images;
  const t = new Tensor('float32', [1, 3, size, size]);
  t.data.fill(-1);
  const [top, left] = [(size - h) >> 1, (size - w) >> 1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 2 * (images.pixels[index * h * w + y * w + x] / 255) - 1;
      for (let c = 0; c < 3; c++) t.data[c * size * size + (top + y) * size + left + x] = v;
    }
  }
  return t;
}

async function save(path: string, image: Parameters<typeof writePng>[1]): Promise<string> {
  await writePng(`${path}.tmp`, image);
  await rename(`${path}.tmp`, path);
  return path;
}

function argValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  if (argv[i + 1] === undefined) throw new LatentlabError('EXAMPLE_ARGUMENT', `${flag} needs a value`, { hint: `${flag} DIR` });
  return argv[i + 1];
}

runIfMain(import.meta.url, main);
