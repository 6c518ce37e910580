// `npm run bench:browser`: latentlab in a browser against Node on the same machine.
//
//   bundle sizes (esbuild, minified, gzip -9): the core (latentlab/core), the web entry
//     (latentlab/web, with onnxruntime-web's JavaScript) and the explorer's main.js
//   --timing: in headless Chromium (Debian's binary), the explorer on the model with WebAssembly
//     and N threads (?threads=N; default 2): page load to first image, time per UNet step (between
//     step callbacks), time per image; then the Node pipeline (onnxruntime-node, same threads) on the
//     same call. Timings only mean something on a quiet machine: run them under
//     `flock /tmp/bench.lock nice -n 0 npx tsx bench/browser.ts --timing` when nothing else runs.
//
//   npx tsx bench/browser.ts [--timing] [--model DIR] [--threads N] [--steps N]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

import { buildExplorer } from '../explorer/build.js';
import { startExploreServer } from '../src/cli/explore-server.js';
import { StableDiffusionPipeline } from '../src/node.js';

const root = join(import.meta.dirname, '..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

async function bundleSize(entry: string): Promise<{ bytes: number; gzip: number }> {
  const out = await esbuild.build({
    entryPoints: [join(root, entry)], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false,
    conditions: ['onnxruntime-web-use-extern-wasm'], logLevel: 'error',
  });
  const js = out.outputFiles[0].contents;
  return { bytes: js.byteLength, gzip: gzipSync(js, { level: 9 }).byteLength };
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

async function sizes(dir: string): Promise<void> {
  const built = await buildExplorer(join(dir, 'explorer'));
  const rows: [string, { bytes: number; gzip: number }][] = [
    ['core (latentlab/core: src/index.ts)', await bundleSize('src/index.ts')],
    ['web entry (latentlab/web, + onnxruntime-web JS)', await bundleSize('src/web.ts')],
    ['explorer main.js', { bytes: built.bundleBytes, gzip: gzipSync(await (await import('node:fs/promises')).readFile(join(built.dir, 'main.js')), { level: 9 }).byteLength }],
  ];
  console.log('| bundle | minified | gzip -9 |\n|---|---|---|');
  for (const [name, s] of rows) console.log(`| ${name} | ${kib(s.bytes)} | ${kib(s.gzip)} |`);
  console.log('(+ onnxruntime-web runtime loaded at run time: ort-wasm-simd-threaded.jsep.wasm 27 MiB, 5.6 MiB gzipped)');
}

async function timing(dir: string, model: string, threads: number, steps: number): Promise<void> {
  const server = await startExploreServer({ explorerDir: join(dir, 'explorer'), modelDir: model, port: 0 });
  const browser = await chromium.launch({ executablePath: process.env.LATENTLAB_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(`${server.url}?threads=${threads}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => (globalThis as any).explorer.ready && !(globalThis as any).explorer.busy, undefined, { timeout: 600_000 });
    await page.fill('#steps', String(steps));
    await page.dispatchEvent('#steps', 'change');
    const run = async () => {
      await page.evaluate(() => { (globalThis as any).explorer.lastImage = undefined; });
      await page.click('#generate');
      await page.waitForFunction(() => (globalThis as any).explorer.lastImage && !(globalThis as any).explorer.busy, undefined, { timeout: 600_000, polling: 50 });
      return page.evaluate(() => {
        const e = (globalThis as any).explorer;
        const t: number[] = e.stepTimes;
        const per = t.slice(1).map((v, i) => v - t[i]);
        return { image: e.finishedAt - e.startedAt, step: per.sort((a, b) => a - b)[Math.floor(per.length / 2)], threads: e.threads, provider: e.provider };
      });
    };
    const first = await run();
    const firstImageMs = Date.now() - t0;
    const warm = await run();
    console.log(`Chromium ${first.provider}, ${warm.threads} threads: page load → first image ${(firstImageMs / 1000).toFixed(1)} s; ` +
      `warm: ${warm.step.toFixed(0)} ms per UNet step (median, batch 2), ${(warm.image / 1000).toFixed(2)} s per image`);
  } finally {
    await browser.close();
    await server.close();
  }
  const pipe = await StableDiffusionPipeline.fromPretrained(model, { releaseSessions: false, threads });
  const call = async () => {
    const times: number[] = [];
    const t = performance.now();
    await pipe.call({ prompt: 'a red lighthouse', numInferenceSteps: steps, seed: 42, callback: () => { times.push(performance.now()); } });
    const per = times.slice(1).map((v, i) => v - times[i]).sort((a, b) => a - b);
    return { image: performance.now() - t, step: per[Math.floor(per.length / 2)] };
  };
  await call();
  const n = await call();
  console.log(`Node (onnxruntime-node, ${threads} threads), warm: ${n.step.toFixed(0)} ms per UNet step, ${(n.image / 1000).toFixed(2)} s per image`);
  await pipe.release();
}

const dir = await mkdtemp(join(tmpdir(), 'latentlab-bench-browser-'));
try {
  await sizes(dir);
  if (process.argv.includes('--timing')) {
    await timing(dir, arg('model', join(root, 'test', 'fixtures', 'conformance', 'pipelines', 'tiny-sd15')), Number(arg('threads', '2')), Number(arg('steps', '20')));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
