// The queue scaled out on a real redis-server: `latentlab serve --queue` (in this process) and two
// `latentlab worker` processes. Queued jobs survive a server restart; progress and cancel travel
// through Redis; a worker killed with SIGKILL mid-job loses nothing: the job completes on the other
// worker, once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeImage } from '../../src/node.js';
import type { RunningServer } from '../../src/server/start.js';
import { A1111_TXT2IMG, call, start, TINY, until } from './helpers.js';
import { type Child, startRedis, startWorkerProcess } from './redis.js';

let redis: { url: string; server: Child };
let server: RunningServer;
const workers: Record<string, Child> = {};

beforeAll(async () => {
  redis = await startRedis();
  server = await start({ queueUrl: redis.url });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  for (const w of Object.values(workers)) await w.stop('SIGKILL');
  await redis?.server.stop();
});

const job = (request: Record<string, unknown>) => ({ kind: 'txt2img', request: { ...A1111_TXT2IMG, ...request } });

describe('BullMQ queue', () => {
  it('queued jobs survive a server restart, and run once workers start', async () => {
    const a = await call(server.url, 'POST', '/v1/jobs', job({ seed: 1 }));
    const b = await call(server.url, 'POST', '/v1/jobs', job({ seed: 2 }));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect((await call(server.url, 'GET', `/v1/jobs/${b.body.id}`)).body).toMatchObject({ state: 'queued', position: 1 });
    await server.stop();
    server = await start({ queueUrl: redis.url });
    expect((await call(server.url, 'GET', `/v1/jobs/${a.body.id}`)).body).toMatchObject({ state: 'queued', position: 0 });
    [workers.w1, workers.w2] = await Promise.all([startWorkerProcess(redis.url, TINY, 'w1'), startWorkerProcess(redis.url, TINY, 'w2')]);
    for (const id of [a.body.id, b.body.id]) {
      const done = await until(() => call(server.url, 'GET', `/v1/jobs/${id}`), (r) => r.body.state === 'completed', 120_000);
      expect(done.body.result.images).toHaveLength(1);
      expect(['w1', 'w2']).toContain(done.body.result.info.worker);
    }
  }, 300_000);

  it('A1111 txt2img through the queue gives the in-process server\'s image', async () => {
    const r = await call(server.url, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 42 });
    expect(r.status).toBe(200);
    const local = await start();
    try {
      const l = await call(local.url, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 42 });
      const [x, y] = [await decodeImage(new Uint8Array(Buffer.from(r.body.images[0], 'base64'))), await decodeImage(new Uint8Array(Buffer.from(l.body.images[0], 'base64')))];
      expect(Buffer.from(x.data).equals(Buffer.from(y.data))).toBe(true);
    } finally {
      await local.stop();
    }
  }, 120_000);

  it('progress with a preview reaches /progress, and DELETE cancels a running job on its worker', async () => {
    const j = await call(server.url, 'POST', '/v1/jobs', job({ steps: 150, seed: 5 }));
    await until(() => call(server.url, 'GET', `/v1/jobs/${j.body.id}`), (r) => (r.body.progress?.step ?? 0) >= 2);
    const p = await call(server.url, 'GET', '/sdapi/v1/progress');
    expect(p.body.state.sampling_steps).toBe(150);
    expect(typeof p.body.current_image).toBe('string');
    await call(server.url, 'DELETE', `/v1/jobs/${j.body.id}`);
    const done = await until(() => call(server.url, 'GET', `/v1/jobs/${j.body.id}`), (r) => r.body.state !== 'running', 60_000);
    expect(done.body.state).toBe('cancelled');
    expect(done.body.progress.step).toBeLessThan(150);
  }, 120_000);

  it('kill -9 of the worker running a job: the job completes on the other worker, exactly once', async () => {
    const j = await call(server.url, 'POST', '/v1/jobs', job({ steps: 40, seed: 8 }));
    const running = await until(() => call(server.url, 'GET', `/v1/jobs/${j.body.id}`), (r) => (r.body.progress?.step ?? 0) >= 2);
    const victim = running.body.worker as 'w1' | 'w2';
    const other = victim === 'w1' ? 'w2' : 'w1';
    await workers[victim].stop('SIGKILL');
    const done = await until(() => call(server.url, 'GET', `/v1/jobs/${j.body.id}`), (r) => r.body.state === 'completed' || r.body.state === 'failed', 180_000);
    expect(done.body.state).toBe('completed');
    expect(done.body.result.info.worker).toBe(other);
    expect(done.body.attempts).toBe(2); // started twice, completed once (the killed worker never finished it)
    expect(done.body.result.images).toHaveLength(1);
  }, 300_000);
});
