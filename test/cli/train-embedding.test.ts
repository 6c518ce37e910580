// `latentlab train-embedding` end to end in child processes, as a user runs it: train; Ctrl-C mid-run
// (a checkpoint, no partial files, exit 130); --resume latest continues to the bytes of an
// uninterrupted run; the result reloads and `generate --embedding` uses the token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { readEmbeddingFile } from '../../src/node.js';
import { writeConceptImages } from '../train/concept-images.js';
import { listFiles, parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

let dir: string;
const args = (out: string, extra: string[] = []) => [
  'train-embedding', '--model', TINY_SD15, '--train-data-dir', join(dir, 'pictures'), '--placeholder-token', '<concept>', '--initializer-token', 'toy',
  '--resolution', '64', '--max-train-steps', '6', '--learning-rate', '5e-3', '--seed', '3', '--checkpointing-steps', '2', '--output', out, ...extra,
];

beforeAll(async () => {
  dir = tempDir('latentlab-train-');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'pictures'));
  mkdirSync(join(dir, 'whole'));
  mkdirSync(join(dir, 'cut'));
  await writeConceptImages(join(dir, 'pictures'), 2);
});

describe('latentlab train-embedding', () => {
  it('trains, survives Ctrl-C with a checkpoint, resumes to the uninterrupted result, and the token generates', async () => {
    const whole = await runCli([...args(join(dir, 'whole', 'concept.safetensors')), '--json']);
    expect(whole.code, whole.stderr).toBe(0);
    const report = parseReport(whole);
    expect(report).toMatchObject({ command: 'train-embedding', token: '<concept>', ids: [49408], startStep: 0, steps: 6 });
    expect(report.losses).toHaveLength(6);
    expect(listFiles(join(dir, 'whole'))).toEqual([
      ...[2, 4, 6].map((n) => `checkpoint-${n}.safetensors`), 'concept.safetensors', ...[2, 4, 6].map((n) => `learned_embeds-steps-${n}.safetensors`),
    ]);

    // Ctrl-C once the first checkpoint is saved: the step in flight finishes, a checkpoint is written, exit 130.
    const cutOut = join(dir, 'cut', 'concept.safetensors');
    let sent = false;
    const cut = await runCli(args(cutOut), {
      onSpawn: (child, out) => {
        const timer = setInterval(() => {
          if (!sent && out.stderr().includes('checkpoint-2.safetensors')) {
            sent = true;
            child.kill('SIGINT');
            clearInterval(timer);
          }
        }, 20);
        child.on('close', () => clearInterval(timer));
      },
    });
    expect(cut.code, cut.stderr).toBe(130);
    expect(cut.stderr).toContain('cancelling after the current step');
    const files = listFiles(join(dir, 'cut'));
    expect(files.every((f) => /^(checkpoint|learned_embeds-steps)-\d+\.safetensors$/.test(f)), files.join(', ')).toBe(true); // no output, no temporaries
    const last = Math.max(...files.map((f) => Number(/(\d+)\.safetensors$/.exec(f)![1])));
    expect(last).toBeGreaterThan(2);
    expect(last).toBeLessThan(6);

    const resumed = await runCli(args(cutOut, ['--resume', 'latest']));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from ${join(dir, 'cut', `checkpoint-${last}.safetensors`)} at step ${last}`);
    expect(readFileSync(cutOut)).toEqual(readFileSync(join(dir, 'whole', 'concept.safetensors')));

    const read = await readEmbeddingFile(cutOut);
    expect(read).toMatchObject({ format: 'diffusers', token: '<concept>' });
    const png = join(dir, 'concept.png');
    const gen = await runCli(['generate', '--model', TINY_SD15, '--embedding', cutOut, '--prompt', 'a photo of a <concept>', '--steps', '2', '--seed', '1', '--out', png, '--json']);
    expect(gen.code, gen.stderr).toBe(0);
    expect(JSON.stringify(parseReport(gen))).toContain('<concept>');
  });

  it('writes A1111 .pt on request, and refuses a taken output name before training', async () => {
    const pt = join(dir, 'concept.pt');
    const r = await runCli([...args(pt), '--max-train-steps', '1', '--checkpointing-steps', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readEmbeddingFile(pt)).toMatchObject({ format: 'a1111', token: '<concept>' });
    const again = await runCli([...args(pt), '--max-train-steps', '2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CLI_OUTPUT_EXISTS');
    const bad = await runCli([...args(join(dir, 'x.png'))]);
    expect(bad.code).toBe(2);
  });
});
