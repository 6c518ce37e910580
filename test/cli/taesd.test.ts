// generate with --vae taesd PATH (the result decoded by TAESD) and --preview-vae taesd PATH (fast
// previews, the result still decoded by the model's VAE), as the real command.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AutoencoderTiny, readImage, readPngText, StableDiffusionPipeline } from '../../src/node.js';
import { fixturePath } from '../helpers/fixtures.js';
import { listFiles, parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

const TAESD = fixturePath('pipelines', 'tiny-taesd');
const LCM = ['--scheduler', 'LCM', '--steps', '4', '--guidance', '1', '--seed', '3'];

describe('generate --vae taesd / --preview-vae taesd', () => {
  it('decodes with TAESD: the library\'s pixels, and the VAE named in the report and the PNG text', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a red cube', ...LCM, '--out', join(dir, 'x.png'), '--save-latents', join(dir, 'z.safetensors'), '--json', '--vae', 'taesd', TAESD]);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.settings.vae).toEqual({ kind: 'taesd', path: TAESD });
    expect(report.settings.scheduler).toMatchObject({ className: 'LCMScheduler', a1111: 'LCM' });
    expect((await readPngText(join(dir, 'x.png'))).parameters).toMatch(/Sampler: LCM, CFG scale: 1, .*VAE: tiny-taesd/);

    const vae = await AutoencoderTiny.fromPretrained(TAESD);
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY_SD15, { scheduler: 'LCM', vae });
    const { images } = await pipe.call({ prompt: 'a red cube', numInferenceSteps: 4, guidanceScale: 1, seed: 3 });
    expect(Array.from((await readImage(join(dir, 'x.png'))).data)).toEqual(Array.from(images[0].data));
    await pipe.release();

    // decode --vae taesd turns the saved latents into the same pixels.
    const d = await runCli(['decode', '--model', TINY_SD15, '--latents', join(dir, 'z.safetensors'), '--out', join(dir, 'decoded.png'), '--vae', 'taesd', TAESD]);
    expect(d.code, d.stderr).toBe(0);
    expect(Array.from((await readImage(join(dir, 'decoded.png'))).data)).toEqual(Array.from(images[0].data));
  });

  it('previews with TAESD while the model\'s VAE decodes the result', async () => {
    const dir = tempDir();
    const args = ['generate', '--model', TINY_SD15, '--prompt', 'a red cube', ...LCM, '--preview', join(dir, 'steps')];
    const [tiny, full] = await Promise.all([
      runCli([...args, '--out', join(dir, 'tiny.png'), '--json', '--preview-vae', 'taesd', TAESD]),
      runCli([...args.slice(0, -1), join(dir, 'steps-full'), '--out', join(dir, 'full.png')]),
    ]);
    expect(tiny.code, tiny.stderr).toBe(0);
    expect(full.code, full.stderr).toBe(0);
    expect(listFiles(join(dir, 'steps'))).toEqual(['step-01.png', 'step-02.png', 'step-03.png', 'step-04.png']);
    expect(parseReport(tiny).settings.previewVae).toEqual({ kind: 'taesd', path: TAESD });
    // Same result image (the model's VAE), different previews (TAESD vs the model's VAE).
    const pixels = async (p: string) => Array.from((await readImage(p)).data);
    expect(await pixels(join(dir, 'tiny.png'))).toEqual(await pixels(join(dir, 'full.png')));
    expect(await pixels(join(dir, 'steps', 'step-04.png'))).not.toEqual(await pixels(join(dir, 'steps-full', 'step-04.png')));
  });
});
