// LCM-distilled UNets (issue 16): `time_cond_proj_dim` in the config adds time_embedding.cond_proj,
// which puts the guidance embedding (diffusers' timestep_cond) onto the timestep features. Checked
// against the float64 reference written from diffusers' Python (unet-reference.ts), with and without
// the condition (diffusers skips cond_proj when timestep_cond is None), and the embedding itself
// against its formula in float64.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { Generator } from '../../src/core/random.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { guidanceScaleEmbedding } from '../../src/nn/timestep-embedding.js';
import { diff } from '../helpers/compare.js';
import { useTempDir } from '../weights/tmp.js';
import { unetConfig, writeRandomUNet } from './unet-random.js';
import { referenceUNet } from './unet-reference.js';

const tmp = useTempDir('unet-lcm');

describe('guidanceScaleEmbedding (get_guidance_scale_embedding)', () => {
  it('is [sin, cos] of 1000·w times exp(−i·ln 10000 / (half − 1)), zero-padded to an odd width', () => {
    for (const dim of [8, 9, 256]) {
      const w = [0, 0.5, 7.5];
      const e = guidanceScaleEmbedding(w, dim);
      expect([...e.shape]).toEqual([3, dim]);
      const half = Math.floor(dim / 2);
      const expected = new Float64Array(3 * dim);
      w.forEach((wi, b) => {
        for (let i = 0; i < half; i++) {
          const a = wi * 1000 * Math.exp((-i * Math.log(10000)) / (half - 1));
          expected[b * dim + i] = Math.sin(a);
          expected[b * dim + half + i] = Math.cos(a);
        }
      });
      // float32 rounding of arguments up to 7500 moves sin/cos by up to ~7500·2⁻²⁴ ≈ 5e-4.
      expect(diff(e.data, expected).maxAbs, `dim ${dim}`).toBeLessThan(1e-3);
      expect(e.data[0], 'w = 0: sin(0)').toBe(0);
      expect(e.data[half], 'w = 0: cos(0)').toBe(1);
      if (dim % 2 === 1) expect(e.data[dim - 1]).toBe(0);
    }
  });
});

describe('UNet2DConditionModel with time_cond_proj_dim', () => {
  const raw = unetConfig({ time_cond_proj_dim: 6 });

  it('declares time_embedding.cond_proj [block_out_channels[0], time_cond_proj_dim] without bias (LCM Dreamshaper: [320, 256])', () => {
    const sd = parseUNet2DConditionConfig(new ConfigReader({ sample_size: 64, cross_attention_dim: 768, time_cond_proj_dim: 256 }, 'unet/config.json'));
    const g = buildUNetGraph(sd, { batch: 1, height: 64, width: 64, seqLen: 77, timestepCond: true });
    expect(g.weights.get('time_embedding.cond_proj.weight')!.shape).toEqual([320, 256]);
    expect(g.weights.has('time_embedding.cond_proj.bias')).toBe(false);
    expect(g.weights.size).toBe(687);
  });

  it('matches the float64 reference with the guidance embedding, and without it (cond_proj left out)', async () => {
    const dir = join(tmp(), 'lcm-unet');
    const weights = await writeRandomUNet(dir, raw, 31);
    const unet = await UNet2DConditionModel.fromPretrained(dir);
    try {
      const g = new Generator(3);
      const sample = g.randn([2, 4, 8, 8]);
      const ehs = g.randn([2, 5, 12]);
      const cond = guidanceScaleEmbedding([7.5, 0], 6);
      const t = [759, 259];
      const withCond = await unet.forward(sample, t, ehs, { timestepCond: cond });
      const without = await unet.forward(sample, t, ehs);
      const a = diff(withCond.sample.data, referenceUNet(raw, weights, sample, t, ehs, cond));
      const b = diff(without.sample.data, referenceUNet(raw, weights, sample, t, ehs));
      console.log(`LCM UNet vs float64 reference: with timestep_cond ${a.maxRel.toExponential(2)}, without ${b.maxRel.toExponential(2)} (relative to max|out|)`);
      expect(a.maxRel).toBeLessThan(1e-4);
      expect(b.maxRel).toBeLessThan(1e-4);
      // The condition matters: the outputs differ far beyond the float32 error.
      expect(diff(withCond.sample.data, without.sample.data).maxRel).toBeGreaterThan(1e-2);
    } finally {
      await unet.release();
    }
  });

  it('refuses a timestepCond of the wrong shape, and one for a UNet without a guidance embedding', async () => {
    const lcmDir = join(tmp(), 'lcm-unet-errors');
    const plainDir = join(tmp(), 'plain-unet');
    await writeRandomUNet(lcmDir, raw, 32);
    await writeRandomUNet(plainDir, unetConfig({}), 33);
    const lcm = await UNet2DConditionModel.fromPretrained(lcmDir);
    const plain = await UNet2DConditionModel.fromPretrained(plainDir);
    const g = new Generator(4);
    const [sample, ehs] = [g.randn([1, 4, 8, 8]), g.randn([1, 5, 12])];
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as LatentlabError);
    const wrong = await err(lcm.forward(sample, 10, ehs, { timestepCond: guidanceScaleEmbedding([1], 8) }));
    expect(wrong?.code).toBe('MODEL_INPUT');
    expect(wrong?.message).toMatch(/timestepCond has shape \[1, 8\], expected \[1 \(the batch of sample\), 6 \(time_cond_proj_dim\)\]/);
    const none = await err(plain.forward(sample, 10, ehs, { timestepCond: guidanceScaleEmbedding([1], 6) }));
    expect(none?.code).toBe('MODEL_INPUT');
    expect(none?.message).toMatch(/time_cond_proj_dim is null/);
    await lcm.release();
    await plain.release();
  });

  it('refuses a time_cond_proj_dim below 4 (the embedding divides by half − 1)', () => {
    expect(() => parseUNet2DConditionConfig(new ConfigReader({ sample_size: 8, time_cond_proj_dim: 2 }, 'unet/config.json'))).toThrow(/time_cond_proj_dim/);
  });
});
