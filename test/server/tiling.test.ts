// `tiling: true` on POST /sdapi/v1/txt2img is honoured (no longer in info.ignored): the image is
// the one `latentlab generate --tiling` makes with the same seed, bit for bit, its infotext says
// "Tiling: True" as A1111's does, and it is not the untiled image.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeImage, pngText } from '../../src/node.js';
import type { RunningServer } from '../../src/server/start.js';
import { runCli, tempDir } from '../cli/run-cli.js';
import { A1111_TXT2IMG, call, start, TINY } from './helpers.js';

let server: RunningServer;

beforeAll(async () => {
  server = await start();
});
afterAll(async () => server?.stop());

const png = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('A1111 tiling', () => {
  it('tiling: true runs the tiled networks, is not ignored, writes "Tiling: True", and matches `latentlab generate --tiling`', async () => {
    const body = { ...A1111_TXT2IMG, seed: 21, sampler_name: 'Euler', sampler_index: undefined, eta: undefined }; // no eta: the CLI writes none
    const tiled = await call(server.url, 'POST', '/sdapi/v1/txt2img', { ...body, tiling: true });
    expect(tiled.status, JSON.stringify(tiled.body).slice(0, 300)).toBe(200);
    const info = JSON.parse(tiled.body.info);
    expect(info.ignored).toEqual([]);
    expect(info.infotexts[0]).toMatch(/, Tiling: True, /);
    expect(pngText(png(tiled.body.images[0])).parameters).toBe(info.infotexts[0]);

    const plain = await call(server.url, 'POST', '/sdapi/v1/txt2img', body);
    expect(JSON.parse(plain.body.info).infotexts[0]).not.toMatch(/Tiling/);
    const [t, p] = [await decodeImage(png(tiled.body.images[0])), await decodeImage(png(plain.body.images[0]))];
    expect(Buffer.from(t.data).equals(Buffer.from(p.data)), 'the tiled image differs from the untiled one').toBe(false);

    const out = join(tempDir('latentlab-tiling-'), 'cli.png');
    const cli = await runCli(['generate', '--model', TINY, '--prompt', 'example prompt', '--steps', '3', '--seed', '21', '--scheduler', 'Euler', '--guidance', '7',
      '--width', '64', '--height', '64', '--tiling', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    const fromCli = readFileSync(out);
    expect(Buffer.from((await decodeImage(new Uint8Array(fromCli))).data).equals(Buffer.from(t.data))).toBe(true);
    expect(pngText(new Uint8Array(fromCli)).parameters.replace(/Version: latentlab [^,]*/, '')).toBe(info.infotexts[0].replace(/Version: latentlab [^,]*/, ''));
  });
});
