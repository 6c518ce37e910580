// The web platform's runtime and files, run in Node: onnxruntime-web's WebAssembly build (its Node
// export) on the tiny model, read through the page's FileSystem (folders mounted from Blobs). The
// pixels must be the Node platform's (onnxruntime-node) for the same seed; the browser test
// (test/browser) runs the same code in Chromium.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fileSystem, setFileSystem } from '../../../src/core/io.js';
import { setModelResolver } from '../../../src/core/model-resolver.js';
import { setRuntime, runtime } from '../../../src/graph/runtime.js';
import { resolveModel, StableDiffusionPipeline } from '../../../src/node.js';
import { blobFile, type WebFile, WebFileSystem } from '../../../src/platform/web/files.js';
import { lastProviders, webRuntime } from '../../../src/platform/web/runtime.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { pixelDifference } from '../../helpers/pixels.js';

function mountFolder(fs: WebFileSystem, at: string, dir: string): void {
  const files = new Map<string, WebFile>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p).split('\\').join('/'), blobFile(new Blob([readFileSync(p)])));
    }
  };
  walk(dir);
  fs.mount(at, files);
}

const CALL = { prompt: 'a red lighthouse', numInferenceSteps: 4, guidanceScale: 7.5, seed: 42, height: 64, width: 64 } as const;

describe('the web platform (onnxruntime-web wasm, in Node)', () => {
  it('generates the Node platform pixels for the same seed, from a mounted folder', { timeout: 600_000 }, async () => {
    const node = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'));
    const expected = (await node.call(CALL)).images[0];
    await node.release();

    const [nodeFs, nodeRuntime] = [fileSystem(), runtime()];
    const web = new WebFileSystem();
    mountFolder(web, '/models/tiny', fixturePath('pipelines', 'tiny-sd15'));
    setFileSystem(web);
    setRuntime(webRuntime);
    setModelResolver(async (p) => p);
    try {
      const pipe = await StableDiffusionPipeline.fromPretrained('/models/tiny');
      const got = (await pipe.call(CALL)).images[0];
      await pipe.release();
      const d = pixelDifference(got, expected);
      console.log(`web (wasm) vs node pixels: ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(3)}% of values off`);
      expect(d.maxLevels).toBeLessThanOrEqual(1);
      expect(d.fractionOff).toBeLessThanOrEqual(0.005);
      expect([...lastProviders.values()]).toContain('wasm');
    } finally {
      setFileSystem(nodeFs);
      setRuntime(nodeRuntime);
      setModelResolver((p, o) => resolveModel(p, o as never));
    }
  });
});
