// `latentlab inpaint` reproduces the inpainting fixtures (README §17) from the PNGs, the prompt and
// the seed: final latents within 1e-4 of max|ref|, the PNG within 1 level on ≤ 0.5% of values, and
// the PNG's A1111 text records the strength and the mask blur. Wrong inputs fail before loading.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { encodePng, parseA1111Parameters, readImage, readPngText, SafetensorsFile } from '../../src/node.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { checkImages, LATENT_REL } from '../pipelines/conformance.js';
import { parseReport, runCli, tempDir } from './run-cli.js';

const CASES = ['sd15_inpaint_pndm_64x64', 'sd15_inpaint_euler_48x64', 'sd15_inpaint4ch_euler_64x64'];

function caseArgs(name: string, dir: string): string[] {
  const c = readJson('inpaint', `${name}.json`);
  const configFile = join(dir, 'scheduler_config.json');
  writeFileSync(configFile, JSON.stringify(c.scheduler_config));
  return [
    'inpaint', '--model', fixturePath('pipelines', c.unet_in_channels === 9 ? 'tiny-sd15-inpaint' : 'tiny-sd15'),
    '--image', fixturePath('inpaint', c.input_png), '--mask', fixturePath('inpaint', c.mask_png),
    '--prompt', c.prompt, ...(c.negative_prompt ? ['--negative-prompt', c.negative_prompt] : []),
    '--scheduler-config', configFile, '--steps', String(c.num_inference_steps), '--guidance', String(c.guidance_scale),
    '--seed', String(c.seed), '--strength', String(c.strength), '--progress', 'none',
  ];
}

describe('latentlab inpaint', () => {
  it.each(CASES)('%s through the command', async (name) => {
    const c = readJson('inpaint', `${name}.json`);
    const ref = await loadTensors('inpaint', `${name}.safetensors`);
    const dir = tempDir();
    const r = await runCli([...caseArgs(name, dir), '--out', join(dir, 'out.png'), '--save-latents', join(dir, 'latents.safetensors'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.settings).toMatchObject({ command: 'inpaint', strength: c.strength, width: c.width, height: c.height, maskBlur: 0, mask: fixturePath('inpaint', c.mask_png) });
    const latents = await (await SafetensorsFile.open(join(dir, 'latents.safetensors'))).read('latents');
    const d = diff(latents.toFloat32().data, ref.get('final_latents')!.toFloat32().data);
    expect(d.maxRel, `${name}: final latents`).toBeLessThanOrEqual(LATENT_REL);
    checkImages(name, [await readImage(join(dir, 'out.png'))], ref.get('image_uint8')!);
    const p = parseA1111Parameters((await readPngText(join(dir, 'out.png'))).parameters);
    expect(p).toMatchObject({ prompt: c.prompt, steps: c.num_inference_steps, seed: c.seed, width: c.width, height: c.height });
    expect(p.extra).toMatchObject({ 'Denoising strength': String(c.strength), 'Mask blur': '0' });
  });

  it('refuses a mask of another size, naming both sizes, before loading the model', async () => {
    const dir = tempDir();
    const mask = join(dir, 'small.png');
    writeFileSync(mask, await encodePng({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) }));
    const args = caseArgs('sd15_inpaint_pndm_64x64', dir);
    args[args.indexOf('--mask') + 1] = mask;
    const r = await runCli([...args, '--out', join(dir, 'out.png')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('16×16');
    expect(r.stderr).toContain('64×64');
  });

  it('generate refuses an inpainting model and points to inpaint', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--model', fixturePath('pipelines', 'tiny-sd15-inpaint'), '--prompt', 'x', '--steps', '2', '--out', join(dir, 'o.png'), '--progress', 'none']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('9 input channels');
    expect(r.stderr).toContain('latentlab inpaint');
  });

  it('records --mask-blur, and a blurred mask changes the image', async () => {
    const dir = tempDir();
    const r = await runCli([...caseArgs('sd15_inpaint_pndm_64x64', dir), '--mask-blur', '4', '--out', join(dir, 'blur.png')]);
    expect(r.code, r.stderr).toBe(0);
    const p = parseA1111Parameters((await readPngText(join(dir, 'blur.png'))).parameters);
    expect(p.extra?.['Mask blur']).toBe('4');
    const ref = await loadTensors('inpaint', 'sd15_inpaint_pndm_64x64.safetensors');
    const img = await readImage(join(dir, 'blur.png'));
    expect(diff(img.data, ref.get('image_uint8')!.data as Uint8Array).maxAbs).toBeGreaterThan(1);
  });
});
