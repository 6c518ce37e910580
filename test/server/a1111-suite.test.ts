// AUTOMATIC1111's own API tests (test/test_txt2img.py, test_img2img.py, test_utils.py: each posts a
// payload and expects 200) on the tiny models at 64×64, plus the features they exercise: the hires
// fix (the library's hiresFix, bit for bit), inpainting through img2img's mask, `<lora:name:w>`
// tags with --lora-dir, and the listing routes for them.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRgbImage, decodeImage, embeddingShortHash, encodePng, hiresFix, loraShortHash, parseA1111Parameters, pngText, type RgbImage, StableDiffusionPipeline } from '../../src/node.js';
import type { RunningServer } from '../../src/server/start.js';
import { fixturePath } from '../helpers/fixtures.js';
import { runCli, tempDir } from '../cli/run-cli.js';
import { A1111_TXT2IMG, call, start, TINY } from './helpers.js';

const TINY_INPAINT = fixturePath('pipelines', 'tiny-sd15-inpaint');
const LORA = fixturePath('lora', 'tiny-sd15-lora.kohya.safetensors');
const loraDir = tempDir('latentlab-loras-');
copyFileSync(LORA, join(loraDir, 'style.safetensors'));
const TI = (f: string) => fixturePath('reference', 'tiny-sd15', 'textual_inversion', f);
const embeddingsDir = tempDir('latentlab-embeddings-');
copyFileSync(TI('learned_embeds.bin'), join(embeddingsDir, 'my-toy.bin'));
copyFileSync(TI('my-style.pt'), join(embeddingsDir, 'oil-paint.pt'));
const cliEmbeddings = tempDir('latentlab-embeddings-'); // the same, without the file no model takes
copyFileSync(TI('learned_embeds.bin'), join(cliEmbeddings, 'my-toy.bin'));
copyFileSync(TI('my-style.pt'), join(cliEmbeddings, 'oil-paint.pt'));
copyFileSync(LORA, join(embeddingsDir, 'zz-not-an-embedding.safetensors'));

let server: RunningServer;
let base: string;
let init: string; // a 64×64 PNG, base64: A1111's test_files/img2img_basic.png stand-in
let mask: string; // its mask: the left half white (repaint), the right half black (keep)

const png = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const b64 = async (image: RgbImage) => Buffer.from(await encodePng(image)).toString('base64');
const same = (a: RgbImage, b: RgbImage) => Buffer.from(a.data).equals(Buffer.from(b.data));

beforeAll(async () => {
  server = await start({ models: [TINY, TINY_INPAINT], loraDir, embeddingsDir });
  base = server.url;
  init = (await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, seed: 3 })).body.images[0];
  const m = createRgbImage(64, 64);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 32; x++) m.data.fill(255, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
  mask = await b64(m);
});
afterAll(async () => server?.stop());

/** A1111's test_img2img.py payload, at 64×64 and 3 steps. */
const img2imgRequest = () => ({
  batch_size: 1, cfg_scale: 7, denoising_strength: 0.75, eta: 0, height: 64, include_init_images: false, init_images: [init], inpaint_full_res: false,
  inpaint_full_res_padding: 0, inpainting_fill: 0, inpainting_mask_invert: false, mask: null, mask_blur: 4, n_iter: 1, negative_prompt: '', override_settings: {},
  prompt: 'example prompt', resize_mode: 0, restore_faces: false, s_churn: 0, s_noise: 1, s_tmax: 0, s_tmin: 0, sampler_index: 'Euler a', seed: -1,
  seed_resize_from_h: -1, seed_resize_from_w: -1, steps: 3, styles: [], subseed: -1, subseed_strength: 0, tiling: false, width: 64,
});

async function expectPngs(r: { status: number; body: any }, width: number, height: number, count = 1): Promise<RgbImage[]> {
  expect(r.status, JSON.stringify(r.body).slice(0, 400)).toBe(200);
  expect(r.body.images).toHaveLength(count);
  const images = await Promise.all(r.body.images.map((i: string) => decodeImage(png(i))));
  for (const i of images) expect([i.width, i.height]).toEqual([width, height]);
  return images;
}

describe('A1111 test_txt2img.py', () => {
  const cases: [string, Record<string, unknown>, number, number, number][] = [
    ['simple', {}, 64, 64, 1],
    ['with negative prompt', { negative_prompt: 'example negative prompt' }, 64, 64, 1],
    ['with complex prompt', { prompt: '((emphasis)), (emphasis1:1.1), [to:1], [from::2], [from:to:0.3], [alt|alt1]' }, 64, 64, 1],
    ['not square image', { height: 128 }, 64, 128, 1],
    ['with hrfix (denoising_strength 0: the upscaled picture, no second pass)', { enable_hr: true }, 128, 128, 1],
    ['with tiling', { tiling: true }, 64, 64, 1],
    ['with restore faces', { restore_faces: true }, 64, 64, 1],
    ...(['PLMS', 'DDIM', 'UniPC'].map((s) => [`with vanilla sampler ${s}`, { sampler_index: s }, 64, 64, 1]) as [string, Record<string, unknown>, number, number, number][]),
    ['multiple batches', { n_iter: 2 }, 64, 64, 2],
    ['batch', { batch_size: 2 }, 64, 64, 2],
  ];
  it.each(cases)('%s', async (_name, change, width, height, count) => {
    await expectPngs(await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, ...change }), width, height, count);
  });
});

describe('A1111 test_img2img.py', () => {
  it.each([
    ['simple', {}],
    ['inpainting masked', { mask: 'MASK' }],
    ['inpainting with inverted mask', { mask: 'MASK', inpainting_mask_invert: true }],
    ['sd upscale script (accepted, reported as ignored)', { script_name: 'sd upscale', script_args: ['', 8, 'Lanczos', 2.0] }],
  ])('%s', async (_name, change: Record<string, unknown>) => {
    const body = { ...img2imgRequest(), ...change, ...(change.mask ? { mask } : {}) };
    await expectPngs(await call(base, 'POST', '/sdapi/v1/img2img', body), 64, 64);
  });
});

describe('A1111 test_utils.py', () => {
  it('options write: send_seed flips and reads back', async () => {
    const before = (await call(base, 'GET', '/sdapi/v1/options')).body.send_seed;
    expect(typeof before).toBe('boolean');
    expect((await call(base, 'POST', '/sdapi/v1/options', { send_seed: !before })).status).toBe(200);
    expect((await call(base, 'GET', '/sdapi/v1/options')).body.send_seed).toBe(!before);
    await call(base, 'POST', '/sdapi/v1/options', { send_seed: before });
  });

  it.each(['cmd-flags', 'samplers', 'upscalers', 'sd-models', 'hypernetworks', 'face-restorers', 'realesrgan-models', 'prompt-styles', 'embeddings'])('GET /sdapi/v1/%s', async (path) => {
    expect((await call(base, 'GET', `/sdapi/v1/${path}`)).status).toBe(200);
  });
});

describe('hires fix', () => {
  const hires = { ...A1111_TXT2IMG, seed: 21, enable_hr: true, hr_scale: 2, hr_upscaler: 'Latent', denoising_strength: 0.7, hr_second_pass_steps: 2, sampler_index: 'Euler' };

  it('gives the picture of the upscaled size that the library\'s hiresFix gives, bit for bit, and A1111\'s infotext', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', hires);
    const [image] = await expectPngs(r, 128, 128);
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY);
    const lib = await hiresFix(pipe, { prompt: 'example prompt', negativePrompt: '', numInferenceSteps: 3, guidanceScale: 7, width: 64, height: 64, seed: 21, scheduler: 'Euler', eta: 0 }, {
      width: 128, height: 128, upscaler: 'Latent', strength: 0.7, steps: 2,
    });
    expect(same(image, lib.images[0])).toBe(true);
    const info = JSON.parse(r.body.info);
    expect(info.infotexts[0]).toMatch(/Size: 64x64, .*Denoising strength: 0\.7, Hires upscale: 2, Hires steps: 2, Hires upscaler: Latent/);
    expect(info.extra_generation_params).toMatchObject({ 'Hires upscale': '2', 'Hires upscaler': 'Latent', 'Denoising strength': '0.7' });
    expect(info.ignored).toEqual([]);
    expect(pngText(png(r.body.images[0])).parameters).toBe(info.infotexts[0]);
  });

  it('picture upscalers, hr_resize_x/y with the crop, the legacy firstphase size, another hires sampler and prompt', async () => {
    await expectPngs(await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, hr_upscaler: 'Lanczos', hr_scale: 1.5 }), 96, 96);
    await expectPngs(await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, hr_upscaler: 'Nearest', height: 48, hr_resize_x: 128, hr_resize_y: 128 }), 128, 128);
    const legacy = await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, width: 128, height: 128, firstphase_width: 64, firstphase_height: 32 });
    await expectPngs(legacy, 128, 64);
    const other = await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, hr_sampler_name: 'DPM++ 2M', hr_prompt: 'a blue cube' });
    await expectPngs(other, 128, 128);
    const extra = parseA1111Parameters(JSON.parse(other.body.info).infotexts[0]).extra ?? {};
    expect(extra).toMatchObject({ 'Hires sampler': 'DPM++ 2M', 'Hires prompt': 'a blue cube' });
  });

  it('an unknown hr_upscaler is a 422 naming the field and the choices, as is a strength too small for the model\'s timesteps; the listing routes name them', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, hr_upscaler: 'R-ESRGAN 4x+' });
    expect(r.status).toBe(422);
    expect(r.body.key).toBe('hr_upscaler');
    expect(r.body.errors).toMatch(/hr_upscaler is "R-ESRGAN 4x\+"; expected one of "Latent", "Latent \(antialiased\)".*"Lanczos", "Nearest"/);
    for (const inherited of ['constructor', 'toString']) { // an object's inherited keys are no upscaler
      const o = await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, hr_upscaler: inherited });
      expect([o.status, o.body.key]).toEqual([422, 'hr_upscaler']);
    }
    const tiny = await call(base, 'POST', '/sdapi/v1/txt2img', { ...hires, denoising_strength: 0.001 });
    expect(tiny.status).toBe(422);
    expect(tiny.body.key).toBe('denoising_strength');
    expect(tiny.body.errors).toMatch(/needs a schedule of 2000 steps/);
    const modes = (await call(base, 'GET', '/sdapi/v1/latent-upscale-modes')).body.map((m: { name: string }) => m.name);
    expect(modes).toEqual(['Latent', 'Latent (antialiased)', 'Latent (bicubic)', 'Latent (bicubic antialiased)', 'Latent (nearest)', 'Latent (nearest-exact)']);
    const upscalers = (await call(base, 'GET', '/sdapi/v1/upscalers')).body.map((u: { name: string }) => u.name);
    expect(upscalers).toEqual(['None', 'Lanczos', 'Nearest']);
  });
});

describe('inpainting through /sdapi/v1/img2img', () => {
  const body = () => ({ ...img2imgRequest(), mask, seed: 4, inpainting_fill: 1, denoising_strength: 0.9 });

  it('repaints the white half and gives the original back outside the (blurred) mask, as A1111 overlays it', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/img2img', body());
    const [out] = await expectPngs(r, 64, 64);
    const original = await decodeImage(png(init));
    let inside = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const p = (y * 64 + x) * 3;
        const px = [0, 1, 2].map((c) => out.data[p + c]);
        const orig = [0, 1, 2].map((c) => original.data[p + c]);
        if (x >= 32 + 12) expect(px, `pixel ${x},${y}`).toEqual(orig); // beyond the blur's reach: the original's bytes
        if (x < 20 && px.some((v, c) => v !== orig[c])) inside++;
      }
    }
    expect(inside).toBeGreaterThan(100);
    const info = JSON.parse(r.body.info);
    expect(info.infotexts[0]).toMatch(/Denoising strength: 0\.9, Mask blur: 4/);
    expect(info.ignored).toEqual([]);
    // inverted: the left half is kept instead
    const inv = await call(base, 'POST', '/sdapi/v1/img2img', { ...body(), inpainting_mask_invert: 1 });
    const [flipped] = await expectPngs(inv, 64, 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 20; x++) expect(flipped.data[(y * 64 + x) * 3]).toBe(original.data[(y * 64 + x) * 3]);
  });

  it('reports what it does not do (fill 0, inpaint_full_res); runs an inpainting model; refuses a bad mask and txt2img on it', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/img2img', { ...body(), inpainting_fill: 0, inpaint_full_res: true });
    expect(JSON.parse(r.body.info).ignored).toEqual(['inpainting_fill: 0 (fill): inpainted as 1 (original)', 'inpaint_full_res (A1111\'s default true): the whole picture is inpainted']);
    const model = { override_settings: { sd_model_checkpoint: 'tiny-sd15-inpaint' } };
    const nine = await call(base, 'POST', '/sdapi/v1/img2img', { ...body(), ...model });
    await expectPngs(nine, 64, 64);
    expect(JSON.parse(nine.body.info).is_using_inpainting_conditioning).toBe(true);
    const t = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, ...model });
    expect(t.status).toBe(422);
    expect(t.body.errors).toMatch(/tiny-sd15-inpaint is an inpainting model/);
    const bad = await call(base, 'POST', '/sdapi/v1/img2img', { ...body(), mask: 'not an image!' });
    expect(bad.status).toBe(422);
    expect(bad.body.key).toBe('mask');
  });
});

describe('<lora:name:w> tags with --lora-dir', () => {
  it('GET /sdapi/v1/loras lists the folder by name, with the file\'s name only as path', async () => {
    const list = (await call(base, 'GET', '/sdapi/v1/loras')).body;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'style', path: 'style.safetensors' });
    expect(typeof list[0].metadata).toBe('object');
  });

  it('a tag changes the image, which equals the CLI\'s with --lora-dir, and records Lora hashes; without the tag the model is plain again', async () => {
    const req = { ...A1111_TXT2IMG, seed: 8, sampler_index: 'Euler', steps: 3 };
    const plain = await call(base, 'POST', '/sdapi/v1/txt2img', req);
    const tagged = await call(base, 'POST', '/sdapi/v1/txt2img', { ...req, prompt: 'example prompt <lora:style:1>' });
    const [a] = await expectPngs(plain, 64, 64);
    const [b] = await expectPngs(tagged, 64, 64);
    expect(same(a, b)).toBe(false);
    const text = JSON.parse(tagged.body.info).infotexts[0];
    expect(parseA1111Parameters(text).extra?.['Lora hashes']).toBe(`style: ${await loraShortHash(join(loraDir, 'style.safetensors'))}`);
    const again = await call(base, 'POST', '/sdapi/v1/txt2img', req);
    expect(same((await expectPngs(again, 64, 64))[0], a)).toBe(true);
    const out = join(tempDir('latentlab-serve-'), 'cli.png');
    const cli = await runCli(['generate', '--model', TINY, '--lora-dir', loraDir, '--prompt', 'example prompt <lora:style:1>', '--steps', '3', '--seed', '8',
      '--scheduler', 'Euler', '--guidance', '7', '--width', '64', '--height', '64', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(same(await decodeImage(new Uint8Array(readFileSync(out))), b)).toBe(true);
  });

  it('a name that is not listed (or a path) is skipped with A1111\'s warning, never opened', async () => {
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, steps: 2, prompt: 'x <lora:../../etc/passwd:1> <lora:nope:0.5>' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.info).warnings).toContain('Lora not found: ../../etc/passwd, nope (GET /sdapi/v1/loras lists them)');
  });
});

describe('--embeddings-dir', () => {
  it('GET /sdapi/v1/embeddings lists what the current model took and skipped; a prompt using one records TI hashes and equals the CLI\'s', async () => {
    const list = (await call(base, 'GET', '/sdapi/v1/embeddings')).body;
    expect(Object.keys(list.loaded)).toEqual(['my-toy', 'oil-paint']);
    expect(list.loaded['oil-paint']).toMatchObject({ vectors: 2, shape: 32 });
    expect(Object.keys(list.skipped)).toEqual(['zz-not-an-embedding']);
    const r = await call(base, 'POST', '/sdapi/v1/txt2img', { ...A1111_TXT2IMG, prompt: 'a my-toy', negative_prompt: 'oil-paint', seed: 6, sampler_index: 'Euler' });
    const [image] = await expectPngs(r, 64, 64);
    const text = JSON.parse(r.body.info).infotexts[0];
    expect(parseA1111Parameters(text).extra?.['TI hashes']).toBe(`my-toy: ${await embeddingShortHash(TI('learned_embeds.bin'))}, oil-paint: ${await embeddingShortHash(TI('my-style.pt'))}`);
    const out = join(tempDir('latentlab-serve-'), 'cli.png');
    const cli = await runCli(['generate', '--model', TINY, '--embeddings-dir', cliEmbeddings, '--prompt', 'a my-toy', '--negative-prompt', 'oil-paint', '--steps', '3', '--seed', '6',
      '--scheduler', 'Euler', '--guidance', '7', '--width', '64', '--height', '64', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(same(await decodeImage(new Uint8Array(readFileSync(out))), image)).toBe(true);
  });
});
