// An exact denoiser for a point-mass data distribution x₀ = c: at noise level ᾱ the ideal model
// outputs ε = (x_in − √ᾱ·c)/√(1 − ᾱ) (or the matching v / x₀). Every sampler driven by it must end at
// (or, when its last σ is not 0, near) c — a self-consistency check for configs without fixtures.
import { Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import type { Scheduler } from '../../src/schedulers/base.js';
import { interpOnIndexGrid, logSigmasOf, sigmasOf } from '../../src/schedulers/schedule.js';

export const SD15 = {
  _class_name: 'PNDMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', num_train_timesteps: 1000,
  steps_offset: 1, skip_prk_steps: true, set_alpha_to_one: false, clip_sample: false, trained_betas: null,
};

export const C = 0.7;

/** ᾱ at a (possibly fractional) timestep: σ interpolated log-linearly on the training table. */
function alphaBarAt(s: Scheduler, t: number): number {
  const logSigma = interpOnIndexGrid(t, logSigmasOf(sigmasOf(s.alphasCumprod)));
  return 1 / (1 + Math.exp(2 * logSigma));
}

export function oracle(s: Scheduler, input: Tensor<'float32'>, t: number): Tensor<'float32'> {
  const a = alphaBarAt(s, t);
  const out = new Tensor('float32', input.shape);
  for (let i = 0; i < out.size; i++) {
    const eps = (input.data[i] - Math.sqrt(a) * C) / Math.sqrt(1 - a);
    const p = s.config.prediction_type;
    out.data[i] = p === 'epsilon' ? eps : p === 'v_prediction' ? Math.sqrt(a) * eps - Math.sqrt(1 - a) * C : C;
  }
  return out;
}

/** Runs a full sampling loop with the oracle; returns the final sample and every step's output. */
export function sample(s: Scheduler, steps: number, shape: readonly number[] = [1, 4, 3, 5], seed = 1234): { x: Tensor<'float32'>; outs: Tensor<'float32'>[] } {
  s.setTimesteps(steps);
  const g = new Generator(seed);
  let x = g.randn(shape);
  x = new Tensor('float32', shape, x.data.map((v) => v * s.initNoiseSigma));
  const outs: Tensor<'float32'>[] = [];
  for (const t of s.timesteps) {
    const out = s.step(oracle(s, s.scaleModelInput(x, t), t), t, x, { generator: g, eta: 1 });
    outs.push(out.prevSample);
    x = out.prevSample;
  }
  return { x, outs };
}

export function maxDeviation(x: Tensor<'float32'>, c: number): number {
  return x.data.reduce((m, v) => Math.max(m, Math.abs(v - c)), 0);
}
