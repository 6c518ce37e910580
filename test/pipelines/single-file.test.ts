// Single-file checkpoints (README §15) against the diffusers folders they were converted from:
// the inferred configs equal the folders' config.json, every bound weight has the folder's bytes,
// and the pipelines reproduce the folder's outputs — tiny-sd2 (F32) the diffusers reference loop
// itself with the scheduler inferred from its YAML (DDIM, v-prediction), tiny-sd15 (F16, .safetensors
// and .ckpt) the fp16-variant folder exactly.

import { describe, expect, it } from 'vitest';

import { isExternal } from '../../src/core/external.js';
import type { Tensor } from '../../src/core/tensor.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { readConfigFile } from '../../src/weights/diffusers.js';
import { openSingleFile } from '../../src/weights/single-file/single-file.js';
import { readWeightData } from '../../src/weights/source.js';
import { openWeights } from '../../src/weights/discovery.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, checkStepLatents } from './conformance.js';

const FILES = [
  ['tiny-sd15.safetensors', 'tiny-sd15', 'fp16'],
  ['tiny-sd15.ckpt', 'tiny-sd15', 'fp16'],
  ['tiny-sd2.safetensors', 'tiny-sd2', undefined],
] as const;

const COMPONENTS = [['unet', 'unet', 'diffusion_pytorch_model'], ['vae', 'vae', 'diffusion_pytorch_model'], ['text_encoder', 'text_encoder', 'model']] as const;

describe.each(FILES)('single file %s', (file, model, variant) => {
  it('infers the folder\'s configs and binds the folder\'s bytes to every key', async () => {
    const sf = await openSingleFile(fixturePath('single_file', file));
    expect(sf.family).toBe(model === 'tiny-sd15' ? 'sd1' : 'sd2');
    for (const [name, folder, stem] of COMPONENTS) {
      const want = await readConfigFile(fixturePath('pipelines', model, folder, 'config.json'));
      const got = sf.components[name].config;
      for (const [k, v] of Object.entries(got)) {
        // Not derivable, as in diffusers: the default image size (512 / 768), the pooling token ids
        // (unused by SD) and upcast_attention (tiny-sd2's folder says true: a no-op in float32).
        if (['_class_name', 'sample_size', 'bos_token_id', 'eos_token_id', 'upcast_attention'].includes(k)) continue;
        expect(v, `${name}.${k}`).toEqual(want[k]);
      }
      const folderWeights = await openWeights(fixturePath('pipelines', model, folder), { variant, stem });
      const ours = sf.components[name].weights;
      expect(new Set(ours.keys.filter((k) => !k.endsWith('position_ids')))).toEqual(new Set(folderWeights.keys.filter((k) => !k.endsWith('position_ids'))));
      for (const key of folderWeights.keys) {
        if (key.endsWith('position_ids')) continue;
        const ref = ours.ref(key);
        expect(isExternal(ref), key).toBe(true); // in place, not a copy
        const [a, b] = [await readWeightData(ref), await folderWeights.read(key)];
        expect(a.shape, key).toEqual(b.shape);
        expect(a.dtype, key).toBe(b.dtype);
        expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), key).toBe(true);
      }
    }
  });
});

describe('single-file txt2img', () => {
  it('tiny-sd2.safetensors reproduces the diffusers loop sd2_ddim_vpred_64x64 with the scheduler its YAML implies', async () => {
    const name = 'sd2_ddim_vpred_64x64';
    const c = readJson('reference', 'tiny-sd2', 'txt2img', `${name}.json`);
    const ref = await loadTensors('reference', 'tiny-sd2', 'txt2img', `${name}.safetensors`);
    const pipe = await StableDiffusionPipeline.fromSingleFile(fixturePath('single_file', 'tiny-sd2.safetensors'));
    expect(pipe.scheduler.constructor.name).toBe('DDIMScheduler');
    const steps: Tensor<'float32'>[] = [];
    const out = await pipe.call({
      prompt: c.prompt, height: c.height, width: c.width, numInferenceSteps: c.num_inference_steps, guidanceScale: c.guidance_scale,
      eta: c.eta, seed: c.seed, callback: ({ latents }) => void steps.push(latents),
    });
    const worst = checkStepLatents(name, steps, ref.get('step.latents_out')!);
    console.log(`single_file tiny-sd2.safetensors ${name}: latents max rel ${worst.toExponential(2)}`);
    checkImages(name, out.images, ref.get('image_uint8')!);
    await pipe.release();
  });

  it.each(['tiny-sd15.safetensors', 'tiny-sd15.ckpt'])('%s gives the fp16 folder\'s latents exactly (sd15_pndm_64x64 settings)', async (file) => {
    const c = readJson('reference', 'tiny-sd15', 'txt2img', 'sd15_pndm_64x64.json');
    const call = { prompt: c.prompt, height: c.height, width: c.width, numInferenceSteps: c.num_inference_steps, guidanceScale: c.guidance_scale, seed: c.seed };
    const folder = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { variant: 'fp16', scheduler: c.scheduler_config });
    const single = await StableDiffusionPipeline.fromSingleFile(fixturePath('single_file', file), { scheduler: c.scheduler_config });
    const [a, b] = [await folder.call(call), await single.call(call)];
    const d = diff(b.latents.data, a.latents.data);
    console.log(`single_file ${file}: latents max abs vs the fp16 folder ${d.maxAbs.toExponential(2)}`);
    expect(d.maxAbs).toBe(0);
    await folder.release();
    await single.release();
  });
});
