// The mini model's data: the IDX reader (and its errors), the tints, captions and the colour
// measurement, and the Fréchet distance.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import {
  caption, COLORS, dominantColor, drawExample, featureGaussian, frechetDistance, hueToRgb, idxImagesAndLabels, LatentlabError, loadFashionMnist, parseIdx, tintedBatch,
} from '../../../src/node.js';
import { idxBytes } from './synthetic-data.js';

const images = () => {
  const pixels = new Uint8Array(3 * 28 * 28);
  pixels.fill(255, 0, 784); // image 0: all bright
  pixels.fill(128, 784 + 300, 784 + 500);
  return { count: 3, height: 28, width: 28, pixels, labels: Uint8Array.from([7, 9, 0]) };
};

describe('IDX files', () => {
  it('reads plain and gzip-compressed files', () => {
    const raw = idxBytes([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6]));
    for (const bytes of [raw, gzipSync(raw)]) {
      const a = parseIdx(bytes, 'x.idx');
      expect(a.shape).toEqual([2, 3]);
      expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('refuses a wrong magic number, element type, truncation and a damaged gzip stream, naming the file', () => {
    const ok = idxBytes([2, 3], new Uint8Array(6));
    const bad = (bytes: Uint8Array, pattern: RegExp) => {
      expect(() => parseIdx(bytes, 'f.gz')).toThrow(pattern);
      try {
        parseIdx(bytes, 'f.gz');
      } catch (e) {
        expect(e).toBeInstanceOf(LatentlabError);
        expect((e as LatentlabError).code).toBe('DATA_FORMAT');
        expect((e as LatentlabError).file).toBe('f.gz');
      }
    };
    bad(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /magic number starts with 1, 0/);
    bad(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /element type 0xd/);
    bad(ok.subarray(0, ok.length - 1), /says 2×3 = 6 elements, the file holds 5/);
    const gz = gzipSync(ok);
    bad(gz.subarray(0, 12), /gzip stream is damaged/);
  });

  it('checks images against labels', () => {
    const img = parseIdx(idxBytes([2, 2, 2], new Uint8Array(8)), 'i');
    expect(() => idxImagesAndLabels(img, parseIdx(idxBytes([3], new Uint8Array(3)), 'l'), ['i', 'l'], 10)).toThrow(/3 labels for the 2 images/);
    expect(() => idxImagesAndLabels(img, parseIdx(idxBytes([2], Uint8Array.from([0, 12])), 'l'), ['i', 'l'], 10)).toThrow(/label 12 at index 1, expected 0–9/);
  });
});

describe('tints and captions', () => {
  it('maps the eight hues to their RGB and measures them back from a tinted garment', () => {
    expect(hueToRgb(0)).toEqual([1, 0, 0]);
    expect(hueToRgb(180)).toEqual([0, 1, 1]);
    expect(hueToRgb(30)).toEqual([1, 0.5, 0]);
    const im = images();
    COLORS.forEach((_, color) => {
      const t = tintedBatch(im, [{ index: 1, label: 9, color, caption: '' }], 32);
      const rgb = new Uint8Array(32 * 32 * 3);
      for (let i = 0; i < 32 * 32; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(((t.data[c * 1024 + i] + 1) / 2) * 255);
      expect(dominantColor(rgb)).toBe(color);
    });
    expect(dominantColor(new Uint8Array(30))).toBe(-1); // black: no colour
  });

  it('pads to 32×32 on black, in [−1, 1]', () => {
    const t = tintedBatch(images(), [{ index: 0, label: 7, color: 0, caption: '' }], 32);
    expect(t.shape).toEqual([1, 3, 32, 32]);
    expect(t.data[0]).toBe(-1); // the padding
    expect(t.data[2 * 32 + 2]).toBe(1); // red channel of the garment
    expect(t.data[1024 + 2 * 32 + 2]).toBe(-1); // no green in red
  });

  it('writes captions with the right article, and draws the same example for the same (seed, draw)', () => {
    expect(caption('a photo of a {c} {k}', 'orange', 'sneaker')).toBe('a photo of an orange sneaker');
    expect(caption('a {k}', 'red', 'ankle boot')).toBe('an ankle boot');
    const im = images();
    expect(drawExample(im, 1, 5, 42)).toEqual(drawExample(im, 1, 5, 42));
    const drawn = Array.from({ length: 400 }, (_, i) => drawExample(im, 0, 3, i));
    const empty = drawn.filter((e) => e.caption === '').length / drawn.length;
    expect(empty).toBeGreaterThan(0.08);
    expect(empty).toBeLessThan(0.22);
    expect(new Set(drawn.map((e) => e.color)).size).toBe(8);
  });
});

describe('Fréchet distance', () => {
  it('is 0 between a set and itself and matches the closed form in 1-D', () => {
    const a = Float64Array.from({ length: 400 }, (_, i) => Math.sin(i) * 3 + Math.cos(i * 0.7));
    expect(Math.abs(frechetDistance(featureGaussian(a, 2), featureGaussian(a, 2)))).toBeLessThan(1e-9);
    // N(μ1, s1²) vs N(μ2, s2²): (μ1 − μ2)² + (s1 − s2)².
    const x = Float64Array.from([-1, 1, -1, 1]);
    const y = Float64Array.from([1, 5, 1, 5]);
    const s1 = Math.sqrt(4 / 3);
    const s2 = Math.sqrt(16 / 3);
    expect(frechetDistance(featureGaussian(x, 1), featureGaussian(y, 1))).toBeCloseTo(9 + (s1 - s2) ** 2, 9);
  });
});

describe('loading Fashion-MNIST', () => {
  it('names the missing file and how to get the data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-fmnist-'));
    await expect(loadFashionMnist(dir, 'train')).rejects.toMatchObject({ code: 'DATA_NOT_FOUND', message: expect.stringMatching(/no train-images-idx3-ubyte\.gz[\s\S]*apt-get install dataset-fashion-mnist/) });
  });
});
