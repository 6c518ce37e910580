// The hires fix (pipelines/hires-fix.ts) on the tiny model: A1111's target sizes and crop, its
// second-pass schedule (S steps of an N = int(S / strength)-step schedule, run by diffusers'
// img2img), the latent and picture upscalers, strength 0, and img2img from latents.
import { describe, expect, it } from 'vitest';

import { interpolate } from '../../src/core/interpolate.js';
import { Tensor } from '../../src/core/tensor.js';
import { img2imgTimesteps } from '../../src/pipelines/base.js';
import { a1111HiresTarget, hiresFix, hiresSchedule } from '../../src/pipelines/hires-fix.js';
import { StableDiffusionImg2ImgPipeline } from '../../src/pipelines/img2img.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { schedulerFromConfig } from '../../src/schedulers/index.js';
import { resizeImage } from '../../src/platform/node/image.js';
import { fixturePath } from '../helpers/fixtures.js';

const TINY = fixturePath('pipelines', 'tiny-sd15');

describe('A1111 hires-fix arithmetic', () => {
  it('targets: hr_scale, one of hr_resize_x/y (aspect kept), both (cover, then crop the overhang in latent pixels)', () => {
    expect(a1111HiresTarget(64, 48, { scale: 1.5 })).toEqual({ width: 96, height: 72, crop: { x: 0, y: 0 } });
    expect(a1111HiresTarget(64, 48, { resizeX: 128 })).toEqual({ width: 128, height: 96, crop: { x: 0, y: 0 } });
    expect(a1111HiresTarget(64, 48, { resizeY: 96 })).toEqual({ width: 128, height: 96, crop: { x: 0, y: 0 } });
    // 64×48 (4:3) to 128×128: scaled to 170×128 (int(128·64/48)), then ⌊(170 − 128)/8⌋ = 5 latent columns cut.
    expect(a1111HiresTarget(64, 48, { resizeX: 128, resizeY: 128 })).toEqual({ width: 170, height: 128, crop: { x: 5, y: 0 } });
  });

  it('the second pass runs exactly S steps, from index N − S of an N = int(S / min(strength, 0.999)) schedule, through diffusers\' get_timesteps', () => {
    expect(hiresSchedule(3, 0.7)).toEqual({ numInferenceSteps: 4, steps: 3, strength: 0.875 });
    expect(hiresSchedule(5, 1)).toEqual({ numInferenceSteps: 5, steps: 5, strength: 1 });
    for (let s = 1; s <= 60; s++) {
      for (const strength of [0.01, 0.1, 0.3, 1 / 3, 0.5, 0.7, 0.75, 0.9, 0.999, 1]) {
        const plan = hiresSchedule(s, strength);
        const schedule = Array.from({ length: plan.numInferenceSteps }, (_, i) => i);
        const { timesteps, tStart } = img2imgTimesteps(schedule, 1, plan.numInferenceSteps, plan.strength);
        expect([timesteps.length, tStart], `S ${s}, strength ${strength}`).toEqual([s, plan.numInferenceSteps - s]);
      }
    }
  });
});

describe('hiresFix on tiny-sd15', () => {
  const first = { prompt: 'a red cube', negativePrompt: 'blurry', numInferenceSteps: 3, guidanceScale: 7, width: 64, height: 64, seed: 5, scheduler: 'Euler' } as const;

  it('Latent: the first pass, the bilinear upscale, then S steps at 128×128 on the tail of the stretched schedule', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY);
    const seen: number[] = [];
    const out = await hiresFix(pipe, { ...first, callback: ({ timestep }) => void seen.push(timestep) }, { width: 128, height: 128, upscaler: 'Latent', strength: 0.7, steps: 3 });
    expect([out.images[0].width, out.images[0].height]).toEqual([128, 128]);
    expect(out.firstPassLatents.shape).toEqual([1, 4, 8, 8]);
    expect(out.latents.shape).toEqual([1, 4, 16, 16]);
    expect(out.secondPass).toEqual({ numInferenceSteps: 4, steps: 3 });
    const euler = schedulerFromConfig(pipe.scheduler.config, { name: 'Euler' });
    euler.setTimesteps(4);
    expect(seen.slice(3)).toEqual(euler.timesteps.slice(1));
    // The same second pass by hand: img2img from the upscaled latents with a fresh Generator(seed).
    const img2img = new StableDiffusionImg2ImgPipeline({ ...pipe, schedulerConfig: pipe.scheduler.config });
    const byHand = await img2img.call({
      prompt: first.prompt, negativePrompt: first.negativePrompt, guidanceScale: 7, scheduler: 'Euler', seed: 5, numInferenceSteps: 4, strength: 0.875,
      image: interpolate(out.firstPassLatents, { size: [16, 16], mode: 'bilinear' }),
    });
    expect(Buffer.from(byHand.images[0].data).equals(Buffer.from(out.images[0].data))).toBe(true);
  });

  it('strength 0 decodes the upscaled latents (A1111 samples no step); a picture upscaler resizes the decoded first pass', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY);
    const none = await hiresFix(pipe, first, { width: 96, height: 128, upscaler: 'Latent (nearest)', strength: 0 });
    const upscaled = interpolate(none.firstPassLatents, { size: [16, 12], mode: 'nearest' });
    expect(Buffer.from((await pipe.decodeLatents(upscaled))[0].data).equals(Buffer.from(none.images[0].data))).toBe(true);
    const pixels = await hiresFix(pipe, first, { width: 128, height: 128, upscaler: (image, w, h) => resizeImage(image, w, h, 'nearest'), strength: 0.5, steps: 2 });
    expect([pixels.images[0].width, pixels.images[0].height]).toEqual([128, 128]);
    expect(pixels.secondPass).toEqual({ numInferenceSteps: 4, steps: 2 });
  });

  it('refuses an unknown upscaler name and latents of the wrong shape', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY);
    await expect(hiresFix(pipe, first, { width: 128, height: 128, upscaler: 'ESRGAN_4x', strength: 0.5 })).rejects.toThrow(/upscaler is "ESRGAN_4x"; expected one of "Latent"/);
    await expect(hiresFix(pipe, first, { width: 128, height: 128, upscaler: 'constructor', strength: 0.5 })).rejects.toThrow(/upscaler is "constructor"; expected one of "Latent"/);
    const img2img = new StableDiffusionImg2ImgPipeline({ ...pipe, schedulerConfig: pipe.scheduler.config });
    await expect(img2img.call({ prompt: 'x', image: new Tensor('float32', [1, 3, 8, 8]), numInferenceSteps: 2 })).rejects.toThrow(/latents must be \[N, 4, h, w\]/);
  });
});
