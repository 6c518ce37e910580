// Plain-loop reference implementations of latentlab's ops, in float64, for the op tests.
//
// Each function here is written from the op's definition (numpy broadcasting, PyTorch's
// formulas), not from the lowering, so a test compares two independent computations: this file
// and graph → ONNX → onnxruntime-node. Readability beats speed: every index is computed by hand
// from row-major strides. This file holds elementwise and data-movement ops; reference-nn.ts holds
// the compute ops (conv, matmul, attention) and the normalisations.

import { f32ToF16 } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';

/** A float64 n-d array, row-major. */
export interface Nd {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Flat index → multi-index. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    idx[a] = i % shape[a];
    i = Math.floor(i / shape[a]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let a = 0; a < shape.length; a++) i = i * shape[a] + idx[a];
  return i;
}

export function nd(shape: readonly number[], fill: (i: number) => number = () => 0): Nd {
  return { shape: [...shape], data: Float64Array.from({ length: numel(shape) }, (_, i) => fill(i)) };
}

/** A host tensor (any numeric dtype) as float64. */
export function fromTensor(t: Tensor): Nd {
  return { shape: [...t.shape], data: Float64Array.from(t.toFloat32().data) };
}

// ---- elementwise -----------------------------------------------------------------------------

/** numpy broadcasting of any number of shapes. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) => {
    const dims = shapes.map((s) => s[i - (rank - s.length)] ?? 1);
    const big = dims.find((d) => d !== 1) ?? 1;
    if (dims.some((d) => d !== 1 && d !== big)) throw new Error(`reference: shapes ${JSON.stringify(shapes)} do not broadcast`);
    return big;
  });
}

/** The element of `a` that output position `idx` (of a broadcast shape) reads. */
function at(a: Nd, idx: readonly number[]): number {
  const off = idx.length - a.shape.length;
  let i = 0;
  for (let k = 0; k < a.shape.length; k++) i = i * a.shape[k] + (a.shape[k] === 1 ? 0 : idx[k + off]);
  return a.data[i];
}

/** f applied elementwise over broadcast operands. */
export function zip(f: (...xs: number[]) => number, ...xs: Nd[]): Nd {
  const shape = broadcastShape(...xs.map((x) => x.shape));
  return nd(shape, (i) => {
    const idx = unravel(i, shape);
    return f(...xs.map((x) => at(x, idx)));
  });
}

export function map(x: Nd, f: (v: number) => number): Nd {
  return { shape: [...x.shape], data: x.data.map(f) };
}

export const scalar = (v: number): Nd => nd([], () => v);

/** erf to double precision (Abramowitz–Stegun 7.1.26 is too coarse for 1e-6 tests): series / continued fraction. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // Maclaurin series: erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)); converges fast for |x| < 3.
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 100; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc by Lentz's continued fraction for large |x|.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = 1 / d;
    c = ax + an / c;
    f *= c * d;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const geluErf = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
export const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

// ---- data movement ---------------------------------------------------------------------------

export function transpose(x: Nd, perm: readonly number[]): Nd {
  const shape = perm.map((p) => x.shape[p]);
  return nd(shape, (i) => {
    const out = unravel(i, shape);
    const src = new Array<number>(perm.length);
    perm.forEach((p, k) => (src[p] = out[k]));
    return x.data[ravel(src, x.shape)];
  });
}

export function concat(xs: readonly Nd[], axis: number): Nd {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
  return nd(shape, (i) => {
    const idx = unravel(i, shape);
    let k = idx[axis];
    for (const x of xs) {
      if (k < x.shape[axis]) return x.data[ravel(idx.map((d, a) => (a === axis ? k : d)), x.shape)];
      k -= x.shape[axis];
    }
    throw new Error('unreachable');
  });
}

/** Python x[..., start:end:step, ...] along `axis` with start/end already in [0, n]. */
export function sliceAxis(x: Nd, axis: number, start: number, end: number, step: number): Nd {
  const len = Math.max(0, Math.ceil((end - start) / step));
  const shape = x.shape.map((d, a) => (a === axis ? len : d));
  return nd(shape, (i) => {
    const idx = unravel(i, shape);
    idx[axis] = start + idx[axis] * step;
    return x.data[ravel(idx, x.shape)];
  });
}

/** Python's slice-bound normalisation: negative counts from the end, then clamp to [0, n]. */
export function pyIndex(i: number, n: number): number {
  return Math.min(Math.max(i < 0 ? i + n : i, 0), n);
}

export function padConstant(x: Nd, pads: readonly (readonly [number, number])[], value: number): Nd {
  const full = x.shape.map((_, a) => pads[a] ?? [0, 0]);
  const shape = x.shape.map((d, a) => d + full[a][0] + full[a][1]);
  return nd(shape, (i) => {
    const idx = unravel(i, shape).map((d, a) => d - full[a][0]);
    return idx.every((d, a) => d >= 0 && d < x.shape[a]) ? x.data[ravel(idx, x.shape)] : value;
  });
}

/** torch F.pad(mode="circular"): output index i of axis a reads input index (i − before) mod n. */
export function padCircular(x: Nd, pads: readonly (readonly [number, number])[]): Nd {
  const full = x.shape.map((_, a) => pads[a] ?? [0, 0]);
  const shape = x.shape.map((d, a) => d + full[a][0] + full[a][1]);
  return nd(shape, (i) => x.data[ravel(unravel(i, shape).map((d, a) => (((d - full[a][0]) % x.shape[a]) + x.shape[a]) % x.shape[a]), x.shape)]);
}

/**
 * PyTorch's nearest source index (aten/src/ATen/native/UpSample.h, nearest_idx): the scale is
 * the float32 in/out, the product is a float32 multiply, then floorf, capped at in−1.
 */
export function torchNearestSource(dst: number, inSize: number, outSize: number): number {
  const f = new Float32Array(2);
  f[0] = inSize / outSize; // float32 scale
  f[1] = dst * f[0]; // float32 product
  return Math.min(Math.floor(f[1]), inSize - 1);
}

export function resizeNearest(x: Nd, oh: number, ow: number): Nd {
  const [n, c, ih, iw] = x.shape;
  return nd([n, c, oh, ow], (i) => {
    const [b, ch, y, xx] = unravel(i, [n, c, oh, ow]);
    return x.data[ravel([b, ch, torchNearestSource(y, ih, oh), torchNearestSource(xx, iw, ow)], x.shape)];
  });
}

/** table[ids] along axis 0 → [...ids.shape, ...table.shape[1:]]. */
export function gather(table: Nd, ids: readonly number[], idsShape: readonly number[]): Nd {
  const row = numel(table.shape.slice(1));
  const shape = [...idsShape, ...table.shape.slice(1)];
  return nd(shape, (i) => table.data[ids[Math.floor(i / row)] * row + (i % row)]);
}

/** float32 → float16 bits → the float16 value, as torch's `.half()` rounds. */
export const toHalf = (v: number): number => new Tensor('float16', [1], Uint16Array.of(f32ToF16(v))).toFloat32().data[0];
