// The host tensor: a typed array plus a shape, row-major (C order), like a contiguous torch
// tensor on the CPU. Schedulers, guidance arithmetic, image conversion and every model output
// are Tensors; ONNX Runtime reads their arrays without a copy.

import { allocate, DataFor, DType, dtypeSize, f32ToF16, toFloat32 } from './dtype.js';
import { check, fmtShape, LatentlabError } from './errors.js';

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements: strides(shape)[i] = prod(shape[i+1:]). */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DataFor<D>;

  constructor(dtype: D, shape: readonly number[], data?: DataFor<D>) {
    for (const d of shape) {
      check(Number.isInteger(d) && d >= 0, 'TENSOR_SHAPE', () => `tensor shape ${fmtShape(shape)} has a dimension that is not a non-negative integer`);
    }
    const n = numel(shape);
    if (data === undefined) data = allocate(dtype, n);
    check(data.length === n, 'TENSOR_SIZE', () => `${dtype} tensor of shape ${fmtShape(shape)} needs ${n} elements, got ${data!.length}`);
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  get byteLength(): number {
    return this.data.length * dtypeSize(this.dtype);
  }

  /** Same data, new shape (one dimension may be -1). No copy. */
  reshape(shape: readonly number[]): Tensor<D> {
    const known = shape.filter((d) => d !== -1);
    const infer = shape.length - known.length;
    check(infer <= 1, 'TENSOR_RESHAPE', () => `reshape to ${fmtShape(shape)}: at most one dimension may be -1`);
    const k = numel(known);
    const resolved = shape.map((d) => (d === -1 ? this.size / k : d));
    check(numel(resolved) === this.size && resolved.every(Number.isInteger), 'TENSOR_RESHAPE',
      () => `cannot reshape a tensor of shape ${fmtShape(this.shape)} (${this.size} elements) to ${fmtShape(shape)}`);
    return new Tensor(this.dtype, resolved, this.data);
  }

  /** Items `start..end` along the first axis, as a view (no copy). */
  slice0(start: number, end = start + 1): Tensor<D> {
    check(this.rank >= 1 && start >= 0 && end <= this.shape[0] && start <= end, 'TENSOR_SLICE',
      () => `slice [${start}, ${end}) along axis 0 is outside a tensor of shape ${fmtShape(this.shape)}`);
    const inner = this.size / (this.shape[0] || 1);
    const data = this.data.subarray(start * inner, end * inner) as DataFor<D>;
    return new Tensor(this.dtype, [end - start, ...this.shape.slice(1)], data);
  }

  /** A copy with its own buffer. */
  clone(): Tensor<D> {
    return new Tensor(this.dtype, this.shape, this.data.slice() as DataFor<D>);
  }

  /** float32 copy of any float / integer tensor (float16 and bfloat16 decoded). */
  toFloat32(): Tensor<'float32'> {
    return new Tensor('float32', this.shape, toFloat32(this.dtype, this.data));
  }

  /** float16 copy (round to nearest even, as torch's .half()): how checkpoints are saved small. */
  toFloat16(): Tensor<'float16'> {
    const src = this.dtype === 'float32' ? (this.data as Float32Array) : toFloat32(this.dtype, this.data);
    const out = new Tensor('float16', this.shape);
    for (let i = 0; i < src.length; i++) out.data[i] = f32ToF16(src[i]);
    return out;
  }

  /** Nested-array form, handy in tests and for printing small tensors. */
  toNested(): unknown {
    const values = Array.from(this.data as ArrayLike<number | bigint>);
    const build = (offset: number, axis: number): unknown => {
      if (axis === this.rank) return values[offset];
      const step = numel(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => build(offset + i * step, axis + 1));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${fmtShape(this.shape)})`;
  }

  // ---- constructors ------------------------------------------------------------------------

  static zeros<D extends DType = 'float32'>(shape: readonly number[], dtype: D = 'float32' as D): Tensor<D> {
    return new Tensor(dtype, shape);
  }

  static full(shape: readonly number[], value: number): Tensor<'float32'> {
    const t = new Tensor('float32', shape);
    t.data.fill(value);
    return t;
  }

  static float32(shape: readonly number[], values: ArrayLike<number>): Tensor<'float32'> {
    return new Tensor('float32', shape, Float32Array.from(values));
  }

  static int64(shape: readonly number[], values: ArrayLike<number | bigint>): Tensor<'int64'> {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
    return new Tensor('int64', shape, data);
  }

  /** Concatenates tensors of equal trailing shape along axis 0 (torch.cat(dim=0)). */
  static cat0<D extends DType>(parts: readonly Tensor<D>[]): Tensor<D> {
    if (parts.length === 0) throw new LatentlabError('TENSOR_CAT', 'cannot concatenate an empty list of tensors');
    const [first] = parts;
    const inner = first.shape.slice(1);
    for (const p of parts) {
      check(p.dtype === first.dtype && p.rank === first.rank && p.shape.slice(1).every((d, i) => d === inner[i]), 'TENSOR_CAT',
        () => `cannot concatenate ${p} with ${first} along axis 0: dtypes and trailing dimensions must match`);
    }
    const total = parts.reduce((s, p) => s + p.shape[0], 0);
    const out = new Tensor(first.dtype, [total, ...inner]);
    let offset = 0;
    for (const p of parts) {
      (out.data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, offset);
      offset += p.size;
    }
    return out;
  }
}
