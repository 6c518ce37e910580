// StableDiffusionImg2ImgPipeline from the prompt, the input PNG and the seed (README §10).
import { describe, expect, it } from 'vitest';

import type { Tensor } from '../../src/core/tensor.js';
import { StableDiffusionImg2ImgPipeline } from '../../src/pipelines/img2img.js';
import { readImage } from '../../src/platform/node/image.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, checkStepLatents } from './conformance.js';

const CASES = [
  ['tiny-sd15', 'sd15_pndm_img2img_64x64'],
  ['tiny-sd2', 'sd2_euler_img2img_64x64'],
] as const;

// Both readings of the prompt text give diffusers' embeddings for these plain prompts.
const SYNTAXES = ['a1111', 'plain'] as const;

describe('img2img conformance (public API, from the prompt text and the PNG)', () => {
  it.each(CASES.flatMap((c) => SYNTAXES.map((syntax) => [...c, syntax] as const)))('%s %s (%s prompt syntax)', async (model, name, syntax) => {
    const c = readJson('reference', model, 'img2img', `${name}.json`);
    const ref = await loadTensors('reference', model, 'img2img', `${name}.safetensors`);
    const pipe = await StableDiffusionImg2ImgPipeline.fromPretrained(fixturePath('pipelines', model), { scheduler: c.scheduler_config });
    const image = await readImage(fixturePath('reference', model, 'img2img', c.input_png));
    const steps: Tensor<'float32'>[] = [];
    const out = await pipe.call({
      prompt: c.prompt,
      promptSyntax: syntax,
      negativePrompt: c.negative_prompt ?? undefined,
      image,
      strength: c.strength,
      numInferenceSteps: c.num_inference_steps,
      guidanceScale: c.guidance_scale,
      seed: c.seed,
      callback: ({ timestep, latents }) => {
        steps.push(latents);
        expect(timestep).toBe(Number((ref.get('timesteps')!.data as ArrayLike<number | bigint>)[steps.length - 1]));
      },
    });
    checkStepLatents(name, steps, ref.get('step.latents_out')!);
    checkImages(name, out.images, ref.get('image_uint8')!);
    await pipe.release();
  });
});
