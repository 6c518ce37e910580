// The VAE builders beyond the two fixture models: other widths, group counts, resnets per block,
// numbers of blocks, latent channels and odd latent sizes (7×9), on seeded random weights.
// Checks shapes, finiteness, fused vs plain attention, batching and the posterior sampling rules.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { defaultGenerator, Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { expectClose } from '../helpers/compare.js';
import { useTempDir } from '../weights/tmp.js';
import { writeRandomVae } from './vae-random.js';

const tmp = useTempDir('vae-gen');

interface Case {
  name: string;
  config: Record<string, unknown>;
  /** Image sizes to encode (multiples of the scale factor) and latent sizes to decode. */
  images: [number, number][];
  latents: [number, number][];
  factor: number;
}

const CASES: Case[] = [
  {
    name: 'four blocks [8, 16, 16, 32], 1 resnet, 4 groups',
    config: { block_out_channels: [8, 16, 16, 32], layers_per_block: 1, norm_num_groups: 4, down_block_types: Array(4).fill('DownEncoderBlock2D'), up_block_types: Array(4).fill('UpDecoderBlock2D') },
    images: [[56, 72], [16, 8]],
    latents: [[7, 9], [1, 1]],
    factor: 8,
  },
  {
    name: 'two blocks [16, 24], 2 resnets, 8 groups, 3 latent channels, 1-channel images',
    config: { block_out_channels: [16, 24], layers_per_block: 2, norm_num_groups: 8, latent_channels: 3, in_channels: 1, out_channels: 1, down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'], up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'] },
    images: [[14, 18]],
    latents: [[7, 9], [3, 2]],
    factor: 2,
  },
  {
    name: 'three blocks [16, 32, 32], 3 resnets, 16 groups, no mid-block attention',
    config: { block_out_channels: [16, 32, 32], layers_per_block: 3, norm_num_groups: 16, mid_block_add_attention: false, down_block_types: Array(3).fill('DownEncoderBlock2D'), up_block_types: Array(3).fill('UpDecoderBlock2D') },
    images: [[28, 36]],
    latents: [[7, 9]],
    factor: 4,
  },
  {
    name: 'one block [32] (no down/upsampler), defaults for the rest',
    config: { block_out_channels: [32], norm_num_groups: 32 },
    images: [[7, 9]],
    latents: [[5, 3]],
    factor: 1,
  },
];

function seeded(seed: number, shape: number[]): Tensor<'float32'> {
  const t = new Generator(seed).rand(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = 2 * t.data[i] - 1; // an "image" in [−1, 1]
  return t;
}

function expectFinite(label: string, t: Tensor): void {
  const bad = Array.from(t.data as Float32Array).findIndex((v) => !Number.isFinite(v));
  expect(bad, `${label}: first non-finite value at flat index ${bad}`).toBe(-1);
}

describe.each(CASES.map((c, i) => [c.name, c, i] as const))('AutoencoderKL on random weights: %s', (_, c, index) => {
  const folder = () => join(tmp(), `case${index}`);
  const load = async (attention: 'fused' | 'plain') => {
    await writeRandomVae(folder(), c.config, 1000 + index);
    return AutoencoderKL.fromPretrained(folder(), { attention });
  };

  it('encodes and decodes with the right shapes, finite values, fused = plain', async () => {
    const [fused, plain] = [await load('fused'), await load('plain')];
    const L = fused.config.latent_channels;
    const inCh = fused.config.in_channels;
    const outCh = fused.config.out_channels;
    expect(fused.vaeScaleFactor).toBe(c.factor);
    for (const [H, W] of c.images) {
      const image = seeded(H * 100 + W, [1, inCh, H, W]);
      const a = (await fused.encode(image)).latentDist;
      const b = (await plain.encode(image)).latentDist;
      for (const t of [a.mean, a.logvar, a.std, a.var]) {
        expect([...t.shape]).toEqual([1, L, H / c.factor, W / c.factor]);
        expectFinite(`encode ${H}×${W}`, t);
      }
      expectClose(`fused vs plain mean ${H}×${W}`, a.mean, b.mean, { abs: 1e-5, rel: 1e-5 });
      expectClose(`fused vs plain logvar ${H}×${W}`, a.logvar, b.logvar, { abs: 1e-5, rel: 1e-5 });
    }
    for (const [h, w] of c.latents) {
      const z = new Generator(h * 10 + w).randn([1, L, h, w]);
      const x = (await fused.decode(z)).sample;
      const y = (await plain.decode(z)).sample;
      expect([...x.shape]).toEqual([1, outCh, h * c.factor, w * c.factor]);
      expectFinite(`decode ${h}×${w}`, x);
      expectClose(`fused vs plain decode ${h}×${w}`, x, y, { abs: 1e-5, rel: 1e-5 });
    }
    await Promise.all([fused.release(), plain.release()]);
  });

  // Not bit-identical: ONNX Runtime blocks its GEMMs/convolutions differently per batch size (≈1e-6 seen).
  it('a batch of two equals the two items run alone (one session, symbolic batch)', async () => {
    const vae = await load('fused');
    const [H, W] = c.images[0];
    const { in_channels: inCh, latent_channels: L } = vae.config;
    const items = [seeded(1, [1, inCh, H, W]), seeded(2, [1, inCh, H, W])];
    const both = (await vae.encode(Tensor.cat0(items))).latentDist.mean;
    for (const [i, item] of items.entries()) {
      expectClose(`batch item ${i} mean`, both.slice0(i), (await vae.encode(item)).latentDist.mean, { abs: 1e-5 });
    }
    const [h, w] = c.latents[0];
    const zs = [new Generator(3).randn([1, L, h, w]), new Generator(4).randn([1, L, h, w])];
    const decoded = (await vae.decode(Tensor.cat0(zs))).sample;
    for (const [i, z] of zs.entries()) expectClose(`batch item ${i} decode`, decoded.slice0(i), (await vae.decode(z)).sample, { abs: 1e-5 });
    await vae.release();
  });
});

describe('DiagonalGaussianDistribution.sample draw order', () => {
  it('one generator: ONE randn of the full batch shape; a list: one [1, ...] draw per item; none: defaultGenerator', async () => {
    const dir = join(tmp(), 'sampling');
    await writeRandomVae(dir, { block_out_channels: [8, 8], norm_num_groups: 4 }, 7);
    const vae = await AutoencoderKL.fromPretrained(dir);
    const image = seeded(5, [2, 3, 6, 10]);
    const { latentDist } = await vae.encode(image);
    const shape = [...latentDist.mean.shape]; // [2, 4, 3, 5]
    const expectSample = (z: Tensor<'float32'>, noise: Tensor<'float32'>) => {
      for (let i = 0; i < z.size; i++) expect(z.data[i]).toBe(Math.fround(latentDist.mean.data[i] + Math.fround(latentDist.std.data[i] * noise.data[i])));
    };
    const g = new Generator(42);
    expectSample(latentDist.sample(g), new Generator(42).randn(shape));
    // The generator advanced by exactly one draw of that shape.
    const reference = new Generator(42);
    reference.randn(shape);
    expect(Array.from(g.randn([3]).data)).toEqual(Array.from(reference.randn([3]).data));

    const perItem = Tensor.cat0([new Generator(1).randn([1, ...shape.slice(1)]), new Generator(2).randn([1, ...shape.slice(1)])]);
    expectSample(latentDist.sample([new Generator(1), new Generator(2)]), perItem);
    expect(() => latentDist.sample([new Generator(1), new Generator(2), new Generator(3)])).toThrow(/3 generators for a batch of 2/);
    expect(latentDist.mode()).toBe(latentDist.mean);

    // Without a generator: the shared defaultGenerator, advanced by the same one draw.
    const before = defaultGenerator.getState();
    const z = latentDist.sample();
    expectSample(z, new Generator().setState(before).randn(shape));
    await vae.release();
  });
});
