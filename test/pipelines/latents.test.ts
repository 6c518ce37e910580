// imageToLatents / latentsToImages / decodeToPixels (src/pipelines/latents.ts) against the img2img and
// txt2img fixtures (README §9–§10), and schedulerFromPretrained.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Generator } from '../../src/core/random.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { decodeToPixels, imageToLatents, latentsToImages } from '../../src/pipelines/latents.js';
import { schedulerFromPretrained } from '../../src/pipelines/scheduler-from-pretrained.js';
import { readImage } from '../../src/platform/node/image.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages } from './conformance.js';

const MODEL = fixturePath('pipelines', 'tiny-sd15');

describe('images ↔ latents through the VAE', () => {
  let vae: AutoencoderKL;
  beforeAll(async () => {
    vae = await AutoencoderKL.fromPretrained(MODEL);
  });
  afterAll(async () => vae.release());

  it('imageToLatents is the img2img pipeline\'s init_latents (first draw of the seeded generator)', async () => {
    const name = 'sd15_pndm_img2img_64x64';
    const c = readJson('reference', 'tiny-sd15', 'img2img', `${name}.json`);
    const ref = await loadTensors('reference', 'tiny-sd15', 'img2img', `${name}.safetensors`);
    const image = await readImage(fixturePath('reference', 'tiny-sd15', 'img2img', c.input_png));
    const latents = await imageToLatents(vae, image, new Generator().manualSeed(c.seed));
    expectClose('init_latents', latents, ref.get('init_latents')!, { abs: 5e-5 });
  });

  it('latentsToImages is the txt2img pipeline\'s decode; decodeToPixels its raw output', async () => {
    const name = 'sd15_lms_64x96';
    const ref = await loadTensors('reference', 'tiny-sd15', 'txt2img', `${name}.safetensors`);
    const latents = ref.get('final_latents')!.toFloat32();
    expectClose('image_decoded', await decodeToPixels(vae, latents), ref.get('image_decoded')!, { abs: 1e-4 });
    checkImages(name, await latentsToImages(vae, latents), ref.get('image_uint8')!);
  });
});

describe('schedulerFromPretrained', () => {
  it('builds the class the config names, or another by name from the same config', async () => {
    const pndm = await schedulerFromPretrained(MODEL);
    expect(pndm.className).toBe('PNDMScheduler');
    const lms = await schedulerFromPretrained(MODEL, { name: 'lms' });
    expect(lms.className).toBe('LMSDiscreteScheduler');
    expect(lms.config.timestep_spacing).toBe('leading'); // kept from the saved config (README §12, pitfall 1)
    const sd2 = await schedulerFromPretrained(fixturePath('pipelines', 'tiny-sd2'), { name: 'euler' });
    expect(sd2.config.prediction_type).toBe('v_prediction');
  });

  it('names the missing file when the folder has no scheduler config', async () => {
    await expect(schedulerFromPretrained(fixturePath('pipelines', 'tiny-sd15', 'unet'))).rejects.toMatchObject({ code: 'CONFIG_MISSING' });
  });
});
