// A synthetic Fashion-MNIST for the tests (the suite must not need Debian's package): IDX files,
// gzip-compressed like the real ones, with one easy-to-learn shape per class — a bright bar whose
// width grows with the class — plus seeded noise.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { gzipSync } from 'fflate';

/** The bytes of an IDX file of unsigned bytes with the given shape. */
export function idxBytes(shape: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head[2] = 0x08;
  head[3] = shape.length;
  const view = new DataView(head.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

function garments(count: number, seed: number): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(count * 28 * 28);
  const labels = new Uint8Array(count);
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let n = 0; n < count; n++) {
    const k = n % 10;
    labels[n] = k;
    const half = 1 + k;
    for (let y = 4; y < 24; y++) {
      for (let x = 14 - half; x < 14 + half; x++) pixels[n * 784 + y * 28 + x] = 180 + Math.floor(rand() * 75);
    }
  }
  return { pixels, labels };
}

/** A temporary folder with train (count) and t10k (count / 4) files. */
export function writeSyntheticFashionMnist(count = 256): string {
  const dir = mkdtempSync(join(tmpdir(), 'latentlab-fmnist-'));
  for (const [prefix, n, seed] of [['train', count, 1], ['t10k', Math.max(10, count >> 2), 2]] as const) {
    const { pixels, labels } = garments(n, seed);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idxBytes([n, 28, 28], pixels)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idxBytes([n], labels)));
  }
  return dir;
}
