// RgbImage: the one pixel type of latentlab — 8-bit RGB, row-major, channels last (HWC), exactly
// the bytes of a PIL "RGB" image (`np.array(pil_image)`). Pipelines return it, the PNG writer takes
// it, the picture helpers draw on it. No alpha: diffusers converts every input to RGB and every
// output is RGB.

import { check, fmtValue } from '../core/errors.js';

export interface RgbImage {
  width: number;
  height: number;
  /** width · height · 3 bytes: R, G, B of pixel (0, 0), then (1, 0), ... row by row. */
  data: Uint8Array;
}

/** An RGB triple, each 0..255. */
export type Rgb = readonly [number, number, number];

/** A new image filled with one colour (black by default). */
export function createRgbImage(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  checkSize('createRgbImage', width, height);
  const data = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

function checkSize(what: string, width: number, height: number): void {
  check(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0, 'IMAGE_SIZE',
    () => `${what}: width and height must be positive integers, got ${fmtValue(width)}x${fmtValue(height)}`);
}

/** Throws IMAGE_INVALID unless `image` is a well-formed RgbImage; `name` says which argument it is. */
export function checkRgbImage(image: RgbImage, name = 'image'): void {
  check(image !== null && typeof image === 'object' && image.data instanceof Uint8Array, 'IMAGE_INVALID',
    () => `${name} is not an RgbImage {width, height, data: Uint8Array}`, {
      hint: 'read files with readImage(path), or build {width, height, data} with 3 bytes (R, G, B) per pixel',
    });
  checkSize(name, image.width, image.height);
  check(image.data.length === image.width * image.height * 3, 'IMAGE_INVALID',
    () => `${name} is ${image.width}x${image.height} and needs ${image.width * image.height * 3} bytes (RGB), got ${image.data.length}`, {
      hint: 'RgbImage data has 3 bytes per pixel, row-major, no alpha channel',
    });
}

/** Copies `src` into `dst` with its top-left corner at (x, y); parts outside `dst` are cut off. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(dst.width, x + src.width);
  if (x1 <= x0) return;
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const from = (sy * src.width + (x0 - x)) * 3;
    dst.data.set(src.data.subarray(from, from + (x1 - x0) * 3), (dy * dst.width + x0) * 3);
  }
}

/** Each pixel repeated `factor` × `factor` times (nearest neighbour): 64×64 latents become visible. */
export function upscaleNearest(image: RgbImage, factor: number): RgbImage {
  check(Number.isInteger(factor) && factor >= 1, 'IMAGE_ARGUMENT',
    () => `upscale factor must be a positive integer, got ${fmtValue(factor)}`);
  if (factor === 1) return { width: image.width, height: image.height, data: image.data.slice() };
  const out = createRgbImage(image.width * factor, image.height * factor);
  for (let y = 0; y < out.height; y++) {
    const srcRow = Math.floor(y / factor) * image.width;
    for (let x = 0; x < out.width; x++) {
      const s = (srcRow + Math.floor(x / factor)) * 3;
      const d = (y * out.width + x) * 3;
      out.data[d] = image.data[s];
      out.data[d + 1] = image.data[s + 1];
      out.data[d + 2] = image.data[s + 2];
    }
  }
  return out;
}

/** The colour of pixel (x, y). */
export function pixelAt(image: RgbImage, x: number, y: number): Rgb {
  const i = (y * image.width + x) * 3;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}
