// --embedding and --embeddings-dir on the commands that tokenize: the ids tokenize --json reports
// are the fixture's (README section 11), generate uses the tokens and records them in the PNG as
// A1111 does ("TI hashes"), and a folder works by file name.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseA1111Parameters, readPngText } from '../../src/node.js';
import { fixturePath, loadTensors } from '../helpers/fixtures.js';
import { parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

const TI = (f: string) => fixturePath('reference', 'tiny-sd15', 'textual_inversion', f);
const short = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12);

describe('textual-inversion flags', () => {
  it('tokenize --json: the input ids hold the new ids (scenario "both")', async () => {
    const ref = await loadTensors('reference', 'tiny-sd15', 'textual_inversion', 'expected.safetensors');
    const r = await runCli(['tokenize', '--model', TINY_SD15, '--prompt', 'a <cat-toy> in my-style', '--embedding', TI('learned_embeds.safetensors'), '--embedding', TI('my-style.pt'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r);
    expect(report.prompts[0].inputIds).toEqual(Array.from(ref.get('both.input_ids')!.data as BigInt64Array, Number));
    expect(report.prompts[0].convertedPrompt).toBe('a <cat-toy> in my-style my-style_1');
    expect(report.embeddings.map((e: { token: string; ids: number[] }) => [e.token, e.ids])).toEqual([['<cat-toy>', [49408]], ['my-style', [49409, 49410]]]);
  });

  it('--embeddings-dir: every file, by its file name (A1111); generate records the used ones as TI hashes', async () => {
    const dir = tempDir();
    const emb = join(dir, 'embeddings');
    mkdirSync(join(emb, 'sub'), { recursive: true });
    copyFileSync(TI('learned_embeds.bin'), join(emb, 'my-toy.bin'));
    copyFileSync(TI('my-style.pt'), join(emb, 'sub', 'oil-paint.pt'));
    const t = await runCli(['tokenize', '--model', TINY_SD15, '--prompt', 'my-toy, oil-paint', '--embeddings-dir', emb, '--json']);
    expect(t.code, t.stderr).toBe(0);
    expect(parseReport(t).embeddings.map((e: { tokens: string[] }) => e.tokens)).toEqual([['my-toy'], ['oil-paint', 'oil-paint_1']]);

    const out = join(dir, 'img.png');
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a my-toy in my-style', '--negative-prompt', 'oil-paint', '--embeddings-dir', emb,
      '--embedding', TI('my-style.pt'), '--steps', '2', '--seed', '3', '--width', '64', '--height', '64', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const settings = parseReport(r).settings;
    expect(settings.embeddings.map((e: { token: string }) => e.token)).toEqual(['my-style', 'my-toy', 'oil-paint']);
    const params = parseA1111Parameters((await readPngText(out)).parameters);
    expect(params.extra?.['TI hashes']).toBe(`my-style: ${short(TI('my-style.pt'))}, my-toy: ${short(TI('learned_embeds.bin'))}, oil-paint: ${short(TI('my-style.pt'))}`);
  });

  it('fails before loading anything for a missing file, and clearly for a token that exists', async () => {
    const missing = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'x', '--embedding', 'nope.pt', '--steps', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--embedding nope.pt: no such file');
    const twice = await runCli(['tokenize', '--model', TINY_SD15, '--prompt', 'x', '--embedding', TI('learned_embeds.bin'), '--embedding', TI('learned_embeds.safetensors')]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('"<cat-toy>" is added twice');
  });
});
