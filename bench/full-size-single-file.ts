// The full-size single-file check (issue 13): real SD 1.5- and SD 2.1-shaped checkpoints, written
// by latentlab's own `savePipelineAsSingleFile` from random-weight diffusers folders, must open with
// `fromSingleFile` (layout detected, configs inferred from the weights alone — no YAML), bind every
// weight of the three networks, and compute exactly what the folder computes: one text-encoder
// call, one UNet step at 512² (64² latents) and a small VAE decode, compared bit for bit with the
// same calls on the folder.
//
//   npm run check:full-size                 # both; ~25 GB of disk under .cache/, ~10 min on 2 cores
//   npm run check:full-size -- sd15         # one of them
//
// Too heavy for `npm test` (files of 4–5 GB, one UNet session ≈ 4.7 GB at a time), so it is a
// command of its own. The SD 1.5 folder is the benchmarks' (bench/lib/sd15.ts; reused when
// present, $LATENTLAB_BENCH_CACHE). SD 2.1 has other shapes than SD 1.5 (OpenCLIP-H text encoder,
// 1024-wide cross-attention, linear proj_in/out), so it gets its own random folder with SD 2.1's
// configs (bench/lib/sd21.ts, float32 only) instead of being bent out of SD 1.5's weights.

import '../src/platform/node/index.js';

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { Tensor } from '../src/core/tensor.js';
import { savePipelineAsSingleFile, StableDiffusionPipeline, tokenizePrompts } from '../src/index.js';
import { noise } from './lib/case.js';
import { benchCacheDir, ensureSd15 } from './lib/sd15.js';
import { ensureSd21 } from './lib/sd21.js';

interface Check { name: 'sd15' | 'sd21'; folder: () => Promise<string>; predictionType?: 'v_prediction' }

const CHECKS: Check[] = [
  { name: 'sd15', folder: ensureSd15 },
  { name: 'sd21', folder: ensureSd21, predictionType: 'v_prediction' }, // not visible in the weights (as for real SD 2.1 768-v files)
];

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

function sameBits(a: Tensor, b: Tensor): boolean {
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  return x.length === y.length && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

/** The three calls on one pipeline, each network released before the next (one big session at a time). */
async function run(pipe: StableDiffusionPipeline, ids: Tensor): Promise<{ text: Tensor; unet: Tensor; vae: Tensor; ms: Record<string, number> }> {
  const ms: Record<string, number> = {};
  const time = async <T>(label: string, f: () => Promise<T>) => {
    const t0 = performance.now();
    const r = await f();
    ms[label] = Math.round(performance.now() - t0);
    return r;
  };
  const text = (await time('text encoder', () => pipe.textEncoder.forward(ids))).lastHiddenState; // [1, 77, H]
  await pipe.textEncoder.release();
  const latents = noise([1, 4, 64, 64], 1, 1);
  const unet = (await time('unet step (64² latents)', () => pipe.unet.forward(latents, 500, text))).sample;
  await pipe.unet.release();
  const vae = (await time('vae decode (16² latents)', () => pipe.vae.decode(noise([1, 4, 16, 16], 1, 2)))).sample;
  await pipe.release();
  return { text, unet, vae, ms };
}

async function check(c: Check, outDir: string): Promise<boolean> {
  const folder = await c.folder();
  const file = join(outDir, `${c.name}-random.safetensors`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    const family = await savePipelineAsSingleFile(folder, file);
    log(`${c.name}: wrote ${file} (${family} layout) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const t0 = performance.now();
  const single = await StableDiffusionPipeline.fromSingleFile(file, { predictionType: c.predictionType });
  log(`${c.name}: opened the single file in ${Math.round(performance.now() - t0)} ms (UNet in_channels ${single.unet.config.in_channels}, cross-attention ${single.unet.config.cross_attention_dim}, text ${single.textEncoder.config.hidden_size}×${single.textEncoder.config.num_hidden_layers})`);
  // The same token ids for both (the single file brings the bundled tokenizer, the folder its own).
  const ids = tokenizePrompts(single.tokenizer, ['a photograph of an astronaut riding a horse']);
  const fromFile = await run(single, ids);
  const fromFolder = await run(await StableDiffusionPipeline.fromPretrained(folder), ids);
  let ok = true;
  for (const part of ['text', 'unet', 'vae'] as const) {
    const same = sameBits(fromFile[part], fromFolder[part]);
    ok &&= same;
    log(`${c.name}: ${part} [${fromFile[part].shape}] ${same ? 'bit for bit equal to the folder' : 'DIFFERS from the folder'}`);
  }
  log(`${c.name}: single file ${JSON.stringify(fromFile.ms)}, folder ${JSON.stringify(fromFolder.ms)}`);
  return ok;
}

const wanted = process.argv.slice(2);
const outDir = join(benchCacheDir(), 'single-file');
mkdirSync(outDir, { recursive: true });
let failed = 0;
for (const c of CHECKS.filter((x) => wanted.length === 0 || wanted.includes(x.name))) if (!(await check(c, outDir))) failed++;
log(failed === 0 ? 'full-size single-file check: passed' : `full-size single-file check: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
