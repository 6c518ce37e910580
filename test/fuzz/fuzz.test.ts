// A seeded fuzz over `latentlab generate` flag values (child processes) and the pipeline's call
// options (in process), on the tiny model. Whatever the input, the outcome must be one of:
//   - a coded refusal: exit 1 or 2 with `latentlab: error [CODE]` (CLI), a LatentlabError (library),
//     and no image written;
//   - a correct result: exit 0, every image a valid PNG of the asked size that is not one flat
//     colour (NaN turns into black, so a flat image is the symptom of a silent failure).
// Never an internal error (exit 70, a TypeError), a crash (a signal) or a hang (the time limit).
//
// `npm test` runs a bounded slice (LATENTLAB_FUZZ_RUNS, default 8 command lines and 40 option
// sets). The long run (docs/cli.md, "Robustness"):
//   LATENTLAB_FUZZ_RUNS=200 LATENTLAB_FUZZ_SEED=7 npx vitest run test/fuzz
// A failure prints the seed, the case number and the input, so it can be replayed.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { decodeImage, LatentlabError, StableDiffusionPipeline } from '../../src/node.js';
import { inParallel, runCli, tempDir, TINY_SD15 } from '../cli/run-cli.js';
import { cliCase, libraryCase, mulberry32 } from './generators.js';

const RUNS = Number(process.env.LATENTLAB_FUZZ_RUNS ?? 0);
const SEED = Number(process.env.LATENTLAB_FUZZ_SEED ?? 1);
const CLI_RUNS = RUNS > 0 ? RUNS : 8;
const LIBRARY_RUNS = RUNS > 0 ? RUNS * 5 : 40;
/** Far above any valid case here (tiny model, ≤ 128², ≤ 3 steps): reaching it means a hang. */
const CASE_TIMEOUT_MS = 90_000;

function isFlat(image: { data: Uint8Array }): boolean {
  const d = image.data;
  for (let i = 3; i < d.length; i++) if (d[i] !== d[i % 3]) return false;
  return true;
}

describe(`fuzz (seed ${SEED})`, () => {
  it(`${CLI_RUNS} generate command lines: a coded refusal or a correct image, never a crash or hang`, async () => {
    const random = mulberry32(SEED);
    const cases = Array.from({ length: CLI_RUNS }, (_, i) => ({ i, ...cliCase(random) }));
    const results = await inParallel(cases, 2, async (c) => {
      const dir = tempDir('latentlab-fuzz-');
      const args = ['generate', '--model', TINY_SD15, ...c.args(dir), '--out', `${dir}/`, '--progress', 'none', '--json'];
      const r = await runCli(args, { env: { HF_HUB_OFFLINE: '1' }, timeoutMs: CASE_TIMEOUT_MS });
      return { c, args, r, dir };
    });
    const codes = results.map(({ r }) => r.code);
    console.log(`fuzz seed ${SEED}: ${CLI_RUNS} command lines, ${codes.filter((c) => c === 0).length} wrote images, ${codes.filter((c) => c === 1).length} exit 1, ${codes.filter((c) => c === 2).length} exit 2`);
    for (const { c, args, r, dir } of results) {
      const label = `seed ${SEED} case ${c.i}: latentlab ${args.map((a) => JSON.stringify(a)).join(' ')}\nexit ${r.code} ${r.signal ?? ''}\n${r.stderr}`;
      expect(r.signal, label).toBeNull();
      expect([0, 1, 2], label).toContain(r.code);
      expect(r.stderr, label).not.toMatch(/internal error/);
      const pngs = readdirSync(dir).filter((f) => f.endsWith('.png'));
      if (r.code !== 0) {
        expect(r.stderr, label).toMatch(/^latentlab: error \[[A-Z0-9_]+\]|^latentlab: error: /m);
        expect(pngs, label).toEqual([]);
        continue;
      }
      const report = JSON.parse(r.stdout);
      expect(pngs.length, label).toBe(report.settings.batchSize);
      for (const f of pngs) {
        const image = await decodeImage(readFileSync(join(dir, f)), f);
        expect([image.width, image.height], label).toEqual([report.settings.width, report.settings.height]);
        expect(isFlat(image), `${label}\n${f} is one flat colour`).toBe(false);
      }
    }
  }, 60_000 + CLI_RUNS * 15_000);

  describe('pipeline call options', () => {
    let pipe: StableDiffusionPipeline;
    beforeAll(async () => {
      pipe = await StableDiffusionPipeline.fromPretrained(TINY_SD15, { releaseSessions: false });
    });

    it(`${LIBRARY_RUNS} option sets: a LatentlabError naming the option, or correct images`, async () => {
      const random = mulberry32(SEED + 1);
      let ran = 0;
      for (let i = 0; i < LIBRARY_RUNS; i++) {
        const options = libraryCase(random);
        const label = `seed ${SEED} case ${i}: ${Object.entries(options).map(([k, v]) => `${k}: ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v) ?? String(v)}`).join(', ')}`;
        let result;
        try {
          result = await pipe.call(options as never);
        } catch (e) {
          expect(e, `${label}\n${(e as Error).stack}`).toBeInstanceOf(LatentlabError);
          const { code, key } = e as LatentlabError;
          if (code === 'PIPELINE_ARGUMENT' || code === 'PIPELINE_OPTION_UNKNOWN') expect(Object.keys(options), label).toContain(key);
          continue;
        }
        const n = (Array.isArray(options.prompt) ? options.prompt.length : 1) * ((options.numImagesPerPrompt as number | undefined) ?? 1);
        expect(result.images.length, label).toBe(options.outputType === 'latent' ? 0 : n);
        for (const image of result.images) expect(isFlat(image), label).toBe(false);
        ran++;
      }
      console.log(`fuzz seed ${SEED}: ${LIBRARY_RUNS} option sets, ${ran} ran, ${LIBRARY_RUNS - ran} refused`);
    }, 60_000 + LIBRARY_RUNS * 2_000);
  });
});
