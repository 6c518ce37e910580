// The look-inside commands (tokenize, schedule, encode, decode, info) and generate's extras
// (--preview, output naming), each run as the real command, checked against the fixtures where a
// reference exists.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseA1111Parameters, readImage, readPngText, SafetensorsFile } from '../../src/node.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { listFiles, parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

const IMG2IMG = 'sd15_pndm_img2img_64x64';
const INPUT_PNG = fixturePath('reference', 'tiny-sd15', 'img2img', `${IMG2IMG}_input.png`);

describe('tokenize', () => {
  it('plain: prints the tokens and the pipeline\'s 77 input ids, and warns about a prompt longer than 77 tokens', async () => {
    const c = readJson('reference', 'tiny-sd15', 'txt2img', 'sd15_pndm_64x64.json');
    const ref = await loadTensors('reference', 'tiny-sd15', 'txt2img', 'sd15_pndm_64x64.safetensors');
    const long = `${Array(80).fill('cat').join(' ')} dog sitting`; // 82 tokens: the last 7 do not fit
    const r = await runCli(['tokenize', '--model', TINY_SD15, '--prompt-syntax', 'plain', '--prompt', c.prompt, '--prompt', long, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.prompts[0].inputIds).toEqual(Array.from(ref.get('cond_input_ids')!.data as BigInt64Array, Number));
    expect(report.prompts[0].inputTokens[0]).toBe('<|startoftext|>');
    expect(report.prompts[0].truncated).toBeNull();
    expect(report.prompts[1].inputIds).toHaveLength(77);
    expect(report.prompts[1].truncated).toBe('cat cat cat cat cat dog sitting');
    expect(r.stderr).toMatch(/warning: The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens: cat cat cat cat cat dog sitting\n/);
    expect(report.warnings).toHaveLength(1);

    const human = await runCli(['tokenize', '--model', TINY_SD15, '--prompt-syntax', 'plain', '--prompt', 'a photo of a cat']);
    expect(human.stdout).toContain('5 tokens, 77 input ids: bos, 5 tokens, eos, 70 padding');
    expect(human.stdout).toMatch(/ 5 {2}\s*2368 {2}cat<\/w>/);
  });

  it('a1111 (default): reports the schedule, the attention and the chunks in A1111\'s shapes', async () => {
    const long = Array.from({ length: 25 }, () => 'red blue green red blue,').join(' '); // 150 tokens
    const r = await runCli(['tokenize', '--model', TINY_SD15, '--prompt', 'a [cat:dog:0.5] (in snow:1.2) BREAK [red|blue]', '--prompt', long, '--steps', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const [edit, many] = parseReport(r).prompts;
    expect(edit.schedule).toEqual([[1, 'a cat (in snow:1.2) BREAK red'], [2, 'a cat (in snow:1.2) BREAK blue'], [3, 'a dog (in snow:1.2) BREAK red'], [4, 'a dog (in snow:1.2) BREAK blue']]);
    expect(edit.attention).toEqual([['a cat ', 1], ['in snow', 1.2], ['', 1], ['BREAK', -1], ['red', 1]]);
    expect(edit.chunks.map((c: number[]) => c.slice(0, 6))).toEqual([[49406, 320, 2368, 530, 2583, 49407], [49406, 736, 49407, 49407, 49407, 49407]]);
    expect(edit.multipliers[0].slice(0, 6)).toEqual([1, 1, 1, 1.2, 1.2, 1]);
    expect(many.chunks).toHaveLength(3);
    expect(many.chunks.every((c: number[]) => c.length === 77)).toBe(true);
    expect(many.truncated).toBeNull();
  });
});

describe('schedule', () => {
  it('gives the timesteps and initNoiseSigma of a fixture case, and plots them as SVG and PNG', async () => {
    const name = 'sd15_euler_ancestral_64x64';
    const c = readJson('reference', 'tiny-sd15', 'txt2img', `${name}.json`);
    const ref = await loadTensors('reference', 'tiny-sd15', 'txt2img', `${name}.safetensors`);
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), JSON.stringify(c.scheduler_config));
    const [json, png] = await Promise.all([
      runCli(['schedule', '--scheduler-config', join(dir, 'config.json'), '--steps', String(c.num_inference_steps), '--plot', join(dir, 'plot.svg'), '--json']),
      runCli(['schedule', '--model', TINY_SD15, '--scheduler', 'euler-a', '--steps', '20', '--plot', join(dir, 'plot.png')]),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const report = parseReport(json);
    expect(report.timesteps).toEqual(Array.from(ref.get('timesteps')!.data as BigInt64Array, Number));
    expect(report.initNoiseSigma).toBeCloseTo(ref.get('init_noise_sigma')!.toFloat32().data[0], 5);
    expect(report.sigmas).toHaveLength(c.num_inference_steps + 1);
    expect(report.scheduler).toMatchObject({ className: 'EulerAncestralDiscreteScheduler', name: 'euler-a', a1111: 'Euler a' });
    expect(readFileSync(join(dir, 'plot.svg'), 'utf8')).toMatch(/^(<\?xml[^>]*>\s*)?<svg[^>]*>[\s\S]*timestep t[\s\S]*<\/svg>\s*$/);

    expect(png.code, png.stderr).toBe(0);
    expect(png.stdout).toMatch(/EulerAncestralDiscreteScheduler \(euler-a; A1111 "Euler a"\), 20 steps/);
    expect(png.stdout).toMatch(/\n\s+19\s+1\s+0\.04131/);
    const picture = await readImage(join(dir, 'plot.png'));
    expect(picture.width).toBeGreaterThan(300);
  });
});

describe('encode and decode', () => {
  it('encode saves scaling_factor × latentDist.sample(seed) = the img2img fixture\'s init latents, with latentDist statistics', async () => {
    const ref = await loadTensors('reference', 'tiny-sd15', 'img2img', `${IMG2IMG}.safetensors`);
    const seed = readJson('reference', 'tiny-sd15', 'img2img', `${IMG2IMG}.json`).seed;
    const dir = tempDir();
    const r = await runCli(['encode', '--model', TINY_SD15, '--image', INPUT_PNG, '--seed', String(seed), '--out', join(dir, 'z.safetensors'), '--channels', join(dir, 'channels.png'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.shape).toEqual([1, 4, 8, 8]);
    const mean = ref.get('posterior_mean')!.toFloat32().data;
    expect(report.latentDist.mean.mean).toBeCloseTo(mean.reduce((a, b) => a + b, 0) / mean.length, 5);
    expect(report.latentDist.std.max).toBeCloseTo(Math.max(...ref.get('posterior_std')!.toFloat32().data), 5);
    expect(report.latentDist.var.min).toBeGreaterThan(0);
    const file = await SafetensorsFile.open(join(dir, 'z.safetensors'));
    expect(file.metadata.content).toMatch(/scaling_factor × latentDist\.sample\(generator\)/);
    const d = diff((await file.read('latents')).toFloat32().data, ref.get('init_latents')!.toFloat32().data);
    expect(d.maxRel).toBeLessThanOrEqual(1e-4);
    const grid = await readImage(join(dir, 'channels.png'));
    expect(grid.width).toBeGreaterThan(4 * 256);
  });

  it('decode turns generate --save-latents back into the same pixels and A1111 text', async () => {
    const dir = tempDir();
    const gen = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a red cube', '--prompt', 'a blue ball', '--steps', '3', '--seed', '11',
      '--scheduler', 'euler', '--out', join(dir, 'gen.png'), '--save-latents', join(dir, 'z.safetensors')]);
    expect(gen.code, gen.stderr).toBe(0);
    const dec = await runCli(['decode', '--model', TINY_SD15, '--latents', join(dir, 'z.safetensors'), '--out', join(dir, 'dec.png'), '--json']);
    expect(dec.code, dec.stderr).toBe(0);
    expect(parseReport(dec).images).toEqual([join(dir, 'dec-0.png'), join(dir, 'dec-1.png')]);
    for (const i of [0, 1]) {
      const [a, b] = await Promise.all([readImage(join(dir, `gen-${i}.png`)), readImage(join(dir, `dec-${i}.png`))]);
      expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
      expect((await readPngText(join(dir, `dec-${i}.png`))).parameters).toBe((await readPngText(join(dir, `gen-${i}.png`))).parameters);
    }
  });
});

describe('info', () => {
  it('prints the parameters text of a generated PNG, and parses it with --json', async () => {
    const dir = tempDir();
    const out = join(dir, 'cat.png');
    const gen = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a cat, sitting', '--negative-prompt', 'dog', '--steps', '2', '--seed', '5',
      '--guidance', '6', '--scheduler', 'DPM++ 2M Karras', '--clip-skip', '1', '--out', out]);
    expect(gen.code, gen.stderr).toBe(0);
    const [human, json] = await Promise.all([runCli(['info', out]), runCli(['info', out, '--json'])]);
    const text = (await readPngText(out)).parameters;
    expect(human.stdout).toBe(`${text}\n`);
    expect(text).toMatch(/^a cat, sitting\nNegative prompt: dog\nSteps: 2, Sampler: DPM\+\+ 2M Karras, CFG scale: 6, Seed: 5, Size: 64x64, Model: tiny-sd15, Clip skip: 2, /);
    expect(parseReport(json).parsed).toEqual(parseA1111Parameters(text));
  });
});

describe('generate --preview', () => {
  it('writes the decoded predicted clean image after every step; a batch side by side', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a', '--prompt', 'b', '--steps', '3', '--seed', '1', '--scheduler', 'euler',
      '--out', join(dir, 'x.png'), '--preview', join(dir, 'steps'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(listFiles(join(dir, 'steps'))).toEqual(['step-01.png', 'step-02.png', 'step-03.png']);
    expect(parseReport(r).files.filter((f: { kind: string }) => f.kind === 'preview').map((f: { step: number }) => f.step)).toEqual([1, 2, 3]);
    const last = await readImage(join(dir, 'steps', 'step-03.png'));
    expect([last.width, last.height]).toEqual([4 + 64 + 4 + 64 + 4, 4 + 64 + 4]); // two 64×64 images, 4 px gaps
  });

  it('says once that PNDM has no predicted clean image, and writes none', async () => {
    const dir = tempDir();
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a', '--steps', '4', '--seed', '1', '--scheduler', 'pndm', '--out', join(dir, 'x.png'), '--preview', join(dir, 'steps')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/does not form a predicted clean image/g)).toHaveLength(1);
    expect(existsSync(join(dir, 'steps'))).toBe(false);
  });
});
