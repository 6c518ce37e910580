// Using the cache without the Hub: HF_HUB_OFFLINE=1, an unreachable Hub, missing files, a cache
// Python built (hand-made here: relative symlinks into blobs/), and revisions (branch, tag, sha).

import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { resolveHubModel, resolveModel, type HubProgressEvent } from '../../src/platform/node/hub.js';
import { openWeights } from '../../src/weights/discovery.js';
import { COMMIT, FULL_FILES, ID, makeRepos, OLD_COMMIT, tempCache } from './hub-repos.js';
import { FakeHub, gitSha1, sha256 } from './hub-server.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start(await makeRepos());
});
afterAll(async () => hub?.close());
afterEach(() => {
  vi.unstubAllEnvs();
});

const quiet = { token: false as const, onProgress: false as const };
const online = (cacheDir: string) => ({ ...quiet, cacheDir, endpoint: hub.endpoint, offline: false });

/** A Hub URL where nothing listens (a server started and closed). */
async function deadEndpoint(): Promise<string> {
  const dead = await FakeHub.start([]);
  await dead.close();
  return dead.endpoint;
}

describe('offline', () => {
  it('a second run with HF_HUB_OFFLINE=1 and no server uses the cached snapshot', async () => {
    const cacheDir = tempCache();
    const folder = await resolveModel(ID, online(cacheDir));
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    vi.stubEnv('HF_HUB_CACHE', cacheDir);
    vi.stubEnv('HF_ENDPOINT', await deadEndpoint());
    const events: HubProgressEvent[] = [];
    const r = await resolveHubModel(ID, { onProgress: (e) => events.push(e) });
    expect(r).toMatchObject({ folder, commit: COMMIT, offline: true, downloadedBytes: 0 });
    expect(r.files).toContain('unet/diffusion_pytorch_model.safetensors');
    expect(events).toEqual([{ type: 'done', folder, commit: COMMIT, downloadedBytes: 0, offline: true }]);
    expect((await openWeights(join(folder, 'unet'))).keys.length).toBeGreaterThan(0);
  });

  it('an unreachable Hub falls back to a complete cache, with a warning', async () => {
    const cacheDir = tempCache();
    const folder = await resolveModel(ID, online(cacheDir));
    const events: HubProgressEvent[] = [];
    const r = await resolveModel(ID, { ...online(cacheDir), endpoint: await deadEndpoint(), onProgress: (e) => events.push(e) });
    expect(r).toBe(folder);
    const warning = events.find((e) => e.type === 'warning');
    expect(warning?.type === 'warning' && warning.message).toMatch(/cannot reach .*ECONNREFUSED.*using the cached snapshot/);
  });

  it('offline with a missing file lists exactly the missing files and the commands to get them', async () => {
    const cacheDir = tempCache();
    const folder = await resolveModel(ID, online(cacheDir));
    await rm(join(folder, 'unet', 'diffusion_pytorch_model.safetensors'));
    const err = await resolveModel(ID, { ...quiet, cacheDir, offline: true }).catch((e) => e);
    expect(err.code).toBe('HUB_OFFLINE_MISSING');
    expect(err.message).toContain('lacks 1 file(s) the pipeline needs: unet/diffusion_pytorch_model.safetensors;');
    expect(err.hint).toContain(`latentlab generate --model ${ID}`);
    expect(err.hint).toContain(`huggingface-cli download ${ID} --include "unet/diffusion_pytorch_model.safetensors"`);

    // The fp16 variant was never downloaded: all three fp16 weight files are missing.
    const fp16 = await resolveModel(ID, { ...quiet, cacheDir, offline: true, variant: 'fp16' }).catch((e) => e);
    expect(fp16.code).toBe('HUB_OFFLINE_MISSING');
    expect(fp16.message).toContain('text_encoder/model.fp16.safetensors, unet/diffusion_pytorch_model.fp16.safetensors, vae/diffusion_pytorch_model.fp16.safetensors;');
    expect(fp16.hint).toContain('--variant fp16');
  });

  it('a link whose blob is gone counts as missing; an unreachable Hub then gives the network error', async () => {
    const cacheDir = tempCache();
    const folder = await resolveModel(ID, online(cacheDir));
    await rm(await realpath(join(folder, 'vae', 'config.json')));
    const offline = await resolveModel(ID, { ...quiet, cacheDir, offline: true }).catch((e) => e);
    expect(offline.message).toContain('needs: vae/config.json;');
    const err = await resolveModel(ID, { ...online(cacheDir), endpoint: await deadEndpoint() }).catch((e) => e);
    expect(err.code).toBe('HUB_UNREACHABLE');
    expect(err.hint).toMatch(/HF_HUB_OFFLINE=1/);
  });

  it('a snapshot without model_index.json lists it as missing, with the pipeline folders to download', async () => {
    const cacheDir = tempCache();
    const folder = await resolveModel(ID, online(cacheDir));
    await rm(join(folder, 'model_index.json'));
    const err = await resolveModel(ID, { ...quiet, cacheDir, offline: true }).catch((e) => e);
    expect(err.code).toBe('HUB_OFFLINE_MISSING');
    expect(err.message).toContain('needs: model_index.json;');
    expect(err.hint).toContain('--include "model_index.json" "text_encoder/*" "tokenizer/*" "unet/*" "vae/*" "scheduler/*" --exclude "*.bin"');
  });

  it('an id never downloaded is MODEL_NOT_FOUND, naming the cache and the local folder looked for', async () => {
    const cacheDir = tempCache();
    const err = await resolveModel('someone/never-downloaded', { ...quiet, cacheDir, offline: true }).catch((e) => e);
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain(`is not in the Hugging Face cache ${cacheDir}, and no local folder`);
    expect(err.message).toContain('offline mode');
    expect(err.hint).toMatch(/latentlab generate --model someone\/never-downloaded.*huggingface-cli download someone\/never-downloaded --include "model_index.json"/);
  });
});

describe('a cache laid out by Python (hand-built)', () => {
  /** What huggingface_hub leaves: blobs named by ETag, relative links, refs/main. */
  function pythonCache(commit: string, files: readonly string[]): string {
    const cacheDir = tempCache();
    const root = join(cacheDir, 'models--latentlab-test--tiny-sd15');
    mkdirSync(join(root, 'blobs'), { recursive: true });
    mkdirSync(join(root, 'refs'));
    writeFileSync(join(root, 'refs', 'main'), commit);
    for (const f of files) {
      const data = FULL_FILES[f];
      const etag = f.endsWith('.safetensors') ? sha256(data) : gitSha1(data);
      writeFileSync(join(root, 'blobs', etag), data);
      const link = join(root, 'snapshots', commit, f);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(`${'../'.repeat(f.split('/').length + 1)}blobs/${etag}`, link);
    }
    return cacheDir;
  }
  const pythonFiles = Object.keys(FULL_FILES).filter((f) => !/\.(bin|ckpt|msgpack|onnx)$/.test(f));

  it('resolves offline and loads through the links', async () => {
    const cacheDir = pythonCache(COMMIT, pythonFiles);
    const folder = await resolveModel(ID, { ...quiet, cacheDir, offline: true, variant: 'fp16' });
    expect(folder).toBe(join(cacheDir, 'models--latentlab-test--tiny-sd15', 'snapshots', COMMIT));
    expect((await openWeights(join(folder, 'unet'), { variant: 'fp16' })).keys.length).toBeGreaterThan(0);
  });

  it('online, nothing is downloaded: the snapshot of the current commit is complete', async () => {
    const cacheDir = pythonCache(COMMIT, pythonFiles);
    hub.requests.length = 0;
    const r = await resolveHubModel(ID, online(cacheDir));
    expect(r.downloadedBytes).toBe(0);
    expect(hub.downloaded()).toEqual([]);
  });

  it('a copied cache folder still works (the links are relative)', async () => {
    const cacheDir = pythonCache(COMMIT, pythonFiles);
    const moved = tempCache();
    cpSync(cacheDir, moved, { recursive: true, verbatimSymlinks: true });
    await rm(cacheDir, { recursive: true });
    const folder = await resolveModel(ID, { ...quiet, cacheDir: moved, offline: true });
    expect((await openWeights(join(folder, 'text_encoder'))).keys.length).toBeGreaterThan(0);
  });
});

describe('revisions', () => {
  it('a tag writes refs/<tag> and shares the snapshot of its commit', async () => {
    const cacheDir = tempCache();
    const main = await resolveModel(ID, online(cacheDir));
    hub.requests.length = 0;
    const tag = await resolveModel(ID, { ...online(cacheDir), revision: 'v1.0' });
    expect(tag).toBe(main);
    expect(hub.downloaded()).toEqual([]);
    expect(await readFile(join(cacheDir, 'models--latentlab-test--tiny-sd15', 'refs', 'v1.0'), 'utf8')).toBe(COMMIT);
    expect(await resolveModel(ID, { ...quiet, cacheDir, offline: true, revision: 'v1.0' })).toBe(main);
  });

  it('another branch gets its own snapshot; unchanged blobs are not downloaded again', async () => {
    const cacheDir = tempCache();
    await resolveModel(ID, online(cacheDir));
    hub.requests.length = 0;
    const old = await resolveModel(ID, { ...online(cacheDir), revision: 'old' });
    expect(old).toMatch(new RegExp(`snapshots/${OLD_COMMIT}$`));
    expect(hub.downloaded()).toEqual(['scheduler/scheduler_config.json']);
    expect(await readFile(join(old, 'scheduler', 'scheduler_config.json'), 'utf8')).toContain('"num_train_timesteps": 1000');
  });

  it('a commit sha is used as is: no refs/ file is written for it', async () => {
    const cacheDir = tempCache();
    const r = await resolveHubModel(ID, { ...online(cacheDir), revision: OLD_COMMIT });
    expect(r.commit).toBe(OLD_COMMIT);
    await expect(stat(join(cacheDir, 'models--latentlab-test--tiny-sd15', 'refs', OLD_COMMIT))).rejects.toThrow();
    expect(await resolveModel(ID, { ...quiet, cacheDir, offline: true, revision: OLD_COMMIT })).toBe(r.folder);
  });

  it('offline, an unknown revision names the cached commits', async () => {
    const cacheDir = tempCache();
    await resolveModel(ID, online(cacheDir));
    const err = await resolveModel(ID, { ...quiet, cacheDir, offline: true, revision: 'nope' }).catch((e) => e);
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.hint).toContain(`cached commits of ${ID}: ${COMMIT}`);
  });
});
