// One pipeline, several callers (what a server does): each call builds its own scheduler and keeps
// its own warnings, and sessions kept between calls (releaseSessions: false) serve calls that run
// at the same time. Concurrent calls give the images the same calls give one after another.

import { describe, expect, it } from 'vitest';

import { setWarningHandler } from '../../src/core/log.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { fixturePath } from '../helpers/fixtures.js';

const TINY = fixturePath('pipelines', 'tiny-sd15');
const base = { prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 3, guidanceScale: 7.5 } as const;

describe('concurrent pipeline calls', () => {
  it('two calls at once with different schedulers give the images of the same calls run one by one', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY, { releaseSessions: false });
    const own = pipe.scheduler;
    const a = { ...base, seed: 1, scheduler: 'euler-a' };
    const b = { ...base, seed: 2, scheduler: 'DPM++ 2M Karras', numInferenceSteps: 4 };
    const [seqA, seqB] = [await pipe.call(a), await pipe.call(b)];
    const [parA, parB] = await Promise.all([pipe.call(a), pipe.call(b)]);
    expect(Buffer.from(parA.images[0].data).equals(Buffer.from(seqA.images[0].data))).toBe(true);
    expect(Buffer.from(parB.images[0].data).equals(Buffer.from(seqB.images[0].data))).toBe(true);
    expect(parA.scheduler.className).toBe('EulerAncestralDiscreteScheduler');
    expect(parB.scheduler.config.use_karras_sigmas).toBe(true);
    expect(parB.scheduler.timesteps.length).toBe(4);
    expect(pipe.scheduler).toBe(own); // never replaced nor stepped
    await pipe.release();
  });

  it('a call\'s warnings go to its onWarning, not to the global handler', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY, { releaseSessions: false });
    const global: string[] = [];
    const mine: string[] = [];
    const previous = setWarningHandler((m) => global.push(m));
    try {
      const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
      await Promise.all([
        pipe.call({ ...base, prompt: long, promptSyntax: 'plain', seed: 1, outputType: 'latent', onWarning: (m) => mine.push(m) }),
        pipe.call({ ...base, seed: 2, outputType: 'latent' }),
      ]);
    } finally {
      setWarningHandler(previous);
    }
    expect(mine.length).toBe(1);
    expect(mine[0]).toMatch(/truncated because CLIP can only handle sequences up to 77 tokens/);
    expect(global).toEqual([]);
    await pipe.release();
  });
});
