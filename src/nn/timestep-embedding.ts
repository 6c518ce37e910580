// diffusers' timestep embedding (models/embeddings.py, 0.27): `Timesteps` (the sinusoidal
// features of get_timestep_embedding) and `TimestepEmbedding` (linear_1 → act → linear_2).
//
//   exponent_i = −ln(10000) · i / (half − freq_shift)      i = 0 … half−1, half = dim / 2
//   freq_i     = exp(exponent_i)
//   arg        = t[:, None] · freq[None, :]                 [B, half]
//   features   = [cos(arg), sin(arg)] (flip_sin_to_cos) or [sin(arg), cos(arg)]; a zero column if dim is odd
//
// torch computes the frequencies in float32 (arange(float32) · float32(−ln 10000) / float32(half),
// then a float32 exp), so we compute them on the host the same way — rounding after every step —
// and store them as a float32 constant. Only t · freq, sin and cos run in the graph, in float32
// like torch. Even the exp matters: torch's CPU kernel runs SLEEF's vectorised expf (1-ulp accuracy,
// not always correctly rounded), and one ulp of a frequency times t = 999 moves a feature by up to
// 1.5e-5; so `sleefExpf` below reproduces it bit for bit (checked against the fixture). Frequencies
// computed in float64 would move the features by up to 9e-6 (fixture README §13).

import { fma32 } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { linear } from './layers.js';

export interface TimestepsConfig {
  /** Number of features (diffusers' num_channels / embedding_dim): block_out_channels[0] in the UNet. */
  dim: number;
  flipSinToCos: boolean;
  /** diffusers' downscale_freq_shift. */
  freqShift: number;
  /** Default 10000. */
  maxPeriod?: number;
}

/** The float32 frequencies freq_i = exp(float32(−ln maxPeriod) · i / (half − freqShift)), as torch computes them. */
export function timestepFrequencies(cfg: TimestepsConfig): Float32Array {
  const half = Math.floor(cfg.dim / 2);
  const f = Math.fround;
  const negLog = f(-Math.log(cfg.maxPeriod ?? 10000)); // the Python float meets a float32 tensor: rounded to float32
  const denom = f(half - cfg.freqShift);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = sleefExpf(f(f(negLog * i) / denom));
  return out;
}

const R_LN2 = Math.fround(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2U = Math.fround(0.693145751953125);
const L2L = Math.fround(1.428606765330187045e-6);
const EXP_POLY = [0.000198527617612853646278381, 0.00139304355252534151077271, 0.00833336077630519866943359,
  0.0416664853692054748535156, 0.166666671633720397949219, 0.5].map(Math.fround);

/**
 * SLEEF's xexpf (u10, with FMA), the float32 exp behind torch's CPU `exp`: d = q·ln2 + s with
 * |s| ≤ ln2/2 (ln2 split in two parts so q·L2U is exact), a degree-7 polynomial for eˢ, then ·2^q.
 */
export function sleefExpf(d: number): number {
  const f = Math.fround;
  if (d < -104) return 0;
  if (d > 100) return Infinity;
  const q = roundHalfEven(f(d * R_LN2));
  let s = fma32(q, -L2U, d);
  s = fma32(q, -L2L, s);
  let u = EXP_POLY[0];
  for (let i = 1; i < EXP_POLY.length; i++) u = fma32(u, s, EXP_POLY[i]);
  u = f(1 + fma32(f(s * s), u, s));
  return f(u * 2 ** q); // exact scaling by a power of two (SLEEF's ldexp2k) for the exponents that occur here
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Sinusoidal features of float32 timesteps t [B] → [B, dim] (diffusers' Timesteps module). */
export function timestepFeatures(m: Module, t: Value, cfg: TimestepsConfig): Value {
  return m.build(() => {
    const freqs = timestepFrequencies(cfg);
    const half = freqs.length;
    const freq = m.graph.constant(new Tensor('float32', [1, half], freqs)); // [1, half]
    const arg = op.mul(op.reshape(t, [t.shape[0], 1]), freq); // [B, half]
    const [sin, cos] = [op.sin(arg), op.cos(arg)];
    let emb = op.concat(cfg.flipSinToCos ? [cos, sin] : [sin, cos], 1); // [B, 2·half]
    if (cfg.dim % 2 === 1) emb = op.pad(emb, [[0, 0], [0, 1]]); // [B, dim]
    return emb;
  });
}

/**
 * TimestepEmbedding: linear_1 (dim → embDim) → act → linear_2 (embDim → embDim). features [B, dim] → [B, embDim].
 * With a `condition` [B, condDim] (LCM-distilled UNets' guidance embedding, diffusers' timestep_cond)
 * the features first get `cond_proj(condition)` added: a Linear condDim → dim without bias.
 */
export function timestepEmbedding(m: Module, features: Value, dim: number, embDim: number, act: (x: Value) => Value, origin?: string, condition?: { value: Value; dim: number }): Value {
  const input = condition ? m.build(() => op.add(features, linear(m.child('cond_proj'), condition.value, condition.dim, dim, { bias: false, origin }))) : features; // [B, dim]
  const h = linear(m.child('linear_1'), input, dim, embDim, { origin }); // [B, embDim]
  return linear(m.child('linear_2'), m.build(() => act(h)), embDim, embDim, { origin });
}

/**
 * The guidance-scale embedding LCM-distilled UNets take as timestep_cond (diffusers'
 * get_guidance_scale_embedding, LatentConsistencyModelPipeline / StableDiffusionPipeline 0.27, after
 * VDM): w' = 1000·w, freq_i = exp(−i · ln(10000) / (half − 1)), features [sin(w'·freq), cos(w'·freq)]
 * (sine first, unlike the timestep features), a zero column for an odd width. The pipelines pass
 * w = guidance_scale − 1. Float32 throughout with torch's rounding (its exp as SLEEF's); sin and cos
 * are the correctly rounded ones, within an ulp of torch's.  w [B] → [B, dim].
 */
export function guidanceScaleEmbedding(w: readonly number[], dim: number): Tensor<'float32'> {
  const f = Math.fround;
  const half = Math.floor(dim / 2);
  const step = f(f(Math.log(10000)) / (half - 1)); // torch.log(tensor(10000.)) / (half − 1), in float32
  const freqs = Float32Array.from({ length: half }, (_, i) => sleefExpf(f(i * -step)));
  const out = new Tensor('float32', [w.length, dim]);
  w.forEach((wi, b) => {
    const scaled = f(f(wi) * 1000);
    for (let i = 0; i < half; i++) {
      const a = f(scaled * freqs[i]);
      out.data[b * dim + i] = Math.sin(a);
      out.data[b * dim + half + i] = Math.cos(a);
    }
  });
  return out;
}
