// The random-weight SD 1.5 pipeline the model benchmarks run on, created once on first use
// (about 6.4 GB: float32 + the fp16 variant) and reused: `.cache/latentlab-bench/sd15-random/` in
// the repo (git-ignored), or $LATENTLAB_BENCH_CACHE/sd15-random. Compute does not depend on the
// weights' values, so random weights with SD 1.5's exact shapes cost what the real model costs.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createRandomPipeline } from '../../src/pipelines/random-pipeline.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Bump when the preset or the weight recipe changes: an older folder is then rewritten. */
const RECIPE = 'sd15-random v1 (seed 0, uniform std 1/sqrt(fan_in), tokenizer from the conformance fixture)';

export function benchCacheDir(): string {
  return process.env.LATENTLAB_BENCH_CACHE ?? join(REPO, '.cache', 'latentlab-bench');
}

/** The int8 rows' quantised weights and calibrated ranges (made once) live beside the bench models, not in ~/.cache. */
export function useBenchInt8Cache(): void {
  process.env.LATENTLAB_CACHE ??= join(benchCacheDir(), 'int8');
}

/** The folder, written first if missing or made by another recipe. */
export async function ensureSd15(): Promise<string> {
  const folder = join(benchCacheDir(), 'sd15-random');
  const marker = join(folder, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === RECIPE) return folder;
  process.stderr.write(`writing the random SD 1.5 pipeline to ${folder} (once; ~6.4 GB) … `);
  const t0 = performance.now();
  const tokenizer = join(REPO, 'test', 'fixtures', 'conformance', 'pipelines', 'tiny-sd15', 'tokenizer'); // the real CLIP vocabulary
  await createRandomPipeline(folder, 'sd15', { seed: 0, variants: ['fp16'], tokenizer });
  writeFileSync(marker, RECIPE);
  process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return folder;
}
