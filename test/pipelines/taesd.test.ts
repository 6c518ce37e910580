// The SD pipelines with an AutoencoderTiny as `vae` (fixture README §18): txt2img decodes
// `latents / 1.0` with TAESD; img2img takes `1.0 · encode(image).latents` WITHOUT a generator draw,
// so the add_noise noise is the generator's first draw. Also: a pipeline folder whose
// model_index.json names AutoencoderTiny loads it, and the step callback can preview with TAESD.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { Generator } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { preprocess, type RgbImage } from '../../src/image/index.js';
import { AutoencoderTiny } from '../../src/models/autoencoder-tiny.js';
import { StableDiffusionImg2ImgPipeline } from '../../src/pipelines/img2img.js';
import { decodeToPixels, imageToLatents, latentsToImages } from '../../src/pipelines/latents.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { readImage } from '../../src/platform/node/image.js';
import { schedulerFromConfig } from '../../src/schedulers/registry.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, checkStepLatents } from './conformance.js';

const taesd = () => AutoencoderTiny.fromPretrained(fixturePath('pipelines', 'tiny-taesd'));
const errors: string[] = [];
afterAll(() => console.log(`TAESD pipeline max errors:\n${errors.join('\n')}`));

describe('pipelines with vae = AutoencoderTiny', () => {
  it('txt2img sd15_pndm_64x64: the same UNet loop, the image decoded by TAESD', async () => {
    const c = readJson('reference', 'tiny-sd15', 'txt2img', 'sd15_pndm_64x64.json');
    const ref = await loadTensors('reference', 'tiny-sd15', 'txt2img', 'sd15_pndm_64x64.safetensors');
    const expected = await loadTensors('taesd', 'expected.safetensors');
    const vae = await taesd();
    const pipe = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { scheduler: c.scheduler_config, vae });
    expect(pipe.vae).toBe(vae);
    const steps: Tensor<'float32'>[] = [];
    const out = await pipe.call({
      prompt: c.prompt, height: c.height, width: c.width, numInferenceSteps: c.num_inference_steps, guidanceScale: c.guidance_scale, seed: c.seed,
      callback: ({ latents }) => void steps.push(latents),
    });
    errors.push(`  txt2img step latents rel ${checkStepLatents('taesd txt2img', steps, ref.get('step.latents_out')!).toExponential(2)}`);
    const d = expectClose('final_latents', out.latents, expected.get('txt2img.final_latents')!, { rel: 1e-4 });
    errors.push(`  txt2img final_latents abs ${d.maxAbs.toExponential(2)}`);
    const decoded = await decodeToPixels(vae, expected.get('txt2img.final_latents')!.toFloat32());
    errors.push(`  txt2img image_decoded abs ${expectClose('image_decoded', decoded, expected.get('txt2img.image_decoded')!, { abs: 1e-4 }).maxAbs.toExponential(2)}`);
    errors.push(`  txt2img image_uint8 values 1 level off: ${(checkImages('taesd txt2img', out.images, expected.get('txt2img.image_uint8')!) * 100).toFixed(3)}%`);
    await pipe.release();
  });

  it('img2img: init latents without a draw, the noise is the first draw (sd15_pndm_img2img_64x64)', async () => {
    const c = readJson('reference', 'tiny-sd15', 'img2img', 'sd15_pndm_img2img_64x64.json');
    const expected = await loadTensors('taesd', 'expected.safetensors');
    const image = await readImage(fixturePath('reference', 'tiny-sd15', 'img2img', c.input_png));
    expectClose('preprocessed_image', preprocess(image), expected.get('img2img.preprocessed_image')!, { abs: 1e-7 });
    const vae = await taesd();
    const g = new Generator().manualSeed(c.seed);
    const init = await imageToLatents(vae, image, g);
    errors.push(`  img2img init_latents abs ${expectClose('init_latents', init, expected.get('img2img.init_latents')!, { abs: 1e-5 }).maxAbs.toExponential(2)}`);
    const noise = g.randn(init.shape); // the FIRST draw: imageToLatents took none
    expect(Array.from(noise.data)).toEqual(Array.from(expected.get('img2img.noise')!.data as Float32Array));
    const s = schedulerFromConfig(c.scheduler_config);
    s.setTimesteps(c.num_inference_steps);
    const t0 = Number((expected.get('img2img.latent_timestep')!.data as BigInt64Array)[0]);
    expectClose('initial_latents', s.addNoise(init, noise, [t0]), expected.get('img2img.initial_latents')!, { abs: 1e-5 });

    // The pipeline draws once (the add_noise noise; PNDM draws nothing), where AutoencoderKL draws twice.
    const pipe = await StableDiffusionImg2ImgPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { scheduler: c.scheduler_config, vae });
    const gen = new Generator().manualSeed(c.seed);
    const draws = vi.spyOn(gen, 'randn');
    await pipe.call({ prompt: c.prompt, image, strength: c.strength, numInferenceSteps: c.num_inference_steps, guidanceScale: c.guidance_scale, generator: gen, outputType: 'latent' });
    expect(draws.mock.calls.map(([shape]) => [...shape])).toEqual([[1, 4, 8, 8]]);
    expect(Array.from(draws.mock.results[0].value.data)).toEqual(Array.from(expected.get('img2img.noise')!.data as Float32Array));
    await pipe.release();
  });

  it('a pipeline folder whose model_index.json names AutoencoderTiny loads it as its vae', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-taesd-'));
    try {
      cpSync(fixturePath('pipelines', 'tiny-sd15'), dir, { recursive: true });
      rmSync(join(dir, 'vae'), { recursive: true });
      cpSync(fixturePath('pipelines', 'tiny-taesd'), join(dir, 'vae'), { recursive: true });
      const index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8'));
      writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ ...index, vae: ['diffusers', 'AutoencoderTiny'] }));
      const pipe = await StableDiffusionPipeline.fromPretrained(dir);
      expect(pipe.vae).toBeInstanceOf(AutoencoderTiny);
      expect(pipe.vaeScaleFactor).toBe(8);
      await pipe.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('previews every step with TAESD from the step callback while the full VAE decodes the result', async () => {
    const preview = await taesd();
    const pipe = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { scheduler: 'lcm' });
    const previews: RgbImage[][] = [];
    const out = await pipe.call({
      prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 4, guidanceScale: 1, seed: 3,
      callback: async ({ predOriginalSample }) => void previews.push(await latentsToImages(preview, predOriginalSample!)),
    });
    expect(previews.length).toBe(4);
    expect(previews.every((p) => p.length === 1 && p[0].width === 64)).toBe(true);
    expect(out.images.length).toBe(1);
    await pipe.release();
    await preview.release();
  });
});
