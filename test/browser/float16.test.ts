// computeDtype 'float16' in Chromium (the explorer's ?computeDtype=float16). What this machine can
// run: headless Chromium has no GPU; with SwiftShader's WebGPU (the flags below) it has an adapter,
// but one without "shader-f16". So: on WebAssembly the float16 graph must give the Node pipeline's
// float16 pixels within 1 level (on ≤ 10% of values: onnxruntime-web's WebAssembly build and
// onnxruntime-node round to float16 at different points — measured 5.6% of values 1 level off,
// against 0% for float32 compute in ./mini.test.ts), and on that WebGPU adapter loading must stop
// with DEVICE_UNSUPPORTED naming shader-f16, before any session. A float16 WebGPU run is not tested.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StableDiffusionPipeline } from '../../src/node.js';
import { defaultModelPath } from '../../src/pipelines/default-model.js';
import { type ExplorerPage, openExplorer, SLOW } from '../helpers/explorer-page.js';
import { pixelDifference } from '../helpers/pixels.js';

const MODEL = defaultModelPath();
const CALL = { prompt: 'a photo of a red sneaker', numInferenceSteps: 4, guidanceScale: 7.5, seed: 7 };
const SWIFTSHADER_WEBGPU = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader'];

describe('computeDtype float16 in Chromium', () => {
  let ex: ExplorerPage;
  beforeAll(async () => {
    ex = await openExplorer(MODEL, '?computeDtype=float16', SWIFTSHADER_WEBGPU);
  }, SLOW);
  afterAll(async () => ex?.close());

  it("runs on WebAssembly with the Node pipeline's float16 pixels", async () => {
    await ex.generate(CALL);
    const s = await ex.state();
    expect(s.errors).toEqual([]);
    const node = await StableDiffusionPipeline.fromPretrained(MODEL, { computeDtype: 'float16' });
    const expected = (await node.call(CALL)).images[0];
    await node.release();
    const d = pixelDifference((await ex.pixels('lastImage'))!, expected);
    console.log(`float16 compute, Chromium (${s.provider}) vs Node (CPU EP): ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(3)}% of values off`);
    expect(s.provider).toBe('wasm');
    expect(d.maxLevels).toBeLessThanOrEqual(1);
    expect(d.fractionOff).toBeLessThanOrEqual(0.1);
  }, SLOW);

  it('refuses WebGPU without shader-f16, naming the feature', async () => {
    const adapter = await ex.page.evaluate(async () => {
      const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ features: Set<string> } | null> } }).gpu?.requestAdapter();
      return a ? { f16: a.features.has('shader-f16') } : null;
    });
    expect(adapter).toEqual({ f16: false }); // SwiftShader: an adapter, no float16 shaders
    await ex.page.selectOption('#device', 'webgpu');
    await ex.page.click('#load-model');
    await ex.idle();
    // Sessions are created at the first call: the generation is where the device is checked.
    await ex.page.click('#generate');
    await ex.page.waitForFunction(() => (globalThis as unknown as { explorer: { errors: string[] } }).explorer.errors.length > 0, undefined, { timeout: 120_000 });
    const s = await ex.state();
    expect(s.errors.join('\n')).toMatch(/computeDtype "float16" on WebGPU needs the adapter feature "shader-f16"/);
  }, SLOW);
});
