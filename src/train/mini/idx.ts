// The IDX format of (Fashion-)MNIST (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"):
//
//   bytes 0–1  0x00 0x00
//   byte  2    element type: 0x08 unsigned byte (the only one these data sets use)
//   byte  3    number of dimensions d
//   then d big-endian uint32 sizes, then the elements in row-major order
//
// images: d = 3, [N, 28, 28]; labels: d = 1, [N]. The files ship gzip-compressed (`*.gz`).

import { gunzipSync } from 'fflate';

import { LatentlabError } from '../../core/errors.js';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses an IDX file (gzip-compressed or not); `name` is used in errors. */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  let raw = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes);
    } catch (e) {
      throw new LatentlabError('DATA_FORMAT', `${name}: the gzip stream is damaged (${(e as Error).message})`, { file: name, hint: 'reinstall the data (apt-get install --reinstall dataset-fashion-mnist) or download the file again' });
    }
  }
  const fail = (what: string): never => {
    throw new LatentlabError('DATA_FORMAT', `${name}: not an IDX file: ${what}`, { file: name, hint: 'pass the *-idx3-ubyte(.gz) / *-idx1-ubyte(.gz) files of Fashion-MNIST' });
  };
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) fail(`the magic number starts with ${[...raw.subarray(0, 2)].join(', ')}, expected 0, 0`);
  if (raw[2] !== 0x08) fail(`element type 0x${raw[2].toString(16)}, expected 0x08 (unsigned byte)`);
  const d = raw[3];
  if (d < 1 || d > 4) fail(`${d} dimensions, expected 1–4`);
  const head = 4 + 4 * d;
  if (raw.length < head) fail(`${raw.length} bytes is shorter than its header (${head})`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = Array.from({ length: d }, (_, i) => view.getUint32(4 + 4 * i, false));
  const n = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== head + n) fail(`the header says ${shape.join('×')} = ${n} elements, the file holds ${raw.length - head} (truncated or padded)`);
  return { shape, data: raw.subarray(head) };
}

/** An images file [N, H, W] and its labels file [N]: checked against each other. */
export function idxImagesAndLabels(images: IdxArray, labels: IdxArray, names: [string, string], numClasses: number): { count: number; height: number; width: number; pixels: Uint8Array; labels: Uint8Array } {
  if (images.shape.length !== 3) throw new LatentlabError('DATA_FORMAT', `${names[0]}: ${images.shape.length} dimensions, expected 3 (count, height, width)`, { file: names[0] });
  if (labels.shape.length !== 1) throw new LatentlabError('DATA_FORMAT', `${names[1]}: ${labels.shape.length} dimensions, expected 1 (count)`, { file: names[1] });
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) {
    throw new LatentlabError('DATA_FORMAT', `${names[1]} has ${labels.shape[0]} labels for the ${count} images of ${names[0]}`, { file: names[1], hint: 'pair train-images with train-labels and t10k-images with t10k-labels' });
  }
  const bad = labels.data.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new LatentlabError('DATA_FORMAT', `${names[1]}: label ${labels.data[bad]} at index ${bad}, expected 0–${numClasses - 1}`, { file: names[1] });
  return { count, height, width, pixels: images.data, labels: labels.data };
}
