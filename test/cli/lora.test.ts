// LoRA through the command (README §16): `--lora FILE:0.8` reproduces diffusers' sd15_lora_euler_64x64
// loop (LoRA merged into UNet and text encoder at 0.8), the same LoRA as a <lora:name:0.8> prompt tag
// with --lora-dir gives the same latents, the PNG records A1111's "Lora hashes", and with the single
// file tiny-sd15.safetensors the LoRA gives exactly what the fp16 folder gives.

import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseA1111Parameters, readImage, readPngText, SafetensorsFile } from '../../src/node.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, LATENT_REL } from '../pipelines/conformance.js';
import { parseReport, runCli, tempDir } from './run-cli.js';

const LORA = fixturePath('lora', 'tiny-sd15-lora.kohya.safetensors');
const c = readJson('lora', 'sd15_lora_euler_64x64.json');

async function generate(dir: string, model: string, extra: string[], prompt = c.prompt): Promise<{ latents: Float32Array; report: any }> {
  const config = join(dir, 'scheduler.json');
  writeFileSync(config, JSON.stringify(c.scheduler_config));
  const r = await runCli([
    'generate', '--model', model, '--prompt', prompt, '--scheduler-config', config, '--steps', String(c.num_inference_steps),
    '--guidance', String(c.guidance_scale), '--seed', String(c.seed), '--width', '64', '--height', '64',
    '--out', join(dir, 'out.png'), '--save-latents', join(dir, 'latents.safetensors'), '--json', ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const latents = (await (await SafetensorsFile.open(join(dir, 'latents.safetensors'))).read('latents')).toFloat32().data;
  return { latents, report: parseReport(r) };
}

describe('latentlab generate --lora', () => {
  it('--lora FILE:0.8 reproduces sd15_lora_euler_64x64; a <lora:…> tag gives the same latents', async () => {
    const ref = await loadTensors('lora', 'sd15_lora_euler_64x64.safetensors');
    const dir = tempDir();
    const { latents, report } = await generate(dir, fixturePath('pipelines', 'tiny-sd15'), ['--lora', `${LORA}:0.8`]);
    const d = diff(latents, ref.get('final_latents')!.toFloat32().data);
    console.log(`CLI --lora kohya:0.8 sd15_lora_euler_64x64: final latents max rel ${d.maxRel.toExponential(2)}`);
    expect(d.maxRel).toBeLessThanOrEqual(LATENT_REL);
    checkImages('sd15_lora_euler_64x64', [await readImage(report.images[0])], ref.get('image_uint8')!);
    expect(report.settings.loras).toMatchObject([{ name: 'tiny-sd15-lora.kohya', weight: 0.8, from: 'flag' }]);
    const p = parseA1111Parameters((await readPngText(report.images[0])).parameters);
    expect(p.extra?.['Lora hashes']).toMatch(/^tiny-sd15-lora\.kohya: [0-9a-f]{12}$/);

    const dir2 = tempDir();
    copyFileSync(LORA, join(dir2, 'style.safetensors'));
    const tagged = await generate(dir2, fixturePath('pipelines', 'tiny-sd15'), ['--lora-dir', dir2], `${c.prompt} <lora:style:0.8>`);
    expect(diff(tagged.latents, latents).maxAbs).toBe(0);
    const p2 = parseA1111Parameters((await readPngText(tagged.report.images[0])).parameters);
    expect(p2.prompt).toBe(`${c.prompt} <lora:style:0.8>`); // A1111 keeps the tag in the infotext's prompt
  });

  it('with --model tiny-sd15.safetensors it matches the fp16 folder exactly', async () => {
    const a = await generate(tempDir(), fixturePath('single_file', 'tiny-sd15.safetensors'), ['--lora', `${LORA}:0.8`]);
    const b = await generate(tempDir(), fixturePath('pipelines', 'tiny-sd15'), ['--variant', 'fp16', '--lora', `${LORA}:0.8`]);
    expect(diff(a.latents, b.latents).maxAbs).toBe(0);
  });

  it('a LoRA for another base model is an error naming the file, the key and the shapes', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--model', fixturePath('pipelines', 'tiny-sd2'), '--prompt', 'x', '--steps', '1', '--lora', LORA, '--out', join(dir, 'o.png')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('tiny-sd15-lora.kohya.safetensors');
    expect(r.stderr).toMatch(/LORA_(SHAPE|UNMATCHED)/);
  });
});
