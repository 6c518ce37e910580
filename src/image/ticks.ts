// Axis ticks at "nice" numbers (1, 2, 5 × 10^k), as plotting libraries choose them, and their labels.

/** The nice number (1, 2, 5 or 10 × 10^k) closest to `x` > 0. */
function niceStep(x: number): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  const nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * 10 ** exp;
}

export interface LinearTicks {
  /** The axis range, widened to whole steps. */
  min: number;
  max: number;
  ticks: number[];
  step: number;
}

/**
 * About `count` ticks covering [lo, hi]. A degenerate range (lo = hi, e.g. a constant series)
 * is widened around the value so the axis still has a scale.
 */
export function linearTicks(lo: number, hi: number, count = 6, widen = true): LinearTicks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const step = niceStep((hi - lo) / Math.max(1, count - 1));
  // Multiply by integers rather than add repeatedly, so 0.1 + 0.2 style drift does not creep in.
  const first = widen ? Math.floor(lo / step + 1e-9) : Math.ceil(lo / step - 1e-9);
  const last = widen ? Math.ceil(hi / step - 1e-9) : Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(clean(k * step));
  return { min: widen ? clean(first * step) : lo, max: widen ? clean(last * step) : hi, ticks, step };
}

/** Ticks of a log10 axis over [lo, hi] (both > 0): powers of ten, plus 2 and 5 × when there are few decades. */
export function logTicks(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const hiE = e1 === e0 ? e0 + 1 : e1;
  const mantissas = hiE - e0 <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = e0; e <= hiE; e++) for (const m of mantissas) if (e < hiE || m === 1) ticks.push(clean(m * 10 ** e));
  return { min: 10 ** e0, max: 10 ** hiE, ticks };
}

// 3 * 0.1 = 0.30000000000000004: round to 12 significant digits.
function clean(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

/** A tick label: plain decimals for ordinary magnitudes, exponent form for huge or tiny ones. */
export function formatTick(v: number, step?: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    // 1.50e-4 → "1.5e-4": keep the mantissa's significant digits only.
    const [mantissa, exp] = v.toExponential(3).split('e');
    return `${mantissa.replace(/\.?0+$/, '')}e${exp.replace('+', '')}`;
  }
  if (step === undefined) return String(Number(v.toPrecision(4)));
  return v.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))));
}
