// Inpainting masks, the way diffusers 0.27's mask processor reads them:
//
//   mask_processor = VaeImageProcessor(do_normalize=False, do_binarize=True, do_convert_grayscale=True)
//   mask_processor.preprocess(pil)  =  binarize(np.array(pil.convert("L")) / 255)      [1, 1, H, W], 0 or 1
//   mask_processor.blur(pil, r)     =  pil.filter(ImageFilter.GaussianBlur(r))          (optional, by hand)
//
// White (255) means "repaint", black (0) "keep". Binarising sends u8/255 < 0.5 to 0 and the rest to
// 1, i.e. 0…127 keep and 128…255 repaint. A soft mask edge (a blur) therefore only moves where the
// binary edge lies; diffusers has no soft blending in the latents.
//
// The blur is PIL's: not a true Gaussian but three passes of a box blur whose (fractional) width
// gives the Gaussian's variance, on 8-bit values with rounding after every pass, edges extended
// (Pillow's BoxBlur.c, following Gwosdek et al., "Theoretical foundations of Gaussian convolution by
// extended box filtering", 2011). Reproducing that keeps a blurred mask's binary edge where
// diffusers + PIL put it.

import { check } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { RgbImage } from './rgb-image.js';

/** One 8-bit channel, row-major: PIL's mode "L". */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Whether `image` has one channel (w·h bytes) rather than three. (Not a type guard: RgbImage and
 * GrayImage have the same fields, only the data's length tells them apart.)
 */
export function isGrayImage(image: RgbImage | GrayImage): boolean {
  return image.data.length === image.width * image.height;
}

/** PIL's `convert("L")`: ITU-R 601-2 luma in 16-bit fixed point, L = (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16. */
export function toGrayscale(image: RgbImage | GrayImage): GrayImage {
  if (isGrayImage(image)) return image;
  const n = image.width * image.height;
  check(image.data.length === n * 3, 'IMAGE_ARGUMENT', () => `an image of ${image.width}×${image.height} has ${image.data.length} bytes; expected ${n} (grey) or ${n * 3} (RGB)`);
  const out = new Uint8Array(n);
  const d = image.data;
  for (let p = 0; p < n; p++) out[p] = (d[3 * p] * 19595 + d[3 * p + 1] * 38470 + d[3 * p + 2] * 7471 + 0x8000) >>> 16;
  return { width: image.width, height: image.height, data: out };
}

/** [N, 1, H, W] float32 of 0/1: the masks binarised (u8/255 ≥ 0.5 → 1), diffusers' `mask_condition`. */
export function maskCondition(masks: readonly (RgbImage | GrayImage)[]): Tensor<'float32'> {
  const { width, height } = masks[0];
  const out = new Tensor('float32', [masks.length, 1, height, width]);
  masks.forEach((m, b) => {
    check(m.width === width && m.height === height, 'IMAGE_SIZE', () => `mask ${b} is ${m.width}×${m.height} but mask 0 is ${width}×${height}`);
    const g = toGrayscale(m).data;
    // float32(u8) / 255 ≥ 0.5 exactly when u8 ≥ 128 (127/255 = 0.498…, 128/255 = 0.502…).
    for (let p = 0; p < g.length; p++) out.data[b * g.length + p] = g[p] >= 128 ? 1 : 0;
  });
  return out;
}

/** Pillow's `_gaussian_blur_radius`: the fractional box radius whose `passes` passes have variance r²/passes each. */
function boxRadius(radius: number, passes: number): number {
  const f = Math.fround;
  const sigma2 = f(f(radius * radius) / passes);
  const L = f(Math.sqrt(12 * sigma2 + 1)); // [7] box length
  const l = f(Math.floor((L - 1) / 2)); // [11] integer part of the box radius
  let a = f(f(2 * l + 1) * f(l * (l + 1) - 3 * sigma2)); // [14] its fractional part
  a = f(a / f(6 * f(sigma2 - (l + 1) * (l + 1))));
  return f(l + a);
}

/**
 * One pass of the extended box blur along a line of n values read with `stride` (in place): each
 * output is ww·Σ(the 2r+1 inner values) + fw·(the two values just outside), in 24-bit fixed point
 * and rounded; values beyond the ends repeat the end value.
 */
function boxBlurLine(data: Uint8Array, start: number, stride: number, n: number, r: number, ww: number, fw: number, line: Uint8Array): void {
  const at = (x: number) => data[start + Math.min(n - 1, Math.max(0, x)) * stride];
  for (let x = 0; x < n; x++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += at(x + k);
    const bulk = acc * ww + (at(x - r - 1) + at(x + r + 1)) * fw;
    line[x] = Math.floor((bulk + (1 << 23)) / (1 << 24)); // (bulk + 2²³) >> 24; bulk < 2³² for 8-bit input
  }
  for (let x = 0; x < n; x++) data[start + x * stride] = line[x];
}

/**
 * diffusers' `mask_processor.blur(mask, blur_factor)` = PIL `GaussianBlur(radius)` on the grey
 * mask: three horizontal box passes, then three vertical ones. radius 0 returns the mask as it is.
 */
export function blurMask(mask: RgbImage | GrayImage, radius: number): GrayImage {
  check(Number.isFinite(radius) && radius >= 0, 'IMAGE_ARGUMENT', () => `the mask blur radius is ${radius}; expected a number ≥ 0 (pixels)`);
  const grey = toGrayscale(mask);
  if (radius === 0) return grey;
  const { width, height } = grey;
  const data = grey.data.slice();
  const passes = 3;
  const fr = boxRadius(radius, passes);
  const r = Math.trunc(fr);
  // The inner weight and the two outer ones: (2r+1)·ww + 2·fw = 2²⁴ (Pillow: UINT32 of a float division).
  const ww = Math.trunc(Math.fround((1 << 24) / Math.fround(fr * 2 + 1)));
  const fw = Math.trunc(((1 << 24) - (r * 2 + 1) * ww) / 2);
  const line = new Uint8Array(Math.max(width, height));
  for (let i = 0; i < passes; i++) for (let y = 0; y < height; y++) boxBlurLine(data, y * width, 1, width, r, ww, fw, line);
  for (let i = 0; i < passes; i++) for (let x = 0; x < width; x++) boxBlurLine(data, x, width, height, r, ww, fw, line);
  return { width, height, data };
}

/** [N, 1, H, W] → [N, 1, H/f, W/f] by taking pixel (f·i, f·j): torch's F.interpolate(mode="nearest") for an exact factor. */
export function downsampleMask(mask: Tensor<'float32'>, factor: number): Tensor<'float32'> {
  const [n, c, H, W] = mask.shape;
  const [h, w] = [H / factor, W / factor];
  const out = new Tensor('float32', [n, c, h, w]);
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out.data[(b * h + i) * w + j] = mask.data[(b * H + i * factor) * W + j * factor];
  }
  return out;
}

/** PIL's ImageOps.invert on a grey mask: 255 − v (A1111's inpainting_mask_invert). */
export function invertMask(mask: RgbImage | GrayImage): GrayImage {
  const grey = toGrayscale(mask);
  return { width: grey.width, height: grey.height, data: grey.data.map((v) => 255 - v) };
}

/**
 * A1111's inpainting overlay (processing.py apply_overlay, "mask_for_overlay"): the original is laid
 * over the result with opacity 255 − min(2·mask, 255), so wherever the (blurred) mask is 0 the
 * original's pixels come back exactly, where it is ≥ 128 the result's stay, and the blur's ramp
 * between them is a cross-fade: out = round((orig·a + result·(255 − a)) / 255).
 */
export function overlayOriginal(result: RgbImage, original: RgbImage, mask: RgbImage | GrayImage): RgbImage {
  const grey = toGrayscale(mask);
  check(result.width === original.width && result.height === original.height && grey.width === result.width && grey.height === result.height, 'IMAGE_SIZE',
    () => `overlayOriginal: the result (${result.width}×${result.height}), the original (${original.width}×${original.height}) and the mask (${grey.width}×${grey.height}) must have one size`);
  const data = new Uint8Array(result.data.length);
  for (let p = 0; p < grey.data.length; p++) {
    const a = 255 - Math.min(2 * grey.data[p], 255);
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round((original.data[p * 3 + c] * a + result.data[p * 3 + c] * (255 - a)) / 255);
  }
  return { width: result.width, height: result.height, data };
}
