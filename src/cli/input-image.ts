// The input image of `img2img`, `inpaint` and `encode`: read like diffusers' load_image, and sized
// explicitly; and the mask of `inpaint`, which must match the image.
//
// The VAE works on 8×8 pixel blocks, so both sides must be multiples of 8. latentlab never resizes
// on its own (a silent resize changes the picture and the result): an image of another size is an
// error, unless --width/--height say what size to make it — then it is resized with Lanczos, as
// diffusers' image processor would, and the command says so.

import { LatentlabError, readImage, resizeImage, type RgbImage } from '../node.js';
import { flagError } from './errors.js';

export interface InputImage {
  image: RgbImage;
  /** The file's own size when it was resized. */
  resizedFrom?: { width: number; height: number };
}

const down8 = (n: number) => Math.max(8, Math.floor(n / 8) * 8);

export async function prepareInputImage(flags: { image?: string; width?: number; height?: number }): Promise<InputImage> {
  if (flags.image === undefined) throw flagError('--image', '', 'an image file');
  const image = await readImage(flags.image);
  const width = flags.width ?? image.width;
  const height = flags.height ?? image.height;
  if (width % 8 !== 0 || height % 8 !== 0) {
    throw new LatentlabError('IMAGE_SIZE', `--image ${flags.image} is ${image.width}×${image.height} pixels; both sides must be multiples of 8 (the VAE works on 8×8 blocks)`, {
      file: flags.image, hint: `pass --width ${down8(width)} --height ${down8(height)} to resize it explicitly (Lanczos), or crop it to multiples of 8 first`,
    });
  }
  if (width === image.width && height === image.height) return { image };
  return { image: await resizeImage(image, width, height), resizedFrom: { width: image.width, height: image.height } };
}

/**
 * inpaint's --mask: any image (grey, RGB: converted to grey as PIL does), of the image's size; with
 * --width/--height it is resized like the image. White repaints, black keeps.
 */
export async function prepareMask(flags: { mask?: string; width?: number; height?: number }, input: InputImage): Promise<InputImage> {
  if (flags.mask === undefined) throw flagError('--mask', '', 'a mask image (white = repaint, black = keep)');
  const mask = await readImage(flags.mask);
  const own = input.resizedFrom ?? input.image;
  if (mask.width !== own.width || mask.height !== own.height) {
    throw new LatentlabError('IMAGE_SIZE', `--mask ${flags.mask} is ${mask.width}×${mask.height} pixels but --image is ${own.width}×${own.height}; they must match`, {
      file: flags.mask, key: '--mask', hint: 'draw the mask on the image itself (same size), or resize it to the image\'s size first',
    });
  }
  const { width, height } = input.image;
  if (width === mask.width && height === mask.height) return { image: mask };
  return { image: await resizeImage(mask, width, height), resizedFrom: { width: mask.width, height: mask.height } };
}
