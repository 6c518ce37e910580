// The web platform's Hub client (src/platform/web/hub.ts) in headless Chromium: the explorer opened
// with `?model=org/name&endpoint=<fake Hub>` loads the tiny model through the fake Hub the Node
// client's tests use (test/platform/hub-server.ts, loopback, CORS as huggingface.co answers it),
// fetching only the pipeline's files, and generates the Node pipeline's pixels; the files land in
// the Cache API under their resolve URLs. Then the fake Hub is stopped and the page reloaded: the
// model must come from the Cache API alone, with the Hub's unreachability as a warning.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StableDiffusionPipeline } from '../../src/node.js';
import { type ExplorerPage, openExplorer, SLOW } from '../helpers/explorer-page.js';
import { pixelDifference } from '../helpers/pixels.js';
import { COMMIT, DEFAULT_FILES, FULL_FILES, ID, TINY } from '../platform/hub-repos.js';
import { FakeHub } from '../platform/hub-server.js';

// The page's prompt, 2 steps of the model's own scheduler (PNDM), w = 7.5, seed 42.
const CALL = { prompt: 'a red lighthouse', numInferenceSteps: 2, guidanceScale: 7.5, seed: 42 };

describe('the Hub client over fetch, in Chromium', () => {
  let hub: FakeHub;
  let ex: ExplorerPage;
  let expected: { width: number; height: number; data: Uint8Array };

  beforeAll(async () => {
    hub = await FakeHub.start([{ id: ID, commits: { [COMMIT]: FULL_FILES }, refs: { main: COMMIT } }]);
    // The folder served at /model/ is not used: the page loads the id from the fake Hub.
    ex = await openExplorer(TINY, `?model=${encodeURIComponent(ID)}&endpoint=${encodeURIComponent(hub.endpoint)}`);
    const node = await StableDiffusionPipeline.fromPretrained(TINY);
    expected = (await node.call(CALL)).images[0];
    await node.release();
  }, SLOW);

  afterAll(async () => {
    await ex?.close();
    await hub?.close();
  });

  const generate = async () => {
    await ex.setSteps(CALL.numInferenceSteps);
    await ex.page.click('#generate');
    await ex.idle();
    const d = pixelDifference((await ex.pixels('lastImage'))!, expected);
    return { d, state: await ex.state() };
  };

  it('downloads exactly the pipeline files from the Hub into the Cache API and generates the Node pixels', async () => {
    const s = await ex.state();
    expect(s.errors).toEqual([]);
    expect(ex.consoleErrors).toEqual([]);
    expect(s.hub).toMatchObject({ commit: COMMIT, offline: false, warnings: [] });
    expect(s.hub!.downloadedBytes).toBeGreaterThan(0);
    // Only what the pipeline needs (no fp16, pickles, flax/ONNX, safety checker, single-file checkpoint).
    expect([...new Set(hub.downloaded())].sort()).toEqual(DEFAULT_FILES);
    const keys = await ex.page.evaluate(async () => (await (await caches.open('latentlab-hub')).keys()).map((r) => r.url));
    const resolveUrl = (f: string) => `${hub.endpoint}/${ID}/resolve/${COMMIT}/${f}`;
    expect(keys).toEqual(expect.arrayContaining(DEFAULT_FILES.map(resolveUrl)));
    expect(keys).toContain(`${hub.endpoint}/api/models/${ID}/revision/main`);

    const { d, state } = await generate();
    console.log(`Hub-loaded tiny model, Chromium (${state.provider}) vs Node pixels: ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(3)}% of values off`);
    expect(state.errors).toEqual([]);
    expect(d.maxLevels).toBeLessThanOrEqual(1);
    expect(d.fractionOff).toBeLessThanOrEqual(0.005);
  }, SLOW);

  it('with the Hub stopped, a reload loads the model from the Cache API alone and generates the same pixels', async () => {
    await hub.close();
    hub.requests.length = 0;
    ex.consoleErrors.length = 0;
    await ex.page.reload({ waitUntil: 'domcontentloaded', timeout: SLOW });
    await ex.idle();
    const s = await ex.state();
    expect(s.errors).toEqual([]);
    expect(s.hub).toMatchObject({ commit: COMMIT, offline: true, downloadedBytes: 0 });
    expect(s.hub!.warnings.join('\n')).toMatch(/cannot reach .*; using the cached snapshot/);
    // The only console errors are Chromium's own lines about the refused connection to the Hub.
    expect(ex.consoleErrors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    expect(hub.requests).toEqual([]);

    const { d, state } = await generate();
    expect(state.errors).toEqual([]);
    expect(d.maxLevels).toBeLessThanOrEqual(1);
    expect(d.fractionOff).toBeLessThanOrEqual(0.005);
  }, SLOW);
});
