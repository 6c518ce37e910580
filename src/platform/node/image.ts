// Image files on Node, through sharp (libvips): decode any format to an RgbImage, encode PNG with
// text chunks, render SVG (librsvg), resize. The pixel rules are diffusers' (PIL's), so an image
// read here feeds the pipeline the same bytes `diffusers.utils.load_image` would:
//
//   load_image(path) = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
//
//   * EXIF orientation is applied (exif_transpose);
//   * alpha is dropped, not composited over a background (PIL's RGBA→RGB and LA→RGB keep the colour
//     channels as stored, so fully transparent pixels show whatever colour they hold);
//   * grey is replicated to R = G = B; palette images are looked up;
//   * embedded ICC profiles are ignored (PIL's convert does no colour management; sharp would
//     otherwise convert to sRGB and change the numbers);
//   * 16-bit channels keep their high byte (v >> 8), which is what PIL does for 16-bit RGB(A).
//     For 16-bit grey PIL instead clips every value above 255 to 255 (its I;16 → RGB converter),
//     turning almost any such image white; we deliberately take the high byte there too.

import { inflateSync } from 'node:zlib';

import sharp, { type OutputInfo, type Sharp, type SharpOptions } from 'sharp';

import { check, fmtValue, LatentlabError } from '../../core/errors.js';
import { fileSystem } from '../../core/io.js';
import { type LabelledImage, labelledImageSvg, labelOverlaySvg } from '../../image/grid.js';
import { insertPngText, pngText } from '../../image/png-text.js';
import { checkRgbImage, type RgbImage } from '../../image/rgb-image.js';
import { type ImageUpscaler, LATENT_UPSCALE_MODES, latentUpscaleMode } from '../../pipelines/hires-fix.js';

export interface PngOptions {
  /** PNG text chunks, keyword → text (e.g. { parameters: formatA1111Parameters(...) }). */
  text?: Record<string, string>;
}

const DECODE_HINT = 'use a PNG, JPEG, WebP, GIF, TIFF or AVIF file; if it opens elsewhere, re-export it as PNG (the file may be truncated or not an image at all)';

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function rawInput(image: RgbImage): [Buffer, SharpOptions] {
  return [Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels: 3 } }];
}

export interface DecodeOptions {
  /**
   * Refuse images of more pixels than this before decoding them (a server's guard against a
   * "PNG bomb": a small file that inflates to gigabytes). Default: sharp's own limit, 0x3FFF².
   */
  maxPixels?: number;
}

/** Decodes image bytes (any format sharp reads) to RGB. `source` names the file in errors. */
export async function decodeImage(bytes: Uint8Array, source = 'image data', options: DecodeOptions = {}): Promise<RgbImage> {
  let decoded: { data: Buffer; info: OutputInfo };
  let depth: 'uchar' | 'ushort';
  try {
    // failOn 'truncated': refuse cut-off files (PIL raises "image file is truncated") but accept
    // files that only make the decoder warn (stray bytes after a JPEG marker), which PIL also opens.
    const input = sharp(bytes, { ignoreIcc: true, failOn: 'truncated', ...(options.maxPixels ? { limitInputPixels: options.maxPixels } : {}) });
    const meta = await input.metadata();
    if (options.maxPixels && (meta.width ?? 0) * (meta.height ?? 0) > options.maxPixels) {
      throw new Error(`${meta.width}×${meta.height} pixels is more than the limit of ${options.maxPixels}`);
    }
    depth = meta.depth === 'ushort' ? 'ushort' : 'uchar';
    // sharp's default output space is 8-bit sRGB; for 16-bit input ask for the 16-bit space of the
    // same kind, so the samples arrive untouched and the reduction to 8 bits is ours.
    if (depth === 'ushort') input.toColourspace((meta.channels ?? 3) <= 2 ? 'grey16' : 'rgb16');
    decoded = await input.autoOrient().raw({ depth }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new LatentlabError('IMAGE_DECODE', `${source}: cannot decode the image (${(e as Error).message})`, { file: source, hint: DECODE_HINT, cause: e });
  }
  const { data, info } = decoded;
  const { width, height, channels } = info;
  const wide = depth === 'ushort';
  const samples = wide ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : data;
  const colour = channels >= 3; // sharp gives grey (1), grey + alpha (2), RGB (3) or RGBA (4)
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = samples[p * channels + (colour ? c : 0)];
      out[p * 3 + c] = wide ? v >> 8 : v;
    }
  }
  return { width, height, data: out };
}

/** Reads an image file as RGB. IO_NOT_FOUND when it is missing, IMAGE_DECODE when it is not a readable image. */
export async function readImage(path: string): Promise<RgbImage> {
  return decodeImage(await fileSystem().readBytes(path), path);
}

/** PNG bytes of an image, with optional text chunks (tEXt, or iTXt for non-latin-1 text). */
export async function encodePng(image: RgbImage, options: PngOptions = {}): Promise<Uint8Array> {
  checkRgbImage(image);
  const png = view(await sharp(...rawInput(image)).png({ compressionLevel: 6 }).toBuffer());
  return options.text && Object.keys(options.text).length > 0 ? insertPngText(png, options.text) : png;
}

/** Writes a PNG atomically (temporary file + rename): a crash never leaves half an image. */
export async function writePng(path: string, image: RgbImage, options: PngOptions = {}): Promise<void> {
  await fileSystem().writeFileAtomic(path, await encodePng(image, options));
}

/** The text chunks of a PNG file, keyword → text (zTXt and compressed iTXt inflated). */
export async function readPngText(path: string): Promise<Record<string, string>> {
  return pngText(await fileSystem().readBytes(path), { source: path, inflate: (d) => view(inflateSync(d)) });
}

export interface SvgRenderOptions {
  /** Output pixels per SVG pixel (default 1). */
  scale?: number;
}

function svgInput(svg: string, scale: number): Sharp {
  check(typeof svg === 'string' && svg.includes('<svg'), 'IMAGE_SVG', () => `svgToPng: expected an SVG document, got ${fmtValue(svg)}`);
  check(Number.isFinite(scale) && scale > 0, 'IMAGE_ARGUMENT', () => `svgToPng: scale must be a positive number, got ${fmtValue(scale)}`);
  // librsvg renders at `density` dpi; 72 dpi is one output pixel per SVG pixel.
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * scale });
}

async function svgError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    throw new LatentlabError('IMAGE_SVG', `cannot render the SVG: ${(e as Error).message}`, { hint: 'the document is not well-formed SVG', cause: e });
  }
}

/** Renders an SVG document to PNG bytes (librsvg; text in the generic sans-serif font). */
export async function svgToPng(svg: string, options: SvgRenderOptions = {}): Promise<Uint8Array> {
  return view(await svgError(svgInput(svg, options.scale ?? 1).png().toBuffer()));
}

/** Renders an SVG document to an RgbImage, transparent parts flattened onto white. */
export async function renderSvg(svg: string, options: SvgRenderOptions = {}): Promise<RgbImage> {
  const { data, info } = await svgError(svgInput(svg, options.scale ?? 1).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true }));
  return { width: info.width, height: info.height, data: view(data) };
}

/** A labelled grid flattened to plain pixels: the labels drawn (librsvg) over the image. */
export async function renderLabels(picture: LabelledImage): Promise<RgbImage> {
  checkRgbImage(picture.image, 'picture.image');
  if (picture.labels.length === 0) return picture.image;
  const overlay = Buffer.from(labelOverlaySvg(picture), 'utf8');
  const { data, info } = await svgError(sharp(...rawInput(picture.image)).composite([{ input: overlay, top: 0, left: 0 }]).removeAlpha().raw().toBuffer({ resolveWithObject: true }));
  return { width: info.width, height: info.height, data: view(data) };
}

/** A standalone SVG of a labelled grid: the pixels embedded as a PNG data URL, the labels as text. */
export async function labelledImageToSvg(picture: LabelledImage): Promise<string> {
  const png = await encodePng(picture.image);
  return labelledImageSvg(picture, `data:image/png;base64,${Buffer.from(png).toString('base64')}`);
}

/**
 * Resizes with a Lanczos-3 filter (diffusers resizes with PIL's LANCZOS; libvips' kernel is the
 * same filter but not the same code, so pixels can differ by a level or two). The pipeline never
 * resizes on its own: call this when an img2img input is not the size you want. `kernel` "nearest"
 * is nearest-neighbour (A1111's "Nearest" upscaler).
 */
export async function resizeImage(image: RgbImage, width: number, height: number, kernel: 'lanczos3' | 'nearest' = 'lanczos3'): Promise<RgbImage> {
  checkRgbImage(image);
  check(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0, 'IMAGE_SIZE',
    () => `resizeImage: width and height must be positive integers, got ${fmtValue(width)}x${fmtValue(height)}`);
  const { data, info } = await sharp(...rawInput(image)).resize(width, height, { kernel, fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: view(data) };
}

/**
 * A1111's picture upscalers that latentlab has, by A1111's names, for the hires fix
 * (pipelines/hires-fix.ts ImageUpscaler): "Lanczos", "Nearest", and "None" — A1111's "None" still
 * ends with its Lanczos resize to the target size.
 */
export const A1111_IMAGE_UPSCALERS: Readonly<Record<string, (image: RgbImage, width: number, height: number) => Promise<RgbImage>>> = {
  None: (image, w, h) => resizeImage(image, w, h, 'lanczos3'),
  Lanczos: (image, w, h) => resizeImage(image, w, h, 'lanczos3'),
  Nearest: (image, w, h) => resizeImage(image, w, h, 'nearest'),
};

/** Every name the hires fix's upscaler takes (hr_upscaler, --hires-upscaler): A1111's latent modes, then its picture upscalers. */
export const A1111_UPSCALER_NAMES: readonly string[] = [...Object.keys(LATENT_UPSCALE_MODES), ...Object.keys(A1111_IMAGE_UPSCALERS)];

/** An upscaler name as HiresOptions.upscaler (a latent mode's name, or a picture resizer), or undefined when it is none. */
export function a1111Upscaler(name: string): string | ImageUpscaler | undefined {
  if (latentUpscaleMode(name)) return name;
  return Object.hasOwn(A1111_IMAGE_UPSCALERS, name) ? A1111_IMAGE_UPSCALERS[name] : undefined;
}
