// StableDiffusionPipeline from the prompt text and the seed against diffusers 0.27.2 (README §9).
import { describe, it } from 'vitest';

import type { Tensor } from '../../src/core/tensor.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, checkStepLatents } from './conformance.js';

const CASES = [
  ['tiny-sd15', 'sd15_pndm_64x64'],
  ['tiny-sd15', 'sd15_lms_64x96'],
  ['tiny-sd15', 'sd15_euler_ancestral_64x64'],
  ['tiny-sd15', 'sd15_dpmpp2m_batch2_negative'],
  ['tiny-sd2', 'sd2_ddim_vpred_64x64'],
  ['tiny-sd2', 'sd2_euler_96x64'],
] as const;

// Both readings of the prompt text give diffusers' embeddings for these plain prompts.
const SYNTAXES = ['a1111', 'plain'] as const;

describe('txt2img conformance (public API, from the prompt text)', () => {
  it.each(CASES.flatMap((c) => SYNTAXES.map((syntax) => [...c, syntax] as const)))('%s %s (%s prompt syntax)', async (model, name, syntax) => {
    const c = readJson('reference', model, 'txt2img', `${name}.json`);
    const ref = await loadTensors('reference', model, 'txt2img', `${name}.safetensors`);
    const pipe = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', model), { scheduler: c.scheduler_config });
    const steps: Tensor<'float32'>[] = [];
    const out = await pipe.call({
      prompt: c.prompt,
      promptSyntax: syntax,
      negativePrompt: c.negative_prompt ?? undefined,
      height: c.height,
      width: c.width,
      numInferenceSteps: c.num_inference_steps,
      guidanceScale: c.guidance_scale,
      eta: c.eta,
      seed: c.seed,
      callback: ({ latents }) => void steps.push(latents),
    });
    checkStepLatents(name, steps, ref.get('step.latents_out')!);
    checkImages(name, out.images, ref.get('image_uint8')!);
    await pipe.release();
  });
});
