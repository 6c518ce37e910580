// Small SVG-writing helpers shared by the plot, the heat map and the labelled grids.
//
// Every document is standalone SVG 1.1 (xmlns declared, all text escaped) so it opens in a
// browser, an image viewer and librsvg (which sharp uses to turn it into PNG). Text uses the
// generic `sans-serif` family: every renderer maps it to an installed font (DejaVu Sans on most
// Linux boxes), where a named font would silently fall back or, in librsvg, render nothing.

import type { Rgb } from './rgb-image.js';

export const FONT_FAMILY = 'sans-serif';

/**
 * Text safe inside an SVG element or attribute: the five XML specials become entities, and
 * characters XML 1.0 forbids even as entities (C0 controls other than tab / newline / CR, lone
 * UTF-16 surrogates, U+FFFE/U+FFFF) become U+FFFD, so a weird prompt cannot break the document.
 */
export function escapeXml(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += text[i] + text[i + 1]; // a valid surrogate pair (emoji and friends)
      i++;
    } else if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) {
      out += '\ufffd';
    } else if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x22) out += '&quot;';
    else if (c === 0x27) out += '&apos;';
    else out += text[i];
  }
  return out;
}

/** A coordinate with at most 2 decimals and no trailing zeros (keeps documents small and diffable). */
export function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export function rgbCss([r, g, b]: Rgb): string {
  return `rgb(${r},${g},${b})`;
}

export interface TextStyle {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  color?: string;
  weight?: 'normal' | 'bold';
  /** Degrees, clockwise, around (x, y). */
  rotate?: number;
  /** Vertical alignment of y: the baseline (default) or the middle of the text. */
  middle?: boolean;
}

/** A <text> element; (x, y) is the baseline point unless `middle`. */
export function svgText(x: number, y: number, text: string, style: TextStyle = {}): string {
  const { size = 12, anchor = 'start', color = '#000000', weight = 'normal', rotate, middle } = style;
  // dominant-baseline is not honoured everywhere; shifting by ~0.35 em centres text reliably.
  const yy = middle ? y + size * 0.35 : y;
  const attrs = [`x="${num(x)}"`, `y="${num(yy)}"`, `font-size="${num(size)}"`, `fill="${color}"`];
  if (anchor !== 'start') attrs.push(`text-anchor="${anchor}"`);
  if (weight !== 'normal') attrs.push(`font-weight="${weight}"`);
  if (rotate) attrs.push(`transform="rotate(${num(rotate)} ${num(x)} ${num(yy)})"`);
  return `<text ${attrs.join(' ')}>${escapeXml(text)}</text>`;
}

/** Em width of one character: CJK, Hangul, emoji and the like are about 1 em, the rest about 0.6. */
function charEm(ch: string): number {
  return ch.codePointAt(0)! >= 0x1100 ? 1 : 0.6;
}

/** Rough width of `text` in `size`-px sans-serif: enough for layout, generous rather than tight. */
export function textWidth(text: string, size: number): number {
  let em = 0;
  for (const ch of text) em += charEm(ch);
  return em * size;
}

/** `text` cut with an ellipsis so that it fits `width` px at `size`. */
export function fitText(text: string, width: number, size: number): string {
  if (textWidth(text, size) <= width) return text;
  let out = '';
  let used = 0.6 * size; // room for the ellipsis
  for (const ch of text) {
    used += charEm(ch) * size;
    if (used > width) break;
    out += ch;
  }
  return `${out}…`;
}

/** A complete SVG document of `width` × `height` px; `background` fills it (none = transparent). */
export function svgDocument(width: number, height: number, body: readonly string[], background?: string): string {
  const bg = background ? `<rect width="100%" height="100%" fill="${background}"/>\n` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n`
    + `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" `
    + `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">\n`
    + `${bg}${body.join('\n')}\n</svg>\n`;
}
