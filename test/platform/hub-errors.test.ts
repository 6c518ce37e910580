// Refusals and failures: gated and private repos (tokens from the option, HF_TOKEN or the token
// file), unknown repos and revisions, local paths that are not models, and downloads cut mid-file
// (resumed with Range requests, never leaving a half blob under its final name).

import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { resolveModel } from '../../src/platform/node/hub.js';
import { FULL_FILES, ID, makeRepos, tempCache, TINY } from './hub-repos.js';
import { FakeHub, GOOD_TOKEN, sha256 } from './hub-server.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start(await makeRepos());
});
afterAll(async () => hub?.close());
afterEach(() => {
  vi.unstubAllEnvs();
  hub.cutOnce.clear();
  hub.cutAlways.clear();
  hub.expireOnce.clear();
});

const base = (cacheDir = tempCache()) => ({ cacheDir, endpoint: hub.endpoint, offline: false, onProgress: false as const });
const fail = (p: Promise<unknown>) => p.then(() => expect.unreachable('should have failed'), (e) => e);

describe('access', () => {
  it('a gated repo without a token: HUB_GATED, saying to accept the conditions and set HF_TOKEN', async () => {
    const err = await fail(resolveModel('latentlab-test/gated', { ...base(), token: false }));
    expect(err.code).toBe('HUB_GATED');
    expect(err.message).toContain('no token was sent');
    expect(err.hint).toMatch(/accept its conditions.*HF_TOKEN=hf_/);
  });

  it('a gated repo with a token that has no access: 403, naming where the token came from', async () => {
    vi.stubEnv('HF_TOKEN', 'hf_not_accepted');
    const err = await fail(resolveModel('latentlab-test/gated', base()));
    expect(err.code).toBe('HUB_GATED');
    expect(err.message).toMatch(/with 403.*the token from HF_TOKEN was sent/);
  });

  it('HF_TOKEN opens a gated repo; the token goes to the Hub, never to the CDN', async () => {
    vi.stubEnv('HF_TOKEN', GOOD_TOKEN);
    hub.requests.length = 0;
    await resolveModel('latentlab-test/gated', base());
    const hubReqs = hub.requests.filter((r) => r.server === 'hub');
    const cdnReqs = hub.requests.filter((r) => r.server === 'cdn');
    expect(hubReqs.every((r) => r.auth === `Bearer ${GOOD_TOKEN}`)).toBe(true);
    expect(cdnReqs.length).toBeGreaterThan(0);
    expect(cdnReqs.every((r) => r.auth === undefined)).toBe(true);
  });

  it('the token file (HF_TOKEN_PATH, as written by huggingface-cli login) is read', async () => {
    const home = tempCache();
    writeFileSync(join(home, 'token'), `${GOOD_TOKEN}\n`);
    vi.stubEnv('HF_TOKEN', '');
    vi.stubEnv('HF_TOKEN_PATH', join(home, 'token'));
    await expect(resolveModel('latentlab-test/private', base())).resolves.toMatch(/snapshots/);
  });

  it('a refused request still lets a complete cached snapshot be used, with a warning (as huggingface_hub)', async () => {
    const cacheDir = tempCache();
    const folder = await resolveModel('latentlab-test/private', { ...base(cacheDir), token: GOOD_TOKEN });
    const warnings: string[] = [];
    const again = await resolveModel('latentlab-test/private', { ...base(cacheDir), token: false, onProgress: (e) => void (e.type === 'warning' && warnings.push(e.message)) });
    expect(again).toBe(folder);
    expect(warnings.join()).toMatch(/answered 401 .*using the cached snapshot/);
    // A gated model's info is public and every file is cached: nothing is refused at all.
    const gated = await resolveModel('latentlab-test/gated', { ...base(cacheDir), token: GOOD_TOKEN });
    await expect(resolveModel('latentlab-test/gated', { ...base(cacheDir), token: false })).resolves.toBe(gated);
  });

  it('a private or unknown repo without a token: 401, and no local folder of that name either', async () => {
    const err = await fail(resolveModel('latentlab-test/private', { ...base(), token: false }));
    expect(err.code).toBe('HUB_UNAUTHORIZED');
    expect(err.message).toMatch(/does not exist, or it is private or gated \(no token was sent\); no local folder .*latentlab-test\/private exists either/);
  });

  it('an unknown repo with a token: HUB_REPO_NOT_FOUND', async () => {
    const err = await fail(resolveModel('latentlab-test/nothing-here', { ...base(), token: GOOD_TOKEN }));
    expect(err.code).toBe('HUB_REPO_NOT_FOUND');
    expect(err.message).toContain('no model latentlab-test/nothing-here on http://127.0.0.1:');
  });

  it('an unknown revision: HUB_REVISION_NOT_FOUND', async () => {
    const err = await fail(resolveModel(ID, { ...base(), token: false, revision: 'no-such-branch' }));
    expect(err.code).toBe('HUB_REVISION_NOT_FOUND');
    expect(err.message).toContain('has no revision "no-such-branch"');
  });
});

describe('local paths and ids', () => {
  it('an existing folder is returned as is, without touching the Hub', async () => {
    hub.requests.length = 0;
    expect(await resolveModel(TINY, base())).toBe(TINY);
    expect(hub.requests).toEqual([]);
  });

  it('a file, a path that does not exist, or an invalid id: MODEL_NOT_FOUND saying what was looked for', async () => {
    const file = await fail(resolveModel(join(TINY, 'model_index.json'), base()));
    expect(file.code).toBe('MODEL_NOT_FOUND');
    expect(file.message).toMatch(/is a file/);
    for (const [input, why] of [['./models/sd15', 'looks like a file-system path'], ['a/b/c', 'at most one "/"'], ['org--x/y', '"--"'], ['org/-name', 'must start and end']]) {
      const err = await fail(resolveModel(input, base()));
      expect(err.code).toBe('MODEL_NOT_FOUND');
      expect(err.message).toContain(`looked for ${JSON.stringify(input)} as a local path`);
      expect(err.message).toContain(why);
    }
  });
});

describe('interrupted downloads', () => {
  const UNET = 'unet/diffusion_pytorch_model.safetensors';
  const blobOf = (cacheDir: string, f: string) => join(cacheDir, 'models--latentlab-test--tiny-sd15', 'blobs', sha256(FULL_FILES[f]));

  it('a connection cut mid-file is resumed with a Range request in the same run', async () => {
    const cacheDir = tempCache();
    hub.cutOnce.add(UNET);
    hub.requests.length = 0;
    const folder = await resolveModel(ID, { ...base(cacheDir), token: false });
    const gets = hub.requests.filter((r) => r.server === 'cdn' && r.file === UNET);
    expect(gets).toHaveLength(2);
    expect(gets[0].range).toBeUndefined();
    expect(Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1])).toBeGreaterThan(0);
    expect((await readFile(join(folder, UNET))).equals(FULL_FILES[UNET])).toBe(true);
  });

  it('an expired CDN link (403 from the CDN) is renewed through the Hub and the download goes on', async () => {
    hub.expireOnce.add(UNET);
    hub.requests.length = 0;
    const folder = await resolveModel(ID, { ...base(), token: false });
    expect(hub.requests.filter((r) => r.method === 'HEAD' && r.file === UNET)).toHaveLength(2);
    expect((await readFile(join(folder, UNET))).equals(FULL_FILES[UNET])).toBe(true);
  });

  it('a download that keeps failing leaves only blobs/<etag>.incomplete; the next run resumes it', async () => {
    const cacheDir = tempCache();
    hub.cutAlways.add(UNET);
    const err = await fail(resolveModel(ID, { ...base(cacheDir), token: false }));
    expect(err.code).toBe('HUB_DOWNLOAD_INTERRUPTED');
    expect(err.hint).toMatch(/run the same command again to resume/);
    const blob = blobOf(cacheDir, UNET);
    await expect(stat(blob)).rejects.toThrow();
    const partial = (await stat(`${blob}.incomplete`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(FULL_FILES[UNET].length);
    const snapshot = join(cacheDir, 'models--latentlab-test--tiny-sd15', 'snapshots');
    expect((await readdir(join(snapshot, (await readdir(snapshot))[0], 'unet'))).sort()).toEqual(['config.json']);

    hub.cutAlways.clear();
    hub.requests.length = 0;
    const folder = await resolveModel(ID, { ...base(cacheDir), token: false });
    const get = hub.requests.find((r) => r.server === 'cdn' && r.file === UNET);
    expect(get?.range).toBe(`bytes=${partial}-`);
    expect((await readFile(join(folder, UNET))).equals(FULL_FILES[UNET])).toBe(true);
    await expect(stat(`${blob}.incomplete`)).rejects.toThrow();
  });

  it('a partial file from another run (e.g. Python) is resumed from its size', async () => {
    const cacheDir = tempCache();
    const blob = blobOf(cacheDir, UNET);
    mkdirSync(join(blob, '..'), { recursive: true });
    writeFileSync(`${blob}.incomplete`, FULL_FILES[UNET].subarray(0, 1000));
    hub.requests.length = 0;
    const folder = await resolveModel(ID, { ...base(cacheDir), token: false });
    expect(hub.requests.find((r) => r.server === 'cdn' && r.file === UNET)?.range).toBe('bytes=1000-');
    expect((await readFile(join(folder, UNET))).equals(FULL_FILES[UNET])).toBe(true);
  });

  it('a partial file that is not a prefix of the blob fails the sha256 check and is deleted', async () => {
    const cacheDir = tempCache();
    const blob = blobOf(cacheDir, UNET);
    mkdirSync(join(blob, '..'), { recursive: true });
    writeFileSync(`${blob}.incomplete`, Buffer.alloc(1000, 7));
    const err = await fail(resolveModel(ID, { ...base(cacheDir), token: false }));
    expect(err.code).toBe('HUB_DOWNLOAD_FAILED');
    expect(err.message).toContain(`${UNET}: the downloaded bytes have sha256`);
    await expect(stat(`${blob}.incomplete`)).rejects.toThrow();
    await expect(stat(blob)).rejects.toThrow();
    await expect(resolveModel(ID, { ...base(cacheDir), token: false })).resolves.toMatch(/snapshots/);
  });
});
