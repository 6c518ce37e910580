// AutoencoderKL's boundary checks: bad inputs, unsupported or inconsistent configs, and
// checkpoints that do not match their config — each a LatentlabError naming what is wrong.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import { WeightBindingError, writeSafetensors } from '../../src/weights/index.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { expectCode, useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('vae-errors');

describe('AutoencoderKL input checks', () => {
  const load = () => AutoencoderKL.fromPretrained(fixturePath('pipelines', 'tiny-sd15'));

  it('refuses an image whose sides are not multiples of 8, naming the size and the fix', async () => {
    const vae = await load();
    const err = await expectCode(vae.encode(Tensor.zeros([1, 3, 50, 64])), 'MODEL_INPUT');
    expect(err.message).toContain('50×64');
    expect(err.message).toContain('multiple of 8');
    expect(err.hint).toContain('height of 48 or 56');
    expect(err.hint).toContain('width of 64');
    await expectCode(vae.encode(Tensor.zeros([1, 3, 64, 4])), 'MODEL_INPUT');
    await vae.release();
  });

  it('refuses wrong ranks, channel counts and dtypes', async () => {
    const vae = await load();
    const noBatch = await expectCode(vae.encode(Tensor.zeros([3, 64, 64])), 'MODEL_INPUT');
    expect(noBatch.hint).toContain('batch dimension');
    const channels = await expectCode(vae.encode(Tensor.zeros([1, 4, 64, 64])), 'MODEL_INPUT');
    expect(channels.message).toContain('[1, 4, 64, 64]');
    expect(channels.message).toContain('[batch, 3, height, width]');
    await expectCode(vae.encode(new Tensor('uint8', [1, 3, 8, 8])), 'MODEL_INPUT');
    const latents = await expectCode(vae.decode(Tensor.zeros([1, 3, 8, 8])), 'MODEL_INPUT');
    expect(latents.message).toContain('[batch, 4, height/8, width/8]');
    await vae.release();
  });

  it('decodes float16 latents as float32', async () => {
    const vae = await load();
    const z = new Tensor('float16', [1, 4, 2, 2]);
    const { sample } = await vae.decode(z);
    expect([...sample.shape]).toEqual([1, 3, 16, 16]);
    await vae.release();
  });
});

describe('AutoencoderKL config checks', () => {
  const base = () => ({ ...readJson('pipelines', 'tiny-sd15', 'vae', 'config.json') }) as Record<string, unknown>;
  const parse = (raw: Record<string, unknown>) => () => parseAutoencoderKLConfig(new ConfigReader(raw, 'vae/config.json'));

  it('reads the defaults diffusers uses for missing fields', () => {
    const c = parse({ block_out_channels: [64] })();
    expect(c).toMatchObject({ in_channels: 3, out_channels: 3, latent_channels: 4, layers_per_block: 1, norm_num_groups: 32, act_fn: 'silu', scaling_factor: 0.18215, shift_factor: null, latents_mean: null, latents_std: null, force_upcast: true, mid_block_add_attention: true });
    expect(c.down_block_types).toEqual(['DownEncoderBlock2D']);
  });

  it('rejects what latentlab does not build with CONFIG_UNSUPPORTED, naming the field and value', async () => {
    const cases: [string, unknown][] = [
      ['_class_name', 'AutoencoderTiny'],
      ['act_fn', 'gelu'],
      ['down_block_types', ['DownEncoderBlock2D', 'AttnDownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D']],
      ['up_block_types', ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'AttnUpDecoderBlock2D']],
      ['use_quant_conv', false],
    ];
    for (const [field, value] of cases) {
      const err = await expectCode(parse({ ...base(), [field]: value }), 'CONFIG_UNSUPPORTED');
      expect(err.key).toBe(field);
      expect(err.message).toContain('vae/config.json');
    }
  });

  it('rejects inconsistent configs with CONFIG_FIELD', async () => {
    const groups = await expectCode(parse({ ...base(), norm_num_groups: 24 }), 'CONFIG_FIELD');
    expect(groups.message).toContain('block_out_channels[0] = 32 is not divisible by norm_num_groups = 24');
    const count = await expectCode(parse({ ...base(), down_block_types: ['DownEncoderBlock2D'] }), 'CONFIG_FIELD');
    expect(count.message).toContain('1 entries but block_out_channels has 4');
    await expectCode(parse({ ...base(), block_out_channels: 64 }), 'CONFIG_FIELD');
    await expectCode(parse({ ...base(), scaling_factor: 'x' }), 'CONFIG_FIELD');
    await expectCode(parse({ ...base(), latents_mean: [0, 1] }), 'CONFIG_FIELD');
  });
});

describe('AutoencoderKL weight checks', () => {
  it('reports a removed, a renamed and a mis-shaped weight at once, with keys and shapes', async () => {
    const dir = join(tmp(), 'broken');
    mkdirSync(dir, { recursive: true });
    cpSync(fixturePath('pipelines', 'tiny-sd2', 'vae', 'config.json'), join(dir, 'config.json'));
    const tensors = await loadTensors('pipelines', 'tiny-sd2', 'vae', 'diffusion_pytorch_model.safetensors');
    tensors.delete('decoder.mid_block.attentions.0.to_q.bias');
    tensors.set('encoder.mid_block.attention.0.to_k.weight', tensors.get('encoder.mid_block.attentions.0.to_k.weight')!);
    tensors.delete('encoder.mid_block.attentions.0.to_k.weight');
    tensors.set('quant_conv.weight', Tensor.zeros([8, 8, 3, 3]));
    await writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors);

    const err = (await expectCode(AutoencoderKL.fromPretrained(dir), 'WEIGHTS_MISSING')) as WeightBindingError;
    expect(err).toBeInstanceOf(WeightBindingError);
    const byKind = Object.fromEntries(err.problems.map((p) => [p.kind, p]));
    expect(err.problems).toHaveLength(4); // two missing (one of them renamed), one unexpected, one shape
    expect(err.problems.filter((p) => p.kind === 'missing').map((p) => p.key).sort()).toEqual([
      'decoder.mid_block.attentions.0.to_q.bias',
      'encoder.mid_block.attentions.0.to_k.weight',
    ]);
    expect(byKind.unexpected).toMatchObject({ key: 'encoder.mid_block.attention.0.to_k.weight', suggestion: 'encoder.mid_block.attentions.0.to_k.weight' });
    expect(byKind.shape).toMatchObject({ key: 'quant_conv.weight', expected: [8, 8, 1, 1], found: [8, 8, 3, 3] });
    expect(err.message).toContain('latent_channels = 4'); // the config field behind quant_conv's shape
  });
});
