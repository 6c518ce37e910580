// `--model FILE` for single-file checkpoints through the command: tiny-sd2.safetensors reproduces
// diffusers' sd2_ddim_vpred_64x64 with no scheduler flag (DDIM v-prediction, from the YAML beside
// it), and the flags that only make sense for one kind of --model say so.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseA1111Parameters, readImage, readPngText, SafetensorsFile } from '../../src/node.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, LATENT_REL } from '../pipelines/conformance.js';
import { parseReport, runCli, tempDir } from './run-cli.js';

const SD2 = fixturePath('single_file', 'tiny-sd2.safetensors');

describe('latentlab generate --model FILE', () => {
  it('tiny-sd2.safetensors reproduces sd2_ddim_vpred_64x64 with the scheduler inferred from its YAML', async () => {
    const name = 'sd2_ddim_vpred_64x64';
    const c = readJson('reference', 'tiny-sd2', 'txt2img', `${name}.json`);
    const ref = await loadTensors('reference', 'tiny-sd2', 'txt2img', `${name}.safetensors`);
    const dir = tempDir();
    const r = await runCli([
      'generate', '--model', SD2, '--prompt', c.prompt, '--steps', String(c.num_inference_steps), '--guidance', String(c.guidance_scale),
      '--seed', String(c.seed), '--width', String(c.width), '--height', String(c.height), '--eta', '0',
      '--out', join(dir, 'out.png'), '--save-latents', join(dir, 'latents.safetensors'), '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.settings.scheduler).toMatchObject({ className: 'DDIMScheduler', source: 'model' });
    expect(report.settings.scheduler.config.prediction_type).toBe('v_prediction');
    const latents = await (await SafetensorsFile.open(join(dir, 'latents.safetensors'))).read('latents');
    const d = diff(latents.toFloat32().data, ref.get('final_latents')!.toFloat32().data);
    console.log(`CLI --model tiny-sd2.safetensors ${name}: final latents max rel ${d.maxRel.toExponential(2)}`);
    expect(d.maxRel).toBeLessThanOrEqual(LATENT_REL);
    checkImages(name, [await readImage(report.images[0])], ref.get('image_uint8')!);
    // A1111's "Model hash": the first 10 hex digits of the whole file's SHA-256.
    const hash = createHash('sha256').update(readFileSync(SD2)).digest('hex').slice(0, 10);
    expect(parseA1111Parameters((await readPngText(report.images[0])).parameters)).toMatchObject({ model: 'tiny-sd2', modelHash: hash });
    expect(report.settings.modelHash).toBe(hash);
  });

  it('--vae PATH (a VAE folder) swaps the VAE, recorded in the infotext; a PATH that is no VAE is a flag error', async () => {
    const name = 'sd2_ddim_vpred_64x64';
    const c = readJson('reference', 'tiny-sd2', 'txt2img', `${name}.json`);
    const ref = await loadTensors('reference', 'tiny-sd2', 'txt2img', `${name}.safetensors`);
    const dir = tempDir();
    const r = await runCli([
      'generate', '--model', SD2, '--vae', fixturePath('pipelines', 'tiny-sd2', 'vae'), '--prompt', c.prompt, '--steps', String(c.num_inference_steps),
      '--guidance', String(c.guidance_scale), '--seed', String(c.seed), '--width', '64', '--height', '64', '--out', join(dir, 'out.png'), '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    checkImages(name, [await readImage(report.images[0])], ref.get('image_uint8')!);
    expect(parseA1111Parameters((await readPngText(report.images[0])).parameters).extra?.VAE).toBe('vae');
    const bad = await runCli(['generate', '--model', SD2, '--vae', join(dir, 'nothing.bin'), '--prompt', 'x', '--out', join(dir, 'o.png')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--vae');
  });

  it('--prediction-type overrides the YAML', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--model', SD2, '--prompt', 'x', '--steps', '1', '--width', '64', '--height', '64', '--seed', '1', '--prediction-type', 'epsilon', '--out', join(dir, 'o.png'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r).settings.scheduler.config.prediction_type).toBe('epsilon');
  });

  it.each([
    [['--model', SD2, '--variant', 'fp16'], '--variant'],
    [['--model', fixturePath('pipelines', 'tiny-sd2'), '--prediction-type', 'epsilon'], '--prediction-type'],
    [['--model', fixturePath('pipelines', 'tiny-sd2'), '--original-config', 'x.yaml'], '--original-config'],
  ])('flag errors: %j', async (args, flag) => {
    const r = await runCli(['generate', '--prompt', 'x', '--steps', '1', '--out', join(tempDir(), 'o.png'), ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(flag);
  });
});
