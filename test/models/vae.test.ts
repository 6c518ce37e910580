// AutoencoderKL against diffusers 0.27 (fixture README §5, tolerances §13), with both attention
// paths. Every comparison's max error is recorded and printed when the file is done.
import { afterAll, describe, expect, it } from 'vitest';

import { Generator } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const POSTERIOR = { abs: 5e-5 };
const DECODE = { abs: 1e-4 };
// The debug intermediates have no tolerance of their own in the README; their values reach ~10²
// inside the network, so they are compared relative to each tensor's largest value.
const INTERMEDIATE = { rel: 2e-5 };

const errors = new Map<string, { abs: number; rel: number }>();
function check(label: string, actual: Tensor, expected: Tensor, tol: { abs?: number; rel?: number }): number {
  const d = expectClose(label, actual, expected, tol);
  errors.set(label, { abs: d.maxAbs, rel: d.maxRel });
  return d.maxAbs;
}

afterAll(() => {
  const rows = [...errors.entries()].map(([k, e]) => `  ${k.padEnd(62)} abs ${e.abs.toExponential(2)}  rel ${e.rel.toExponential(2)}`);
  console.log(`AutoencoderKL max errors (rel = abs / max|ref|):\n${rows.join('\n')}`);
});

/** The seed in a tensor description such as "torch.randn(..., generator=torch.Generator().manual_seed(600))". */
function seedOf(model: string, tensor: string): number {
  const description: string = readJson('reference', model, 'vae.json').tensors[tensor].description;
  const m = /manual_seed\((\d+)\)/.exec(description);
  if (!m) throw new Error(`no seed in the description of ${tensor}: ${description}`);
  return Number(m[1]);
}

for (const model of ['tiny-sd15', 'tiny-sd2']) {
  describe.each(['fused', 'plain'] as const)(`AutoencoderKL ${model} (%s attention)`, (attention) => {
    const sizes: [number, number][] = readJson('reference', model, 'vae.json').image_sizes;
    const load = () => AutoencoderKL.fromPretrained(fixturePath('pipelines', model), { attention });

    it('reads the config', async () => {
      const vae = await load();
      const raw = readJson('pipelines', model, 'vae', 'config.json');
      expect(vae.config.block_out_channels).toEqual(raw.block_out_channels);
      expect(vae.config.layers_per_block).toBe(raw.layers_per_block);
      expect(vae.scalingFactor).toBe(0.18215);
      expect(vae.vaeScaleFactor).toBe(8);
      expect(vae.config.mid_block_add_attention).toBe(true);
      expect(vae.config.shift_factor).toBeNull();
      await vae.release();
    });

    it('encodes both image sizes: posterior mean, logvar, std, var', async () => {
      const ref = await loadTensors('reference', model, 'vae.safetensors');
      const vae = await load();
      for (const [h, w] of sizes) {
        const s = `${h}x${w}`;
        const { latentDist } = await vae.encode(ref.get(`image_${s}`)!);
        check(`${model} ${attention} posterior_mean_${s}`, latentDist.mean, ref.get(`posterior_mean_${s}`)!, POSTERIOR);
        check(`${model} ${attention} posterior_logvar_${s}`, latentDist.logvar, ref.get(`posterior_logvar_${s}`)!, POSTERIOR);
        check(`${model} ${attention} posterior_std_${s}`, latentDist.std, ref.get(`posterior_std_${s}`)!, POSTERIOR);
        check(`${model} ${attention} posterior_var_${s}`, latentDist.var, ref.get(`posterior_var_${s}`)!, POSTERIOR);
        expect(latentDist.mode()).toBe(latentDist.mean);
      }
      await vae.release();
    });

    it('samples the posterior with the stored noise and with the seeded generator', async () => {
      const ref = await loadTensors('reference', model, 'vae.safetensors');
      const vae = await load();
      for (const [h, w] of sizes) {
        const s = `${h}x${w}`;
        const { latentDist } = await vae.encode(ref.get(`image_${s}`)!);
        const noise = ref.get(`sample_noise_${s}`)!;
        const withStored = latentDist.mean.clone();
        for (let i = 0; i < withStored.size; i++) withStored.data[i] += Math.fround(latentDist.std.data[i] * (noise.data[i] as number));
        check(`${model} ${attention} posterior_sample_${s} (stored noise)`, withStored, ref.get(`posterior_sample_${s}`)!, POSTERIOR);

        const seed = seedOf(model, `sample_noise_${s}`);
        check(`${model} ${attention} sample_noise_${s} (Generator ${seed})`, new Generator(seed).randn(latentDist.mean.shape), noise, { abs: 0 });
        const sampled = latentDist.sample(new Generator(seed));
        check(`${model} ${attention} posterior_sample_${s} (Generator ${seed})`, sampled, ref.get(`posterior_sample_${s}`)!, POSTERIOR);
        // The stored noise through sample(): identical to the manual sum (same float32 rounding).
        expect(Array.from(sampled.data)).toEqual(Array.from(withStored.data));
      }
      await vae.release();
    });

    it('decodes the posterior mean of both sizes and decode_z', async () => {
      const ref = await loadTensors('reference', model, 'vae.safetensors');
      const vae = await load();
      for (const [h, w] of sizes) {
        const s = `${h}x${w}`;
        const { sample } = await vae.decode(ref.get(`posterior_mean_${s}`)!);
        check(`${model} ${attention} decode_of_mean_${s}`, sample, ref.get(`decode_of_mean_${s}`)!, DECODE);
      }
      const { sample } = await vae.decode(ref.get('decode_z')!);
      check(`${model} ${attention} decode_out`, sample, ref.get('decode_out')!, DECODE);
      await vae.release();
    });

    it('exposes the encoder and decoder intermediates (8×8 image, 2×2 latent)', async () => {
      const ref = await loadTensors('reference', model, 'vae.safetensors');
      const vae = await load();
      const enc = await vae.encode(ref.get('debug_image_8x8')!, { intermediates: true });
      const dec = await vae.decode(ref.get('debug_z_2x2')!, { intermediates: true });
      const names = [...ref.keys()].filter((k) => k.startsWith('debug_enc.') || k.startsWith('debug_dec.'));
      expect(names.length).toBe(Object.keys(enc.intermediates!).length + Object.keys(dec.intermediates!).length);
      for (const name of names) {
        const [part, path] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
        const got = (part === 'debug_enc' ? enc : dec).intermediates![path];
        expect(got, `${name} is exposed`).toBeDefined();
        check(`${model} ${attention} ${name}`, got, ref.get(name)!, INTERMEDIATE);
      }
      await vae.release();
    });
  });
}

describe('AutoencoderKL tiny-sd15 fp16 variant', () => {
  it('loads the float16 weights and decodes within the rounding effect the README measured', async () => {
    const ref = await loadTensors('reference', 'tiny-sd15', 'vae.safetensors');
    const vae = await AutoencoderKL.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { variant: 'fp16' });
    const { sample } = await vae.decode(ref.get('decode_z')!);
    // README §13: rounding the weights to float16 alone moves the decode by 2.1e-3 abs.
    const maxAbs = check('tiny-sd15 fp16 variant decode_out (vs float32 ref)', sample, ref.get('decode_out')!, { abs: 2.5e-3 });
    expect(maxAbs, 'the fp16 weights must actually be used').toBeGreaterThan(0);
    await vae.release();
  });
});
