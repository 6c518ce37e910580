// Every case of schedulers/index.json (both step counts): timesteps, sigmas, initNoiseSigma, a
// step-by-step replay with the stored model outputs and noise (as a chain on one instance, and
// restarted from sample_in[i] for the memoryless schedulers), add_noise, and the same replay drawing
// the noise from a seeded Generator. Tolerances: README section 13.
import { afterAll, describe, expect, it } from 'vitest';

import { Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import { schedulerFromConfig } from '../../src/schedulers/registry.js';
import type { Scheduler, StepOptions } from '../../src/schedulers/base.js';
import { expectClose } from '../helpers/compare.js';
import { index, item, loadCase, type LoadedCase, maxErrors, numbers, record } from './fixtures.js';

const STEP_TOL = { rel: 2e-5 };
const ADD_NOISE_TOL = { rel: 1e-6 };
/** Schedulers whose step depends only on (t, x, model output): replayable from any sample_in[i]. */
const MEMORYLESS = new Set(['DDPMScheduler', 'DDIMScheduler', 'EulerDiscreteScheduler', 'EulerAncestralDiscreteScheduler']);

function build(c: LoadedCase): Scheduler {
  const s = schedulerFromConfig(c.json.config, { name: c.json.scheduler_class });
  s.setTimesteps(c.json.num_inference_steps);
  return s;
}

function stepOpts(c: LoadedCase, i: number, extra: StepOptions = {}): StepOptions {
  const drawn = c.has('noise') && numbers(c.t('noise_drawn'))[i] === 1;
  return { ...c.json.step_kwargs, ...(drawn ? { noise: item(c.t('noise'), i) } : {}), ...extra };
}

/** Runs the chain from sample_in[0]; `opts(i)` supplies the step options. Checks every step. */
function replayChain(c: LoadedCase, s: Scheduler, label: string, opts: (i: number) => StepOptions): void {
  let x = item(c.t('sample_in'), 0);
  const ts = s.timesteps;
  const hasPred = c.has('has_pred_original_sample') ? numbers(c.t('has_pred_original_sample')) : [];
  for (let i = 0; i < ts.length; i++) {
    const mi = s.scaleModelInput(x, ts[i]);
    expectClose(`${label} step ${i} model_input`, mi, item(c.t('model_input'), i), STEP_TOL);
    const out = s.step(item(c.t('model_output'), i), ts[i], x, opts(i));
    const d = expectClose(`${label} step ${i} prev_sample`, out.prevSample, item(c.t('prev_sample'), i), STEP_TOL);
    record(c.json.scheduler_class, d.maxRel);
    if (hasPred[i] === 1) {
      expect(out.predOriginalSample, `${label} step ${i}: predOriginalSample`).toBeDefined();
      expectClose(`${label} step ${i} pred_original_sample`, out.predOriginalSample as Tensor, item(c.t('pred_original_sample'), i), STEP_TOL);
    }
    x = out.prevSample;
  }
}

for (const entry of index.cases) {
  describe(`${entry.case} n=${entry.num_inference_steps} (${entry.scheduler_class})`, async () => {
    const c = await loadCase(entry);

    it('resolves the same full config as diffusers', () => {
      const s = schedulerFromConfig(c.json.config, { name: c.json.scheduler_class });
      const { _diffusers_version: _v, ...expected } = c.json.config;
      expect({ ...s.config }).toEqual(parseInf(expected));
      s.setTimesteps(entry.num_inference_steps);
      if (c.json.config_after_set_timesteps) {
        const { _diffusers_version: _w, ...after } = c.json.config_after_set_timesteps;
        expect({ ...s.config }).toEqual(parseInf(after));
      }
    });

    it('timesteps, sigmas, initNoiseSigma, order', () => {
      const s = build(c);
      const ref = numbers(c.t('timesteps'));
      if (entry.scheduler_class === 'KDPM2DiscreteScheduler') {
        // KDPM2's midpoint timesteps (odd entries) come from torch float32 log/exp (SLEEF, ≤ 1 ulp off
        // correct rounding), which JS cannot reproduce bit for bit: measured ≤ 4.3e-7 relative.
        expect(s.timesteps.filter((_, i) => i % 2 === 0)).toEqual(ref.filter((_, i) => i % 2 === 0));
        s.timesteps.forEach((t, i) => expect(Math.abs(t - ref[i]) / ref[i] || 0, `timestep ${i}: ${t} vs ${ref[i]}`).toBeLessThan(1e-6));
      } else {
        expect(s.timesteps).toEqual(ref);
      }
      expect(s.timestepType).toBe(c.t('timesteps').dtype === 'int64' ? 'int' : 'float');
      if (c.has('sigmas')) {
        const sigmas = (s as unknown as { sigmas: Float32Array }).sigmas;
        expect(sigmas, 'scheduler has sigmas').toBeInstanceOf(Float32Array);
        expectClose('sigmas', new Tensor('float32', [sigmas.length], sigmas), c.t('sigmas'), { rel: 1e-6 });
      }
      expect(s.initNoiseSigma).toBeCloseTo(numbers(c.t('init_noise_sigma'))[0], 5);
      expect(Math.abs(s.initNoiseSigma / numbers(c.t('init_noise_sigma'))[0] - 1)).toBeLessThan(1e-6);
      expect(s.order).toBe(c.json.order);
    });

    it('drawsNoise matches noise_drawn', () => {
      const s = build(c);
      const drawn = numbers(c.t('noise_drawn'));
      s.timesteps.forEach((t, i) => expect(s.drawsNoise(t, c.json.step_kwargs), `step ${i} (t=${t})`).toBe(drawn[i] === 1));
    });

    it('step-by-step chain with stored model outputs and noise', () => {
      replayChain(c, build(c), 'chain', (i) => stepOpts(c, i));
    });

    if (MEMORYLESS.has(entry.scheduler_class)) {
      it('each step restarted from sample_in[i] on a fresh scheduler', () => {
        const ts = build(c).timesteps;
        for (let i = 0; i < ts.length; i++) {
          const s = build(c);
          const x = item(c.t('sample_in'), i);
          expectClose(`restart ${i} model_input`, s.scaleModelInput(x, ts[i]), item(c.t('model_input'), i), STEP_TOL);
          const out = s.step(item(c.t('model_output'), i), ts[i], x, stepOpts(c, i));
          expectClose(`restart ${i} prev_sample`, out.prevSample, item(c.t('prev_sample'), i), STEP_TOL);
        }
      });
    }

    it('generator-driven replay reproduces the stored noise and samples', () => {
      const g = new Generator().manualSeed(c.json.seed);
      const initial = g.randn(c.t('initial_noise').shape);
      expect(Array.from(initial.data)).toEqual(Array.from(c.t('initial_noise').data as Float32Array));
      const s = build(c);
      const drawn = numbers(c.t('noise_drawn'));
      // Check the draws themselves: a clone of the generator state, advanced per noisy step.
      const probe = new Generator().setState(g.getState());
      drawn.forEach((d, i) => {
        if (d === 1) expect(Array.from(probe.randn(initial.shape).data), `noise of step ${i}`).toEqual(Array.from(item(c.t('noise'), i).data));
      });
      replayChain(c, s, 'generator chain', () => ({ ...c.json.step_kwargs, generator: g }));
    });

    it('addNoise', () => {
      const s = build(c);
      // Entries 0, S//2, S−1 of the schedule (our own values: KDPM2's midpoints differ in the last ulp).
      const S = s.timesteps.length;
      const ts = [s.timesteps[0], s.timesteps[Math.floor(S / 2)], s.timesteps[S - 1]];
      numbers(c.t('add_noise.timesteps')).forEach((t, k) => expect(Math.abs(ts[k] - t)).toBeLessThanOrEqual(1e-6 * Math.abs(t)));
      const got = s.addNoise(c.t('add_noise.original').toFloat32(), c.t('add_noise.noise').toFloat32(), ts);
      expectClose('add_noise', got, c.t('add_noise.result'), ADD_NOISE_TOL);
    });
  });
}

function parseInf(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === '-Infinity' ? -Infinity : v === 'Infinity' ? Infinity : v]));
}

afterAll(() => {
  const rows = [...maxErrors.entries()].map(([k, v]) => `  ${k.padEnd(34)} ${v.toExponential(2)}`);
  console.log(`max prev_sample error (relative to max|ref|) per scheduler:\n${rows.join('\n')}`);
});
