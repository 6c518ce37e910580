// AutoencoderTiny (TAESD) against diffusers 0.27 (fixture README §18): encode, decode (with latents
// beyond the ±3 soft clamp), the byte round trip of `forward`, and the config. Runs on both compile
// paths (npm run test:reference / test:optimized). Max errors are printed when the file is done.
import { afterAll, describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { AutoencoderTiny } from '../../src/models/autoencoder-tiny.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const ENCODE = { abs: 1e-5 };
const DECODE = { abs: 1e-4 };
const errors = new Map<string, number>();
const check = (label: string, a: Tensor, e: Tensor, tol: { abs: number }) => errors.set(label, expectClose(label, a, e, tol).maxAbs);

afterAll(() => {
  const rows = [...errors.entries()].map(([k, v]) => `  ${k.padEnd(38)} abs ${v.toExponential(2)}`);
  console.log(`AutoencoderTiny max errors:\n${rows.join('\n')}`);
});

const load = () => AutoencoderTiny.fromPretrained(fixturePath('pipelines', 'tiny-taesd'));
const f32 = (t: Tensor | undefined) => t!.toFloat32();

describe('AutoencoderTiny tiny-taesd', () => {
  const sizes: [number, number][] = readJson('taesd', 'expected.json').image_sizes;

  it('reads the config (README §18)', async () => {
    const vae = await load();
    expect(vae.config.num_encoder_blocks).toEqual([1, 2, 2, 2]);
    expect(vae.config.num_decoder_blocks).toEqual([2, 2, 2, 1]);
    expect(vae.scalingFactor).toBe(1);
    expect(vae.vaeScaleFactor).toBe(8);
    expect(vae.config.latent_magnitude).toBe(3);
    await vae.release();
  });

  it('encodes both sizes (deterministic latents) and decodes them back', async () => {
    const ref = await loadTensors('taesd', 'expected.safetensors');
    const vae = await load();
    for (const [h, w] of sizes) {
      const s = `${h}x${w}`;
      const { latents } = await vae.encode(ref.get(`image_${s}`)!);
      check(`encode_${s}`, latents, ref.get(`encode_${s}`)!, ENCODE);
      check(`decode_of_encode_${s}`, (await vae.decode(f32(ref.get(`encode_${s}`)))).sample, ref.get(`decode_of_encode_${s}`)!, DECODE);
    }
    await vae.release();
  });

  it('decodes latents beyond the ±3 soft clamp', async () => {
    const ref = await loadTensors('taesd', 'expected.safetensors');
    const z = f32(ref.get('decode_z'));
    const clamped = new Tensor('float32', z.shape, z.data.map((v) => Math.fround(Math.tanh(v / 3) * 3)));
    check('decode_z_clamped (host formula)', clamped, ref.get('decode_z_clamped')!, ENCODE);
    const vae = await load();
    check('decode_out', (await vae.decode(z)).sample, ref.get('decode_out')!, DECODE);
    await vae.release();
  });

  it('scale_latents / unscale_latents and forward\'s byte round trip', async () => {
    const ref = await loadTensors('taesd', 'expected.safetensors');
    const vae = await load();
    for (const [h, w] of sizes) {
      const s = `${h}x${w}`;
      check(`scale_latents_${s}`, vae.scaleLatents(f32(ref.get(`encode_${s}`))), ref.get(`scale_latents_${s}`)!, ENCODE);
      const { sample, quantized } = await vae.forward(ref.get(`image_${s}`)!);
      const expected = ref.get(`forward_quantized_${s}`)!;
      let levels = 0;
      quantized.data.forEach((q, i) => {
        const d = Math.abs(q - Number(expected.data[i]));
        expect(d, `forward_quantized_${s}[${i}]`).toBeLessThanOrEqual(1);
        levels += d;
      });
      errors.set(`forward_quantized_${s} (levels off)`, levels);
      const restored = vae.unscaleLatents(new Tensor('float32', expected.shape, Float32Array.from(expected.data as Uint8Array, (q) => Math.fround(q / 255))));
      check(`forward_unscaled_${s}`, restored, ref.get(`forward_unscaled_${s}`)!, ENCODE);
      if (levels === 0) check(`forward_${s}`, sample, ref.get(`forward_${s}`)!, DECODE);
    }
    await vae.release();
  });

  it('validates inputs and the config before any compute', async () => {
    const vae = await load();
    await expect(vae.encode(Tensor.zeros([1, 3, 60, 64]))).rejects.toThrow(/60×64.*multiple of 8/);
    await expect(vae.decode(Tensor.zeros([4, 8, 8]))).rejects.toThrow(/add a batch dimension/);
    await expect(vae.decode(Tensor.zeros([1, 3, 8, 8]))).rejects.toThrow(LatentlabError);
    await vae.release();
    await expect(AutoencoderTiny.fromPretrained(fixturePath('pipelines', 'tiny-sd15', 'vae'))).rejects.toThrow(/_class_name.*AutoencoderKL.*not supported/);
  });
});
