// A real server on a loopback port for the tests, and a small fetch client for it.

import '../../src/platform/node/index.js';

import { type RunningServer, type ServerSettings, startServer } from '../../src/server/start.js';
import { fixturePath } from '../helpers/fixtures.js';

export const TINY = fixturePath('pipelines', 'tiny-sd15');
export const TINY_SD2 = fixturePath('pipelines', 'tiny-sd2');

/** A1111's own test payload (test/test_txt2img.py), at 64×64 and 3 steps. */
export const A1111_TXT2IMG = {
  batch_size: 1, cfg_scale: 7, denoising_strength: 0, enable_hr: false, eta: 0, firstphase_height: 0, firstphase_width: 0, height: 64, n_iter: 1,
  negative_prompt: '', prompt: 'example prompt', restore_faces: false, s_churn: 0, s_noise: 1, s_tmax: 0, s_tmin: 0, sampler_index: 'Euler a', seed: -1,
  seed_resize_from_h: -1, seed_resize_from_w: -1, steps: 3, styles: [], subseed: -1, subseed_strength: 0, tiling: false, width: 64,
};

export async function start(settings: Partial<ServerSettings> = {}): Promise<RunningServer> {
  return startServer({ models: [TINY], port: 0, version: 'test', ...settings });
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (the /docs page)
  }
  return { status: r.status, body: parsed, headers: r.headers };
}

/** Polls until `test` holds (bounded: at most `ms`). */
export async function until<T>(get: () => Promise<T>, test: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (test(v)) return v;
    if (Date.now() > end) throw new Error(`condition not reached in ${ms} ms; last value ${JSON.stringify(v)?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
