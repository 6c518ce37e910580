// Loading Fashion-MNIST from a folder of its IDX files (Debian's dataset-fashion-mnist installs
// them in /usr/share/datasets/fashion-mnist; the originals from github.com/zalandoresearch are the
// same files), and the seeded order in which training visits them.

import { LatentlabError } from '../../core/errors.js';
import { fileSystem } from '../../core/io.js';
import { permutation, streamGenerator } from '../seeds.js';
import { CLASS_NAMES, drawExample, type GarmentImages, type TintedExample } from './data.js';
import { idxImagesAndLabels, parseIdx } from './idx.js';

export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

async function findFile(dir: string, stem: string): Promise<string> {
  const fs = fileSystem();
  for (const name of [`${stem}.gz`, stem]) {
    const p = fs.join(dir, name);
    if ((await fs.stat(p))?.isFile) return p;
  }
  throw new LatentlabError('DATA_NOT_FOUND', `${dir}: no ${stem}.gz (or ${stem}), so this is not a Fashion-MNIST folder`, {
    file: fs.join(dir, `${stem}.gz`),
    hint: `install the data with "apt-get install dataset-fashion-mnist" (files in ${DEFAULT_FASHION_MNIST_DIR}) or pass --data DIR with the four *-ubyte.gz files`,
  });
}

export async function loadFashionMnist(dir: string, split: 'train' | 'test', limit?: number): Promise<GarmentImages> {
  const fs = fileSystem();
  const [imgName, lblName] = FILES[split];
  const [imgFile, lblFile] = [await findFile(dir, imgName), await findFile(dir, lblName)];
  const d = idxImagesAndLabels(parseIdx(await fs.readBytes(imgFile), imgFile), parseIdx(await fs.readBytes(lblFile), lblFile), [imgFile, lblFile], CLASS_NAMES.length);
  const count = limit === undefined ? d.count : Math.min(limit, d.count);
  return { count, height: d.height, width: d.width, pixels: d.pixels.subarray(0, count * d.height * d.width), labels: d.labels.subarray(0, count) };
}

const STREAM_ORDER = 0;

/**
 * The examples of update step k with batch B: positions k·B … k·B + B − 1 of an endless sequence
 * of epochs, each a seeded permutation of the images (a shuffling DataLoader without drop_last
 * effects: an epoch boundary may fall inside a batch).
 */
export class EpochSampler {
  private epoch = -1;
  private order: number[] = [];

  constructor(
    readonly images: GarmentImages,
    readonly seed: number,
  ) {}

  batch(k: number, size: number): TintedExample[] {
    const n = this.images.count;
    const out: TintedExample[] = [];
    for (let pos = k * size; pos < (k + 1) * size; pos++) {
      const e = Math.floor(pos / n);
      if (e !== this.epoch) {
        this.order = permutation(streamGenerator(this.seed, STREAM_ORDER, e), n);
        this.epoch = e;
      }
      out.push(drawExample(this.images, this.order[pos % n], this.seed, pos));
    }
    return out;
  }
}
