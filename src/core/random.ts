// A random generator that reproduces PyTorch's CPU `torch.Generator` bit for bit (torch 1.13,
// x86-64 with AVX2): `new Generator().manualSeed(s).randn(shape)` gives the same float32 numbers
// as `torch.randn(shape, generator=torch.Generator().manual_seed(s))`, so a seed gives the same
// picture here as in diffusers. The recipe is spelled out in the conformance README, section 8:
//
//   engine   MT19937 (32-bit), seeded with init_genrand(seed mod 2^32)
//   rand     (random() & 0xFFFFFF) · 2^-24                         (float32 uniform in [0, 1))
//   randn    numel < 16: Box-Muller in double, one normal per element, the second value of each
//              pair cached in the generator (shared by later small draws, cleared by manualSeed)
//            numel ≥ 16: fill with float32 uniforms, then Box-Muller on blocks of 16 in float32
//              with the AVX2 "avx_mathfun" log / sincos polynomials; if numel % 16 ≠ 0 the last
//              16 positions are refilled with fresh uniforms and transformed again.

import { check, fmtValue, LatentlabError } from './errors.js';
import { numel, Tensor } from './tensor.js';

/** torch's default seed for a generator that was never seeded (c10 default_rng_seed_val). */
const DEFAULT_SEED = 67280421310721n;
const N = 624;
const M = 397;

/** A snapshot of the generator (`getState` / `setState`), like `torch.Generator.get_state()`. */
export interface GeneratorState {
  readonly seed: bigint;
  readonly mt: Uint32Array; // [624] MT19937 state words
  readonly index: number; // next word to temper (624 = regenerate)
  readonly nextDoubleNormal: number | null; // cached second Box-Muller value of the scalar path
}

export class Generator {
  private seed = DEFAULT_SEED;
  private readonly mt = new Uint32Array(N);
  private index = N;
  private nextDoubleNormal: number | null = null;

  constructor(seed?: number | bigint) {
    this.manualSeed(seed ?? DEFAULT_SEED);
  }

  /** Seeds the engine (`torch.Generator.manual_seed`); clears the cached normal. */
  manualSeed(seed: number | bigint): this {
    const ok = typeof seed === 'bigint' ? seed >= 0n && seed < 1n << 64n : Number.isSafeInteger(seed) && seed >= 0;
    check(ok, 'RNG_SEED', () => `seed ${fmtValue(seed)} is not an integer in [0, 2^64)`, {
      hint: 'pass a non-negative integer seed (a bigint for values above 2^53).',
    });
    this.seed = BigInt(seed);
    let s = Number(this.seed & 0xffffffffn);
    this.mt[0] = s;
    for (let i = 1; i < N; i++) {
      // mt[i] = 1812433253 · (mt[i−1] ^ (mt[i−1] >> 30)) + i  (mod 2^32; Math.imul keeps 32 bits)
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i) >>> 0;
      this.mt[i] = s;
    }
    this.index = N;
    this.nextDoubleNormal = null;
    return this;
  }

  /** The seed last given to `manualSeed` (a number when it is a safe integer). */
  initialSeed(): number | bigint {
    return this.seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(this.seed) : this.seed;
  }

  getState(): GeneratorState {
    return { seed: this.seed, mt: this.mt.slice(), index: this.index, nextDoubleNormal: this.nextDoubleNormal };
  }

  setState(state: GeneratorState): this {
    check(state.mt.length === N && Number.isInteger(state.index) && state.index >= 0 && state.index <= N, 'RNG_STATE',
      () => `generator state has ${state.mt.length} words and index ${state.index}; expected ${N} words and an index in [0, ${N}]`,
      { hint: 'pass an object returned by Generator.getState().' });
    this.seed = state.seed;
    this.mt.set(state.mt);
    this.index = state.index;
    this.nextDoubleNormal = state.nextDoubleNormal;
    return this;
  }

  /** The next tempered 32-bit MT19937 output, as an unsigned number. */
  random(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `torch.rand(shape)`: float32 uniforms in [0, 1), one engine output each. */
  rand(shape: readonly number[]): Tensor<'float32'> {
    const out = new Tensor('float32', validShape(shape));
    for (let i = 0; i < out.size; i++) out.data[i] = this.uniformFloat();
    return out;
  }

  /** `torch.randn(shape)`: standard normals, float32. */
  randn(shape: readonly number[]): Tensor<'float32'> {
    const out = new Tensor('float32', validShape(shape));
    const n = out.size;
    if (n < 16) {
      for (let i = 0; i < n; i++) out.data[i] = this.doubleNormal();
      return out;
    }
    const d = out.data;
    for (let i = 0; i < n; i++) d[i] = this.uniformFloat();
    for (let k = 0; k + 16 <= n; k += 16) boxMuller16(d, k);
    if (n % 16 !== 0) {
      // torch recomputes the tail: 16 fresh uniforms overwrite the last 16 (already transformed) values.
      for (let i = n - 16; i < n; i++) d[i] = this.uniformFloat();
      boxMuller16(d, n - 16);
    }
    return out;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  private uniformFloat(): number {
    return (this.random() & 0xffffff) * 2 ** -24;
  }

  /** 53-bit double uniform in [0, 1) from random64() = (first << 32) | second. */
  private uniformDouble(): number {
    const hi = this.random();
    const lo = this.random();
    return ((hi & 0x1fffff) * 2 ** 32 + lo) * 2 ** -53;
  }

  /** torch's at::normal_distribution<double>: Box-Muller, the sine half cached for the next call. */
  private doubleNormal(): number {
    if (this.nextDoubleNormal !== null) {
      const v = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

function validShape(shape: readonly number[]): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new LatentlabError('RNG_SHAPE', `shape ${fmtValue(shape)} is not a list of non-negative integers`, {
      hint: 'pass the tensor shape as an array, e.g. [1, 4, 64, 64].',
    });
  }
  check(numel(shape) <= 2 ** 31, 'RNG_SHAPE', () => `shape ${fmtValue(shape)} has more than 2^31 elements`);
  return shape;
}

// ---- float32 arithmetic of the AVX2 path ----------------------------------------------------
//
// Every float32 operation except FMA is exact to emulate with `Math.fround` of the double result
// (+ − × ÷ √ of two float32s computed in double and rounded again give the correctly rounded float32,
// because 53 ≥ 2·24 + 2). A fused multiply-add a·b + c is different: a·b is exact in double (two 24-bit
// mantissas), but a·b + c is rounded to double first, and rounding that to float32 can differ from a
// single rounding when the double lands exactly halfway between two float32s. `fma32` detects that case
// and breaks the tie in the direction of the exact remainder (TwoSum), which makes it exact. (The tie
// is rare — none occurs in 3.3 million normals — but without the fix the result is only almost exact.)

const f = Math.fround;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** float32 fused multiply-add `a·b + c` with a single rounding (inputs must be float32 values). */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b; // exact
  const s = p + c;
  const r = f(s);
  if (r === s) return r;
  f64[0] = s;
  // Halfway between two float32s: the 29 mantissa bits that float32 drops are exactly 1000…0.
  if ((u32[0] & 0x1fffffff) !== 0x10000000) return r;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb); // s + err = a·b + c exactly (Knuth's TwoSum)
  if (err === 0) return r; // a true tie: fround already rounds it to even
  return f(s + Math.sign(err) * Math.abs(s) * 2 ** -40); // nudge off the midpoint, towards the exact value
}

// Cephes / avx_mathfun constants, as float32.
const SQRTHF = f(0.707106781186547524);
const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f);
const LOG_Q1 = f(-2.12194440e-4);
const LOG_Q2 = f(0.693359375);
const FOPI = f(1.27323954473516); // 4/π
const DP1 = f(-0.78515625);
const DP2 = f(-2.4187564849853515625e-4);
const DP3 = f(-3.77489497744594108e-8);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f);
const TWO_PI = f(2 * Math.PI);

/** log256_ps for u in (0, 1]: ln u = e·ln2 + ln m with m ∈ [√½, √2), a degree-9 polynomial in m−1. */
function logF32(u: number): number {
  const bits = floatBits(u);
  let e = f(((bits >>> 23) & 0xff) - 127 + 1);
  let m = floatFromBits((bits & 0x807fffff) | 0x3f000000); // mantissa scaled into [0.5, 1)
  if (m < SQRTHF) {
    e = f(e - 1);
    m = f(f(m - 1) + m);
  } else {
    m = f(m - 1);
  }
  const z = f(m * m);
  let y = LOG_P[0];
  for (let i = 1; i < LOG_P.length; i++) y = fma32(y, m, LOG_P[i]);
  y = f(y * m);
  y = fma32(y, z, f(e * LOG_Q1));
  y = f(y - f(z * 0.5));
  return fma32(e, LOG_Q2, f(m + y));
}

/** sincos256_ps for θ ≥ 0: reduce by multiples of π/4 (Cody-Waite, three parts), two polynomials. */
function sinCosF32(theta: number): [number, number] {
  let j = Math.trunc(f(theta * FOPI));
  j = (j + 1) & ~1;
  const yj = j;
  let x = fma32(yj, DP1, theta);
  x = fma32(yj, DP2, x);
  x = fma32(yj, DP3, x);
  const z = f(x * x);
  let c = fma32(COS_P[0], z, COS_P[1]);
  c = fma32(c, z, COS_P[2]);
  c = f(c * z);
  c = fma32(c, z, -f(z * 0.5));
  c = f(c + 1);
  let s = fma32(SIN_P[0], z, SIN_P[1]);
  s = fma32(s, z, SIN_P[2]);
  s = f(s * z);
  s = fma32(s, x, x);
  let sin = (j & 2) === 0 ? s : c;
  let cos = (j & 2) === 0 ? c : s;
  if ((j & 4) !== 0) sin = -sin;
  if (((j - 2) & 4) === 0) cos = -cos;
  return [sin, cos];
}

/** normal_fill_16_AVX2: d[k..k+7] and d[k+8..k+15] (uniforms) become 16 normals. */
function boxMuller16(d: Float32Array, k: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[k + j]);
    const u2 = d[k + j + 8];
    const r = f(Math.sqrt(f(-2 * logF32(u1))));
    const [sin, cos] = sinCosF32(f(TWO_PI * u2));
    d[k + j] = r * cos;
    d[k + j + 8] = r * sin;
  }
}

const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

function floatBits(x: number): number {
  bitsF32[0] = x;
  return bitsU32[0];
}

function floatFromBits(b: number): number {
  bitsU32[0] = b >>> 0;
  return bitsF32[0];
}

/**
 * The generator used when a caller does not pass one (like `torch.default_generator`): deterministic
 * from torch's default seed, shared by everything that falls back to it.
 */
export const defaultGenerator = new Generator();

/**
 * A 32-bit seed for a named stream: FNV-1a of `key` mixed with `seed` (never 0). Gives every tensor
 * of a checkpoint its own values (random-weight pipelines, fresh training weights), so adding one
 * does not change the others.
 */
export function keySeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}
