// Colour maps and colour scaling for the picture helpers.
//
// A value is shown by normalising it to t ∈ [0, 1] over a range and looking t up in a colour map.
// The range is what makes a picture readable, so it is computed with care:
//   * only finite values count (NaN and ±Inf would make min/max meaningless);
//   * "robust" ranges use the 2nd and 98th percentiles (seaborn's `robust=True`), so a few outliers
//     — common in latents and attention maps — do not wash everything else out to one grey;
//   * a diverging map is centred (0 by default), so white always means "zero" and the two colours
//     have the same scale (|lo - c| = |hi - c|).
// Colour tables are samples of matplotlib's viridis and ColorBrewer's RdBu (reversed, so blue is
// negative and red is positive), linearly interpolated.

import type { Rgb } from './rgb-image.js';

export type ColormapName = 'grey' | 'viridis' | 'rdbu';

/** The colour shown for NaN cells and pixels. */
export const NAN_COLOR: Rgb = [255, 0, 255];

const TABLES: Record<Exclude<ColormapName, 'grey'>, readonly Rgb[]> = {
  viridis: ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'].map(hexToRgb),
  rdbu: ['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f'].map(hexToRgb),
};

function hexToRgb(hex: string): Rgb {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function rgbToHex([r, g, b]: Rgb): string {
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
}

/** The colour of t ∈ [0, 1] (clamped; NaN → NAN_COLOR). */
export function colormap(name: ColormapName, t: number): Rgb {
  if (Number.isNaN(t)) return NAN_COLOR;
  const u = t < 0 ? 0 : t > 1 ? 1 : t;
  if (name === 'grey') {
    const v = Math.round(u * 255);
    return [v, v, v];
  }
  const table = TABLES[name];
  const pos = u * (table.length - 1);
  const i = Math.min(Math.floor(pos), table.length - 2);
  const f = pos - i;
  const [a, b] = [table[i], table[i + 1]];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as unknown as Rgb;
}

/** Black or white, whichever reads better on `background` (WCAG relative luminance). */
export function contrastText(background: Rgb): string {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(background[0]) + 0.7152 * lin(background[1]) + 0.0722 * lin(background[2]);
  return l > 0.179 ? '#000000' : '#ffffff';
}

export interface ValueRange {
  min: number;
  max: number;
  /** How many values were NaN or ±Inf (left out of the range). */
  nonFinite: number;
}

export interface RangeOptions {
  /** Use the 2nd–98th percentiles instead of min/max. */
  robust?: boolean;
  /** For diverging maps: make the range symmetric around this value. */
  center?: number;
}

/** The range of the finite values (robust and/or centred on request). All non-finite → [0, 0]. */
export function valueRange(values: ArrayLike<number>, options: RangeOptions = {}): ValueRange {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  const nonFinite = values.length - finite.length;
  if (finite.length === 0) return { min: 0, max: 0, nonFinite };
  let min: number;
  let max: number;
  if (options.robust) {
    const sorted = Float64Array.from(finite).sort();
    min = percentile(sorted, 2);
    max = percentile(sorted, 98);
  } else {
    min = Infinity;
    max = -Infinity;
    for (const v of finite) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (options.center !== undefined) {
    const half = Math.max(Math.abs(min - options.center), Math.abs(max - options.center));
    [min, max] = [options.center - half, options.center + half];
  }
  return { min, max, nonFinite };
}

/** numpy's default ("linear") percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  const pos = (p / 100) * (sorted.length - 1);
  const i = Math.floor(pos);
  return i + 1 < sorted.length ? sorted[i] + (sorted[i + 1] - sorted[i]) * (pos - i) : sorted[i];
}

/**
 * v normalised to [0, 1] over [min, max]: ±Inf go to the ends, NaN stays NaN, and a constant
 * range (min = max) maps everything to the middle instead of dividing by zero.
 */
export function normalize(v: number, min: number, max: number): number {
  if (Number.isNaN(v)) return NaN;
  if (v === Infinity) return 1;
  if (v === -Infinity) return 0;
  if (!(max > min)) return 0.5;
  const t = (v - min) / (max - min);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}
