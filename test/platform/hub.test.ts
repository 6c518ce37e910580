// Downloading a pipeline from a (fake, local) Hub into a fresh cache: Python's layout, only the
// files the pipeline needs, the variant rules, sharded weights, and loading the snapshot with the
// weights reader through the cache's symlinks.

import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resolveHubModel, resolveModel, type HubProgressEvent } from '../../src/platform/node/hub.js';
import { LatentlabError } from '../../src/core/errors.js';
import { DiffusersPipelineFolder } from '../../src/weights/diffusers.js';
import { openWeights } from '../../src/weights/discovery.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { COMMIT, DEFAULT_FILES, FULL_FILES, ID, makeRepos, tempCache, TINY } from './hub-repos.js';
import { FakeHub, gitSha1, sha256 } from './hub-server.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start(await makeRepos());
});
afterAll(async () => hub?.close());

const FP16_FILES = DEFAULT_FILES.map((f) => f.replace(/\.safetensors$/, '.fp16.safetensors'));

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function opts(cacheDir: string, events: HubProgressEvent[] = []) {
  return { cacheDir, endpoint: hub.endpoint, token: false as const, offline: false, onProgress: (e: HubProgressEvent) => events.push(e) };
}

describe('resolveModel: download into a fresh cache', () => {
  it('downloads exactly the default pipeline files, in the layout Python uses', async () => {
    const cacheDir = tempCache();
    const events: HubProgressEvent[] = [];
    hub.requests.length = 0;
    const folder = await resolveModel(ID, opts(cacheDir, events));
    const root = join(cacheDir, 'models--latentlab-test--tiny-sd15');
    expect(folder).toBe(join(root, 'snapshots', COMMIT));
    expect((await readFile(join(root, 'refs', 'main'), 'utf8'))).toBe(COMMIT);

    // Only what the pipeline needs: no fp16, no pickles, no flax/onnx, no safety checker, no ckpt.
    expect([...new Set(hub.resolved())].sort()).toEqual(DEFAULT_FILES);
    expect([...new Set(hub.downloaded())].sort()).toEqual(DEFAULT_FILES);

    // Relative symlinks into blobs/, one "../" per folder level; blobs named by ETag (sha256 for LFS).
    expect(await readlink(join(folder, 'model_index.json'))).toBe(`../../blobs/${gitSha1(FULL_FILES['model_index.json'])}`);
    const unet = 'unet/diffusion_pytorch_model.safetensors';
    expect(await readlink(join(folder, unet))).toBe(`../../../blobs/${sha256(FULL_FILES[unet])}`);
    for (const f of DEFAULT_FILES) {
      expect((await lstat(join(folder, f))).isSymbolicLink(), f).toBe(true);
      expect((await readFile(join(folder, f))).equals(FULL_FILES[f]), f).toBe(true);
    }
    const blobs = await readdir(join(root, 'blobs'));
    expect(blobs.filter((b) => b.endsWith('.incomplete'))).toEqual([]);
    expect(blobs).toHaveLength(DEFAULT_FILES.length);

    // Progress: a plan with sizes, byte counts, one done.
    const plan = events.find((e) => e.type === 'plan');
    expect(plan?.type === 'plan' && plan.download.map((d) => d.path).sort()).toEqual(DEFAULT_FILES.filter((f) => f !== 'model_index.json'));
    const last = events.filter((e) => e.type === 'download').at(-1);
    expect(last?.type === 'download' && last.doneBytes === last.totalBytes).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'done', folder, commit: COMMIT, offline: false });
  });

  it('loads the snapshot with the weights reader, through the symlinks', async () => {
    const folder = await resolveModel(ID, opts(tempCache()));
    const unetPath = join(folder, 'unet', 'diffusion_pytorch_model.safetensors');
    expect(await realpath(unetPath)).toMatch(/blobs\/[0-9a-f]{64}$/);
    const fromCache = await (await SafetensorsFile.open(unetPath)).readAll();
    const original = await (await SafetensorsFile.open(join(TINY, 'unet', 'diffusion_pytorch_model.safetensors'))).readAll();
    expect([...fromCache.keys()]).toEqual([...original.keys()]);
    for (const [k, t] of original) expect(bytes(fromCache.get(k)!.data).equals(bytes(t.data)), k).toBe(true);
    const weights = await openWeights(join(folder, 'vae'));
    expect(weights.keys.length).toBeGreaterThan(0);
    const pipeline = await DiffusersPipelineFolder.open(folder);
    expect((await pipeline.weights('text_encoder')).keys.length).toBeGreaterThan(0);
    expect((await pipeline.config('unet')).sample_size).toBeDefined();
  });

  it('a second call asks only for the model info: every file is in the snapshot', async () => {
    const cacheDir = tempCache();
    await resolveModel(ID, opts(cacheDir));
    hub.requests.length = 0;
    const r = await resolveHubModel(ID, opts(cacheDir));
    expect(r.downloadedBytes).toBe(0);
    expect(hub.requests.map((q) => q.path)).toEqual([`/api/models/${ID}/revision/main`]);
  });
});

describe('variants', () => {
  it('variant fp16 downloads the fp16 weights and no fp32 weights', async () => {
    hub.requests.length = 0;
    const folder = await resolveModel(ID, { ...opts(tempCache()), variant: 'fp16' });
    expect([...new Set(hub.resolved())].sort()).toEqual(FP16_FILES);
    expect((await openWeights(join(folder, 'unet'), { variant: 'fp16' })).keys.length).toBeGreaterThan(0);
  });

  it('a component without the variant falls back to its default weights, with a warning (as diffusers)', async () => {
    hub.requests.length = 0;
    const events: HubProgressEvent[] = [];
    await resolveModel('latentlab-test/vae-no-fp16', { ...opts(tempCache(), events), variant: 'fp16' });
    const files = new Set(hub.resolved());
    expect(files.has('vae/diffusion_pytorch_model.safetensors')).toBe(true);
    expect(files.has('unet/diffusion_pytorch_model.safetensors')).toBe(false);
    expect(files.has('unet/diffusion_pytorch_model.fp16.safetensors')).toBe(true);
    expect(events.filter((e) => e.type === 'warning').map((e) => e.type === 'warning' && e.message).join()).toMatch(/vae has no "fp16" weights/);
  });

  it('a variant no component has is an error listing the variants there are', async () => {
    const err = await resolveModel('latentlab-test/no-fp16', { ...opts(tempCache()), variant: 'fp16' }).catch((e) => e);
    expect(err).toBeInstanceOf(LatentlabError);
    expect(err.code).toBe('HUB_VARIANT_NOT_FOUND');
    expect(err.message).toMatch(/no "fp16" weights.*default, non_ema/);
  });

  it('pickle-only weights are refused before any download', async () => {
    hub.requests.length = 0;
    const err = await resolveModel('latentlab-test/pickle-only', opts(tempCache())).catch((e) => e);
    expect(err.code).toBe('HUB_NO_SAFETENSORS');
    expect(err.message).toMatch(/unet has no \.safetensors weights \(only diffusion_pytorch_model\.bin/);
    expect(hub.downloaded()).toEqual(['model_index.json']);
  });

  it('a repo without model_index.json is not a pipeline', async () => {
    const err = await resolveModel('latentlab-test/single-file', opts(tempCache())).catch((e) => e);
    expect(err.code).toBe('HUB_NOT_A_PIPELINE');
    expect(err.message).toMatch(/single-file checkpoints: sd15\.safetensors/);
  });
});

describe('sharded weights', () => {
  it('fetches the index and the shards it names, not the single file, and loads them', async () => {
    hub.requests.length = 0;
    const folder = await resolveModel('latentlab-test/sharded', opts(tempCache()));
    const te = new Set(hub.resolved().filter((f) => f.startsWith('text_encoder/')));
    expect([...te].sort()).toEqual([
      'text_encoder/config.json',
      'text_encoder/model-00001-of-00002.safetensors',
      'text_encoder/model-00002-of-00002.safetensors',
      'text_encoder/model.safetensors.index.json',
    ]);
    const weights = await openWeights(join(folder, 'text_encoder'));
    expect(weights.index).toBeDefined();
    const single = await (await SafetensorsFile.open(join(TINY, 'text_encoder', 'model.safetensors'))).readAll();
    expect(weights.keys.sort()).toEqual([...single.keys()].sort());
    const k = [...single.keys()][0];
    expect(bytes((await weights.read(k)).data).equals(bytes(single.get(k)!.data))).toBe(true);
  });
});
