// Element types, their storage on the host, and conversions between float formats.
//
// float16 and bfloat16 have no JS typed array (Node 20 has no Float16Array), so they are
// stored as their raw 16-bit patterns in a Uint16Array, as ONNX Runtime expects.

import { LatentlabError } from './errors.js';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'int8', 'bool'];

export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  /** Quantised weights (precision 'int8': onnx/quantize.ts). */
  int8: Int8Array;
  bool: Uint8Array;
}

export type DataFor<D extends DType> = DataTypeMap[D];
export type AnyData = DataTypeMap[DType];

/** Bytes per element. */
export function dtypeSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'uint8':
    case 'int8':
    case 'bool':
      return 1;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** A zero-filled typed array of `n` elements for `dtype`. */
export function allocate<D extends DType>(dtype: D, n: number): DataFor<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as DataFor<D>;
    case 'float64':
      return new Float64Array(n) as DataFor<D>;
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n) as DataFor<D>;
    case 'int64':
      return new BigInt64Array(n) as DataFor<D>;
    case 'int32':
      return new Int32Array(n) as DataFor<D>;
    case 'uint8':
    case 'bool':
      return new Uint8Array(n) as DataFor<D>;
    case 'int8':
      return new Int8Array(n) as DataFor<D>;
  }
  throw new LatentlabError('DTYPE_UNKNOWN', `unknown dtype ${String(dtype)}; expected one of ${DTYPES.join(', ')}`);
}

/** A typed-array view of `dtype` over `bytes` (which must be aligned for the element size). */
export function viewAs<D extends DType>(dtype: D, bytes: Uint8Array): DataFor<D> {
  const size = dtypeSize(dtype);
  const n = bytes.byteLength / size;
  const { buffer, byteOffset } = bytes;
  // Typed arrays need aligned offsets; copy when the bytes are not aligned for the element type.
  if (byteOffset % size !== 0) return viewAs(dtype, bytes.slice());
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n) as DataFor<D>;
    case 'float64':
      return new Float64Array(buffer, byteOffset, n) as DataFor<D>;
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, n) as DataFor<D>;
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n) as DataFor<D>;
    case 'int32':
      return new Int32Array(buffer, byteOffset, n) as DataFor<D>;
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n) as DataFor<D>;
    case 'int8':
      return new Int8Array(buffer, byteOffset, n) as DataFor<D>;
  }
  throw new LatentlabError('DTYPE_UNKNOWN', `unknown dtype ${String(dtype)}`);
}

// ---- float16 / bfloat16 <-> float32 -------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number (exact). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number -> IEEE half bits, round to nearest even (what torch's `.half()` does). */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> 0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1; // may carry into the exponent: correct
  return sign | h;
}

export function bf16ToF32(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}

/** number -> bfloat16 bits, round to nearest even. */
export function f32ToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40; // NaN stays NaN
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Converts any numeric data to a fresh Float32Array (float16/bfloat16 decoded, int64 via Number). */
export function toFloat32(dtype: DType, data: AnyData): Float32Array {
  const out = new Float32Array(data.length);
  if (dtype === 'float16') for (let i = 0; i < out.length; i++) out[i] = f16ToF32((data as Uint16Array)[i]);
  else if (dtype === 'bfloat16') for (let i = 0; i < out.length; i++) out[i] = bf16ToF32((data as Uint16Array)[i]);
  else if (dtype === 'int64') for (let i = 0; i < out.length; i++) out[i] = Number((data as BigInt64Array)[i]);
  else out.set(data as ArrayLike<number>);
  return out;
}
