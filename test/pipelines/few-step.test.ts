// Few-step sampling through the public pipelines (issue 16, part 1): guidance ≤ 1 skips the
// unconditional batch as diffusers does (`do_classifier_free_guidance = guidance_scale > 1`), LCM and
// TCD run end to end on the tiny model (with the TAESD decoding), and SD-Turbo's settings (Euler with
// trailing spacing, one step, guidance 0) give the one-step schedule.
import { describe, expect, it, vi } from 'vitest';

import { Generator } from '../../src/core/random.js';
import { AutoencoderTiny } from '../../src/models/autoencoder-tiny.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { fixturePath, readJson } from '../helpers/fixtures.js';

const load = async (model: string, scheduler: string | Record<string, unknown>, taesd = false) => StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', model), {
  scheduler, releaseSessions: false, ...(taesd ? { vae: await AutoencoderTiny.fromPretrained(fixturePath('pipelines', 'tiny-taesd')) } : {}),
});

describe('few-step sampling', () => {
  it('guidance ≤ 1 runs the UNet on the positive batch only (and ignores the negative prompt)', async () => {
    const pipe = await load('tiny-sd15', 'euler');
    const unet = vi.spyOn(pipe.unet, 'forward');
    const run = (guidanceScale: number, negativePrompt = '') => pipe.call({ prompt: 'a red cube', negativePrompt, height: 64, width: 64, numInferenceSteps: 3, guidanceScale, seed: 5, outputType: 'latent' });
    const batches = () => unet.mock.calls.splice(0).map(([sample, , ehs]) => [sample.shape[0], ehs.shape[0]]);
    const off = await run(1);
    expect(batches()).toEqual([[1, 1], [1, 1], [1, 1]]);
    const otherNegative = await run(0, 'blurry');
    expect(batches()).toEqual([[1, 1], [1, 1], [1, 1]]);
    expect(Array.from(otherNegative.latents.data)).toEqual(Array.from(off.latents.data)); // same maths: ε = ε_c
    await run(1.5);
    expect(batches()).toEqual([[2, 2], [2, 2], [2, 2]]);
    await pipe.release();
  });

  it('LCM, 4 steps, guidance 1, TAESD decode: the distillation timesteps, one draw per step but the last', async () => {
    const pipe = await load('tiny-sd15', 'LCM', true);
    const seen: number[] = [];
    const generator = new Generator().manualSeed(7);
    const draws = vi.spyOn(generator, 'randn');
    const out = await pipe.call({ prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 4, guidanceScale: 1, generator, callback: ({ timestep }) => void seen.push(timestep) });
    expect(seen).toEqual([999, 759, 499, 259]);
    expect(draws).toHaveBeenCalledTimes(1 + 3); // the initial latents, then steps 1–3
    expect(out.images[0].data.some((v) => v > 0 && v < 255)).toBe(true);
    const again = await pipe.call({ prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 4, guidanceScale: 1, seed: 7, outputType: 'latent' });
    expect(Array.from(again.latents.data)).toEqual(Array.from(out.latents.data));
    await pipe.release();
  });

  it('TCD takes the pipeline\'s eta as γ: deterministic at 0, re-noised at 0.3', async () => {
    const pipe = await load('tiny-sd15', 'tcd');
    for (const [eta, calls] of [[0, 1], [0.3, 4]] as const) {
      const generator = new Generator().manualSeed(2);
      const draws = vi.spyOn(generator, 'randn');
      await pipe.call({ prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 4, guidanceScale: 1, eta, generator, outputType: 'latent' });
      expect(draws, `eta ${eta}`).toHaveBeenCalledTimes(calls);
    }
    await pipe.release();
  });

  it('SD-Turbo settings on the SD 2 architecture: Euler, trailing spacing, 1 step, guidance 0', async () => {
    const own = readJson('pipelines', 'tiny-sd2', 'scheduler', 'scheduler_config.json');
    const pipe = await load('tiny-sd2', { ...own, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing' });
    const unet = vi.spyOn(pipe.unet, 'forward');
    const out = await pipe.call({ prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 1, guidanceScale: 0, seed: 1 });
    expect(out.scheduler.timesteps).toEqual([999]);
    expect(unet).toHaveBeenCalledTimes(1);
    expect(unet.mock.calls[0][0].shape[0]).toBe(1);
    expect(out.images.length).toBe(1);
    await pipe.release();
  });
});
