// The contract every registered scheduler honours, whatever its algorithm.
import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import {
  a1111SamplerName, resolveSchedulerName, schedulerFromConfig, schedulerName, schedulerNames, SCHEDULER_CLASSES,
} from '../../src/schedulers/index.js';
import { oracle, sample, SD15 } from './oracle.js';

const SHORT_NAMES = schedulerNames().filter((n) => /^[a-z0-9+-]+$/.test(n));
/** Classes whose scaleModelInput is the identity and, like diffusers, never looks at the timestep. */
const IDENTITY_INPUT_SCALING = new Set([
  'DDPMScheduler', 'DDIMScheduler', 'PNDMScheduler', 'UniPCMultistepScheduler', 'DEISMultistepScheduler',
  'DPMSolverMultistepScheduler', 'DPMSolverSinglestepScheduler', 'LCMScheduler', 'TCDScheduler',
]);

describe.each(SHORT_NAMES)('contract: %s', (name) => {
  const make = () => schedulerFromConfig(SD15, { name });

  it('step / scaleModelInput before setTimesteps is a clear error', () => {
    const s = make();
    const x = Tensor.zeros([1, 4, 2, 2]);
    expect(() => s.step(x, 1, x)).toThrow(LatentlabError);
    expect(() => s.step(x, 1, x)).toThrow(/before setTimesteps/);
    expect(() => s.scaleModelInput(x, 1)).toThrow(/before setTimesteps/);
  });

  it('timesteps are non-increasing training timesteps, sigmas end the schedule', () => {
    const s = make();
    s.setTimesteps(12);
    const ts = s.timesteps;
    expect(ts.length).toBeGreaterThanOrEqual(12);
    ts.forEach((t, i) => {
      expect(t).toBeGreaterThanOrEqual(0);
      expect(t).toBeLessThan(1000);
      if (i > 0) expect(t).toBeLessThanOrEqual(ts[i - 1]);
      if (s.timestepType === 'int') expect(Number.isInteger(t)).toBe(true);
      else expect(Math.fround(t)).toBe(t);
    });
    const sigmas = (s as { sigmas?: Float32Array }).sigmas;
    if (sigmas) expect(sigmas.length).toBeGreaterThan(ts.length);
  });

  it('runs from a begin index in the middle of the schedule (img2img)', () => {
    const s = make();
    s.setTimesteps(10);
    const begin = 4 * s.order;
    s.setBeginIndex(begin);
    const g = new Generator(3);
    let x = g.randn([1, 4, 2, 3]);
    for (const t of s.timesteps.slice(begin)) {
      x = s.step(oracle(s, s.scaleModelInput(x, t), t), t, x, { generator: g }).prevSample;
      expect(x.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('setTimesteps is idempotent and resets history', () => {
    const s = make();
    const a = sample(s, 9);
    const ts = [...s.timesteps];
    const b = sample(s, 9); // same instance, setTimesteps again
    expect(s.timesteps).toEqual(ts);
    expect(Array.from(b.x.data)).toEqual(Array.from(a.x.data));
  });

  it('preserves shapes, stays finite, draws noise exactly when drawsNoise says so', () => {
    const s = make();
    s.setTimesteps(8);
    const g = new Generator(5);
    let x = g.randn([2, 4, 3, 5]);
    for (const t of s.timesteps) {
      const mi = s.scaleModelInput(x, t);
      expect(mi.shape).toEqual(x.shape);
      const before = g.getState();
      const out = s.step(oracle(s, mi, t), t, x, { generator: g });
      const advanced = g.getState().index !== before.index || g.getState().mt.some((v, i) => v !== before.mt[i]);
      expect(advanced, `t=${t}: generator use`).toBe(s.drawsNoise(t));
      expect(out.prevSample.shape).toEqual(x.shape);
      expect(out.prevSample.data.every(Number.isFinite)).toBe(true);
      if (out.predOriginalSample) expect(out.predOriginalSample.shape).toEqual(x.shape);
      x = out.prevSample;
    }
  });

  it('rejects mismatched shapes and unknown timesteps', () => {
    const s = make();
    s.setTimesteps(6);
    const x = Tensor.zeros([1, 4, 2, 2]);
    expect(() => s.step(Tensor.zeros([1, 4, 2, 3]), s.timesteps[0], x)).toThrow(/shape/);
    if (!IDENTITY_INPUT_SCALING.has(s.className)) {
      expect(() => s.scaleModelInput(x, 12.345)).toThrow(LatentlabError);
    }
  });

  it('registry round-trips', () => {
    const s = make();
    // The name the scheduler reports rebuilds the same configuration (pndm on SD's config is PLMS).
    expect(schedulerFromConfig(SD15, { name: schedulerName(s) }).config).toEqual(s.config);
    expect(resolveSchedulerName(name).className).toBe(s.className);
    const a1111 = a1111SamplerName(s);
    expect(resolveSchedulerName(a1111).className).toBe(s.className);
    expect(resolveSchedulerName(a1111.toUpperCase()).name).toBe(resolveSchedulerName(a1111).name);
    expect(resolveSchedulerName(s.className).className).toBe(s.className);
  });
});

describe('registry', () => {
  it('resolves A1111 names case-insensitively to class + overrides', () => {
    expect(resolveSchedulerName('Euler a').className).toBe('EulerAncestralDiscreteScheduler');
    expect(resolveSchedulerName('euler A').name).toBe('euler-a');
    expect(resolveSchedulerName('DPM++ 2M Karras')).toMatchObject({ className: 'DPMSolverMultistepScheduler', overrides: { use_karras_sigmas: true } });
    expect(resolveSchedulerName('dpm++ 2m').overrides).toMatchObject({ use_karras_sigmas: false });
    expect(resolveSchedulerName('LMS Karras').overrides).toMatchObject({ use_karras_sigmas: true });
    expect(resolveSchedulerName('PLMS')).toMatchObject({ className: 'PNDMScheduler', overrides: { skip_prk_steps: true } });
    expect(resolveSchedulerName('DPM2').className).toBe('KDPM2DiscreteScheduler');
    expect(resolveSchedulerName('UniPC').className).toBe('UniPCMultistepScheduler');
    for (const cls of SCHEDULER_CLASSES) expect(resolveSchedulerName(cls.spec.className).className).toBe(cls.spec.className);
  });

  it('an unknown name lists the valid ones', () => {
    expect(() => resolveSchedulerName('eulr')).toThrow(LatentlabError);
    expect(() => resolveSchedulerName('eulr')).toThrow(/euler-a.*DPM\+\+ 2M Karras.*EulerDiscreteScheduler/s);
  });

  it('switching class keeps the config\'s explicit fields (from_config semantics)', () => {
    const saved = { ...SD15, timestep_spacing: 'leading', prediction_type: 'epsilon' };
    const euler = schedulerFromConfig(saved, { name: 'euler' });
    expect(euler.config.timestep_spacing).toBe('leading');
    expect(euler.config.set_alpha_to_one).toBe(false); // unknown to Euler, kept like diffusers' hidden config
    const hub = schedulerFromConfig(SD15, { name: 'euler' });
    expect(hub.config.timestep_spacing).toBe('linspace'); // Euler's own default
    const forced = schedulerFromConfig(SD15, { name: 'ddim', overrides: { prediction_type: 'v_prediction' } });
    expect(forced.config.prediction_type).toBe('v_prediction');
    expect(schedulerFromConfig(SD15).className).toBe('PNDMScheduler');
    expect(() => schedulerFromConfig({ beta_start: 0.1 })).toThrow(/_class_name/);
  });

  it('validates config fields at the boundary, naming field, value and allowed values', () => {
    expect(() => schedulerFromConfig({ ...SD15, beta_schedule: 'cosine' }, { name: 'euler' }))
      .toThrow(/"beta_schedule" is "cosine"; expected one of linear, scaled_linear, squaredcos_cap_v2/);
    expect(() => schedulerFromConfig({ ...SD15, prediction_type: 'x0' }, { name: 'ddim' })).toThrow(/"prediction_type" is "x0"/);
    expect(() => schedulerFromConfig({ ...SD15, timestep_spacing: 'even' }, { name: 'lms' })).toThrow(/leading, trailing, linspace/);
    expect(() => schedulerFromConfig({ ...SD15, prediction_type: 'sample' }, { name: 'euler-a' })).toThrow(/epsilon, v_prediction/);
    expect(() => schedulerFromConfig({ ...SD15, thresholding: true }, { name: 'ddpm' })).toThrow(/thresholding/);
    try {
      schedulerFromConfig({ ...SD15, beta_schedule: 'cosine' }, { name: 'euler' });
    } catch (e) {
      expect((e as LatentlabError).key).toBe('beta_schedule');
      expect((e as LatentlabError).code).toBe('SCHEDULER_CONFIG');
    }
  });

  it('accepts Python/JSON spellings of -inf', () => {
    const s = schedulerFromConfig({ ...SD15, lambda_min_clipped: '-Infinity' }, { name: 'dpm++2m' });
    expect(s.config.lambda_min_clipped).toBe(-Infinity);
  });
});
