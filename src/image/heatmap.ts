// A heat map as standalone SVG: a matrix with row and column labels, a colour bar and optional
// value annotations — the deep dive's similarity tables (dot product, cosine, distance between
// token embeddings), seaborn's `heatmap` in spirit.
//
// Colour choice when none is given: data with both signs gets the diverging RdBu map centred on 0
// (white = 0, blue < 0 < red, same scale both ways); one-signed data gets viridis over its
// min…max. NaN cells are light grey and say "NaN"; ±Inf cells take the end colours and say "∞".

import { check, fmtShape, fmtValue } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { colormap, type ColormapName, contrastText, normalize, rgbToHex, valueRange } from './colormap.js';
import { escapeXml, num, svgDocument, svgText, textWidth } from './svg.js';
import { formatTick, linearTicks } from './ticks.js';

export interface HeatmapOptions {
  /** Rows of equal length, or a 2-D tensor. */
  values: readonly (readonly number[])[] | Tensor;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  title?: string;
  /** Default 'auto' (see the header). */
  colormap?: ColormapName | 'auto';
  /** Centre of a diverging map (default 0 when the map is 'rdbu'). */
  center?: number;
  /** Fixed colour range, e.g. [-1, 1] for cosine similarities. */
  range?: readonly [number, number];
  /** 2nd–98th percentile range instead of min/max. */
  robust?: boolean;
  /** Write each value in its cell (default: when there are at most 20 × 20 cells). */
  annotate?: boolean;
  /** Significant digits of the annotations (default 3). */
  digits?: number;
  /** Cell side in px (default: fits about 640 px, between 14 and 64). */
  cellSize?: number;
  colorbarLabel?: string;
}

function toRows(values: HeatmapOptions['values']): number[][] {
  if (values instanceof Tensor) {
    check(values.rank === 2, 'PLOT_ARGUMENT', () => `heatmapSvg: expected a 2-D tensor, got ${fmtShape(values.shape)}`);
    const [r, c] = values.shape;
    const data = values.toFloat32().data;
    return Array.from({ length: r }, (_, i) => Array.from(data.subarray(i * c, (i + 1) * c)));
  }
  check(Array.isArray(values) && values.length > 0 && values.every((row) => Array.isArray(row) && row.length === values[0].length && row.length > 0), 'PLOT_ARGUMENT',
    () => 'heatmapSvg: values must be a non-empty list of rows of equal, non-zero length');
  return values.map((row) => row.map(Number));
}

function annotation(v: number, digits: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 10 ** digits || a < 10 ** -(digits - 1))) return v.toExponential(Math.max(0, digits - 1)).replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}

export function heatmapSvg(options: HeatmapOptions): string {
  const rows = toRows(options.values);
  const [nr, nc] = [rows.length, rows[0].length];
  const { rowLabels, colLabels, title, digits = 3, colorbarLabel } = options;
  check(!rowLabels || rowLabels.length === nr, 'PLOT_ARGUMENT', () => `heatmapSvg: ${nr} rows but ${rowLabels!.length} row labels`);
  check(!colLabels || colLabels.length === nc, 'PLOT_ARGUMENT', () => `heatmapSvg: ${nc} columns but ${colLabels!.length} column labels`);
  const flat = rows.flat();
  const finite = valueRange(flat);
  const cmap: ColormapName = options.colormap && options.colormap !== 'auto' ? options.colormap : finite.min < 0 && finite.max > 0 ? 'rdbu' : 'viridis';
  const center = options.center ?? (cmap === 'rdbu' ? 0 : undefined);
  let { min, max } = valueRange(flat, { robust: options.robust, center });
  if (options.range) {
    check(options.range.length === 2 && Number.isFinite(options.range[0]) && Number.isFinite(options.range[1]) && options.range[0] < options.range[1], 'PLOT_ARGUMENT',
      () => `heatmapSvg: range must be [min, max] with finite min < max, got ${fmtValue(options.range)}`);
    [min, max] = options.range;
  }
  if (!(max > min)) {
    // A constant matrix (or no finite value at all) still needs a scale for the colour bar.
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - pad, max + pad];
  }
  const annotate = options.annotate ?? nr * nc <= 400;
  const cell = options.cellSize ?? Math.max(14, Math.min(64, Math.floor(640 / Math.max(nr, nc))));
  const fs = Math.max(9, Math.min(13, cell * 0.3));
  const colLabelW = Math.max(0, ...(colLabels ?? []).map((l) => textWidth(l, fs)));
  const rotateCols = colLabelW > cell - 4; // long column labels go diagonal
  const m = {
    top: (title ? 36 : 10) + (colLabels ? (rotateCols ? colLabelW * 0.72 + 10 : fs + 8) : 0),
    left: 10 + (rowLabels ? Math.max(...rowLabels.map((l) => textWidth(l, fs))) + 6 : 0),
  };
  const gridW = nc * cell;
  const gridH = nr * cell;
  const barX = m.left + gridW + 20;
  const ticks = linearTicks(min, max, 6, false);
  const tickW = Math.max(...ticks.ticks.map((t) => textWidth(formatTick(t, ticks.step), 11)));
  const width = Math.ceil(Math.max(barX + 16 + 6 + tickW + (colorbarLabel ? 24 : 0) + 10, title ? textWidth(title, 16) + 20 : 0));
  const height = Math.ceil(m.top + gridH + 14);
  const body: string[] = [];
  for (let i = 0; i < nr; i++) {
    for (let j = 0; j < nc; j++) {
      const v = rows[i][j];
      const rgb = Number.isNaN(v) ? ([217, 217, 217] as const) : colormap(cmap, normalize(v, min, max));
      const [x, y] = [m.left + j * cell, m.top + i * cell];
      body.push(`<rect x="${num(x)}" y="${num(y)}" width="${cell}" height="${cell}" fill="${rgbToHex(rgb)}"><title>${escapeXml(`${rowLabels?.[i] ?? i}, ${colLabels?.[j] ?? j}: ${v}`)}</title></rect>`);
      if (annotate) body.push(svgText(x + cell / 2, y + cell / 2, annotation(v, digits), { size: fs, anchor: 'middle', middle: true, color: contrastText(rgb) }));
    }
  }
  body.push(`<rect x="${m.left}" y="${num(m.top)}" width="${gridW}" height="${gridH}" fill="none" stroke="#555555"/>`);
  rowLabels?.forEach((l, i) => body.push(svgText(m.left - 6, m.top + (i + 0.5) * cell, l, { size: fs, anchor: 'end', middle: true })));
  colLabels?.forEach((l, j) => {
    const x = m.left + (j + 0.5) * cell;
    body.push(rotateCols
      ? svgText(x, m.top - 6, l, { size: fs, rotate: -45 })
      : svgText(x, m.top - 6, l, { size: fs, anchor: 'middle' }));
  });
  // Colour bar: a vertical gradient sampled from the map, max at the top.
  const stops = Array.from({ length: 11 }, (_, k) => `<stop offset="${k / 10}" stop-color="${rgbToHex(colormap(cmap, 1 - k / 10))}"/>`);
  body.push(`<defs><linearGradient id="colorbar" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>`);
  body.push(`<rect x="${num(barX)}" y="${num(m.top)}" width="16" height="${gridH}" fill="url(#colorbar)" stroke="#555555"/>`);
  for (const t of ticks.ticks) {
    const y = m.top + gridH * (1 - normalize(t, min, max));
    body.push(`<line x1="${num(barX + 16)}" y1="${num(y)}" x2="${num(barX + 20)}" y2="${num(y)}" stroke="#555555"/>`);
    body.push(svgText(barX + 22, y, formatTick(t, ticks.step), { size: 11, middle: true }));
  }
  if (colorbarLabel) body.push(svgText(width - 12, m.top + gridH / 2, colorbarLabel, { size: 12, anchor: 'middle', rotate: 90 }));
  if (title) body.push(svgText(width / 2, 24, title, { size: 16, anchor: 'middle', weight: 'bold' }));
  return svgDocument(width, height, [`<title>${escapeXml(title ?? 'heat map')}</title>`, ...body], '#ffffff');
}
