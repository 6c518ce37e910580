// Every txt2img and img2img fixture case (both tiny models) through the `latentlab` command, from
// the prompt text and the seed, with the case's scheduler config in a --scheduler-config file:
// the saved final latents agree with diffusers within 1e-4 of max|ref|, the PNGs within 1 level on
// ≤ 0.5% of the values, and the PNG's A1111 parameters read back to the settings used.

import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseA1111Parameters, parseJson, readImage, readPngText, SafetensorsFile } from '../../src/node.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { diff } from '../helpers/compare.js';
import { checkImages, LATENT_REL } from '../pipelines/conformance.js';
import { parseReport, runCli, tempDir } from './run-cli.js';

/** Python's json.dumps, so -Infinity stays -Infinity (the CLI must read that). */
function pythonJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? `@@${v}@@` : v), 2).replace(/"@@(.*?)@@"/g, '$1');
}

const CASES = ['tiny-sd15', 'tiny-sd2'].flatMap((model) => (['txt2img', 'img2img'] as const).flatMap((kind) => {
  const dir = fixturePath('reference', model, kind);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ model, kind, name: basename(f, '.json') }));
}));

const measured: string[] = [];
afterAll(() => console.log(`max final-latent error through the CLI (of max|ref|) and share of PNG values that differ:\n${measured.join('\n')}`));

describe('fixture cases through the latentlab command', () => {
  it('finds every txt2img and img2img case of both models', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(8);
  });

  it.each(CASES)('$model $kind $name', async ({ model, kind, name }) => {
    const c = readJson('reference', model, kind, `${name}.json`);
    const ref = await loadTensors('reference', model, kind, `${name}.safetensors`);
    const dir = tempDir();
    const configFile = join(dir, 'scheduler_config.json');
    writeFileSync(configFile, pythonJson(c.scheduler_config));
    const prompts: string[] = typeof c.prompt === 'string' ? [c.prompt] : c.prompt;
    const negatives: string[] = c.negative_prompt === null || c.negative_prompt === undefined ? [] : typeof c.negative_prompt === 'string' ? [c.negative_prompt] : c.negative_prompt;
    const args = [
      kind === 'txt2img' ? 'generate' : 'img2img', '--model', fixturePath('pipelines', model),
      ...prompts.flatMap((p) => ['--prompt', p]), ...negatives.flatMap((n) => ['--negative-prompt', n]),
      '--scheduler-config', configFile, '--steps', String(c.num_inference_steps), '--guidance', String(c.guidance_scale), '--seed', String(c.seed),
      '--out', join(dir, 'out.png'), '--save-latents', join(dir, 'latents.safetensors'), '--json', '--progress', 'none',
      ...(kind === 'txt2img' ? ['--width', String(c.width), '--height', String(c.height)] : ['--image', fixturePath('reference', model, kind, c.input_png), '--strength', String(c.strength)]),
      ...(c.eta !== undefined ? ['--eta', String(c.eta)] : []),
    ];
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = parseReport(r);

    // One file per image, in batch order, then the latents; nothing else on stdout.
    const expected = prompts.length === 1 ? ['out.png'] : prompts.map((_, i) => `out-${i}.png`);
    expect(report.images).toEqual(expected.map((f) => join(dir, f)));
    expect(report.files.map((f: { kind: string }) => f.kind)).toEqual([...expected.map(() => 'image'), 'latents']);
    expect(report.settings).toMatchObject({ seed: c.seed, steps: c.num_inference_steps, guidance: c.guidance_scale, width: c.width, height: c.height, batchSize: prompts.length });
    expect(report.settings.scheduler).toMatchObject({ className: c.scheduler_class, source: '--scheduler-config' });

    const latents = await (await SafetensorsFile.open(join(dir, 'latents.safetensors'))).read('latents');
    const finalRef = ref.get('final_latents')!;
    expect([...latents.shape]).toEqual([...finalRef.shape]);
    const d = diff(latents.toFloat32().data, finalRef.toFloat32().data);
    expect(d.maxRel, `${name}: final latents`).toBeLessThanOrEqual(LATENT_REL);

    const images = await Promise.all(report.images.map((p: string) => readImage(p)));
    const off = checkImages(name, images, ref.get('image_uint8')!);
    measured.push(`  ${model} ${kind} ${name}: latents ${d.maxRel.toExponential(2)}, uint8 values off by 1: ${(off * 100).toFixed(3)}%`);

    // The PNG says how it was made, in A1111's words, and the scheduler config reads back exactly.
    for (let i = 0; i < images.length; i++) {
      const p = parseA1111Parameters((await readPngText(report.images[i])).parameters);
      expect(p).toMatchObject({ prompt: prompts[i], negativePrompt: negatives.length > 1 ? negatives[i] : negatives[0] ?? '', steps: c.num_inference_steps, cfgScale: c.guidance_scale, seed: c.seed, width: c.width, height: c.height, model });
      expect(p.extra?.Scheduler).toBe(c.scheduler_class);
      const config = parseJson(p.extra!['Scheduler config'], { nonFinite: true }) as Record<string, unknown>;
      for (const [k, v] of Object.entries(c.scheduler_config)) if (k !== '_diffusers_version') expect(config[k], k).toEqual(v);
      if (kind === 'img2img') expect(p.extra?.['Denoising strength']).toBe(String(c.strength));
      if (images.length > 1) expect(p.extra).toMatchObject({ 'Batch size': String(images.length), 'Batch pos': String(i) });
    }
  });
});
