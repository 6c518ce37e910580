// The web platform's Hub client (src/platform/web/hub.ts) run in Node against the fake Hub, for
// the cases a page cannot easily stage: a download cut mid-file (resumed with Range), refusals,
// offline without a cache. Node has no Cache API, so the client keeps files in memory (and says
// so); the browser test (test/browser/hub.test.ts) covers the Cache API itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LatentlabError } from '../../../src/core/errors.js';
import type { HubProgressEvent } from '../../../src/hub/progress.js';
import { webFileSystem } from '../../../src/platform/web/files.js';
import { resolveHubModel } from '../../../src/platform/web/hub.js';
import { COMMIT, DEFAULT_FILES, FULL_FILES, ID, makeRepos } from '../hub-repos.js';
import { FakeHub } from '../hub-server.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start(await makeRepos());
});
afterAll(async () => hub?.close());

const opts = (cacheDir: string, events: HubProgressEvent[] = []) => ({ endpoint: hub.endpoint, cacheDir, onProgress: (e: HubProgressEvent) => events.push(e) });

describe('the web Hub client', () => {
  it('resumes a cut LFS download with a Range request and mounts the verified files', async () => {
    hub.requests.length = 0;
    const unet = 'unet/diffusion_pytorch_model.safetensors';
    hub.cutOnce.add(unet);
    const events: HubProgressEvent[] = [];
    const r = await resolveHubModel(ID, opts('resume', events));
    expect(r).toMatchObject({ commit: COMMIT, offline: false, files: DEFAULT_FILES });
    expect(hub.requests.filter((q) => q.server === 'cdn' && q.file === unet && q.method === 'GET').map((q) => q.range)).toEqual([undefined, `bytes=${FULL_FILES[unet].length >> 1}-`]);
    const got = await webFileSystem.readBytes(`${r.folder}/${unet}`);
    expect(Buffer.from(got).equals(FULL_FILES[unet])).toBe(true);
    expect(events.filter((e) => e.type === 'warning').map((e) => e.type === 'warning' && e.message)).toEqual([expect.stringMatching(/no Cache API/)]);
    const last = events.filter((e) => e.type === 'download').at(-1);
    expect(last?.type === 'download' && last.doneBytes === last.totalBytes).toBe(true);
  });

  it('offline, serves a cached revision without a request, and names what is not cached', async () => {
    await resolveHubModel(ID, opts('offline'));
    hub.requests.length = 0;
    const r = await resolveHubModel(ID, { ...opts('offline'), offline: true });
    expect(r).toMatchObject({ commit: COMMIT, offline: true, downloadedBytes: 0 });
    expect(hub.requests).toEqual([]);
    const err = await resolveHubModel(ID, { ...opts('offline'), offline: true, revision: 'v1.0' }).catch((e) => e);
    expect(err).toBeInstanceOf(LatentlabError);
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain('revision v1.0');
  });

  it("passes on the Hub's refusals as the Node client's errors", async () => {
    const gated = await resolveHubModel('latentlab-test/gated', opts('refused')).catch((e) => e);
    expect(gated.code).toBe('HUB_GATED');
    const missing = await resolveHubModel('latentlab-test/nope', opts('refused')).catch((e) => e);
    expect(missing.code).toBe('HUB_UNAUTHORIZED');
    const single = await resolveHubModel('latentlab-test/single-file', opts('refused')).catch((e) => e);
    expect(single.code).toBe('HUB_NOT_A_PIPELINE');
  });
});
