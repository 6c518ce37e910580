// The server's guards on a real loopback server: validation errors in A1111's shape naming the
// field, limits (413, 422, 429), auth (401), the job API with SSE progress and cancel mid-job, and
// a fuzz run of malformed requests after which the server still answers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RunningServer } from '../../src/server/start.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { A1111_TXT2IMG, call, start, until } from './helpers.js';

const IMG2IMG = { ...A1111_TXT2IMG, denoising_strength: 0.75 };

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await start({ limits: { maxBodyBytes: 64 * 1024, maxSteps: 200, maxImages: 4, maxPixels: 256 * 256, maxQueue: 2 } });
  base = server.url;
});
afterAll(async () => server?.stop());

async function sse(path: string, until: (type: string) => boolean): Promise<{ type: string; data: any }[]> {
  const r = await fetch(`${base}${path}`);
  const reader = r.body!.getReader();
  const events: { type: string; data: any }[] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += Buffer.from(value).toString('utf8');
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      events.push({ type, data });
      if (until(type)) {
        await reader.cancel();
        return events;
      }
    }
  }
}

describe('validation and limits', () => {
  it('a wrong type, a bad size, an unknown sampler, bad base64: 422 in A1111\'s shape, naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...A1111_TXT2IMG, steps: 'three' }, /^steps: /],
      [{ ...A1111_TXT2IMG, width: 65 }, /width is 65; expected a multiple of 8/],
      [{ ...A1111_TXT2IMG, sampler_index: 'Warp drive' }, /sampler_index is "Warp drive"; expected a sampler of GET \/sdapi\/v1\/samplers/],
      [{ ...A1111_TXT2IMG, steps: 1001 }, /steps is 1001; this server allows at most 200 steps/],
    ];
    for (const [body, message] of cases) {
      const r = await call(base, 'POST', '/sdapi/v1/txt2img', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(Object.keys(r.body)).toEqual(expect.arrayContaining(['error', 'detail', 'body', 'errors']));
      expect(r.body.errors).toMatch(message);
    }
    const v = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 'three' });
    expect(v.body.detail[0].loc).toEqual(['body', 'steps']);
    const img = await call(base, 'POST', '/sdapi/v1/img2img', { ...IMG2IMG, init_images: ['not*base64!'] });
    expect(img.status).toBe(422);
    expect(img.body.errors).toMatch(/init_images\[0\] is not base64 image data/);
    const notImage = await call(base, 'POST', '/sdapi/v1/img2img', { ...IMG2IMG, init_images: [Buffer.from('hello world, no image').toString('base64')] });
    expect(notImage.status).toBe(422);
    expect(notImage.body.errors).toMatch(/init_images\[0\]: cannot decode the image/);
    const missing = await call(base, 'POST', '/sdapi/v1/img2img', { prompt: 'x' });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0].loc).toEqual(['body', 'init_images']);
    const notJson = await call(base, 'POST', '/sdapi/v1/txt2img', '{"prompt": ');
    expect(notJson.status).toBe(422);
    expect(notJson.body.errors).toMatch(/not JSON/);
  });

  it('a PNG bomb (a small file of huge declared size) is refused before decoding', async () => {
    const sharp = (await import('sharp')).default;
    const bomb = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r = await call(base, 'POST', '/sdapi/v1/img2img', { ...IMG2IMG, init_images: [bomb.toString('base64')] });
    expect(r.status).toBe(422);
    expect(r.body.errors).toMatch(/init_images\[0\]: cannot decode the image \(.*pixel limit/i);
  });

  it('a body over the limit is 413; too many images or pixels a 422; unknown routes 404', async () => {
    const big = await call(base, 'POST', '/sdapi/v1/txt2img', { prompt: 'x'.repeat(100_000) });
    expect(big.status).toBe(413);
    expect((await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, batch_size: 3, n_iter: 2 })).body.errors).toMatch(/at most 4 images per request/);
    expect((await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, width: 512, height: 512 })).status).toBe(422);
    expect((await call(base, 'GET', '/sdapi/v1/nothing')).status).toBe(404);
  });
});

describe('the job API', () => {
  it('POST /v1/jobs answers at once; SSE gives state, started, steps with previews, completed; the queue is FIFO and full at 2 (429)', async () => {
    const long = { kind: 'txt2img', request: { ...A1111_TXT2IMG, steps: 200, seed: 1 } };
    const first = await call(base, 'POST', '/v1/jobs', long);
    expect(first.status).toBe(202);
    await until(() => call(base, 'GET', `/v1/jobs/${first.body.id}`), (a) => a.body.state === 'running');
    const second = await call(base, 'POST', '/v1/jobs', { kind: 'txt2img', request: { ...A1111_TXT2IMG, steps: 3, seed: 2 } });
    const third = await call(base, 'POST', '/v1/jobs', { kind: 'txt2img', request: { ...A1111_TXT2IMG, steps: 3, seed: 3 } });
    expect([second.body.position, third.body.position]).toEqual([0, 1]);
    const full = await call(base, 'POST', '/v1/jobs', { kind: 'txt2img', request: A1111_TXT2IMG });
    expect(full.status).toBe(429);
    expect(full.body.error).toBe('QUEUE_FULL');
    const events = sse(`/v1/jobs/${second.body.id}/events`, (t) => t === 'completed' || t === 'failed' || t === 'cancelled');
    // cancel the running job mid-way: the queued ones then run
    await until(() => call(base, 'GET', `/v1/jobs/${first.body.id}`), (a) => (a.body.progress?.step ?? 0) >= 2);
    expect((await call(base, 'DELETE', `/v1/jobs/${first.body.id}`)).status).toBe(200);
    const got = await events;
    const types = got.map((e) => e.type);
    expect(types[0]).toBe('state');
    expect(got[0].data.state).toBe('queued');
    expect(types).toContain('started');
    expect(types.at(-1)).toBe('completed');
    const steps = got.filter((e) => e.type === 'step');
    expect(steps.length).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(steps[0].data.preview, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(got.at(-1)!.data.result.images).toHaveLength(1);
    expect((await call(base, 'GET', `/v1/jobs/${first.body.id}`)).body.state).toBe('cancelled');
    await until(() => call(base, 'GET', `/v1/jobs/${third.body.id}`), (a) => a.body.state === 'completed');
    expect((await call(base, 'GET', '/v1/jobs/nope')).status).toBe(404);
  });

  it('a job whose request fails records the error (422 in A1111\'s routes)', async () => {
    const r = await call(base, 'POST', '/v1/jobs', { kind: 'img2img', request: { ...IMG2IMG, init_images: ['AAAA'] } });
    const done = await until(() => call(base, 'GET', `/v1/jobs/${r.body.id}`), (a) => a.body.state === 'failed');
    expect(done.body.error).toMatchObject({ code: 'IMAGE_DECODE', status: 422 });
  });
});

describe('fuzz', () => {
  it('2,000 malformed requests all get a 4xx and the server still answers', async () => {
    const rnd = mulberry32(14);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const junk = () => pick<unknown>([null, -1, 1e309, 'x', '', [], {}, [1, 'a'], true, 2 ** 60, 'A'.repeat(300), -0.5, { $ne: 1 }]);
    const fields = ['steps', 'width', 'height', 'batch_size', 'n_iter', 'seed', 'cfg_scale', 'sampler_name', 'override_settings', 'denoising_strength', 'init_images', 'prompt', 'subseed_strength'];
    const paths = ['/sdapi/v1/txt2img', '/sdapi/v1/img2img', '/sdapi/v1/options', '/sdapi/v1/png-info', '/v1/jobs'];
    const statuses = new Map<number, number>();
    const requests = Array.from({ length: 2000 }, () => {
      const path = pick(paths);
      const kind = rnd();
      let body: unknown;
      if (kind < 0.15 && path !== '/sdapi/v1/options') body = pick(['{', '[1,', 'null', '"str"', '{"prompt": "\u0000', '\u00ff\u00fe', '{"steps": 1e999}']);
      else if (path === '/v1/jobs') body = { kind: pick(['txt2img', 'img2img', 'nope', 3]), request: { ...A1111_TXT2IMG, [pick(fields)]: junk(), steps: pick([0, -3, 'x', 1e9]) } };
      else if (path === '/sdapi/v1/options') body = { sd_model_checkpoint: junk() };
      else if (path === '/sdapi/v1/png-info') body = { image: pick([junk(), 'iVBORw0KGgo=', `data:image/png;base64,${'A'.repeat(Math.floor(rnd() * 50))}`]) };
      else body = { ...A1111_TXT2IMG, [pick(fields)]: junk(), steps: pick([0, -3, 'x', 1e9, 201]) };
      return { path, text: typeof body === 'string' ? body : JSON.stringify(body) };
    });
    const bad: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < requests.length) {
        const { path, text } = requests[next++];
        const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status < 400 || r.status >= 500) bad.push(`${path} ${text.slice(0, 200)} → ${r.status}`);
      }
    };
    await Promise.all([client(), client(), client(), client()]); // 4 clients at once
    expect(bad).toEqual([]);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    expect((await call(base, 'GET', '/health')).body).toEqual({ ok: true });
    expect(server.queue.constructor.name === 'LocalQueue' && (server.queue as unknown as { sizes: { waiting: number } }).sizes.waiting).toBe(0);
  }, 600_000);
});

describe('auth', () => {
  it('--api-auth and bearer tokens: 401 with WWW-Authenticate without them, 200 with either', async () => {
    const s = await start({ basicAuth: ['alice:s3cret', 'bob:pw'], tokens: ['tok-123'] });
    try {
      const none = await call(s.url, 'GET', '/sdapi/v1/sd-models');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Basic');
      const wrong = await call(s.url, 'GET', '/sdapi/v1/sd-models', undefined, { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` });
      expect(wrong.status).toBe(401);
      const basic = await call(s.url, 'GET', '/sdapi/v1/sd-models', undefined, { authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` });
      expect(basic.status).toBe(200);
      expect((await call(s.url, 'GET', '/openapi.json', undefined, { authorization: 'Bearer tok-123' })).status).toBe(200);
      expect((await call(s.url, 'GET', '/openapi.json', undefined, { authorization: 'Bearer tok-12' })).status).toBe(401);
    } finally {
      await s.stop();
    }
  });
});

describe('graceful stop', () => {
  it('stop() lets the running request finish with its image, cancels the queued one, then refuses connections', async () => {
    const s = await start();
    const running = call(s.url, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 12, seed: 1 });
    await until(() => call(s.url, 'GET', '/sdapi/v1/progress'), (a) => a.body.state.sampling_step >= 1);
    const queued = call(s.url, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 3, seed: 2 });
    await until(() => s.queue.running(), () => (s.queue as unknown as { sizes: { waiting: number } }).sizes.waiting === 1);
    const stopping = s.stop();
    const [r, q] = await Promise.all([running, queued]);
    await stopping;
    expect(r.status).toBe(200);
    expect(r.body.images).toHaveLength(1);
    expect(JSON.parse(q.body.info).interrupted).toBe(true);
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();
  });
});
