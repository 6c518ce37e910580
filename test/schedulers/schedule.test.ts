// The shared schedule maths against schedulers/common.safetensors and numpy/torch semantics.
import { describe, expect, it } from 'vitest';

import { alphasCumprodOf, arange, betasFor, linspace, roundHalfEven, sigmasOf, solverTimesteps, spacedTimesteps, torchLinspaceF32 } from '../../src/schedulers/schedule.js';
import { resolveConfig } from '../../src/schedulers/config.js';
import { loadTensors } from '../helpers/fixtures.js';
import { index } from './fixtures.js';

const common = await loadTensors('schedulers', 'common.safetensors');

function mismatches(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('training tables (SD scaled_linear schedule)', () => {
  const config = resolveConfig({ className: 'Test', defaults: {} }, index.base_config);
  const betas = betasFor(config);
  const acp = alphasCumprodOf(betas);

  it('betas = torch.linspace(√β₀, √β₁, 1000, float32)² bit for bit', () => {
    expect(mismatches(betas, common.get('betas')!.data as Float32Array)).toBe(0);
  });
  it('alphas_cumprod (double-accumulated cumprod) bit for bit', () => {
    expect(mismatches(acp, common.get('alphas_cumprod')!.data as Float32Array)).toBe(0);
  });
  it('sigmas_train bit for bit', () => {
    expect(mismatches(sigmasOf(acp), common.get('sigmas_train')!.data as Float32Array)).toBe(0);
  });
});

describe('numpy / torch numerics', () => {
  it('round half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 499.5, 2.4].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 500, 2]);
  });
  it('linspace sets the endpoint; arange derives its step from the first two values', () => {
    expect(linspace(0, 999, 4)).toEqual([0, 333, 666, 999]);
    expect(arange(1000, 0, -1000 / 3).length).toBe(3);
    expect(arange(1000, 0, -250)).toEqual([1000, 750, 500, 250]);
  });
  it('torch.linspace float32: symmetric halves', () => {
    const l = torchLinspaceF32(0, 1, 5);
    expect(Array.from(l)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(torchLinspaceF32(0.1, 0.2, 1)[0]).toBe(Math.fround(0.1));
  });
  it('spacings (README section 7, N = 4)', () => {
    expect(spacedTimesteps('leading', 1000, 4, 1, true)).toEqual([751, 501, 251, 1]);
    expect(spacedTimesteps('trailing', 1000, 4, 1, true)).toEqual([999, 749, 499, 249]);
    expect(spacedTimesteps('linspace', 1000, 4, 1, true)).toEqual([999, 666, 333, 0]);
    expect(solverTimesteps('linspace', 1000, 1000, 4, 1)).toEqual([999, 749, 500, 250]);
    expect(solverTimesteps('leading', 1000, 1000, 4, 1)).toEqual([801, 601, 401, 201]);
    expect(solverTimesteps('trailing', 1000, 1000, 4, 1)).toEqual([999, 749, 499, 249]);
  });
});
