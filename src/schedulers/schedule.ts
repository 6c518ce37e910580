// The noise-schedule maths every scheduler shares, computed exactly as diffusers 0.27 computes it
// (float32 torch tensors for the training tables, float64 numpy for the inference schedules), so the
// timesteps come out bit-identical and the sigma tables within float rounding of the reference.
//
//   βₜ (betas)               the per-step noise variances of the training process, t = 0 … T−1
//   ᾱₜ (alphas_cumprod)      ∏ₛ≤ₜ (1 − βₛ): the signal fraction left at step t
//   σₜ (sigmas)              √((1 − ᾱₜ)/ᾱₜ): the noise level of the variance-exploding (k-diffusion) view
//
// The helpers that mimic numpy / torch (linspace, arange, interp, rounding) are here too, with the
// detail of their rounding, because the timesteps depend on it.

import { LatentlabError } from '../core/errors.js';
import { fma32 } from '../core/random.js';
import { roundHalfEven } from '../core/tensor-math.js';
import type { SchedulerConfig } from './config.js';

const f32 = Math.fround;

// ---- numpy / torch numerics ---------------------------------------------------------------------

/** numpy's `round`: half to even (in core: TAESD's byte latents round the same way). */
export { roundHalfEven };

/** `np.linspace(start, stop, num)` (float64, endpoint included, last value set to `stop`). */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for float64: length ceil((stop − start)/step), values start + i·δ. */
export function arange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start; // numpy fills from the first two values, so δ is re-derived
  return Array.from({ length: n }, (_, i) => start + i * delta);
}

/**
 * `torch.linspace(start, end, steps, dtype=float32)` on the CPU, bit for bit: the step is float32,
 * the first half counts up from `start`, the second half down from `end`, and the vectorised kernel
 * (AVX2, 8 floats) builds each block of 8 as `base + k·step` from the block's first index. The AVX2
 * build contracts `start + step·idx` into fused multiply-adds, so those round once (without FMA,
 * 128 of SD's 1000 betas come out 1 ulp off).
 */
export function torchLinspaceF32(startIn: number, endIn: number, steps: number): Float32Array {
  const start = f32(startIn);
  const end = f32(endIn);
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = f32(f32(end - start) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (idx: number) => (idx < halfway ? fma32(step, idx, start) : fma32(-step, steps - idx - 1, end));
  const vecEnd = Math.floor(steps / 16) * 16; // the vector loop runs in pairs of 8-float blocks
  for (let base = 0; base < vecEnd; base += 8) {
    const b = at(base);
    for (let k = 0; k < 8; k++) out[base + k] = k === 0 ? b : fma32(k, step, b);
  }
  for (let idx = vecEnd; idx < steps; idx++) out[idx] = at(idx);
  return out;
}

/** `np.interp(x, arange(len(fp)), fp)`: linear interpolation on the integer grid 0 … n−1, float64. */
export function interpOnIndexGrid(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x <= 0) return fp[0];
  if (x >= n - 1) return fp[n - 1];
  const j = Math.floor(x);
  const slope = fp[j + 1] - fp[j];
  const y = slope * (x - j) + fp[j];
  return Number.isNaN(y) ? slope * (x - j - 1) + fp[j + 1] : y; // numpy's fallback for an infinite neighbour
}

// ---- training tables ------------------------------------------------------------------------------

/** βₜ for the config's `beta_schedule` (or `trained_betas`), float32 like diffusers. */
export function betasFor(config: SchedulerConfig): Float32Array {
  const T = config.num_train_timesteps;
  let betas: Float32Array;
  if (config.trained_betas !== null && config.trained_betas !== undefined) {
    betas = Float32Array.from(config.trained_betas);
  } else if (config.beta_schedule === 'linear') {
    betas = torchLinspaceF32(config.beta_start, config.beta_end, T);
  } else if (config.beta_schedule === 'scaled_linear') {
    // "scaled linear" (latent diffusion): linear in √β, then squared — in float32.
    betas = torchLinspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), T).map((b) => f32(b * b));
  } else if (config.beta_schedule === 'squaredcos_cap_v2') {
    betas = cosineBetas(T);
  } else {
    throw new LatentlabError('SCHEDULER_CONFIG', `unknown beta_schedule ${String(config.beta_schedule)}`);
  }
  return config.rescale_betas_zero_snr === true ? rescaleZeroTerminalSnr(betas) : betas;
}

/** Glide's cosine schedule: ᾱ(t) = cos²((t + 0.008)/1.008 · π/2), βᵢ = min(1 − ᾱ(tᵢ₊₁)/ᾱ(tᵢ), 0.999). */
function cosineBetas(T: number): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  return Float32Array.from({ length: T }, (_, i) => Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), 0.999));
}

/**
 * "Common Diffusion Noise Schedules and Sample Steps are Flawed" (Lin et al. 2023, Algorithm 1):
 * shift and scale √ᾱ so that the last step has zero signal (SNR 0), then turn it back into betas.
 */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const sqrtAcp = alphasCumprodOf(betas).map((a) => f32(Math.sqrt(a)));
  const first = sqrtAcp[0];
  const last = sqrtAcp[sqrtAcp.length - 1];
  const scaleBy = f32(first / f32(first - last));
  const ab = sqrtAcp.map((s) => {
    const v = f32(f32(s - last) * scaleBy);
    return f32(v * v);
  });
  return ab.map((a, i) => f32(1 - (i === 0 ? a : f32(a / ab[i - 1]))));
}

/** ᾱₜ = ∏ (1 − βₛ): torch's CPU cumprod accumulates in double and stores float32. */
export function alphasCumprodOf(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]);
    out[i] = acc;
  }
  return out;
}

/** σₜ = √((1 − ᾱₜ)/ᾱₜ), float32 ops. */
export function sigmasOf(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** ln σₜ as numpy computes it on a float32 array (float32 result). */
export function logSigmasOf(sigmas: Float32Array): Float32Array {
  return sigmas.map((s) => f32(Math.log(s)));
}

// ---- inference schedules --------------------------------------------------------------------------

/**
 * Karras et al. 2022 (EDM), eq. 5: σᵢ = (σmax^(1/ρ) + i/(N−1)·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ, ρ = 7.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * The (fractional) training timestep of a noise level σ: linear interpolation in ln σ between the two
 * neighbouring entries of the training table (diffusers `_sigma_to_t`). By default numpy float64 with
 * the float32 table; `float32: true` rounds every operation to float32, which is what happens when
 * diffusers passes torch tensors in (KDPM2's midpoints).
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array, float32 = false): number {
  const r = float32 ? f32 : (x: number) => x;
  const logSigma = r(Math.log(Math.max(sigma, 1e-10)));
  // low = last index whose ln σ is ≤ ln sigma (0 if none), clipped so that low + 1 exists.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(Math.max(r(r(lo - logSigma) / f32(lo - hi)), 0), 1); // lo − hi: float32 in numpy too
  return r(r(r(1 - w) * low) + r(w * (low + 1)));
}

export type Spacing = 'leading' | 'trailing' | 'linspace';

/**
 * Timesteps in descending order (float64 values, not yet rounded) for the three spacings of
 * "Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2:
 *   linspace  evenly from T−1 down to 0 (both ends included)
 *   leading   multiples of T//N counted up from 0, + steps_offset
 *   trailing  evenly from T down to T/N, minus 1 (steps_offset is ignored)
 * `integer` rounds (half to even) as the DDPM/DDIM family does; the k-diffusion family keeps
 * linspace values fractional.
 */
export function spacedTimesteps(spacing: Spacing, T: number, n: number, stepsOffset: number, integer: boolean): number[] {
  if (spacing === 'linspace') {
    const ts = linspace(0, T - 1, n).reverse();
    return integer ? ts.map(roundHalfEven) : ts;
  }
  if (spacing === 'leading') {
    const ratio = Math.floor(T / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  }
  return arange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
}

/**
 * DPM-Solver-family timesteps: N+1 points, the last (t = 0) dropped, so the final step lands at the
 * schedule's end rather than on a model evaluation. `lastTimestep` is T unless λ is clipped.
 */
export function solverTimesteps(spacing: Spacing, T: number, lastTimestep: number, n: number, stepsOffset: number): number[] {
  if (spacing === 'linspace') return linspace(0, lastTimestep - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
  if (spacing === 'leading') {
    const ratio = Math.floor(lastTimestep / (n + 1));
    return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
  }
  return arange(lastTimestep, 0, -T / n).map((t) => roundHalfEven(t) - 1);
}
