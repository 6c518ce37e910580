// `latentlab serve`'s AUTOMATIC1111 routes on a real server on loopback, with the tiny model:
// A1111's own payloads, the same image as the CLI bit for bit, img2img, progress with a preview
// and interrupt mid-job, the listing routes, options (switching models), png-info, /openapi.json.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeImage, pngText } from '../../src/node.js';
import type { RunningServer } from '../../src/server/start.js';
import { runCli, tempDir } from '../cli/run-cli.js';
import { A1111_TXT2IMG, call, start, TINY, TINY_SD2, until } from './helpers.js';

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await start({ models: [TINY, TINY_SD2] });
  base = server.url;
});
afterAll(async () => server?.stop());

const png = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('A1111 txt2img / img2img', () => {
  it('answers A1111\'s own test payload with a 64×64 PNG carrying the infotext, and info as A1111 writes it', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', A1111_TXT2IMG);
    expect(r.status).toBe(200);
    expect(r.body.images).toHaveLength(1);
    const image = await decodeImage(png(r.body.images[0]));
    expect([image.width, image.height]).toEqual([64, 64]);
    const info = JSON.parse(r.body.info);
    expect(info.all_seeds).toHaveLength(1);
    expect(info.seed).toBeGreaterThanOrEqual(0);
    expect(info.sampler_name).toBe('Euler a');
    expect(info.infotexts[0]).toMatch(/^example prompt\nSteps: 3, Sampler: Euler a, CFG scale: 7, Seed: \d+, Size: 64x64, Model: tiny-sd15/);
    expect(pngText(png(r.body.images[0])).parameters).toBe(info.infotexts[0]);
    expect(r.body.parameters).toEqual(A1111_TXT2IMG);
    expect(info.ignored).toEqual([]);
  });

  it('gives the image `latentlab generate` gives for the same seed and settings, bit for bit (and the same infotext)', async () => {
    const dir = tempDir('latentlab-serve-');
    const out = join(dir, 'cli.png');
    const cli = await runCli(['generate', '--model', TINY, '--prompt', 'a red cube', '--negative-prompt', 'blurry', '--steps', '4', '--seed', '1234',
      '--scheduler', 'DPM++ 2M Karras', '--guidance', '6.5', '--width', '64', '--height', '64', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', {
      prompt: 'a red cube', negative_prompt: 'blurry', steps: 4, seed: 1234, sampler_name: 'DPM++ 2M', scheduler: 'Karras', cfg_scale: 6.5, width: 64, height: 64,
    });
    expect(r.status).toBe(200);
    const fromCli = readFileSync(out);
    const [a, b] = [await decodeImage(new Uint8Array(fromCli)), await decodeImage(png(r.body.images[0]))];
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
    const cliText = pngText(new Uint8Array(fromCli)).parameters;
    const serverText = pngText(png(r.body.images[0])).parameters;
    expect(serverText.replace(/Version: latentlab [^,]*/, '')).toBe(cliText.replace(/Version: latentlab [^,]*/, ''));
  });

  it('batch_size × n_iter images, image k with seed + k (A1111\'s all_seeds); ignored fields are named in info', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 10, batch_size: 2, n_iter: 2, steps: 2, restore_faces: true, alwayson_scripts: { ControlNet: {} } });
    expect(r.status).toBe(200);
    const info = JSON.parse(r.body.info);
    expect(r.body.images).toHaveLength(4);
    expect(info.all_seeds).toEqual([10, 11, 12, 13]);
    expect(info.ignored).toEqual(['restore_faces', 'alwayson_scripts: ControlNet']);
    const single = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 12, steps: 2 });
    const [x, y] = [await decodeImage(png(r.body.images[2])), await decodeImage(png(single.body.images[0]))];
    expect(Buffer.from(x.data).equals(Buffer.from(y.data))).toBe(true);
  });

  it('img2img from a base64 PNG and from a data: URL gives the same image; the CLI agrees', async () => {
    const t = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 3 });
    const init = t.body.images[0];
    const body = { prompt: 'a blue cube', steps: 4, denoising_strength: 0.5, seed: 9, width: 64, height: 64, sampler_name: 'Euler', cfg_scale: 7 };
    const [r1, r2] = [
      await call(base, 'POST', '/sdapi/v1/img2img', { ...body, init_images: [init] }),
      await call(base, 'POST', '/sdapi/v1/img2img', { ...body, init_images: [`data:image/png;base64,${init}`] }),
    ];
    expect(r1.status, JSON.stringify(r1.body).slice(0, 300)).toBe(200);
    expect(r2.body.images[0]).toBe(r1.body.images[0]);
    expect(JSON.parse(r1.body.info).denoising_strength).toBe(0.5);
    const dir = tempDir('latentlab-serve-');
    const input = join(dir, 'in.png');
    (await import('node:fs')).writeFileSync(input, png(init));
    const out = join(dir, 'out.png');
    const cli = await runCli(['img2img', '--model', TINY, '--image', input, '--prompt', 'a blue cube', '--steps', '4', '--strength', '0.5', '--seed', '9', '--scheduler', 'Euler', '--guidance', '7', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    const [a, b] = [await decodeImage(new Uint8Array(readFileSync(out))), await decodeImage(png(r1.body.images[0]))];
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
  });

  it('progress shows the running job with a preview; interrupt stops it after the current step', async () => {
    const running = call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 150, seed: 1 });
    const p = await until(() => call(base, 'GET', '/sdapi/v1/progress'), (a) => a.body.state.sampling_step >= 2 && a.body.current_image !== null);
    expect(p.body.state.sampling_steps).toBe(150);
    expect(p.body.progress).toBeGreaterThan(0);
    expect(p.body.progress).toBeLessThan(1);
    expect(p.body.state.job).toMatch(/^task\(/);
    const preview = await decodeImage(png(p.body.current_image));
    expect([preview.width, preview.height]).toEqual([8, 8]); // the latents' size
    expect((await call(base, 'GET', '/sdapi/v1/progress?skip_current_image=true')).body.current_image).toBeNull();
    expect((await call(base, 'POST', '/sdapi/v1/interrupt')).body).toEqual({});
    const r = await running;
    expect(r.status).toBe(200);
    expect(r.body.images).toEqual([]);
    expect(JSON.parse(r.body.info).interrupted).toBe(true);
    const idle = await call(base, 'GET', '/sdapi/v1/progress');
    expect(idle.body).toMatchObject({ progress: 0, current_image: null, state: { job_count: 0 } });
  });
});

describe('A1111 listing, options and png-info routes', () => {
  it('the routes A1111 clients call at start answer with lists (empty where latentlab has none)', async () => {
    const lists = ['sd-models', 'samplers', 'schedulers', 'upscalers', 'hypernetworks', 'face-restorers', 'realesrgan-models', 'prompt-styles', 'loras', 'sd-vae', 'latent-upscale-modes'];
    for (const path of lists) {
      const r = await call(base, 'GET', `/sdapi/v1/${path}`);
      expect(r.status, path).toBe(200);
      expect(Array.isArray(r.body), path).toBe(true);
    }
    const models = (await call(base, 'GET', '/sdapi/v1/sd-models')).body;
    expect(models.map((m: { title: string }) => m.title)).toEqual(['tiny-sd15', 'tiny-sd2']);
    const samplers = (await call(base, 'GET', '/sdapi/v1/samplers')).body.map((s: { name: string }) => s.name);
    expect(samplers).toEqual(expect.arrayContaining(['Euler a', 'Euler', 'DPM++ 2M', 'DPM++ 2M Karras', 'DDIM', 'PLMS', 'UniPC', 'LMS']));
    expect((await call(base, 'GET', '/sdapi/v1/embeddings')).body).toEqual({ loaded: {}, skipped: {} });
    expect((await call(base, 'GET', '/sdapi/v1/cmd-flags')).body.api).toBe(true);
  });

  it('sd_model_checkpoint switches the model (options and override_settings); an unlisted name is a 422 naming the field', async () => {
    expect((await call(base, 'GET', '/sdapi/v1/options')).body.sd_model_checkpoint).toBe('tiny-sd15');
    const bad = await call(base, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: '../../etc/passwd' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toMatch(/sd_model_checkpoint is "..\/..\/etc\/passwd"; expected one of the listed models: "tiny-sd15", "tiny-sd2"/);
    expect((await call(base, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: 'tiny-sd2' })).status).toBe(200);
    expect((await call(base, 'GET', '/sdapi/v1/options')).body.sd_model_checkpoint).toBe('tiny-sd2');
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 2 });
    expect(JSON.parse(r.body.info).sd_model_name).toBe('tiny-sd2');
    await call(base, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: 'tiny-sd15' });
    const o = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 2, override_settings: { sd_model_checkpoint: 'tiny-sd2', CLIP_stop_at_last_layers: 2 } });
    const info = JSON.parse(o.body.info);
    expect(info.sd_model_name).toBe('tiny-sd2');
    expect(info.ignored).toEqual(['override_settings.CLIP_stop_at_last_layers']);
    expect((await call(base, 'GET', '/sdapi/v1/options')).body.sd_model_checkpoint).toBe('tiny-sd15');
  });

  it('png-info reads back the settings of a generated PNG', async () => {
    const t = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 77, steps: 2, negative_prompt: 'ugly' });
    const r = await call(base, 'POST', '/sdapi/v1/png-info', { image: `data:image/png;base64,${t.body.images[0]}` });
    expect(r.status).toBe(200);
    expect(r.body.info).toBe(JSON.parse(t.body.info).infotexts[0]);
    expect(r.body.parameters).toMatchObject({ Prompt: 'example prompt', 'Negative prompt': 'ugly', Steps: '2', Seed: '77', Sampler: 'Euler a', 'Size-1': '64', 'Size-2': '64' });
  });

  it('/openapi.json describes every route with the request schemas the server validates with; /docs lists them', async () => {
    const doc = (await call(base, 'GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.0.3');
    const t2i = doc.paths['/sdapi/v1/txt2img'].post.requestBody.content['application/json'].schema;
    expect(t2i.properties.steps.type).toBe('integer');
    expect(t2i.properties.sampler_name.description).toMatch(/sampler/);
    expect(doc.paths['/v1/jobs/{id}/events'].get).toBeDefined();
    const page = await call(base, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.body).toContain('/sdapi/v1/img2img');
  });
});
