// The explorer on the shipped model, models/latentlab-mini (what `latentlab explore` opens by
// default), in headless Chromium: a generation must give the Node pipeline's pixels for the same
// prompt, seed and steps (≤ 1 level off on ≤ 0.5% of values), on the execution provider the page
// reports (WebAssembly here: headless Chromium has no GPU). Few steps of the model's own scheduler
// (DPM-Solver++ 2M) keep it short; the tiny model's test (./explorer.test.ts) covers the panels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defaultModelPath } from '../../src/pipelines/default-model.js';
import { StableDiffusionPipeline } from '../../src/node.js';
import { type ExplorerPage, openExplorer, SLOW } from '../helpers/explorer-page.js';
import { pixelDifference } from '../helpers/pixels.js';

const MODEL = defaultModelPath();
const CALL = { prompt: 'a photo of a red sneaker', numInferenceSteps: 4, guidanceScale: 7.5, seed: 7 };

describe('the explorer on latentlab-mini, in Chromium', () => {
  let ex: ExplorerPage;
  beforeAll(async () => {
    ex = await openExplorer(MODEL);
  }, SLOW);
  afterAll(async () => ex?.close());

  it("generates the Node pipeline's pixels for the same seed and steps", async () => {
    await ex.generate(CALL);
    const s = await ex.state();
    expect(s.errors).toEqual([]);
    expect(ex.consoleErrors).toEqual([]);
    const got = (await ex.pixels('lastImage'))!;

    const node = await StableDiffusionPipeline.fromPretrained(MODEL);
    const expected = (await node.call(CALL)).images[0];
    await node.release();
    expect([got.width, got.height]).toEqual([32, 32]);
    expect(new Set(got.data).size).toBeGreaterThan(32); // a picture, not a flat image
    const d = pixelDifference(got, expected);
    console.log(`latentlab-mini, Chromium (${s.provider}, ${s.threads} threads) vs Node pixels, ${CALL.numInferenceSteps} steps: ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(3)}% of values off`);
    expect(s.provider).toBe('wasm');
    expect(s.steps).toHaveLength(CALL.numInferenceSteps);
    expect(d.maxLevels).toBeLessThanOrEqual(1);
    expect(d.fractionOff).toBeLessThanOrEqual(0.005);
  }, SLOW);
});
