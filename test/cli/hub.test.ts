// --model <Hub id> through the real command, against the local fake Hub (test/platform/hub-server.ts):
// the first run downloads into HF_HUB_CACHE, a second run with HF_HUB_OFFLINE=1 and no Hub at all
// uses the cache, and the images agree with the same model loaded from its folder.

import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readImage, readPngText } from '../../src/node.js';
import { COMMIT, ID, makeRepos } from '../platform/hub-repos.js';
import { FakeHub } from '../platform/hub-server.js';
import { parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start(await makeRepos());
});
afterAll(async () => hub?.close());

const settings = ['--prompt', 'a lighthouse', '--steps', '3', '--scheduler', 'euler', '--seed', '5'];

describe('latentlab with a Hub model id', () => {
  it('downloads into the Hub cache, then works offline, with the local folder\'s pixels', async () => {
    const home = tempDir('latentlab-cli-hf-');
    const cache = join(home, 'hub');
    const dir = tempDir();
    const online = { HF_HOME: home, HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint };

    const first = await runCli(['generate', '--model', ID, ...settings, '--out', join(dir, 'hub.png'), '--json'], { env: online });
    expect(first.code, first.stderr).toBe(0);
    const report = parseReport(first);
    expect(report.settings.model).toBe(ID);
    expect(report.settings.folder).toBe(join(cache, 'models--latentlab-test--tiny-sd15', 'snapshots', COMMIT));
    expect(hub.requests.some((q) => q.file === 'unet/diffusion_pytorch_model.safetensors')).toBe(true);
    expect((await readPngText(join(dir, 'hub.png'))).parameters).toMatch(/Model: latentlab-test\/tiny-sd15/);

    const dead = await FakeHub.start([]);
    await dead.close();
    const offline = { ...online, HF_ENDPOINT: dead.endpoint, HF_HUB_OFFLINE: '1' };
    const [again, tokens, local, unreachable] = await Promise.all([
      runCli(['generate', '--model', ID, ...settings, '--out', join(dir, 'offline.png')], { env: offline }),
      runCli(['tokenize', '--model', ID, '--prompt', 'a lighthouse', '--json'], { env: offline }),
      runCli(['generate', '--model', TINY_SD15, ...settings, '--out', join(dir, 'local.png')]),
      runCli(['schedule', '--model', ID, '--steps', '3', '--json'], { env: { ...online, HF_ENDPOINT: dead.endpoint } }),
    ]);
    for (const r of [again, tokens, local, unreachable]) expect(r.code, r.stderr).toBe(0);
    // Not offline, but the Hub cannot be reached: the cache is used, and the command says so.
    expect(unreachable.stderr).toMatch(/^latentlab: warning: .*using the cached snapshot/m);
    expect(parseReport(unreachable).warnings).toEqual([expect.stringMatching(/using the cached snapshot/)]);
    expect(parseReport(tokens).prompts[0].inputIds.slice(0, 4)).toEqual([49406, 320, 13717, 49407]); // <|startoftext|> a</w> lighthouse</w> <|endoftext|>
    const [a, b, c] = await Promise.all(['hub.png', 'offline.png', 'local.png'].map((f) => readImage(join(dir, f))));
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
    expect(Buffer.from(c.data).equals(Buffer.from(a.data))).toBe(true);
  });

  it('offline with an id that is not cached: says what is missing and how to get it', async () => {
    const home = tempDir('latentlab-cli-hf-');
    const dir = tempDir();
    const r = await runCli(['generate', '--model', ID, ...settings, '--out', join(dir, 'x.png')], { env: { HF_HOME: home, HF_HUB_OFFLINE: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MODEL_NOT_FOUND.*latentlab-test\/tiny-sd15 \(revision main\) is not in the Hugging Face cache .*offline mode/);
    expect(r.stderr).toMatch(/hint: with network \(and HF_HUB_OFFLINE unset\), run `latentlab generate --model latentlab-test\/tiny-sd15/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
