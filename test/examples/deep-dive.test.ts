// The deep-dive examples (examples/deep-dive): on the tiny models (named with --model) their numbers
// agree with the pipelines and with the conformance references (README §4, §5, §9–§10); with their
// defaults they run on latentlab-mini, the shipped model, and draw what the docs say they draw.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  blueLoss, COLORS, cosineSimilarity, dominantColor, dot, euclideanDistance, GarmentClassifier, preprocess, readEmbeddingFile, readImage, renderSvg, type RgbImage, SafetensorsFile,
  StableDiffusionImg2ImgPipeline, StableDiffusionPipeline, Tensor, tensorStats,
} from 'latentlab';

import { main as autoencoder } from '../../examples/deep-dive/02-autoencoder.js';
import { main as loopByHand } from '../../examples/deep-dive/01-loop-by-hand.js';
import { main as schedulerExample } from '../../examples/deep-dive/03-scheduler.js';
import { main as img2imgByHand } from '../../examples/deep-dive/04-img2img-by-hand.js';
import { main as textEmbeddings } from '../../examples/deep-dive/05-text-embeddings.js';
import { main as similarity } from '../../examples/deep-dive/06-similarity.js';
import { main as unetView } from '../../examples/deep-dive/07-unet-view.js';
import { main as promptWeights } from '../../examples/deep-dive/08-prompt-weights.js';
import { main as textualInversion } from '../../examples/deep-dive/09-textual-inversion.js';
import { main as lossGuidance, pictureBlueLoss } from '../../examples/deep-dive/10-loss-guidance.js';
import { main as trainTextualInversion } from '../../examples/deep-dive/11-train-textual-inversion.js';
import { main as classifierGuidance } from '../../examples/deep-dive/12-classifier-guidance.js';
import { main as learnAColour } from '../../examples/deep-dive/13-learn-a-colour.js';
import { FIXTURE_IMAGE, MINI_MODEL, parseExampleArgs, TINY_MODEL } from '../../examples/deep-dive/common.js';
import { runCli } from '../cli/run-cli.js';
import { diff, expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MODELS = { 'tiny-sd15': TINY_MODEL, 'tiny-sd2': fixturePath('pipelines', 'tiny-sd2') } as const;
/** The notebook's swap, which the text-encoder reference was made with (the mini defaults swap red → blue). */
const NOTEBOOK_SWAP = ['--prompt', 'A picture of a puppy', '--word', 'puppy', '--replacement', 'cat'];
let tmp: string;
const printed: string[] = [];
const out = (name: string) => join(tmp, name);

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'deep-dive-'));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(tmp, { recursive: true, force: true });
});

/** A PNG that decodes, has the expected size, and is not one flat colour. */
async function expectPicture(path: string, size?: { width?: number; height?: number }, minColours = 16): Promise<void> {
  expect([...readFileSync(path).subarray(0, 8)], `${path}: PNG signature`).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const image = await readImage(path);
  if (size?.width) expect(image.width, `${path}: width`).toBe(size.width);
  if (size?.height) expect(image.height, `${path}: height`).toBe(size.height);
  const colours = new Set<number>();
  for (let p = 0; p < image.width * image.height && colours.size < minColours; p++) colours.add((image.data[3 * p] << 16) | (image.data[3 * p + 1] << 8) | image.data[3 * p + 2]);
  expect(colours.size, `${path}: distinct colours`).toBeGreaterThanOrEqual(minColours);
}

/** A standalone SVG document that librsvg parses (it rejects malformed XML) into a non-blank picture. */
async function expectSvg(path: string): Promise<void> {
  const svg = readFileSync(path, 'utf8');
  expect(svg).toMatch(/^(<\?xml[^>]*>\s*)?<svg[\s>]/);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const image = await renderSvg(svg);
  expect(image.width * image.height).toBeGreaterThan(0);
  expect(new Set(image.data).size).toBeGreaterThan(2);
}

/** The mini VAE's reconstruction of the red sneaker, mean |Δ| in levels of 255 (measured: see docs/deep-dive.md §2). */
const MAX_RECONSTRUCTION_LEVELS = 12;

const sameImage = (a: { data: Uint8Array }, b: { data: Uint8Array }) => Buffer.compare(Buffer.from(a.data), Buffer.from(b.data)) === 0;

describe('01 the loop by hand', () => {
  it.each(Object.entries(MODELS))('%s: gives the pipeline\'s latents and picture bit for bit', async (name, model) => {
    const r = await loopByHand(['--model', model, '--out', out(`01-${name}`), '--steps', '5']);
    const pipe = await StableDiffusionPipeline.fromPretrained(model, { scheduler: 'lms' });
    const ref = await pipe.call({ prompt: r.args.prompt, seed: r.args.seed, numInferenceSteps: 5, guidanceScale: r.args.guidanceScale });
    await pipe.release();
    expect(diff(r.latents.data, ref.latents.data).maxAbs).toBe(0);
    expect(sameImage(r.image, ref.images[0])).toBe(true);
    await expectPicture(r.files[0], { width: 64, height: 64 });
  });
});

describe('02 the autoencoder', () => {
  it.each([['tiny-sd15', 'sd15_pndm_img2img_64x64'], ['tiny-sd2', 'sd2_euler_img2img_64x64']] as const)(
    '%s: latentDist of the fixture image is the reference posterior; pictures written', async (model, name) => {
      const c = readJson('reference', model, 'img2img', `${name}.json`);
      const ref = await loadTensors('reference', model, 'img2img', `${name}.safetensors`);
      const image = fixturePath('reference', model, 'img2img', c.input_png);
      const r = await autoencoder(['--model', MODELS[model], '--image', image, '--seed', String(c.seed), '--out', out(`02-${model}`)]);
      const errors = [
        expectClose('posterior mean', r.latentDist.mean, ref.get('posterior_mean')!, { abs: 5e-5 }),
        expectClose('posterior std', r.latentDist.std, ref.get('posterior_std')!, { abs: 5e-5 }),
        expectClose('scaled sample (init_latents)', r.latents, ref.get('init_latents')!, { abs: 5e-5 }),
      ];
      report(`02 ${model} posterior mean/std, init_latents max abs error`, errors.map((e) => e.maxAbs));
      const refMean = tensorStats(ref.get('posterior_mean')!);
      expect(r.stats.mean.mean).toBeCloseTo(refMean.mean, 5);
      expect(r.stats.std.mean).toBeCloseTo(tensorStats(ref.get('posterior_std')!).mean, 5);
      expect(r.error.meanAbs).toBeGreaterThan(0);
      const [input, channels, reconstruction, sideBySide] = ['input', 'latent-channels', 'reconstruction', 'side-by-side'].map((f) => join(r.args.out, `${f}.png`));
      await expectPicture(input, { width: 64, height: 64 });
      await expectPicture(reconstruction, { width: 64, height: 64 });
      await expectPicture(channels, undefined, 8);
      await expectPicture(sideBySide);
      expect(r.files.length).toBe(4);
    });

});

describe('03 the scheduler', () => {
  it('plots the schedule and noises the latents with addNoise = x + σ·ε (LMS)', async () => {
    const r = await schedulerExample(['--model', TINY_MODEL, '--image', FIXTURE_IMAGE, '--out', out('03'), '--steps', '6', '--shown', '3']);
    expect(r.timesteps.length).toBe(6);
    expect(r.sigmas.length).toBe(7);
    expect(r.shown).toEqual([0, 3, 5]);
    const errors = r.shown.map((i, k) => {
      const expected = Tensor.float32(r.encoded.shape, r.encoded.data.map((x, j) => x + r.sigmas[i] * r.noise.data[j]));
      return expectClose(`addNoise at step ${i}`, r.noised[k], expected, { rel: 1e-6 }).maxRel;
    });
    report('03 addNoise vs x + σ·ε, max rel error per shown step', errors);
    await expectSvg(join(r.args.out, 'schedule.svg'));
    await expectPicture(join(r.args.out, 'schedule.png'), { width: 640, height: 400 }, 4);
    await expectPicture(join(r.args.out, 'noised.png'));
  });
});

describe('04 img2img by hand', () => {
  it('gives the img2img pipeline\'s latents and picture bit for bit (strength = (N − k)/N)', async () => {
    const [N, k] = [8, 2];
    const r = await img2imgByHand(['--model', TINY_MODEL, '--image', FIXTURE_IMAGE, '--out', out('04'), '--steps', String(N), '--start-step', String(k)]);
    const strength = (N - k) / N;
    expect(Math.trunc(N * strength)).toBe(N - k);
    const pipe = await StableDiffusionImg2ImgPipeline.fromPretrained(TINY_MODEL, { scheduler: r.args.scheduler });
    const ref = await pipe.call({ prompt: r.args.prompt, image: await readImage(FIXTURE_IMAGE), strength, seed: r.args.seed, numInferenceSteps: N, guidanceScale: r.args.guidanceScale });
    await pipe.release();
    expect(diff(r.latents.data, ref.latents.data).maxAbs).toBe(0);
    expect(sameImage(r.image, ref.images[0])).toBe(true);
    await expectPicture(join(r.args.out, 'result.png'), { width: 64, height: 64 });
    await expectPicture(join(r.args.out, 'steps.png'));
  });

  it('refuses a start step outside the schedule', async () => {
    await expect(img2imgByHand(['--out', out('04-bad'), '--steps', '5', '--start-step', '5'])).rejects.toMatchObject({ code: 'EXAMPLE_ARGUMENT' });
  });
});

describe('05 text embeddings', () => {
  it.each(Object.keys(MODELS) as (keyof typeof MODELS)[])('%s: embeddings and the puppy → cat swap match the reference', async (model) => {
    const ref = await loadTensors('reference', model, 'text_encoder.safetensors');
    const r = await textEmbeddings(['--model', MODELS[model], '--out', out(`05-${model}`), '--steps', '2', ...NOTEBOOK_SWAP]);
    expect(r.inputIds[0]).toEqual(Array.from(ref.get('swap_input_ids')!.data as BigInt64Array, Number));
    const first = (name: string) => (ref.get(name)!.toFloat32() as Tensor<'float32'>).slice0(0);
    const errors = [
      expectClose('token embeddings', r.tokenEmbeddings, first('token_embeddings'), { abs: 0 }),
      expectClose('position embeddings', r.positionEmbeddings, ref.get('position_embeddings')!, { abs: 0 }),
      expectClose('swap token embeddings', r.swapTokenEmbeddings, ref.get('swap_token_embeddings')!, { abs: 0 }),
      expectClose('swap input embeddings', r.swapInputEmbeddings, ref.get('swap_input_embeddings')!, { abs: 1e-7 }),
      expectClose('swap_last_hidden_state', r.swapEmbeddings, ref.get('swap_last_hidden_state')!, { abs: 2e-5 }),
      expectClose('last_hidden_state', r.direct, first('last_hidden_state'), { abs: 2e-5 }),
    ];
    report(`05 ${model} token/position/swap token/swap input/swap_last_hidden_state/last_hidden_state max abs error`, errors.map((e) => e.maxAbs));
    expect(diff(r.outputEmbeddings.data, r.direct.data).maxAbs).toBeLessThanOrEqual(1e-6);
    expect(diff(r.mixEmbeddings.data, r.swapEmbeddings.data).maxAbs).toBeGreaterThan(0);
    expect(r.images.length).toBe(3);
    await expectPicture(join(r.args.out, 'swap-and-mix.png'));
  });

  it('refuses a word that is not in the prompt', async () => {
    await expect(textEmbeddings(['--model', TINY_MODEL, '--out', out('05-bad'), '--word', 'kitten', '--steps', '1'])).rejects.toThrow(/"kitten" is not in the prompt/);
  });
});

describe('06 similarity', () => {
  it('measures token embeddings and prompt encodings like an independent computation on the reference', async () => {
    const ref = await loadTensors('reference', 'tiny-sd15', 'text_encoder.safetensors');
    const prompts = readJson('reference', 'tiny-sd15', 'text_encoder.json').prompts as string[];
    const r = await similarity(['--model', TINY_MODEL, '--out', out('06'), '--words', 'a,picture,of,puppy', '--prompts', `${prompts[0]}|${prompts[2]}`]);
    const H = 32;
    const tokens = ref.get('token_embeddings')!.toFloat32().data;
    const rows = [1, 2, 3, 5].map((p) => tokens.subarray(p * H, (p + 1) * H)); // "a picture of a puppy": positions of a, picture, of, puppy
    for (const [i, j] of [[0, 1], [1, 3], [2, 3]]) {
      expect(r.tokens.dot[i][j]).toBeCloseTo(dot(rows[i], rows[j]), 12);
      expect(r.tokens.cosine[i][j]).toBeCloseTo(cosineSimilarity(rows[i], rows[j]), 12);
      expect(r.tokens.distance[i][j]).toBeCloseTo(euclideanDistance(rows[i], rows[j]), 12);
    }
    const last = ref.get('last_hidden_state')!.toFloat32() as Tensor<'float32'>;
    const [p0, p2] = [last.slice0(0), last.slice0(2)];
    const errors = [
      Math.abs(r.encodings.cosine[0][1] - cosineSimilarity(p0, p2)),
      Math.abs(r.encodings.distance[0][1] - euclideanDistance(p0, p2)) / euclideanDistance(p0, p2),
      Math.abs(r.encodings.dot[0][1] - dot(p0, p2)) / Math.abs(dot(p0, p2)),
    ];
    report('06 prompt encodings: cosine abs, distance rel, dot rel error vs reference encodings', errors);
    expect(Math.max(...errors)).toBeLessThan(1e-5);
    for (const m of [r.tokens, r.encodings]) {
      expect(m.identityError).toBeLessThan(1e-9);
      m.cosine.forEach((row, i) => expect(row[i]).toBeCloseTo(1, 12));
    }
    for (const f of ['token-cosine', 'prompt-cosine']) await expectSvg(join(r.args.out, `${f}.svg`));
    for (const f of ['token-cosine', 'prompt-cosine', 'token-all', 'prompt-all']) await expectPicture(join(r.args.out, `${f}.png`), undefined, 8);
    expect(printed.some((l) => l.includes('|a − b|² = |a|² + |b|² − 2·a·b'))).toBe(true);
  });
});

describe('07 the UNet\'s view', () => {
  it('reports x̂₀ = x_t − σ·ε̂ at every step and draws the strip', async () => {
    const r = await unetView(['--model', TINY_MODEL, '--out', out('07'), '--steps', '4', '--shown', '3']);
    expect(r.steps.length).toBe(4);
    expect(r.shown.map((s) => s.step)).toEqual([0, 2, 3]);
    const errors = r.steps.slice(1).map((s, i) => {
      const expected = Tensor.float32(s.noisePred.shape, r.steps[i].latents.data.map((x, j) => x - s.sigma! * s.noisePred.data[j]));
      return expectClose(`x̂₀ at step ${s.step}`, s.predOriginalSample!, expected, { rel: 1e-6 }).maxRel;
    });
    report('07 predOriginalSample vs x_t − σ·ε̂, max rel error per step', errors);
    await expectPicture(join(r.args.out, 'strip.png'));
    await expectPicture(join(r.args.out, 'predicted-noise.png'), undefined, 8);
  });
});

describe('08 prompt weights', () => {
  it('changes the encoding as A1111 and ComfyUI say: the weighted row × w·r and the rest × r; or only the weighted row', async () => {
    const r = await promptWeights(['--model', TINY_MODEL, '--out', out('08')]);
    const H = r.z.shape[2];
    const row = (t: Tensor<'float32'>, i: number) => t.data.subarray(i * H, (i + 1) * H);
    let errA = 0;
    let errC = 0;
    for (let i = 0; i < 77; i++) {
      const w = i === r.wordRow ? r.args.weight : 1;
      const z = row(r.z, i);
      row(r.a1111, i).forEach((v, j) => void (errA = Math.max(errA, Math.abs(v - z[j] * w * r.meanRatio))));
      row(r.comfy, i).forEach((v, j) => void (errC = Math.max(errC, i === r.wordRow ? 0 : Math.abs(v - z[j]))));
    }
    report('08 A1111 rows vs z·w·r, ComfyUI unweighted rows vs z (max abs)', [errA, errC]);
    expect(errA).toBeLessThan(1e-5);
    expect(errC).toBe(0);
    expect(Math.abs(r.comfy.data[r.wordRow * H] - r.z.data[r.wordRow * H])).toBeGreaterThan(0);
    await expectSvg(join(r.args.out, 'a1111-delta.svg'));
    await expectPicture(join(r.args.out, 'weights-delta.png'));
  });
});

describe('09 textual inversion', () => {
  it('the loaded token encodes like the notebook\'s vector swapped in by hand, and like diffusers', async () => {
    const ref = await loadTensors('reference', 'tiny-sd15', 'textual_inversion', 'expected.safetensors');
    const r = await textualInversion(['--model', TINY_MODEL, '--embedding', fixturePath('reference', 'tiny-sd15', 'textual_inversion', 'learned_embeds.bin'), '--out', out('09'), '--steps', '2', '--prompt', 'a photo of a puppy', '--word', 'puppy']);
    expect(r.loaded).toMatchObject({ token: '<cat-toy>', ids: [49408], format: 'diffusers' });
    expect(r.agree).toBeLessThanOrEqual(1e-6);
    // "a photo of a <cat-toy>" is the first prompt of the fixture's "single" scenario.
    const want = (ref.get('single.last_hidden_state')!.toFloat32() as Tensor<'float32'>).slice0(0);
    const e = expectClose('single.last_hidden_state[0]', r.withToken, want, { abs: 2e-5 });
    report('09 loaded token vs swap by hand / vs diffusers\' last_hidden_state, max abs error', [r.agree, e.maxAbs]);
    await expectPicture(join(r.args.out, 'word-and-token.png'));
  });
});

describe('10 guidance with a loss', () => {
  it.each(['lms', 'euler'])('%s: the hand-written loop, the pipeline option and the CLI preset give the same latents, bit for bit', async (scheduler) => {
    const [steps, every, scale] = [7, 3, 200];
    const r = await lossGuidance(['--model', TINY_MODEL, '--out', out(`10-${scheduler}`), '--steps', String(steps), '--every', String(every), '--scheduler', scheduler]);
    expect(r.losses.map((l) => l.step)).toEqual([0, 3, 6]);
    expect(pictureBlueLoss(r.image)).toBeLessThan(pictureBlueLoss(r.unguided));
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY_MODEL, { scheduler });
    // The notebook's prompt has parentheses, which diffusers (and the hand loop) read as plain text.
    const ref = await pipe.call({
      prompt: r.args.prompt, promptSyntax: 'plain', seed: r.args.seed, numInferenceSteps: steps, guidanceScale: r.args.guidanceScale, lossGuidance: [{ loss: blueLoss, scale, every }],
    });
    await pipe.release();
    expect(diff(r.latents.data, ref.latents.data).maxAbs).toBe(0);
    expect(sameImage(r.image, ref.images[0])).toBe(true);
    await expectPicture(join(r.args.out, 'image.png'), { width: 64, height: 64 });
    await expectPicture(join(r.args.out, 'comparison.png'));
    if (scheduler !== 'lms') return; // one CLI run is enough: the preset maps to the same option entry

    const saved = out(`10-${scheduler}-cli.safetensors`);
    const cli = await runCli(['generate', '--model', TINY_MODEL, '--prompt', r.args.prompt, '--seed', String(r.args.seed), '--steps', String(steps),
      '--guidance', String(r.args.guidanceScale), '--scheduler', scheduler, '--prompt-syntax', 'plain', '--loss-guidance', `blue:${scale}:${every}`, '--out', out(`10-${scheduler}-cli.png`), '--save-latents', saved]);
    expect(cli.code, cli.stderr).toBe(0);
    const cliLatents = await (await SafetensorsFile.open(saved)).read('latents');
    expect(diff(cliLatents.toFloat32().data, r.latents.data).maxAbs).toBe(0);
    expect(sameImage(await readImage(out(`10-${scheduler}-cli.png`)), r.image)).toBe(true);
  });
});

describe('11 textual inversion, training', () => {
  it('learns a token from the fixture pictures, writes a file the loader reads, and pictures with it', async () => {
    const r = await trainTextualInversion(['--model', TINY_MODEL, '--images', dirname(FIXTURE_IMAGE), '--token', '<my-concept>', '--initializer', 'toy', '--resolution', '64', '--out', out('11'), '--steps', '6']);
    expect(r.run).toMatchObject({ token: '<my-concept>', ids: [49408], steps: 6 });
    expect(r.run.losses).toHaveLength(6);
    const file = await readEmbeddingFile(r.file);
    expect(file).toMatchObject({ format: 'diffusers', token: '<my-concept>' });
    expect([...file.embedding.data]).toEqual([...r.run.embeddings.data]);
    await expectSvg(join(r.args.out, 'loss.svg'));
    await expectPicture(join(r.args.out, 'initializer-and-token.png'));
  });
});

// With no --model every example runs on latentlab-mini (models/latentlab-mini, the shipped default):
// real garments, so the pictures can be checked for what the docs say they show.
const mini = (name: string, ...argv: string[]) => [...argv, '--out', out(`mini-${name}`)];
const colourOf = (image: { data: Uint8Array }) => COLORS[dominantColor(image.data)]?.[0];

describe('with their defaults, on latentlab-mini', () => {
  it('01–04: a red sneaker by hand; its latents, reconstruction and noising; img2img to a boot', async () => {
    const r1 = await loopByHand(mini('01'));
    expect(r1.image.width).toBe(32);
    expect(['red', 'pink']).toContain(colourOf(r1.image)); // measured: pink (the hue sits between red and pink)
    await expectPicture(r1.files[0], { width: 32, height: 32 });

    const r2 = await autoencoder(mini('02'));
    expect(r2.latents.shape).toEqual([1, 4, 8, 8]);
    expect(r2.error.meanAbs * 127.5, 'reconstruction error in levels of 255').toBeLessThan(MAX_RECONSTRUCTION_LEVELS);
    expect(r2.stats.std.mean / r2.stats.mean.absMean, 'posterior std / |mean|').toBeLessThan(0.5);
    for (const f of r2.files) await expectPicture(f, undefined, 8);

    const r3 = await schedulerExample(mini('03'));
    expect(r3.noised.length).toBe(5);
    await expectPicture(join(r3.args.out, 'noised.png'));

    const r4 = await img2imgByHand(mini('04'));
    expect(await topClass(r4.image)).toBe('ankle boot');
    await expectPicture(join(r4.args.out, 'steps.png'));
  });

  it('05–08: red → blue by swapping one token embedding; similarities; the UNet\'s view; prompt weights', async () => {
    const r5 = await textEmbeddings(mini('05'));
    const [before, swapped] = r5.images.map(colourOf); // measured: pink, purple
    expect(['red', 'pink']).toContain(before);
    expect(['blue', 'purple']).toContain(swapped);
    expect(diff(r5.outputEmbeddings.data, r5.direct.data).maxAbs).toBeLessThanOrEqual(1e-6);
    await expectPicture(join(r5.args.out, 'swap-and-mix.png'));

    const r6 = await similarity(mini('06'));
    expect(r6.words.length).toBe(8);
    for (const f of ['token-cosine', 'prompt-cosine']) await expectSvg(join(r6.args.out, `${f}.svg`));

    const r7 = await unetView(mini('07'));
    expect(r7.steps.length).toBe(50);
    await expectPicture(join(r7.args.out, 'strip.png'));

    const r8 = await promptWeights(mini('08'));
    expect(r8.z.shape).toEqual([1, 77, 64]);
    await expectPicture(join(r8.args.out, 'weights-delta.png'));
  });

  it('09–11: the committed <teal> token loads like the swap by hand; the blue loss; a token trained for 30 steps', async () => {
    const r9 = await textualInversion(mini('09'));
    expect(r9.loaded.token).toBe('<teal>');
    expect(r9.agree).toBeLessThanOrEqual(1e-6);
    await expectPicture(join(r9.args.out, 'word-and-token.png'));

    const r10 = await lossGuidance(mini('10'));
    expect(pictureBlueLoss(r10.image)).toBeLessThan(pictureBlueLoss(r10.unguided));
    await expectPicture(join(r10.args.out, 'comparison.png'));

    const r11 = await trainTextualInversion(mini('11'));
    expect(r11.run.losses).toHaveLength(30);
    expect((await readEmbeddingFile(r11.file)).embedding.shape.at(-1)).toBe(64);
    await expectPicture(join(r11.args.out, 'initializer-and-token.png'));
  });

  it('12: classifier guidance raises p(class) for every class shown, from an empty prompt', async () => {
    const r = await classifierGuidance(mini('12'));
    for (const c of r.results) expect(c.after, `p(${c.target}) with guidance, seed ${c.seed}`).toBeGreaterThan(Math.max(c.before, 0.5));
    await expectPicture(join(r.args.out, 'unguided-and-guided.png'));
  });

  it('13: <teal>, learned from eight cyan garments, turns the initializer\'s red garments cyan', async () => {
    const r = await learnAColour(mini('13'));
    expect(r.colours.before.includes('cyan'), r.colours.before.join()).toBe(false);
    expect(r.colours.after.every((c) => c === 'cyan'), r.colours.after.join()).toBe(true);
    expect((await readEmbeddingFile(r.file)).token).toBe('<teal>');
    await expectPicture(join(r.args.out, 'before-and-after.png'));
  });
});

/** The classifier's top class for a 32×32 picture. */
async function topClass(image: RgbImage): Promise<string> {
  const classifier = await GarmentClassifier.fromPretrained(MINI_MODEL);
  const { logits } = await classifier.classify(preprocess(image));
  const l = Array.from(logits.data);
  return classifier.config.class_names[l.indexOf(Math.max(...l))];
}

describe('one command per example', () => {
  it('runs from the command line with --help, options, and a readable error', () => {
    const tsx = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'examples/deep-dive/01-loop-by-hand.ts', ...args], { encoding: 'utf8', cwd: REPO });
    const ok = tsx(['--steps', '2', '--out', out('cli')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(statSync(out('cli/image.png')).size).toBeGreaterThan(0);
    expect(tsx(['--help']).stdout).toContain('--guidance-scale 7.5');
    const bad = tsx(['--steps', 'many']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--steps is "many"; expected a number');
  });

  it('parses kebab-case options into numbers and strings', () => {
    const a = parseExampleArgs(['--start-step', '3', '--word', 'cat'], 'x', { startStep: 1, word: 'puppy', seed: 4 });
    expect(a).toMatchObject({ startStep: 3, word: 'cat', seed: 4, model: MINI_MODEL });
    expect(a.out.endsWith(join('deep-dive-out', 'x'))).toBe(true);
    expect(() => parseExampleArgs(['--nope'], 'x', {})).toThrow(/Unknown option '--nope'/);
  });
});

/** The numbers compared with the references, printed once per run for the record. */
function report(label: string, values: number[]): void {
  process.stdout.write(`  ${label}: ${values.map((v) => v.toExponential(2)).join(', ')}\n`);
}
