// LCM and TCD beyond the shared replay (README section 19): the extra outputs (`denoised`,
// `pred_noised_sample`) at every step, restarts from a begin index, the documented timestep lists,
// the argument checks, and configurations without fixtures driven by the exact denoiser (oracle.ts).
import { afterAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { type LCMStepOutput, schedulerFromConfig, type TCDStepOutput } from '../../src/schedulers/index.js';
import type { Scheduler } from '../../src/schedulers/base.js';
import { expectClose } from '../helpers/compare.js';
import { index, item, loadCase, type LoadedCase, numbers } from './fixtures.js';
import { C, maxDeviation, oracle, sample, SD15 } from './oracle.js';

const TOL = { rel: 2e-5 };
const cases = index.cases.filter((c) => c.scheduler_class === 'LCMScheduler' || c.scheduler_class === 'TCDScheduler');
const maxErr = new Map<string, number>();

function build(c: LoadedCase): Scheduler {
  const s = schedulerFromConfig(c.json.config, { name: c.json.scheduler_class });
  s.setTimesteps(c.json.num_inference_steps);
  return s;
}

/** The extra output each class returns, under its diffusers name. */
function extra(c: LoadedCase, out: unknown): { name: string; value: Tensor } {
  return c.json.scheduler_class === 'LCMScheduler'
    ? { name: 'denoised', value: (out as LCMStepOutput).denoised }
    : { name: 'pred_noised_sample', value: (out as TCDStepOutput).predNoisedSample };
}

describe.each(cases)('$case n=$num_inference_steps', (entry) => {
  it('chain: prev_sample and the extra output at every step', async () => {
    const c = await loadCase(entry);
    const s = build(c);
    let x = item(c.t('sample_in'), 0);
    s.timesteps.forEach((t, i) => {
      const drawn = numbers(c.t('noise_drawn'))[i] === 1;
      const out = s.step(item(c.t('model_output'), i), t, x, { ...c.json.step_kwargs, ...(drawn ? { noise: item(c.t('noise'), i) } : {}) });
      const { name, value } = extra(c, out);
      const d = expectClose(`step ${i} ${name}`, value, item(c.t(name), i), TOL);
      const p = expectClose(`step ${i} prev_sample`, out.prevSample, item(c.t('prev_sample'), i), TOL);
      const key = `${entry.case} n=${entry.num_inference_steps}`;
      maxErr.set(key, Math.max(maxErr.get(key) ?? 0, d.maxRel, p.maxRel));
      x = out.prevSample;
    });
  });

  it('each step restarted from sample_in[i] with setBeginIndex(i) (img2img)', async () => {
    const c = await loadCase(entry);
    const ts = build(c).timesteps;
    ts.forEach((t, i) => {
      const s = build(c);
      s.setBeginIndex(i);
      const drawn = numbers(c.t('noise_drawn'))[i] === 1;
      expect(s.drawsNoise(t, c.json.step_kwargs)).toBe(drawn);
      const out = s.step(item(c.t('model_output'), i), t, item(c.t('sample_in'), i), { ...c.json.step_kwargs, ...(drawn ? { noise: item(c.t('noise'), i) } : {}) });
      expectClose(`restart ${i} prev_sample`, out.prevSample, item(c.t('prev_sample'), i), TOL);
    });
  });
});

describe('consistency schedules', () => {
  const timesteps = (name: string, n: number, overrides: Record<string, unknown> = {}) => {
    const s = schedulerFromConfig(SD15, { name, overrides });
    s.setTimesteps(n);
    return s.timesteps;
  };

  it('timesteps are entries of the distillation grid (README section 19)', () => {
    expect(timesteps('lcm', 4)).toEqual([999, 759, 499, 259]);
    expect(timesteps('lcm', 8)).toEqual([999, 879, 759, 639, 499, 379, 259, 139]);
    expect(timesteps('tcd', 4, { original_inference_steps: 25 })).toEqual([999, 759, 519, 279]);
    expect(timesteps('lcm', 1)).toEqual([999]);
    // TCD with original_inference_steps null samples the whole 0 … 999 grid.
    expect(timesteps('tcd', 4, { original_inference_steps: null })).toEqual([999, 749, 499, 249]);
  });

  it('ignores steps_offset and timestep_spacing, like diffusers', () => {
    expect(timesteps('lcm', 4, { steps_offset: 0, timestep_spacing: 'trailing' })).toEqual([999, 759, 499, 259]);
  });

  it('refuses more steps than the distillation grid has, naming both numbers', () => {
    expect(() => timesteps('lcm', 51)).toThrow(/numInferenceSteps is 51, more than original_inference_steps \(50\)/);
    const s = schedulerFromConfig(SD15, { name: 'lcm' });
    s.setTimesteps(4);
    expect(() => s.setTimesteps(60)).toThrow(/60/);
    expect([s.numInferenceSteps, s.timesteps]).toEqual([4, [999, 759, 499, 259]]); // a refused call changes nothing
    expect(() => timesteps('lcm', 4, { original_inference_steps: 2000 })).toThrow(/original_inference_steps is 2000/);
    expect(() => schedulerFromConfig(SD15, { name: 'lcm', overrides: { original_inference_steps: null } })).toThrow(/original_inference_steps/);
  });

  it('TCD checks γ and draws nothing at γ = 0; its default γ is diffusers\' 0.3', () => {
    const s = schedulerFromConfig(SD15, { name: 'tcd' });
    s.setTimesteps(4);
    const x = Tensor.zeros([1, 4, 2, 2]);
    expect(() => s.step(x, 999, x, { eta: 1.5 })).toThrow(/eta \(γ\) is 1.5; expected a number in \[0, 1\]/);
    expect(s.drawsNoise(999, { eta: 0 })).toBe(false);
    expect(s.drawsNoise(999)).toBe(true);
    expect(s.drawsNoise(259)).toBe(false); // the last step
  });

  it('TCD ignores clip_sample, LCM honours it (as diffusers 0.27)', () => {
    const big = new Tensor('float32', [1, 1, 1, 1], Float32Array.of(-50)); // ε so negative that x̂₀ ≫ 1
    const x = Tensor.zeros([1, 1, 1, 1]);
    for (const name of ['lcm', 'tcd']) {
      const s = schedulerFromConfig(SD15, { name, overrides: { clip_sample: true } });
      s.setTimesteps(1);
      const x0 = s.step(big, 999, x, { eta: 0 }).predOriginalSample!.data[0];
      if (name === 'lcm') expect(x0).toBeLessThanOrEqual(1);
      else expect(x0).toBeGreaterThan(1);
    }
  });
});

describe.each([
  { name: 'lcm', overrides: {} },
  { name: 'lcm', overrides: { prediction_type: 'v_prediction' } },
  { name: 'lcm', overrides: { prediction_type: 'sample', original_inference_steps: 25 } },
  { name: 'tcd', overrides: {} },
  { name: 'tcd', overrides: { prediction_type: 'v_prediction' } },
  { name: 'tcd', overrides: { original_inference_steps: null } },
])('unseen consistency config: $name $overrides', ({ name, overrides }) => {
  for (const steps of [1, 4, 7]) {
    it(`${steps} steps end at x₀`, () => {
      const s = schedulerFromConfig(SD15, { name, overrides });
      const { x } = sample(s, steps); // oracle.ts samples with eta 1 (TCD: γ = 1)
      // LCM returns c_out·x̂₀ + c_skip·x (c_skip < 1e-6); TCD lands on ᾱ₀ < 1 with ε̂ ≠ 0 left in.
      expect(maxDeviation(x, C)).toBeLessThan(name === 'lcm' ? 2e-3 : 0.2);
      expect(s.timesteps.length).toBe(steps);
    });
  }

  it('a 1-step run uses the oracle once and draws nothing', () => {
    const s = schedulerFromConfig(SD15, { name, overrides });
    s.setTimesteps(1);
    const x = Tensor.zeros([1, 4, 2, 2]);
    expect(s.drawsNoise(s.timesteps[0], { eta: 1 })).toBe(false);
    expect(s.step(oracle(s, x, 999), 999, x, { eta: 1 }).prevSample.data.every(Number.isFinite)).toBe(true);
  });
});

afterAll(() => {
  const rows = [...maxErr.entries()].map(([k, v]) => `  ${k.padEnd(28)} ${v.toExponential(2)}`);
  console.log(`LCM/TCD max error (prev_sample and denoised / pred_noised_sample, relative to max|ref|):\n${rows.join('\n')}`);
});
