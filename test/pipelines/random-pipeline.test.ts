// createRandomPipeline: a loadable diffusers folder (float32 + fp16 variant) whose random weights
// keep activations O(1), with the tiny preset (the bench uses the same code with 'sd15').
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { CompiledGraph, runtime, setRuntime } from '../../src/graph/runtime.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { createRandomPipeline, randomWeight } from '../../src/pipelines/random-pipeline.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { fixturePath } from '../helpers/fixtures.js';

function finiteAndModerate(t: Tensor<'float32'>, max: number): void {
  let peak = 0;
  for (const v of t.data) {
    expect(Number.isFinite(v)).toBe(true);
    peak = Math.max(peak, Math.abs(v));
  }
  expect(peak).toBeGreaterThan(1e-3);
  expect(peak).toBeLessThan(max);
}

describe('createRandomPipeline (tiny preset)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latentlab-random-'));
    await createRandomPipeline(join(dir, 'copy'), 'tiny', { seed: 3, tokenizer: fixturePath('pipelines', 'tiny-sd15', 'tokenizer') });
    await createRandomPipeline(join(dir, 'minimal'), 'tiny', { variants: [] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the diffusers layout with float32 and fp16 weights', () => {
    const folder = join(dir, 'copy');
    expect(readdirSync(folder).sort()).toEqual(['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']);
    expect(readdirSync(join(folder, 'unet')).sort()).toEqual(['config.json', 'diffusion_pytorch_model.fp16.safetensors', 'diffusion_pytorch_model.safetensors']);
    expect(readdirSync(join(folder, 'text_encoder')).sort()).toEqual(['config.json', 'model.fp16.safetensors', 'model.safetensors']);
    expect(readdirSync(join(folder, 'tokenizer'))).toContain('vocab.json');
    expect(readdirSync(join(dir, 'minimal', 'vae')).sort()).toEqual(['config.json', 'diffusion_pytorch_model.safetensors']);
  });

  it('is deterministic per seed and key, with the intended scales', async () => {
    const a = randomWeight('x.conv.weight', [8, 4, 3, 3], 1);
    expect(randomWeight('x.conv.weight', [8, 4, 3, 3], 1).data).toEqual(a.data);
    expect(randomWeight('y.conv.weight', [8, 4, 3, 3], 1).data).not.toEqual(a.data);
    const std = Math.sqrt(a.data.reduce((s, v) => s + v * v, 0) / a.size);
    expect(std).toBeGreaterThan(0.6 / 6);
    expect(std).toBeLessThan(1.4 / 6); // 1/√fan_in = 1/6
    const norm = randomWeight('x.norm1.weight', [64]);
    expect(Math.min(...norm.data)).toBeGreaterThan(0.8);
    const f16 = await SafetensorsFile.open(join(dir, 'copy', 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
    expect(f16.keys.every((k) => f16.entry(k).dtype === 'float16')).toBe(true);
  });

  it('runs as a pipeline (both tokenizers, both variants) with finite, O(1) outputs', async () => {
    for (const [name, variant] of [['copy', undefined], ['copy', 'fp16'], ['minimal', undefined]] as const) {
      const pipe = await StableDiffusionPipeline.fromPretrained(join(dir, name), { variant });
      try {
        const out = await pipe.call({ prompt: 'a photo of a cat', numInferenceSteps: 2, height: 64, width: 64, seed: 1 });
        expect(out.images).toHaveLength(1);
        finiteAndModerate(out.latents, 100);
      } finally {
        await pipe.release();
      }
    }
  });

  it('the text encoder keeps its hidden states O(1)', async () => {
    const te = await CLIPTextModel.fromPretrained(join(dir, 'copy'));
    try {
      const { lastHiddenState } = await te.forward([[0, 320, 1125, 539, 2, 1, 1]]);
      finiteAndModerate(lastHiddenState, 20);
    } finally {
      await te.release();
    }
  });

  it('releases each network\'s sessions once a call is done with it, unless releaseSessions is false', async () => {
    const inner = runtime();
    const live = new Map<string, number>();
    const track = (name: string, d: number) => live.set(name, (live.get(name) ?? 0) + d);
    setRuntime({
      async compile(graph, weights, options): Promise<CompiledGraph> {
        const c = await inner.compile(graph, weights, options);
        track(graph.name, 1);
        return Object.assign(Object.create(c) as CompiledGraph, { release: async () => (track(graph.name, -1), c.release()) });
      },
    });
    try {
      for (const releaseSessions of [undefined, false]) {
        live.clear();
        const pipe = await StableDiffusionPipeline.fromPretrained(join(dir, 'copy'), { releaseSessions });
        const seen: Record<string, number>[] = [];
        await pipe.call({ prompt: 'a cat', numInferenceSteps: 1, height: 64, width: 64, seed: 1, callback: () => void seen.push(Object.fromEntries(live)) });
        if (releaseSessions === false) {
          expect(Object.fromEntries(live)).toEqual({ text_encoder: 1, unet: 1, vae_decoder: 1 });
        } else {
          expect(seen[0]).toEqual({ text_encoder: 0, unet: 1 }); // during the loop: the text encoder is gone
          expect(Object.fromEntries(live)).toEqual({ text_encoder: 0, unet: 0, vae_decoder: 0 });
        }
        await pipe.release();
        expect([...live.values()].every((n) => n === 0)).toBe(true);
      }
    } finally {
      setRuntime(inner);
    }
  });
});
