// The latentlab-mini recipe end to end at smoke scale on synthetic data: each stage's loss falls,
// the folder it writes loads and generates, a second run skips finished stages, and a stage
// interrupted by Ctrl-C resumes from its checkpoint to the uninterrupted run's exact weights.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  GarmentClassifier, loadFashionMnist, MINI_CLASSIFIER_CONFIG, parseGarmentClassifierConfig, SMOKE_RECIPE, StableDiffusionPipeline, trainClassifier, trainMini,
} from '../../../src/node.js';
import { ConfigReader } from '../../../src/models/config-reader.js';
import { writeSyntheticFashionMnist } from './synthetic-data.js';

const data = writeSyntheticFashionMnist(256);
const out = mkdtempSync(join(tmpdir(), 'latentlab-mini-'));
const losses: Record<string, [number, number][]> = {};
const summary: string[] = [];
afterAll(() => console.log(`train-mini smoke:\n  ${summary.join('\n  ')}`));

const mean = (xs: [number, number][]) => xs.reduce((a, [, l]) => a + l, 0) / xs.length;

describe('train-mini (smoke recipe, synthetic Fashion-MNIST)', () => {
  it('trains every stage with falling losses and writes a loadable diffusers folder', async () => {
    const stages: string[] = [];
    const report = await trainMini({
      data, out: join(out, 'model'), recipe: SMOKE_RECIPE, seed: 3,
      onStage: (s, e) => e === 'start' && stages.push(s),
      onProgress: (s, p) => (losses[s] ??= []).push([p.step, p.loss]),
    });
    expect(stages).toEqual(['classifier', 'vae', 'scaling', 'diffusion', 'folder']);
    for (const s of ['classifier', 'vae', 'diffusion']) {
      const l = losses[s];
      expect(l).toHaveLength(12);
      expect(mean(l.slice(-4)), `${s}: mean loss of the last 4 steps vs the first 4`).toBeLessThan(mean(l.slice(0, 4)));
      summary.push(`${s}: loss ${mean(l.slice(0, 4)).toFixed(4)} → ${mean(l.slice(-4)).toFixed(4)}`);
    }
    expect(report.scalingFactor).toBeGreaterThan(0);
    expect(readdirSync(join(out, 'model')).sort()).toEqual(['classifier', 'model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'training', 'unet', 'vae']);

    const pipe = await StableDiffusionPipeline.fromPretrained(join(out, 'model'));
    const { images } = await pipe.call({ prompt: 'a photo of a red sneaker', numInferenceSteps: 3, seed: 0 });
    expect([images[0].width, images[0].height]).toEqual([32, 32]); // the model's own size by default
    expect(pipe.vae.config.scaling_factor).toBeCloseTo(report.scalingFactor, 6);
    await pipe.release();
    const cls = await GarmentClassifier.fromPretrained(join(out, 'model'));
    expect(cls.config.class_names[7]).toBe('sneaker');
    await cls.release();
  });

  it('skips stages already done', async () => {
    const stages: string[] = [];
    await trainMini({ data, out: join(out, 'model'), recipe: SMOKE_RECIPE, seed: 3, onStage: (s, e) => stages.push(`${s}:${e}`) });
    expect(stages).toEqual(['classifier:skip', 'vae:skip', 'scaling:skip', 'diffusion:skip', 'folder:start', 'folder:done']);
  });

  it('resumes an interrupted stage to exactly the uninterrupted weights (AdamW moments and EMA included)', async () => {
    const images = await loadFashionMnist(data, 'train');
    const config = parseGarmentClassifierConfig(new ConfigReader(MINI_CLASSIFIER_CONFIG, 'classifier'));
    const settings = { ...SMOKE_RECIPE.classifier, steps: 8, checkpointEvery: 100, emaDecay: 0.9 };
    const ctx = (dir: string, signal?: AbortSignal) => ({ images, seed: 1, compile: { threads: 1 }, checkpointDir: join(out, dir), signal });
    const whole = await trainClassifier(config, settings, ctx('whole'));

    const stop = new AbortController();
    const interrupted = trainClassifier(config, settings, { ...ctx('parts', stop.signal), onProgress: (p) => p.step === 3 && stop.abort() });
    await expect(interrupted).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(join(out, 'parts'))).toEqual(['checkpoint-3.safetensors']);
    let resumedAt = 0;
    const resumed = await trainClassifier(config, settings, { ...ctx('parts'), onProgress: (p) => (resumedAt ||= p.step) });
    expect(resumedAt).toBe(4);
    for (const [k, t] of whole.weights) expect(resumed.weights.get(k)!.data, k).toEqual(t.data);
    for (const [k, t] of whole.params) expect(resumed.params.get(k)!.data, k).toEqual(t.data);

    // Other settings: refused, naming the difference.
    await expect(trainClassifier(config, { ...settings, lr: 1 }, ctx('parts'))).rejects.toThrow(/other settings: settings/);
  });
});
