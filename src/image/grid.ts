// Picture grids: several images, or the channels of a latent tensor, side by side with labels.
//
// Pixels and text are kept apart. A grid is a `LabelledImage`: an RgbImage with blank bands where
// the labels go, plus the labels as positioned strings. The pixels stay exact (a test can read
// them back), and the text is drawn by whatever can draw text:
//   * `labelOverlaySvg` — the labels alone on a transparent SVG, which the Node platform renders
//     with librsvg and composites onto the pixels (`renderLabels`), giving one flat PNG;
//   * `labelledImageSvg` — a standalone SVG document with the pixels embedded as a PNG data URL
//     and the labels as real <text>, for a browser or a doc page.
// No canvas and no browser needed for either.

import { check, fmtShape, fmtValue } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { colormap, type ColormapName, normalize, valueRange } from './colormap.js';
import { blit, checkRgbImage, createRgbImage, type Rgb, type RgbImage, upscaleNearest } from './rgb-image.js';
import { fitText, svgDocument, svgText, textWidth } from './svg.js';

export interface TextLabel {
  /** Anchor point (baseline) in image pixels. */
  x: number;
  y: number;
  text: string;
  size: number;
  anchor: 'start' | 'middle' | 'end';
  color: string;
}

export interface LabelledImage {
  image: RgbImage;
  labels: TextLabel[];
}

export interface ImageGridOptions {
  /** Images per row (default: all in one row, at most 8). */
  columns?: number;
  /** One label per image, drawn above it ('' for none). */
  labels?: readonly string[];
  title?: string;
  /** Pixels between cells and around the grid (default 4). */
  gap?: number;
  background?: Rgb;
  fontSize?: number;
}

/** Images of any sizes in a grid of equal cells (each image centred in its cell), labels above. */
export function imageGrid(images: readonly RgbImage[], options: ImageGridOptions = {}): LabelledImage {
  check(Array.isArray(images) && images.length > 0, 'IMAGE_ARGUMENT', () => 'imageGrid: expected a non-empty list of images');
  images.forEach((im, i) => checkRgbImage(im, `images[${i}]`));
  const { labels, title, gap = 4, background = [255, 255, 255], fontSize = 14 } = options;
  const columns = options.columns ?? Math.min(images.length, 8);
  check(Number.isInteger(columns) && columns >= 1, 'IMAGE_ARGUMENT', () => `imageGrid: columns must be a positive integer, got ${fmtValue(columns)}`);
  check(labels === undefined || labels.length === images.length, 'IMAGE_ARGUMENT',
    () => `imageGrid: ${images.length} images but ${labels!.length} labels; give one label per image`);
  // Cells are as wide as the widest image, or wider (up to 256 px) when labels need the room;
  // the canvas is wider still if the title needs it, with the grid centred. Pixels are never scaled.
  const labelRoom = Math.min(256, Math.max(0, ...(labels ?? []).map((l) => Math.ceil(textWidth(l, fontSize)))));
  const cellW = Math.max(labelRoom, ...images.map((im) => im.width));
  const cellH = Math.max(...images.map((im) => im.height));
  const band = labels?.some((l) => l) ? Math.ceil(fontSize * 1.5) : 0;
  const titleSize = fontSize * 1.2;
  const titleBand = title ? Math.ceil(fontSize * 2) : 0;
  const rows = Math.ceil(images.length / columns);
  const gridW = gap + columns * (cellW + gap);
  const width = Math.max(gridW, title ? Math.min(1024, Math.ceil(textWidth(title, titleSize)) + 2 * gap) : 0);
  const left = Math.floor((width - gridW) / 2);
  const height = titleBand + gap + rows * (band + cellH + gap);
  const canvas = createRgbImage(width, height, background);
  const text: TextLabel[] = [];
  const ink = luminance(background) > 0.5 ? '#000000' : '#ffffff';
  if (title) text.push({ x: width / 2, y: titleBand - fontSize * 0.5, text: fitText(title, width - 2 * gap, titleSize), size: titleSize, anchor: 'middle', color: ink });
  images.forEach((im, i) => {
    const x = left + gap + (i % columns) * (cellW + gap);
    const y = titleBand + gap + Math.floor(i / columns) * (band + cellH + gap);
    blit(canvas, im, x + Math.floor((cellW - im.width) / 2), y + band + Math.floor((cellH - im.height) / 2));
    const label = labels?.[i];
    if (label) text.push({ x: x + cellW / 2, y: y + band - fontSize * 0.4, text: fitText(label, cellW, fontSize), size: fontSize, anchor: 'middle', color: ink });
  });
  return { image: canvas, labels: text };
}

function luminance([r, g, b]: Rgb): number {
  return (0.299 * r + 0.587 * g + 0.114 * b) / 255;
}

export interface ChannelGridOptions {
  /** 'per-channel' (default): each channel uses its own range; 'shared': one range for all, so channels compare. */
  scaling?: 'per-channel' | 'shared';
  /** Use the 2nd–98th percentiles instead of min/max (default false). */
  robust?: boolean;
  /** Integer nearest-neighbour upscale; default makes each channel at least 256 px wide. */
  upscale?: number;
  /** Label each channel with its index and range (default true). */
  labels?: boolean;
  colormap?: ColormapName;
  gap?: number;
  fontSize?: number;
}

/**
 * Latents [C, h, w] or [B, C, h, w] → one grey-scale picture per channel, one row per batch item
 * (the fast.ai deep dive's "the 4 latent channels"). Values are mapped linearly from the range to
 * black…white; NaN pixels are magenta, ±Inf are white / black.
 */
export function latentChannelGrid(latents: Tensor, options: ChannelGridOptions = {}): LabelledImage {
  check(latents instanceof Tensor && isFloat(latents.dtype) && (latents.rank === 3 || latents.rank === 4), 'IMAGE_TENSOR',
    () => `latentChannelGrid: expected a float tensor [C, h, w] or [B, C, h, w], got ${latents instanceof Tensor ? `${latents.dtype} ${fmtShape(latents.shape)}` : typeof latents}`);
  const shape = latents.rank === 3 ? [1, ...latents.shape] : latents.shape;
  const [batch, channels, h, w] = shape;
  check(batch * channels * h * w > 0, 'IMAGE_TENSOR', () => `latentChannelGrid: tensor ${fmtShape(latents.shape)} is empty`);
  const { scaling = 'per-channel', robust = false, labels = true, gap = 4, fontSize = 13, colormap: cmap = 'grey' } = options;
  const upscale = options.upscale ?? Math.max(1, Math.ceil(256 / w));
  const values = latents.toFloat32().data;
  const plane = h * w;
  const shared = scaling === 'shared' ? valueRange(values, { robust }) : undefined;
  const tiles: RgbImage[] = [];
  const names: string[] = [];
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const data = values.subarray((b * channels + c) * plane, (b * channels + c + 1) * plane);
      const { min, max } = shared ?? valueRange(data, { robust });
      const tile = createRgbImage(w, h);
      for (let p = 0; p < plane; p++) tile.data.set(colormap(cmap, normalize(data[p], min, max)), p * 3);
      tiles.push(upscaleNearest(tile, upscale));
      names.push(`${batch > 1 ? `${b}:` : ''}channel ${c} [${fmtRange(min)}, ${fmtRange(max)}]`);
    }
  }
  return imageGrid(tiles, { columns: channels, labels: labels ? names : undefined, gap, fontSize, background: [255, 255, 255] });
}

/** 3 significant digits: -40.1, 0.123, 1.23e+3 → short enough for a 256 px label. */
function fmtRange(v: number): string {
  return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(2).replace('e+', 'e') : String(Number(v.toPrecision(3)));
}

/** The labels alone, on a transparent SVG the size of the image: composite it over the pixels. */
export function labelOverlaySvg(picture: LabelledImage): string {
  return svgDocument(picture.image.width, picture.image.height, picture.labels.map(labelElement));
}

/** A standalone SVG: the pixels as an embedded image (`imageHref`, e.g. a PNG data URL) plus the labels as text. */
export function labelledImageSvg(picture: LabelledImage, imageHref: string): string {
  const { width, height } = picture.image;
  const href = imageHref.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const image = `<image x="0" y="0" width="${width}" height="${height}" href="${href}" xlink:href="${href}" style="image-rendering:pixelated"/>`;
  return svgDocument(width, height, [image, ...picture.labels.map(labelElement)]);
}

function labelElement(l: TextLabel): string {
  return svgText(l.x, l.y, l.text, { size: l.size, anchor: l.anchor, color: l.color });
}
