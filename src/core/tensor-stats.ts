// Summary numbers of a tensor, and of the difference between two: what you print to understand a
// tensor you cannot look at element by element (the VAE's latent distribution, a reconstruction,
// the scheduler's noise). Accumulated in float64.
//
// `std` follows torch.Tensor.std(): the unbiased estimate √(Σ(x − mean)² / (n − 1)), so the numbers
// match what the Python notebook prints.

import { isFloat } from './dtype.js';
import { check, fmtShape } from './errors.js';
import { Tensor } from './tensor.js';

export interface TensorStats {
  shape: readonly number[];
  min: number;
  max: number;
  mean: number;
  /** Unbiased standard deviation (torch's default); NaN for a single element. */
  std: number;
  /** Mean of |x|. */
  absMean: number;
}

function floats(t: Tensor, what: string): ArrayLike<number> {
  check(t instanceof Tensor && isFloat(t.dtype), 'TENSOR_DTYPE',
    () => `${what}: expected a float tensor, got ${t instanceof Tensor ? `${t.dtype} ${fmtShape(t.shape)}` : typeof t}`);
  check(t.size > 0, 'TENSOR_EMPTY', () => `${what}: the tensor ${fmtShape(t.shape)} has no elements`);
  return t.dtype === 'float32' ? (t.data as Float32Array) : t.toFloat32().data;
}

/** min, max, mean, std and mean |x| of all elements (NaN anywhere makes mean and std NaN). */
export function tensorStats(t: Tensor): TensorStats {
  const x = floats(t, 'tensorStats');
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let abs = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    abs += Math.abs(v);
  }
  const mean = sum / x.length;
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += (x[i] - mean) ** 2;
  return { shape: t.shape, min, max, mean, std: Math.sqrt(sq / (x.length - 1)), absMean: abs / x.length };
}

export interface TensorDifference {
  /** max |a − b|: the worst element. */
  maxAbs: number;
  /** mean |a − b| (mean absolute error). */
  meanAbs: number;
  /** √mean (a − b)² (root-mean-square error). */
  rms: number;
}

/** How far apart two tensors of the same shape are, elementwise (a reconstruction error, a check). */
export function tensorDifference(a: Tensor, b: Tensor): TensorDifference {
  const [x, y] = [floats(a, 'tensorDifference'), floats(b, 'tensorDifference')];
  check(a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]), 'TENSOR_SHAPE_MISMATCH',
    () => `tensorDifference: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`, { hint: 'compare tensors of the same shape' });
  let maxAbs = 0;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? NaN : d;
    abs += d;
    sq += d * d;
  }
  return { maxAbs, meanAbs: abs / x.length, rms: Math.sqrt(sq / x.length) };
}
