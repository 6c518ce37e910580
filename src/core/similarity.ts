// How alike are two vectors? The three measures the deep dive compares token embeddings and prompt
// encodings with. For vectors a, b of n numbers:
//
//   dot(a, b)                a·b = Σ aᵢbᵢ                         grows with the lengths |a|, |b|
//   cosineSimilarity(a, b)   a·b / (|a|·|b|)  ∈ [−1, 1]           the angle only: 1 same direction, 0 orthogonal
//   euclideanDistance(a, b)  |a − b| = √Σ(aᵢ − bᵢ)²               0 for equal vectors
//
// They are one quantity seen three ways: |a − b|² = |a|² + |b|² − 2·a·b. For unit vectors
// (|a| = |b| = 1) that is 2 − 2·cos, so ranking by distance and by cosine agree.
//
// A tensor counts as the vector of all its elements (a [1, 77, 768] prompt encoding is one vector of
// 59136 numbers), so both arguments need the same number of elements; their shapes may differ.
// Sums are accumulated in float64.

import { isFloat } from './dtype.js';
import { check, fmtShape } from './errors.js';
import { Tensor } from './tensor.js';

/** A vector: a tensor (all its elements, row-major) or plain numbers. */
export type VectorLike = Tensor | ArrayLike<number>;

function values(v: VectorLike, what: string): ArrayLike<number> {
  if (v instanceof Tensor) {
    check(isFloat(v.dtype), 'TENSOR_DTYPE', () => `${what}: expected a float tensor, got ${v.dtype} ${fmtShape(v.shape)}`,
      { hint: 'look the ids up first (e.g. tokenEmbedding.forward(ids)) and compare the embeddings' });
    return v.dtype === 'float32' ? (v.data as Float32Array) : v.toFloat32().data;
  }
  check(v !== null && typeof v === 'object' && typeof v.length === 'number', 'TENSOR_ARGUMENT', () => `${what}: expected a tensor or an array of numbers, got ${typeof v}`);
  return v;
}

function pair(a: VectorLike, b: VectorLike, what: string): [ArrayLike<number>, ArrayLike<number>] {
  const [x, y] = [values(a, what), values(b, what)];
  check(x.length === y.length && x.length > 0, 'TENSOR_SHAPE_MISMATCH',
    () => `${what}: the vectors have ${x.length} and ${y.length} elements; they must have the same, non-zero number`,
    { hint: 'compare like with like: two token embeddings [H], or two prompt encodings [77, H]' });
  return [x, y];
}

/** a·b = Σ aᵢbᵢ. */
export function dot(a: VectorLike, b: VectorLike): number {
  const [x, y] = pair(a, b, 'dot');
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** |a| = √(a·a), the Euclidean (L2) length. */
export function norm(a: VectorLike): number {
  const x = values(a, 'norm');
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** a·b / (|a|·|b|), the cosine of the angle between a and b; NaN when either is all zeros. */
export function cosineSimilarity(a: VectorLike, b: VectorLike): number {
  const [x, y] = pair(a, b, 'cosineSimilarity');
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < x.length; i++) {
    ab += x[i] * y[i];
    aa += x[i] * x[i];
    bb += y[i] * y[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** |a − b| = √Σ(aᵢ − bᵢ)². */
export function euclideanDistance(a: VectorLike, b: VectorLike): number {
  const [x, y] = pair(a, b, 'euclideanDistance');
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return Math.sqrt(s);
}

/** m[i][j] = measure(vectors[i], vectors[j]) for every pair: the matrix a heat map shows. */
export function pairwiseMatrix(vectors: readonly VectorLike[], measure: (a: VectorLike, b: VectorLike) => number): number[][] {
  check(Array.isArray(vectors) && vectors.length > 0, 'TENSOR_ARGUMENT', () => 'pairwiseMatrix: expected a non-empty list of vectors');
  return vectors.map((a) => vectors.map((b) => measure(a, b)));
}
