// docs/cli.md's and the README's examples on the tiny model, run in order in an empty folder (later
// examples use the files earlier ones wrote), so the documentation cannot rot. Examples on a real
// Hub model are skipped; every other example uses only the shipped files.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CONFORMANCE } from '../helpers/fixtures.js';
import { listFiles, runCli, tempDir } from './run-cli.js';

const ROOT = join(CONFORMANCE, '..', '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SKIP = /stable-diffusion-v1-5\/|HF_HUB_OFFLINE|…/;

/** The `latentlab …` command lines of the ```sh blocks, continuation lines joined. */
function examples(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const lines = blocks.flatMap((b) => b.replace(/\\\n\s*/g, '').split('\n')).map((l) => l.trim());
  return lines
    .map((l) => l.replace(/^(node dist\/cli\/main\.js|npx latentlab) /, 'latentlab '))
    .filter((l) => l.startsWith('latentlab ') && !SKIP.test(l));
}

/** Shell words: spaces separate, double quotes group. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** Runs the command lines one after another in one empty folder; each must exit 0. Returns the folder. */
async function runInOrder(commands: readonly string[]): Promise<string> {
  const dir = tempDir();
  for (const line of commands) {
    const args = words(line).slice(1).map((w) => (w.startsWith('test/fixtures/') ? join(ROOT, w) : w));
    const r = await runCli(args, { cwd: dir });
    expect(r.code, `${line}\n${r.stderr}`).toBe(0);
  }
  return dir;
}

describe('docs/cli.md examples', () => {
  const commands = examples(DOC);

  it('has examples for every command', () => {
    const used = new Set(commands.map((c) => words(c)[1]));
    expect([...used].sort()).toEqual(['decode', 'encode', 'generate', 'img2img', 'info', 'inpaint', 'schedule', 'schedulers', 'tokenize', 'train-embedding']);
  });

  // Fifteen-odd runs of the command: more than the default two minutes on a busy 2-core machine.
  it('runs each tiny-model example in order', { timeout: 300_000 }, async () => {
    const dir = await runInOrder(commands);
    expect(listFiles(dir)).toEqual(expect.arrayContaining([
      'cube.png', 'pair-0.png', 'pair-1.png', 'mosaic.png', 'euler-a.png', 'latents.safetensors', 'channels.png', 'decoded.png',
      'tile.png', 'campfire-blue.png', 'campfire-orange.png', 'repainted.png', 'blended.png', 'fixture-look.safetensors', 'fixture-look.png', 'checkpoint-4.safetensors',
    ]));
  });
});

describe('README quickstart', () => {
  it('runs offline: the main command on the shipped model writes a picture', async () => {
    const commands = examples(README);
    expect(commands[0]).toBe('latentlab generate --prompt "a photo of a red sneaker"');
    expect(listFiles(await runInOrder(commands)).filter((f) => f.endsWith('.png'))).toHaveLength(1);
  });
});
