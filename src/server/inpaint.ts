// A1111's inpainting through /sdapi/v1/img2img (a `mask` with the init image), on the library's
// StableDiffusionInpaintPipeline. A1111's order (processing.py StableDiffusionProcessingImg2Img.init):
//
//   mask → grey ("L") → inverted if inpainting_mask_invert → blurred by mask_blur (default 4)
//        → resized to width × height (Lanczos, resize_mode 0)
//   the pipeline repaints where the blurred mask is ≥ 128 (diffusers binarises it), starting from
//   the original noised to denoising_strength — A1111's inpainting_fill 1 ("original")
//   the original is laid back over the result outside the mask (overlayOriginal: A1111's overlay)
//
// The blur is PIL's GaussianBlur (image/mask.ts) with radius mask_blur; A1111 blurs with OpenCV's
// Gaussian of σ = mask_blur, so the soft edge can differ by a level here and there.

import {
  blurMask, decodeImage, type GrayImage, invertMask, LatentlabError, resizeImage, toGrayscale,
} from '../node.js';
import type { Img2ImgRequest } from './a1111-schemas.js';
import { base64Image } from './generate.js';

const FILLS = ['fill', 'original', 'latent noise', 'latent nothing'];

export interface InpaintPlan {
  /** The blurred grey mask at width × height: the pipeline's mask and the overlay's. */
  mask: GrayImage;
  blur: number;
}

/** The request's mask made ready (A1111's steps above); what it cannot honour goes to `ignored`. */
export async function inpaintMask(req: Img2ImgRequest, width: number, height: number, maxPixels: number, ignored: string[]): Promise<InpaintPlan> {
  const decoded = await decodeImage(base64Image(req.mask!, 'mask'), 'mask', { maxPixels });
  let mask: GrayImage = toGrayscale(decoded);
  if (req.inpainting_mask_invert) mask = invertMask(mask);
  const bx = req.mask_blur_x ?? req.mask_blur ?? 4;
  const by = req.mask_blur_y ?? req.mask_blur ?? 4;
  for (const [key, v] of [['mask_blur', bx], ['mask_blur', by]] as const) {
    if (v < 0) throw new LatentlabError('SERVER_REQUEST', `${key} is ${v}; expected a number of pixels ≥ 0`, { key, hint: 'A1111\'s default is 4' });
  }
  if (bx !== by) ignored.push(`mask_blur_x/mask_blur_y (${bx}/${by}): blurred by ${Math.max(bx, by)} both ways`);
  const blur = Math.max(bx, by);
  mask = blurMask(mask, blur);
  if (mask.width !== width || mask.height !== height) {
    const rgb = { width: mask.width, height: mask.height, data: new Uint8Array(mask.width * mask.height * 3).map((_, i) => mask.data[Math.floor(i / 3)]) };
    mask = toGrayscale(await resizeImage(rgb, width, height));
  }
  const fill = req.inpainting_fill ?? 0;
  if (fill < 0 || fill > 3) throw new LatentlabError('SERVER_REQUEST', `inpainting_fill is ${fill}; expected 0 (fill), 1 (original), 2 (latent noise) or 3 (latent nothing)`, { key: 'inpainting_fill' });
  if (fill !== 1) ignored.push(`inpainting_fill: ${fill} (${FILLS[fill]}): inpainted as 1 (original)`);
  if (req.inpaint_full_res !== false && req.inpaint_full_res !== 0) ignored.push('inpaint_full_res (A1111\'s default true): the whole picture is inpainted');
  if (req.initial_noise_multiplier !== undefined && req.initial_noise_multiplier !== null && req.initial_noise_multiplier !== 1) ignored.push('initial_noise_multiplier');
  return { mask, blur };
}
