// A line plot as standalone SVG: several series, axes with nice ticks, legend, title, optional
// log scale and a second y axis on the right (timesteps 0…999 and sigmas 0…15 in one picture).
// Made for the scheduler pictures of the deep dive; matplotlib's default look, roughly.
//
// Non-finite points (NaN, ±Inf) and, on a log axis, values ≤ 0 cannot be drawn: they break the
// line into pieces instead of being replaced by something invented.

import { check, fmtValue } from '../core/errors.js';
import { formatTick, linearTicks, logTicks } from './ticks.js';
import { escapeXml, num, svgDocument, svgText, textWidth } from './svg.js';

/** matplotlib's "tab10" colour cycle. */
export const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface LineSeries {
  name: string;
  y: ArrayLike<number>;
  /** Default: 0, 1, 2, ... */
  x?: ArrayLike<number>;
  color?: string;
  /** Which y axis the series uses (default 'left'). */
  axis?: 'left' | 'right';
  /** Draw a dot at every point (default: when there are ≤ 60 points). */
  markers?: boolean;
}

export interface LinePlotOptions {
  series: readonly LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  yLabelRight?: string;
  yScale?: 'linear' | 'log';
  yScaleRight?: 'linear' | 'log';
  width?: number;
  height?: number;
}

interface Axis {
  min: number;
  max: number;
  ticks: number[];
  step?: number;
  log: boolean;
}

function makeAxis(values: number[], log: boolean): Axis {
  const usable = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  const lo = usable.length ? usable.reduce((a, b) => Math.min(a, b)) : log ? 1 : 0;
  const hi = usable.length ? usable.reduce((a, b) => Math.max(a, b)) : log ? 10 : 1;
  if (log) return { ...logTicks(lo, hi), log };
  return { ...linearTicks(lo, hi, 6), log };
}

function project(v: number, axis: Axis, from: number, to: number): number {
  const t = axis.log ? (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min)) : (v - axis.min) / (axis.max - axis.min);
  return from + t * (to - from);
}

export function linePlotSvg(options: LinePlotOptions): string {
  const { series, title, xLabel, yLabel, yLabelRight, width = 640, height = 400 } = options;
  check(Array.isArray(series) && series.length > 0, 'PLOT_ARGUMENT', () => 'linePlotSvg: expected at least one series');
  series.forEach((s, i) => check(s.y && typeof s.y.length === 'number' && (!s.x || s.x.length === s.y.length), 'PLOT_ARGUMENT',
    () => `linePlotSvg: series ${i} (${fmtValue(s.name)}) needs y values${s.x ? ` and as many x values as y values (${s.x.length} x, ${s.y.length} y)` : ''}`));
  const xsOf = (s: LineSeries) => Array.from(s.x ?? Array.from(s.y, (_, i) => i), Number);
  // With every series on the right there is nothing for the left axis: use the left one.
  const onRight = (s: LineSeries) => s.axis === 'right' && series.some((o) => o.axis !== 'right');
  const right = series.filter(onRight);
  const left = series.filter((s) => !onRight(s));
  const x = makeAxis(series.flatMap(xsOf), false);
  const yl = makeAxis(left.flatMap((s) => Array.from(s.y)), options.yScale === 'log');
  const yr = right.length ? makeAxis(right.flatMap((s) => Array.from(s.y)), options.yScaleRight === 'log') : undefined;

  const fs = 12;
  const tickWidth = (a: Axis) => Math.max(...a.ticks.map((t) => textWidth(formatTick(t, a.step), fs)));
  const m = {
    top: title ? 40 : 16,
    bottom: 36 + (xLabel ? 18 : 0),
    left: 14 + tickWidth(yl) + (yLabel ? 20 : 0),
    right: 16 + (yr ? tickWidth(yr) + 8 + (yLabelRight ? 20 : 0) : 0),
  };
  const [x0, x1, y0, y1] = [m.left, width - m.right, height - m.bottom, m.top]; // y0 is the bottom
  const body: string[] = [];
  const grid = '#e0e0e0';
  // Grid lines and tick labels.
  for (const t of x.ticks) {
    const px = project(t, x, x0, x1);
    body.push(`<line x1="${num(px)}" y1="${num(y1)}" x2="${num(px)}" y2="${num(y0)}" stroke="${grid}"/>`);
    body.push(svgText(px, y0 + 16, formatTick(t, x.step), { size: fs, anchor: 'middle' }));
  }
  for (const t of yl.ticks) {
    const py = project(t, yl, y0, y1);
    body.push(`<line x1="${num(x0)}" y1="${num(py)}" x2="${num(x1)}" y2="${num(py)}" stroke="${grid}"/>`);
    body.push(svgText(x0 - 6, py, formatTick(t, yl.step), { size: fs, anchor: 'end', middle: true }));
  }
  for (const t of yr?.ticks ?? []) body.push(svgText(x1 + 6, project(t, yr!, y0, y1), formatTick(t, yr!.step), { size: fs, middle: true }));
  body.push(`<rect x="${num(x0)}" y="${num(y1)}" width="${num(x1 - x0)}" height="${num(y0 - y1)}" fill="none" stroke="#000000"/>`);
  // Lines: one <path> per series, a new "M" wherever a point cannot be drawn.
  series.forEach((s, i) => {
    const color = s.color ?? SERIES_COLORS[i % SERIES_COLORS.length];
    const axis = onRight(s) ? yr! : yl;
    const xs = xsOf(s);
    const pts = Array.from(s.y, (v: number, k) => (Number.isFinite(v) && Number.isFinite(xs[k]) && (!axis.log || v > 0)
      ? [project(xs[k], x, x0, x1), project(v, axis, y0, y1)] : null));
    let d = '';
    let pen = false;
    for (const p of pts) {
      if (!p) pen = false;
      else {
        d += `${pen ? 'L' : 'M'}${num(p[0])} ${num(p[1])}`;
        pen = true;
      }
    }
    if (d) body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`);
    if (s.markers ?? pts.length <= 60) {
      for (const p of pts) if (p) body.push(`<circle cx="${num(p[0])}" cy="${num(p[1])}" r="2.5" fill="${color}"/>`);
    }
  });
  // Legend, top right inside the plot.
  const legendName = (s: LineSeries) => s.name + (onRight(s) ? ' (right axis)' : '');
  const legendW = 34 + Math.max(...series.map((s) => textWidth(legendName(s), fs)));
  const lx = x1 - legendW - 8;
  body.push(`<rect x="${num(lx)}" y="${num(y1 + 8)}" width="${num(legendW)}" height="${series.length * 18 + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#bbbbbb"/>`);
  series.forEach((s, i) => {
    const color = s.color ?? SERIES_COLORS[i % SERIES_COLORS.length];
    const ly = y1 + 22 + i * 18;
    body.push(`<line x1="${num(lx + 6)}" y1="${num(ly)}" x2="${num(lx + 24)}" y2="${num(ly)}" stroke="${color}" stroke-width="2"/>`);
    body.push(svgText(lx + 28, ly, legendName(s), { size: fs, middle: true }));
  });
  if (title) body.push(svgText(width / 2, 26, title, { size: 16, anchor: 'middle', weight: 'bold' }));
  if (xLabel) body.push(svgText((x0 + x1) / 2, height - 10, xLabel, { size: 13, anchor: 'middle' }));
  if (yLabel) body.push(svgText(16, (y0 + y1) / 2, yLabel, { size: 13, anchor: 'middle', rotate: -90 }));
  // Rotated +90° the glyphs grow towards +x from the baseline, so it sits as far from the right
  // edge as the left label's baseline from the left one.
  if (yLabelRight) body.push(svgText(width - 16, (y0 + y1) / 2, yLabelRight, { size: 13, anchor: 'middle', rotate: 90 }));
  return svgDocument(width, height, [`<title>${escapeXml(title ?? 'line plot')}</title>`, ...body], '#ffffff');
}
