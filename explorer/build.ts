// Builds the web explorer into a folder any static server can serve (dist/explorer by default):
// index.html, style.css, main.js (esbuild: the explorer and latentlab/web in one ES module) and
// ort/ — onnxruntime-web's WebAssembly runtime, loaded by the page at run time. The bundle imports
// onnxruntime-web's "extern wasm" build so the .wasm and its .mjs loader stay separate files
// (workers for WebAssembly threads start from that loader, not from our bundle).
//
//   npx tsx explorer/build.ts [OUT_DIR]        (npm run build:explorer)

import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

/** The onnxruntime-web files the page loads: the JSEP build runs both WebAssembly and WebGPU. */
export const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

export interface BuiltExplorer {
  readonly dir: string;
  /** Bytes of main.js, and gzipped (the explorer with the whole latentlab core in it). */
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
}

export async function buildExplorer(outDir = join(root, 'dist', 'explorer'), options: { minify?: boolean } = {}): Promise<BuiltExplorer> {
  // Built beside the target, then renamed: a server never sees half an explorer.
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'ort'), { recursive: true });
  await esbuild.build({
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(tmp, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: true,
    conditions: ['onnxruntime-web-use-extern-wasm'],
    alias: { 'latentlab/web': join(root, 'src', 'web.ts') },
    logLevel: 'warning',
  });
  // (the package exports no ./package.json; its CommonJS entry sits in dist/ beside the runtime files)
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  for (const f of ORT_FILES) await copyFile(join(ortDist, f), join(tmp, 'ort', f));
  for (const f of ['index.html', 'style.css']) await copyFile(join(here, f), join(tmp, f));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(dirname(outDir), { recursive: true });
  await rename(tmp, outDir);
  const js = await readFile(join(outDir, 'main.js'));
  return { dir: outDir, bundleBytes: js.byteLength, bundleGzipBytes: gzipSync(js).byteLength };
}

/** The built explorer folder, building it when it is missing. */
export async function ensureExplorer(outDir = join(root, 'dist', 'explorer')): Promise<string> {
  const built = await stat(join(outDir, 'main.js')).catch(() => undefined);
  if (!built) await buildExplorer(outDir);
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildExplorer(process.argv[2] ? resolve(process.argv[2]) : undefined);
  await writeFile(join(out.dir, 'build.json'), JSON.stringify({ bundleBytes: out.bundleBytes, bundleGzipBytes: out.bundleGzipBytes }, null, 2));
  console.log(`explorer built in ${out.dir}: main.js ${(out.bundleBytes / 1024).toFixed(0)} KiB, ${(out.bundleGzipBytes / 1024).toFixed(0)} KiB gzipped`);
}
