// Tensor <-> pixels, exactly as diffusers' VaeImageProcessor (0.27) does it in float32:
//
//   postprocess(output_type="pil"):  x01 = clamp(x / 2 + 0.5, 0, 1)            (torch, float32)
//                                    u8  = (x01 * 255).round().astype(uint8)   (numpy, float32)
//   preprocess(PIL image):           x   = 2 * (float32(u8) / 255) - 1         (numpy, then torch)
//
// Every intermediate is rounded to float32 with Math.fround. For + - * / of two float32 values,
// computing in float64 and rounding once to float32 gives exactly the float32 result (float64 has
// more than 2·24 + 2 bits), so these are bit-exact, not "close". Conformance README §9 and §10.

import { check, fmtShape } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { checkRgbImage, type RgbImage } from './rgb-image.js';

/**
 * numpy's `round`: half to even ("banker's rounding"). Math.round rounds halves up, which would
 * turn x01·255 = 12.5 into 13 where numpy (and so diffusers) writes 12.
 */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Decoded VAE output [B, 3, H, W] (roughly in [-1, 1]) → B RGB images.
 * NaN pixels become 0, as numpy's float→uint8 cast does on x86 (diffusers' "black image" symptom
 * of an fp16 overflow); the pipeline, not this function, is the place to warn about them.
 */
export function postprocess(decoded: Tensor): RgbImage[] {
  check(decoded instanceof Tensor && isFloat(decoded.dtype) && decoded.rank === 4 && decoded.shape[1] === 3, 'IMAGE_TENSOR',
    () => `postprocess: expected a float tensor [B, 3, H, W] (vae.decode(...).sample), got ${decoded instanceof Tensor ? `${decoded.dtype} ${fmtShape(decoded.shape)}` : typeof decoded}`, {
      hint: 'pass the VAE decoder output; latents [B, 4, h, w] must be decoded first',
    });
  const [batch, , height, width] = decoded.shape;
  const x = decoded.toFloat32().data;
  const plane = height * width;
  const images: RgbImage[] = [];
  for (let b = 0; b < batch; b++) {
    const data = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      const base = (b * 3 + c) * plane;
      for (let p = 0; p < plane; p++) {
        // x / 2 is exact; + 0.5 rounds once to float32. clamp keeps NaN (torch.clamp does too).
        let v = Math.fround(x[base + p] / 2 + 0.5);
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        const scaled = Math.fround(v * 255); // numpy multiplies float32 by 255 in float32
        data[p * 3 + c] = Number.isNaN(scaled) ? 0 : roundHalfEven(scaled); // NCHW → HWC
      }
    }
    images.push({ width, height, data });
  }
  return images;
}

/** One RGB image → [1, 3, H, W] float32 in [-1, 1] (the img2img input of `vae.encode`). */
export function preprocess(image: RgbImage): Tensor<'float32'> {
  return preprocessBatch([image]);
}

/** Several RGB images of one size → [B, 3, H, W] float32 in [-1, 1]. No resizing, ever. */
export function preprocessBatch(images: readonly RgbImage[]): Tensor<'float32'> {
  check(Array.isArray(images) && images.length > 0, 'IMAGE_ARGUMENT', () => 'preprocessBatch: expected a non-empty list of images');
  images.forEach((im, i) => checkRgbImage(im, `images[${i}]`));
  const { width, height } = images[0];
  images.forEach((im, i) => check(im.width === width && im.height === height, 'IMAGE_SIZE',
    () => `images[${i}] is ${im.width}x${im.height} but images[0] is ${width}x${height}; a batch needs one size`, {
      hint: 'resize the images to a common size first (resizeImage), or run them one at a time',
    }));
  // The 256 possible values, each computed the way numpy + torch compute it.
  const lut = new Float32Array(256);
  for (let u = 0; u < 256; u++) lut[u] = Math.fround(2 * Math.fround(u / 255) - 1);
  const plane = width * height;
  const out = new Tensor('float32', [images.length, 3, height, width]);
  images.forEach((im, b) => {
    for (let c = 0; c < 3; c++) {
      const base = (b * 3 + c) * plane;
      for (let p = 0; p < plane; p++) out.data[base + p] = lut[im.data[p * 3 + c]]; // HWC → NCHW
    }
  });
  return out;
}
