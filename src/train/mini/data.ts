// The mini model's task: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence) made colourful
// and text-conditional. Each 28×28 grey garment g ∈ [0, 1] is padded by 2 to 32×32 and tinted with
// one of eight colours c (HSV hue h, full saturation and value): pixel = g · rgb(c), on black. A
// caption names the colour and/or the class from templates, and ~15% of captions are empty, so the
// UNet also learns the unconditional prediction that classifier-free guidance needs (SD dropped
// 10% of its captions the same way).
//
// Every random choice (colour, template, caption drop) of example i in epoch e comes from
// streamGenerator(seed, stream, e·N + i), so a batch is a pure function of (seed, step): resuming
// reproduces the uninterrupted run.

import { Tensor } from '../../core/tensor.js';
import { randomIndex, streamGenerator } from '../seeds.js';

export const CLASS_NAMES = ['t-shirt', 'trousers', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'] as const;

/** The eight tints: name and HSV hue in degrees. */
export const COLORS = [
  ['red', 0], ['orange', 30], ['yellow', 60], ['green', 120], ['cyan', 180], ['blue', 240], ['purple', 280], ['pink', 330],
] as const satisfies readonly (readonly [string, number])[];

export type ColorName = (typeof COLORS)[number][0];

/** RGB in [0, 1] of a hue at full saturation and value (the HSV → RGB formula). */
export function hueToRgb(hueDegrees: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + hueDegrees / 60) % 6;
    return 1 - Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/** The templates: {c} is the colour, {k} the class; those without {c} leave the colour to chance. */
export const CAPTION_TEMPLATES = ['a photo of a {c} {k}', 'a {c} {k}', '{c} {k}', 'a photo of a {k}', '{k}', 'a {k} in {c}'] as const;

/** Fraction of captions replaced by "" (the unconditional prompt). */
export const CAPTION_DROP = 0.15;

/** "a" → "an" before a vowel ("an orange sneaker", "an ankle boot"). */
function article(text: string): string {
  return text.replace(/\ba ([aeiou])/g, 'an $1');
}

export function caption(template: string, color: string, className: string): string {
  return article(template.replace('{c}', color).replace('{k}', className));
}

/** The grey garments: count × 28 × 28 bytes and their labels. */
export interface GarmentImages {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface TintedExample {
  /** Index into the images. */
  index: number;
  label: number;
  color: number;
  caption: string;
}

const STREAM_EXAMPLE = 1;

/** The colour and caption of example `index` at draw `draw` (epoch · N + position). */
export function drawExample(images: GarmentImages, index: number, seed: number, draw: number): TintedExample {
  const g = streamGenerator(seed, STREAM_EXAMPLE, draw);
  const color = randomIndex(g, COLORS.length);
  const template = CAPTION_TEMPLATES[randomIndex(g, CAPTION_TEMPLATES.length)];
  const dropped = g.rand([1]).data[0] < CAPTION_DROP;
  const label = images.labels[index];
  return { index, label, color, caption: dropped ? '' : caption(template, COLORS[color][0], CLASS_NAMES[label]) };
}

/**
 * Writes example `index` tinted with `color` into `out` at item `b` of a [B, 3, S, S] batch, in
 * the VAE's range [−1, 1] (2·pixel − 1), padded to S = size (centred).
 */
export function writeTinted(images: GarmentImages, index: number, color: number, out: Float32Array, b: number, size: number): void {
  const { height: h, width: w } = images;
  const top = (size - h) >> 1;
  const left = (size - w) >> 1;
  const rgb = hueToRgb(COLORS[color][1]);
  const plane = size * size;
  const base = b * 3 * plane;
  for (let c = 0; c < 3; c++) out.fill(-1, base + c * plane, base + (c + 1) * plane);
  const src = images.pixels.subarray(index * h * w, (index + 1) * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = src[y * w + x] / 255;
      const at = (top + y) * size + left + x;
      for (let c = 0; c < 3; c++) out[base + c * plane + at] = 2 * v * rgb[c] - 1;
    }
  }
}

/** A batch of tinted images [B, 3, S, S] for the given examples. */
export function tintedBatch(images: GarmentImages, examples: readonly TintedExample[], size: number): Tensor<'float32'> {
  const t = new Tensor('float32', [examples.length, 3, size, size]);
  examples.forEach((e, b) => writeTinted(images, e.index, e.color, t.data, b, size));
  return t;
}

/**
 * The colour of a generated image, as the nearest of the eight hues to the image's mean hue over
 * its bright pixels (max channel > 0.25), or -1 when nothing is bright. `rgb` is HWC bytes.
 */
export function dominantColor(rgb: Uint8Array): number {
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i] / 255;
    const g = rgb[i + 1] / 255;
    const b = rgb[i + 2] / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    if (max < 0.25 || max - min < 0.1) continue;
    const d = max - min;
    let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    h = (h * 60 + 360) % 360;
    // Weighted by chroma: the bright, saturated pixels carry the tint.
    sx += d * Math.cos((h * Math.PI) / 180);
    sy += d * Math.sin((h * Math.PI) / 180);
  }
  if (sx === 0 && sy === 0) return -1;
  const mean = ((Math.atan2(sy, sx) * 180) / Math.PI + 360) % 360;
  let best = 0;
  let bestDist = Infinity;
  COLORS.forEach(([, hue], i) => {
    const dist = Math.min(Math.abs(mean - hue), 360 - Math.abs(mean - hue));
    if (dist < bestDist) [best, bestDist] = [i, dist];
  });
  return best;
}
