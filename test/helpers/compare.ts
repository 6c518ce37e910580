// Numeric comparison with the README's tolerances; failures print the max error and where it is.
import { expect } from 'vitest';

import type { Tensor } from '../../src/core/tensor.js';

export interface Diff {
  maxAbs: number;
  maxRel: number; // max |a-b| / max|ref|
  at: number;
  refScale: number;
}

export function diff(actual: ArrayLike<number>, expected: ArrayLike<number>): Diff {
  let maxAbs = 0;
  let at = -1;
  let refScale = 0;
  for (let i = 0; i < expected.length; i++) refScale = Math.max(refScale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > maxAbs || Number.isNaN(d)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  return { maxAbs, maxRel: refScale > 0 ? maxAbs / refScale : maxAbs, at, refScale };
}

function values(t: Tensor | ArrayLike<number>): ArrayLike<number> {
  return 'dtype' in (t as Tensor) ? ((t as Tensor).toFloat32().data) : (t as ArrayLike<number>);
}

/** Asserts shapes match and max |a - b| <= tol. Returns the diff (for reporting). */
export function expectClose(label: string, actual: Tensor, expected: Tensor, tol: { abs?: number; rel?: number }): Diff {
  expect([...actual.shape], `${label}: shape`).toEqual([...expected.shape]);
  const d = diff(values(actual), values(expected));
  const ok = (tol.abs !== undefined && d.maxAbs <= tol.abs) || (tol.rel !== undefined && d.maxRel <= tol.rel);
  if (!ok) {
    const a = values(actual)[d.at];
    const e = values(expected)[d.at];
    expect.fail(`${label}: max abs error ${d.maxAbs.toExponential(3)} (rel ${d.maxRel.toExponential(3)} of max|ref| ${d.refScale.toPrecision(4)}) at flat index ${d.at}: got ${a}, expected ${e}; tolerance ${JSON.stringify(tol)}`);
  }
  return d;
}
