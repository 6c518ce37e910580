// A VAE in one file (AutoencoderKL.fromSingleFile): the LDM layout without a prefix (as
// vae-ft-mse-840000-ema-pruned.safetensors), the same with `first_stage_model.` (a whole checkpoint),
// and diffusers' layout — each decodes exactly as the diffusers VAE folder it came from.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { Generator } from '../../src/core/random.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { writeSafetensors } from '../../src/weights/safetensors-write.js';
import { WeightSet } from '../../src/weights/weight-set.js';
import { diff } from '../helpers/compare.js';
import { fixturePath } from '../helpers/fixtures.js';
import { expectCode, useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('vae-file');

/** The VAE keys of tiny-sd15.safetensors (F16) without their prefix: a VAE file in LDM layout. */
export async function writeLdmVae(file: string): Promise<void> {
  const ckpt = await WeightSet.open([fixturePath('single_file', 'tiny-sd15.safetensors')]);
  const p = 'first_stage_model.';
  await writeSafetensors(file, new Map(ckpt.keys.filter((k) => k.startsWith(p)).map((k) => [k.slice(p.length), ckpt.ref(k)])));
}

describe('AutoencoderKL.fromSingleFile', () => {
  it('LDM (bare and prefixed) and diffusers layouts decode exactly as the folder', async () => {
    const ldm = join(tmp(), 'vae-ldm.safetensors');
    await writeLdmVae(ldm);
    const folder = await AutoencoderKL.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { subfolder: 'vae', variant: 'fp16' });
    const z = new Generator(3).randn([1, 4, 8, 8]) as Tensor<'float32'>;
    const want = (await folder.decode(z)).sample;
    for (const file of [ldm, fixturePath('single_file', 'tiny-sd15.safetensors'), fixturePath('pipelines', 'tiny-sd15', 'vae', 'diffusion_pytorch_model.fp16.safetensors')]) {
      const vae = await AutoencoderKL.fromSingleFile(file);
      for (const k of ['block_out_channels', 'layers_per_block', 'latent_channels', 'norm_num_groups', 'scaling_factor'] as const) expect(vae.config[k], k).toEqual(folder.config[k]);
      expect(diff((await vae.decode(z)).sample.data, want.data).maxAbs, file).toBe(0);
      await vae.release();
    }
    await folder.release();
  });

  it('a file that is not a VAE is named as such', async () => {
    const e = await expectCode(() => AutoencoderKL.fromSingleFile(fixturePath('lora', 'tiny-sd15-lora.kohya.safetensors')), 'VAE_NOT_A_VAE');
    expect(e.message).toContain('tiny-sd15-lora.kohya.safetensors');
  });
});
