// StableDiffusionInpaintPipeline from the prompt, the input PNG, the mask PNG and the seed
// (README §17): the 9-channel tiny-sd15-inpaint UNet (PNDM at strength 1, Euler at 0.75 with a
// negative prompt) and the 4-channel blend with tiny-sd15 (Euler, 0.8).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { Tensor } from '../../src/core/tensor.js';
import { downsampleMask, maskCondition, toGrayscale } from '../../src/image/mask.js';
import { preprocess } from '../../src/image/index.js';
import { maskedImage, StableDiffusionInpaintPipeline } from '../../src/pipelines/inpaint.js';
import { savePipelineAsSingleFile } from '../../src/pipelines/single-file.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { readImage } from '../../src/platform/node/image.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, checkStepLatents } from './conformance.js';

const CASES = ['sd15_inpaint_pndm_64x64', 'sd15_inpaint_euler_48x64', 'sd15_inpaint4ch_euler_64x64'] as const;
const measured: string[] = [];
afterAll(() => console.log(`inpainting conformance (README §17):\n${measured.join('\n')}`));

async function inputs(name: string) {
  const c = readJson('inpaint', `${name}.json`);
  const ref = await loadTensors('inpaint', `${name}.safetensors`);
  const image = await readImage(fixturePath('inpaint', c.input_png));
  const mask = await readImage(fixturePath('inpaint', c.mask_png));
  return { c, ref, image, mask };
}

describe('inpainting conformance (public API, from the prompt text, the PNGs and the seed)', () => {
  it.each(CASES)('%s: mask processing is exact (binarised mask, masked image, latent mask)', async (name) => {
    const { ref, image, mask } = await inputs(name);
    // The mask PNG is mode L; read as RGB (grey replicated), PIL's luma gives the grey values back.
    expect(Buffer.from(toGrayscale(mask).data).equals(Buffer.from(ref.get('mask_uint8')!.data as Uint8Array))).toBe(true);
    const condition = maskCondition([mask]);
    expect(diff(condition.data, ref.get('mask_condition')!.toFloat32().data).maxAbs).toBe(0);
    expect(diff(maskedImage(preprocess(image), condition).data, ref.get('masked_image')!.toFloat32().data).maxAbs).toBe(0);
    expect(diff(downsampleMask(condition, 8).data, ref.get('mask')!.toFloat32().data).maxAbs).toBe(0);
  });

  it.each(CASES)('%s: per-step latents, first UNet input, image', async (name) => {
    const { c, ref, image, mask } = await inputs(name);
    const model = c.unet_in_channels === 9 ? 'tiny-sd15-inpaint' : 'tiny-sd15';
    const pipe = await StableDiffusionInpaintPipeline.fromPretrained(fixturePath('pipelines', model), { scheduler: c.scheduler_config });
    expect(pipe.unetInputKind).toBe(c.unet_in_channels === 9 ? 'inpainting' : 'blend');
    // The exact UNet input of the first call (the 9-channel concatenation happens in the loop).
    const unetInputs: Tensor[] = [];
    const forward = pipe.unet.forward.bind(pipe.unet);
    pipe.unet.forward = (x, ...rest) => {
      unetInputs.push(x);
      return forward(x, ...rest);
    };
    const steps: Tensor<'float32'>[] = [];
    const out = await pipe.call({
      prompt: c.prompt,
      negativePrompt: c.negative_prompt ?? undefined,
      image,
      maskImage: mask,
      strength: c.strength,
      numInferenceSteps: c.num_inference_steps,
      guidanceScale: c.guidance_scale,
      seed: c.seed,
      callback: ({ timestep, latents }) => {
        steps.push(latents);
        expect(timestep).toBe(Number((ref.get('timesteps')!.data as ArrayLike<number | bigint>)[steps.length - 1]));
      },
    });
    const firstRef = ref.get('step.latent_model_input')!.toFloat32();
    const first = diff(unetInputs[0].toFloat32().data, firstRef.data.subarray(0, firstRef.size / firstRef.shape[0]));
    expect([...unetInputs[0].shape]).toEqual(firstRef.shape.slice(1));
    expect(first.maxAbs, `${name}: first UNet input`).toBeLessThanOrEqual(5e-5);
    const worst = checkStepLatents(name, steps, ref.get('step.latents_out')!);
    const off = checkImages(name, out.images, ref.get('image_uint8')!);
    measured.push(`  ${name}: UNet input ${first.maxAbs.toExponential(2)} abs, latents ${worst.toExponential(2)} rel, uint8 off by 1: ${(off * 100).toFixed(3)}%`);
    await pipe.release();
  });

  it('a single-file inpainting checkpoint (9 input channels) routes to the 9-channel path and reproduces the fixture', async () => {
    const name = 'sd15_inpaint_euler_48x64';
    const { c, ref, image, mask } = await inputs(name);
    const file = join(mkdtempSync(join(tmpdir(), 'latentlab-inpaint-')), 'tiny-sd15-inpaint.safetensors');
    await savePipelineAsSingleFile(fixturePath('pipelines', 'tiny-sd15-inpaint'), file);
    // The tiny widths need their YAML beside the file (heads cannot be inferred from 32 channels), as A1111 users do it.
    writeFileSync(file.replace(/safetensors$/, 'yaml'), readFileSync(fixturePath('single_file', 'tiny-sd15.yaml'), 'utf8').replace('in_channels: 4', 'in_channels: 9'));
    await expect(StableDiffusionPipeline.fromSingleFile(file)).rejects.toMatchObject({ code: 'PIPELINE_UNSUPPORTED' });
    const pipe = await StableDiffusionInpaintPipeline.fromSingleFile(file, { scheduler: c.scheduler_config });
    expect(pipe.unetInputKind).toBe('inpainting');
    const steps: Tensor<'float32'>[] = [];
    const out = await pipe.call({
      prompt: c.prompt, negativePrompt: c.negative_prompt, image, maskImage: mask, strength: c.strength,
      numInferenceSteps: c.num_inference_steps, guidanceScale: c.guidance_scale, seed: c.seed, callback: ({ latents }) => { steps.push(latents); },
    });
    const worst = checkStepLatents(`${name} (single file)`, steps, ref.get('step.latents_out')!);
    checkImages(`${name} (single file)`, out.images, ref.get('image_uint8')!);
    measured.push(`  ${name} from a single file: latents ${worst.toExponential(2)} rel`);
    await pipe.release();
  });

  it('refuses a mask of another size, and txt2img refuses an inpainting UNet', async () => {
    const { image, mask } = await inputs('sd15_inpaint_euler_48x64');
    const pipe = await StableDiffusionInpaintPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15-inpaint'));
    const small = { width: 8, height: 8, data: new Uint8Array(64) };
    await expect(pipe.call({ prompt: 'x', image, maskImage: small, numInferenceSteps: 2 })).rejects.toMatchObject({ code: 'PIPELINE_SIZE', key: 'maskImage' });
    await expect(pipe.call({ prompt: 'x', image, maskImage: [mask, mask, mask], numInferenceSteps: 2 })).rejects.toMatchObject({ code: 'PIPELINE_ARGUMENT' });
    await expect(pipe.call({ prompt: 'x', image, maskImage: mask, strength: 0.1, numInferenceSteps: 2 })).rejects.toMatchObject({ code: 'PIPELINE_ARGUMENT', key: 'strength' });
    await expect(StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15-inpaint'))).rejects.toMatchObject({
      code: 'PIPELINE_UNSUPPORTED', message: expect.stringContaining('9 input channels'),
    });
  });
});
