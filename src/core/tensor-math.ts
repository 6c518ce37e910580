// Elementwise arithmetic on host float32 tensors: what schedulers and guidance need.
//
// Each output element is computed in float64 from the float32 inputs and rounded to float32 once.
// diffusers rounds to float32 after every operation, so results can differ from PyTorch in the last
// bit; the conformance README measures that (float64 reimplementation ≤ 2.3e-6 relative on scheduler
// chains) and sets its tolerances above it.

import { check, fmtShape } from './errors.js';
import { Tensor } from './tensor.js';

/** numpy's `round` and torch.round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One term `coefficient · tensor` of a linear combination. */
export type Term = readonly [number, Tensor<'float32'>];

function checkSameShape(tensors: readonly Tensor[], what: string): void {
  const [first] = tensors;
  for (const t of tensors) {
    check(t.dtype === 'float32', 'TENSOR_DTYPE', () => `${what}: expected float32 tensors, got ${t.dtype}`);
    check(t.rank === first.rank && t.shape.every((d, i) => d === first.shape[i]), 'TENSOR_SHAPE_MISMATCH',
      () => `${what}: tensors of shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} cannot be combined elementwise`,
      { hint: 'pass tensors of the same shape (the scheduler works on one latent batch at a time).' });
  }
}

/** Σ cᵢ·xᵢ elementwise, e.g. `linearCombination([[a, x], [b, eps]])` = a·x + b·ε. */
export function linearCombination(terms: readonly Term[]): Tensor<'float32'> {
  check(terms.length > 0, 'TENSOR_EMPTY', () => 'linearCombination needs at least one term');
  checkSameShape(terms.map(([, t]) => t), 'linearCombination');
  const out = new Tensor('float32', terms[0][1].shape);
  const o = out.data;
  const n = o.length;
  // Unrolled for the common short combinations; the general loop is the same sum.
  if (terms.length === 1) {
    const [[a, x]] = terms;
    for (let i = 0; i < n; i++) o[i] = a * x.data[i];
  } else if (terms.length === 2) {
    const [[a, x], [b, y]] = terms;
    for (let i = 0; i < n; i++) o[i] = a * x.data[i] + b * y.data[i];
  } else {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const [c, t] of terms) s += c * t.data[i];
      o[i] = s;
    }
  }
  return out;
}

/**
 * a + b elementwise, where b may lack leading dimensions of a and is then repeated over them (numpy /
 * torch broadcasting of a trailing shape): token embeddings [B, 77, H] + position embeddings [77, H].
 * Exactly torch's float32 sum (float64 sum of two float32 values, rounded once).
 */
export function add(a: Tensor<'float32'>, b: Tensor<'float32'>): Tensor<'float32'> {
  const lead = a.rank - b.rank;
  check(a.dtype === 'float32' && b.dtype === 'float32', 'TENSOR_DTYPE', () => `add: expected float32 tensors, got ${a.dtype} and ${b.dtype}`);
  check(lead >= 0 && b.shape.every((d, i) => d === a.shape[lead + i]), 'TENSOR_SHAPE_MISMATCH',
    () => `add: cannot add ${fmtShape(b.shape)} to ${fmtShape(a.shape)}; the second shape must equal the end of the first`,
    { hint: 'e.g. [1, 77, 768] + [77, 768]; reshape the tensors so their trailing dimensions line up' });
  const out = new Tensor('float32', a.shape);
  const n = b.size;
  for (let i = 0; i < out.size; i++) out.data[i] = a.data[i] + b.data[i % n];
  return out;
}

/**
 * `x · s` as torch computes `x * s` for a float32 tensor and a Python float: s is rounded to
 * float32 first, and each product once.
 */
export function scale(x: Tensor<'float32'>, s: number): Tensor<'float32'> {
  const f = Math.fround(s);
  const out = new Tensor('float32', x.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = x.data[i] * f;
  return out;
}

/**
 * `x / s` as torch computes it (s rounded to float32, one rounding per quotient). Not the same as
 * `scale(x, 1 / s)`: `latents / 0.18215` and `latents * (1 / 0.18215)` differ in the last bit for about
 * a quarter of the values, and diffusers divides.
 */
export function divide(x: Tensor<'float32'>, s: number): Tensor<'float32'> {
  const f = Math.fround(s);
  const out = new Tensor('float32', x.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = x.data[i] / f;
  return out;
}

/** `f(a[i], b[i])` elementwise (same shapes), computed in float64 and stored as float32. */
export function zipWith(a: Tensor<'float32'>, b: Tensor<'float32'>, f: (x: number, y: number) => number): Tensor<'float32'> {
  checkSameShape([a, b], 'zipWith');
  const out = new Tensor('float32', a.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = f(a.data[i], b.data[i]);
  return out;
}

/** `f(x[i])` elementwise. */
export function map(x: Tensor<'float32'>, f: (v: number) => number): Tensor<'float32'> {
  const out = new Tensor('float32', x.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = f(x.data[i]);
  return out;
}

/**
 * Per-batch-item linear combination: out[b] = Σ cᵢ[b]·xᵢ[b], where each coefficient list has one value
 * per item of the leading axis (torch's `coef[:, None, None, None] * x`).
 */
export function batchedLinearCombination(terms: readonly (readonly [readonly number[], Tensor<'float32'>])[]): Tensor<'float32'> {
  checkSameShape(terms.map(([, t]) => t), 'batchedLinearCombination');
  const shape = terms[0][1].shape;
  const batch = shape[0] ?? 1;
  for (const [c] of terms) {
    check(c.length === batch, 'TENSOR_SHAPE_MISMATCH', () => `batchedLinearCombination: ${c.length} coefficients for a batch of ${batch}`);
  }
  const out = new Tensor('float32', shape);
  const inner = batch === 0 ? 0 : out.size / batch;
  for (let b = 0; b < batch; b++) {
    for (let i = b * inner; i < (b + 1) * inner; i++) {
      let s = 0;
      for (const [c, t] of terms) s += c[b] * t.data[i];
      out.data[i] = s;
    }
  }
  return out;
}

/** torch.cat(parts, dim=1) for tensors [B, Cᵢ, …] with the same batch and trailing dims. */
export function catChannels(parts: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const [b, , ...rest] = parts[0].shape;
  const inner = rest.reduce((x, y) => x * y, 1);
  for (const p of parts) {
    check(p.shape[0] === b && p.shape.slice(2).join() === rest.join(), 'TENSOR_SHAPE_MISMATCH',
      () => `catChannels: [${p.shape}] does not line up with [${parts[0].shape}] (same batch and trailing dims needed)`);
  }
  const channels = parts.reduce((n, p) => n + p.shape[1], 0);
  const out = new Tensor('float32', [b, channels, ...rest]);
  let offset = 0;
  for (let i = 0; i < b; i++) {
    for (const p of parts) {
      const n = p.shape[1] * inner;
      out.data.set(p.data.subarray(i * n, (i + 1) * n), offset);
      offset += n;
    }
  }
  return out;
}
