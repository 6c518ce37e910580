// precision 'int8' through the pipeline (issue 16): only the UNet is quantised, its convs are calibrated
// on the empty prompt's embeddings (so the first prompt does not decide the ranges), and a few-step
// generation on the tiny model stays close to the float32 one on the same seed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { encodePrompt } from '../../src/pipelines/encode-prompt.js';
import { diff } from '../helpers/compare.js';
import { fixturePath } from '../helpers/fixtures.js';
import { useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('pipeline-int8');
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.LATENTLAB_CACHE;
  process.env.LATENTLAB_CACHE = join(tmp(), 'cache');
});
afterAll(() => {
  if (saved === undefined) delete process.env.LATENTLAB_CACHE;
  else process.env.LATENTLAB_CACHE = saved;
});

describe('txt2img with precision int8', () => {
  it('quantises the UNet only, calibrates on the empty prompt, and stays near float32 (LCM, 4 steps)', async () => {
    const load = (precision: 'fp32' | 'int8') => StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { scheduler: 'LCM', precision, releaseSessions: false });
    const call = { prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 4, guidanceScale: 1, seed: 3, outputType: 'latent' } as const;
    const int8 = await load('int8');
    expect(int8.unet.precision).toBe('int8');
    const a = await int8.call(call);
    const empty = await encodePrompt(int8.tokenizer, int8.textEncoder, ['']);
    expect(Array.from(int8.unet.int8CalibrationContext!.data)).toEqual(Array.from(empty.data));
    await int8.release();
    const fp32 = await load('fp32');
    expect(fp32.unet.precision).toBe('fp32');
    const b = await fp32.call(call);
    await fp32.release();
    const d = diff(a.latents.data, b.latents.data);
    console.log(`tiny-sd15, LCM 4 steps: int8 vs fp32 latents max abs ${d.maxAbs.toExponential(2)}, max rel ${d.maxRel.toExponential(2)} (max|latents| ${d.refScale.toFixed(2)})`);
    expect(d.maxRel).toBeLessThan(0.1); // measured 2.6e-2 of max|latents|
    expect(d.maxAbs, 'int8 really ran').toBeGreaterThan(0);
  });
});
