// latentlab generate --hires-scale: A1111's hires fix from the command line — the library's hiresFix
// picture bit for bit, A1111's Hires fields in the PNG, and the flag checks before anything loads.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { hiresFix, parseA1111Parameters, readImage, readPngText, StableDiffusionPipeline } from '../../src/node.js';
import { runCli, tempDir, TINY_SD15 } from './run-cli.js';

describe('generate --hires-scale', () => {
  it('draws at --width × --height, upscales, refines: the library\'s hiresFix image, with A1111\'s infotext', async () => {
    const out = join(tempDir(), 'hires.png');
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a red cube', '--steps', '3', '--seed', '12', '--scheduler', 'Euler', '--guidance', '7',
      '--width', '64', '--height', '48', '--hires-scale', '2', '--hires-strength', '0.6', '--hires-steps', '2', '--hires-upscaler', 'Latent (nearest)', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('64×48, hires fix to 128×96');
    const image = await readImage(out);
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY_SD15);
    const lib = await hiresFix(pipe, { prompt: 'a red cube', negativePrompt: '', numInferenceSteps: 3, guidanceScale: 7, width: 64, height: 48, seed: 12, scheduler: 'Euler' }, {
      width: 128, height: 96, upscaler: 'Latent (nearest)', strength: 0.6, steps: 2,
    });
    expect([image.width, image.height]).toEqual([128, 96]);
    expect(Buffer.from(image.data).equals(Buffer.from(lib.images[0].data))).toBe(true);
    const p = parseA1111Parameters((await readPngText(out)).parameters);
    expect([p.width, p.height]).toEqual([64, 48]);
    expect(p.extra).toMatchObject({ 'Denoising strength': '0.6', 'Hires upscale': '2', 'Hires steps': '2', 'Hires upscaler': 'Latent (nearest)' });
  });

  it('refuses hires flags without --hires-scale, and an unknown upscaler, before loading the model', async () => {
    const stray = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'x', '--hires-strength', '0.5']);
    expect(stray.code).toBe(2); // a usage error
    expect(stray.stderr).toContain('--hires-strength 0.5: expected it together with --hires-scale');
    const bad = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'x', '--hires-scale', '2', '--hires-upscaler', 'ESRGAN']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--hires-upscaler "ESRGAN": expected one of "Latent", .*"Nearest"/);
  });
});
