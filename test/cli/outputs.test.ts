// Where generate writes: numbered names that never overwrite (no --out, or --out DIR/), exact names
// with FILE-i.png for a batch, --overwrite, an explicitly resized img2img input, and Ctrl-C.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createRgbImage, encodePng, parseA1111Parameters, readImage, readPngText } from '../../src/node.js';
import { listFiles, parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

const quick = ['--model', TINY_SD15, '--steps', '2', '--scheduler', 'euler'];

describe('output names', () => {
  it('numbers images like AUTOMATIC1111 in the current folder or --out DIR/, continuing after existing ones', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '00041-7.png'), 'an earlier image');
    const first = await runCli(['generate', ...quick, '--prompt', 'a', '--prompt', 'b', '--seed', '7', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(parseReport(first).images).toEqual([join(dir, '00042-7.png'), join(dir, '00043-7.png')]);
    const second = await runCli(['generate', ...quick, '--prompt', 'a', '--seed', '8', '--out', `${dir}/`]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`wrote ${join(dir, '00044-8.png')}`);
    expect(listFiles(dir)).toEqual(['00041-7.png', '00042-7.png', '00043-7.png', '00044-8.png']);
    expect(readFileSync(join(dir, '00041-7.png'), 'utf8')).toBe('an earlier image');
  });

  it('keeps an explicit name: FILE-i.png for a batch, an error if taken, replaced only with --overwrite', async () => {
    const dir = tempDir();
    const out = join(dir, 'pic.png');
    const batch = await runCli(['generate', ...quick, '--prompt', 'a', '--num-images', '2', '--seed', '1', '--out', out, '--json']);
    expect(parseReport(batch).images).toEqual([join(dir, 'pic-0.png'), join(dir, 'pic-1.png')]);

    const one = await runCli(['generate', ...quick, '--prompt', 'first', '--seed', '1', '--out', out]);
    expect(one.code, one.stderr).toBe(0);
    const again = await runCli(['generate', ...quick, '--prompt', 'second', '--seed', '1', '--out', join(dir, 'pic.png')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/CLI_OUTPUT_EXISTS.*pic\.png: the file already exists\n {2}hint: pass --overwrite/);
    expect(parseA1111Parameters((await readPngText(out)).parameters).prompt).toBe('first');
    const replaced = await runCli(['generate', ...quick, '--prompt', 'second', '--seed', '1', '--out', out, '--overwrite']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(parseA1111Parameters((await readPngText(out)).parameters).prompt).toBe('second');
    expect(listFiles(dir)).toEqual(['pic-0.png', 'pic-1.png', 'pic.png']);
  });
});

describe('img2img input size', () => {
  it('resizes an input whose sides are not multiples of 8 when --width/--height ask for it, and says so', async () => {
    const dir = tempDir();
    const input = join(dir, 'photo.png');
    writeFileSync(input, await encodePng(createRgbImage(100, 75, [40, 120, 200])));
    const r = await runCli(['img2img', ...quick, '--image', input, '--width', '64', '--height', '48', '--prompt', 'blue', '--strength', '0.5', '--seed', '2', '--out', join(dir, 'out.png'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resized .*photo\.png from 100×75 to 64×48 \(Lanczos\)/);
    const report = parseReport(r);
    expect(report.settings).toMatchObject({ width: 64, height: 48, strength: 0.5, resizedFrom: { width: 100, height: 75 } });
    const out = await readImage(join(dir, 'out.png'));
    expect([out.width, out.height]).toEqual([64, 48]);
    expect(parseA1111Parameters((await readPngText(join(dir, 'out.png'))).parameters).extra).toMatchObject({ 'Resized from': '100x75', 'Denoising strength': '0.5' });
  });
});

describe('Ctrl-C', () => {
  it('cancels between steps with exit code 130 and leaves no output file, not even a temporary one', async () => {
    const dir = tempDir();
    // No --seed: the "seed … (random)" note on stderr marks the start of the denoising loop.
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a', '--steps', '1000', '--scheduler', 'euler',
      '--out', join(dir, 'x.png'), '--save-latents', join(dir, 'z.safetensors')], {
      onSpawn: (child, output) => {
        const poll = setInterval(() => {
          if (/seed \d+ \(random/.test(output.stderr())) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 20);
        child.on('close', () => clearInterval(poll));
      },
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/cancelling after the current step/);
    expect(r.stderr).toMatch(/latentlab: cancelled \(Ctrl-C\); no output files were written/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(listFiles(dir)).toEqual([]);
  });
});
