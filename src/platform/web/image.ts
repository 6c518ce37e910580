// Image files in a browser, without sharp: PNG encoded and decoded in JavaScript (fast-png), other
// formats (JPEG, WebP, ...) through the browser's own decoder (createImageBitmap) with colour
// management and premultiplication off, so the pixels are the file's. The pixel rules are the Node
// platform's (platform/node/image.ts), i.e. PIL's `convert("RGB")`: alpha dropped (not composited),
// grey replicated to R = G = B, palettes looked up, 16-bit samples reduced to their high byte.
// EXIF orientation is applied by createImageBitmap (imageOrientation 'from-image'); a PNG has none.

import { decode, encode, hasPngSignature } from 'fast-png';

import { LatentlabError } from '../../core/errors.js';
import { insertPngText, pngText } from '../../image/png-text.js';
import { checkRgbImage, type RgbImage } from '../../image/rgb-image.js';

export interface PngOptions {
  /** PNG text chunks, keyword → text (e.g. { parameters: formatA1111Parameters(...) }). */
  text?: Record<string, string>;
}

/** RGB pixels → PNG bytes (8-bit RGB), with the text chunks written as the Node platform writes them. */
export function encodePng(image: RgbImage, options: PngOptions = {}): Uint8Array {
  checkRgbImage(image, 'encodePng image');
  const png = encode({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 });
  return options.text ? insertPngText(png, options.text) : png;
}

/** Text chunks (tEXt, iTXt, zTXt) of PNG bytes. */
export function readPngText(bytes: Uint8Array): Record<string, string> {
  return pngText(bytes);
}

function decodePngPixels(bytes: Uint8Array, source: string): RgbImage {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new LatentlabError('IMAGE_DECODE', `${source}: cannot decode the PNG (${(e as Error).message})`, { file: source, hint: 'the file may be truncated; re-export it as PNG', cause: e });
  }
  const { width, height } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const palette = png.palette;
  const channels = palette ? 1 : png.channels;
  const data = png.data;
  // 16-bit samples keep their high byte; 1/2/4-bit grey (unpacked by fast-png to 0..2^d-1) is scaled to 0..255.
  const sample = png.depth === 16 ? (v: number) => v >> 8 : png.depth < 8 && !palette ? (v: number) => Math.round((v * 255) / ((1 << png.depth) - 1)) : (v: number) => v;
  for (let i = 0; i < n; i++) {
    if (palette) {
      const c = palette[data[i]] ?? [0, 0, 0];
      out[3 * i] = c[0];
      out[3 * i + 1] = c[1];
      out[3 * i + 2] = c[2];
    } else if (channels <= 2) {
      const g = sample(data[i * channels]);
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = g;
    } else {
      out[3 * i] = sample(data[i * channels]);
      out[3 * i + 1] = sample(data[i * channels + 1]);
      out[3 * i + 2] = sample(data[i * channels + 2]);
    }
  }
  return { width, height, data: out };
}

async function decodeWithBrowser(bytes: Uint8Array, source: string): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as BlobPart]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    throw new LatentlabError('IMAGE_DECODE', `${source}: the browser cannot decode this image (${(e as Error).message})`, {
      file: source, hint: 'use a PNG, JPEG or WebP file; if it opens elsewhere, re-export it as PNG', cause: e,
    });
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' }).data;
  const out = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    out[j] = rgba[i];
    out[j + 1] = rgba[i + 1];
    out[j + 2] = rgba[i + 2];
  }
  return { width: bitmap.width, height: bitmap.height, data: out };
}

/** Image bytes → RGB. PNG exactly (fast-png); other formats with the browser's decoder. `source` names the file in errors. */
export async function decodeImage(bytes: Uint8Array, source = 'image data'): Promise<RgbImage> {
  return hasPngSignature(bytes) ? decodePngPixels(bytes, source) : decodeWithBrowser(bytes, source);
}
