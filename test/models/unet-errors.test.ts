// UNet2DConditionModel's boundary checks: checkpoints that do not match their config, unsupported
// or inconsistent configs, and bad forward() inputs — each a LatentlabError naming what is wrong.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { WeightBindingError, writeSafetensors } from '../../src/weights/index.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { expectCode, useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('unet-errors');

/** A copy of tiny-sd15's unet folder whose weights `edit` changed (written with the project's writer). */
async function brokenUNet(name: string, edit: (t: Map<string, Tensor>) => void): Promise<string> {
  const dir = join(tmp(), name);
  mkdirSync(dir, { recursive: true });
  cpSync(fixturePath('pipelines', 'tiny-sd15', 'unet', 'config.json'), join(dir, 'config.json'));
  const tensors = await loadTensors('pipelines', 'tiny-sd15', 'unet', 'diffusion_pytorch_model.safetensors');
  edit(tensors);
  await writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

describe('UNet2DConditionModel weight checks (tiny-sd15 copies)', () => {
  it('a removed weight: WEIGHTS_MISSING naming the key, its shape and the config field behind it', async () => {
    const key = 'mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight';
    const dir = await brokenUNet('removed', (t) => t.delete(key));
    const err = (await expectCode(UNet2DConditionModel.fromPretrained(dir), 'WEIGHTS_MISSING')) as WeightBindingError;
    expect(err.problems).toEqual([expect.objectContaining({ kind: 'missing', key, expected: [64, 32] })]);
    expect(err.message).toContain(`${key}: expected [64, 32]`);
    expect(err.message).toContain('cross_attention_dim = 32');
    expect(err.key).toBe(key);
  });

  it('a renamed weight: the old key is missing and the new one unexpected, with the rename suggested', async () => {
    const key = 'down_blocks.1.attentions.0.proj_in.weight';
    const renamed = 'down_blocks.1.attentions.0.proj_inn.weight';
    const dir = await brokenUNet('renamed', (t) => {
      t.set(renamed, t.get(key)!);
      t.delete(key);
    });
    // bind.ts reports missing weights first, so the code is WEIGHTS_MISSING; both problems are listed.
    const err = (await expectCode(UNet2DConditionModel.fromPretrained(dir), 'WEIGHTS_MISSING')) as WeightBindingError;
    expect(err.problems).toHaveLength(2);
    expect(err.problems).toContainEqual(expect.objectContaining({ kind: 'missing', key, expected: [32, 32, 1, 1] }));
    expect(err.problems).toContainEqual(expect.objectContaining({ kind: 'unexpected', key: renamed, found: [32, 32, 1, 1], suggestion: key }));
    expect(err.message).toContain(`unexpected ${renamed} [32, 32, 1, 1]: did you mean "${key}"?`);
    expect(err.message).toContain('use_linear_projection = false'); // the field that makes proj_in a 1×1 conv
  });

  it('an extra weight: WEIGHTS_UNEXPECTED naming the key and its shape', async () => {
    const extra = 'mid_block.attentions.0.transformer_blocks.1.norm1.weight'; // as if transformer_layers_per_block were 2
    const dir = await brokenUNet('extra', (t) => t.set(extra, Tensor.zeros([64])));
    const err = (await expectCode(UNet2DConditionModel.fromPretrained(dir), 'WEIGHTS_UNEXPECTED')) as WeightBindingError;
    expect(err.problems).toEqual([expect.objectContaining({ kind: 'unexpected', key: extra, found: [64] })]);
    expect(err.message).toContain(`unexpected ${extra} [64]`);
  });

  it('a wrongly shaped weight: WEIGHTS_SHAPE naming the key, expected and found shapes and the config field', async () => {
    const key = 'down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight';
    const dir = await brokenUNet('shape', (t) => t.set(key, Tensor.zeros([32, 16])));
    const err = (await expectCode(UNet2DConditionModel.fromPretrained(dir), 'WEIGHTS_SHAPE')) as WeightBindingError;
    expect(err.problems).toEqual([{ kind: 'shape', key, expected: [32, 32], found: [32, 16], origin: expect.stringContaining('cross_attention_dim = 32') }]);
    expect(err.message).toContain(`${key}: expected [32, 32], found [32, 16]`);
    expect(err.message).toContain('cross_attention_dim = 32');
    expect(err.hint).toContain('config.json');
  });
});

describe('UNet2DConditionModel config checks', () => {
  const base = () => ({ ...readJson('pipelines', 'tiny-sd15', 'unet', 'config.json') }) as Record<string, unknown>;
  const parse = (raw: Record<string, unknown>) => () => parseUNet2DConditionConfig(new ConfigReader(raw, 'unet/config.json'));

  it('reads diffusers\' defaults (SD 1.5\'s architecture) for missing fields', () => {
    const c = parse({ sample_size: 64 })();
    expect(c).toMatchObject({
      in_channels: 4, out_channels: 4, block_out_channels: [320, 640, 1280, 1280], layers_per_block: [2, 2, 2, 2],
      attention_head_dim: 8, num_attention_heads: [8, 8, 8, 8], cross_attention_dim: [1280, 1280, 1280, 1280],
      norm_num_groups: 32, norm_eps: 1e-5, flip_sin_to_cos: true, freq_shift: 0, time_embedding_dim: 1280,
      use_linear_projection: false, downsample_padding: 1, mid_block_scale_factor: 1, conv_in_kernel: 3, conv_out_kernel: 3,
    });
    expect(c.down_block_types).toEqual(['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
    expect(c.up_block_types).toEqual(['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']);
  });

  it('translates attention_head_dim (a head COUNT) once; an explicit num_attention_heads wins', () => {
    const sd2 = parse(readJson('pipelines', 'tiny-sd2', 'unet', 'config.json'))();
    expect(sd2.attention_head_dim).toEqual([2, 4, 4, 4]);
    expect(sd2.num_attention_heads).toEqual([2, 4, 4, 4]);
    expect(parse(base())().num_attention_heads).toEqual([8, 8, 8, 8]);
    expect(parse({ ...base(), num_attention_heads: [1, 2, 4, 8] })().num_attention_heads).toEqual([1, 2, 4, 8]);
    expect(parse({ ...base(), transformer_layers_per_block: [1, 2, 3, 1], layers_per_block: [1, 2, 2, 3] })()).toMatchObject({
      transformer_layers_per_block: [1, 2, 3, 1], layers_per_block: [1, 2, 2, 3],
    });
  });

  it('rejects what latentlab does not build with CONFIG_UNSUPPORTED, naming the field and value', async () => {
    const cases: [string, unknown, string?][] = [
      ['addition_embed_type', 'text_time'],
      ['class_embed_type', 'timestep'],
      ['num_class_embeds', 10],
      ['encoder_hid_dim', 768],
      ['attention_type', 'gated'],
      ['dual_cross_attention', true],
      ['only_cross_attention', true],
      ['only_cross_attention', [false, true, false, false]],
      ['mid_block_only_cross_attention', true],
      ['mid_block_type', 'UNetMidBlock2DSimpleCrossAttn'],
      ['mid_block_type', null],
      ['resnet_time_scale_shift', 'scale_shift'],
      ['time_embedding_type', 'fourier'],
      ['reverse_transformer_layers_per_block', [[1], [1], [1], [1]]],
      ['norm_num_groups', null],
      ['downsample_padding', 2],
      ['act_fn', 'gelu'],
      ['_class_name', 'AutoencoderKL'],
      ['down_block_types', ['CrossAttnDownBlock2D', 'SimpleCrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], 'down_block_types[1]'],
      ['up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'AttnUpBlock2D'], 'up_block_types[3]'],
    ];
    for (const [field, value, key] of cases) {
      const err = await expectCode(parse({ ...base(), [field]: value }), 'CONFIG_UNSUPPORTED');
      expect(err.key, `${field} = ${JSON.stringify(value)}`).toBe(key ?? field);
      expect(err.message).toContain('unet/config.json');
    }
  });

  it('rejects inconsistent configs with CONFIG_FIELD, naming the fields', async () => {
    const groups = await expectCode(parse({ ...base(), norm_num_groups: 24 }), 'CONFIG_FIELD');
    expect(groups.message).toContain('block_out_channels[0] = 32 is not divisible by norm_num_groups = 24');
    const heads = await expectCode(parse({ ...base(), attention_head_dim: [8, 8, 128, 8] }), 'CONFIG_FIELD');
    expect(heads.message).toContain('attention_head_dim[2] = 128 heads is more than block_out_channels[2] = 64');
    const count = await expectCode(parse({ ...base(), up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'] }), 'CONFIG_FIELD');
    expect(count.message).toContain('got 4, 3 and 4');
    const cross = await expectCode(parse({ ...base(), cross_attention_dim: [32, 32, 16, 32] }), 'CONFIG_FIELD');
    expect(cross.message).toContain('one encoder_hidden_states tensor feeds every block');
    await expectCode(parse({ ...base(), attention_head_dim: [8, 8] }), 'CONFIG_FIELD');
    await expectCode(parse({ ...base(), conv_in_kernel: 2 }), 'CONFIG_FIELD');
    await expectCode(parse({ ...base(), block_out_channels: 64 }), 'CONFIG_FIELD');
    await expectCode(parse({ ...base(), down_block_types: 'CrossAttnDownBlock2D' }), 'CONFIG_FIELD');
    await expectCode(parse({ ...base(), sample_size: undefined }), 'CONFIG_FIELD');
  });
});

describe('UNet2DConditionModel.forward input checks (tiny-sd15)', () => {
  let unet: UNet2DConditionModel;
  beforeAll(async () => {
    unet = await UNet2DConditionModel.fromPretrained(fixturePath('pipelines', 'tiny-sd15'));
  });
  afterAll(() => unet.release());
  const ehs = (b: number, width = 32) => Tensor.zeros([b, 77, width]);

  it('refuses wrong sample shapes and dtypes with MODEL_INPUT', async () => {
    const channels = await expectCode(unet.forward(Tensor.zeros([1, 3, 8, 8]), 1, ehs(1)), 'MODEL_INPUT');
    expect(channels.message).toContain('[1, 3, 8, 8]');
    expect(channels.message).toContain('4 (in_channels)');
    await expectCode(unet.forward(Tensor.zeros([4, 8, 8]), 1, ehs(1)), 'MODEL_INPUT');
    await expectCode(unet.forward(Tensor.zeros([1, 4, 0, 8]), 1, ehs(1)), 'MODEL_INPUT');
    await expectCode(unet.forward(new Tensor('int64', [1, 4, 8, 8]), 1, ehs(1)), 'MODEL_INPUT');
  });

  it('refuses encoder_hidden_states of another batch or width', async () => {
    const batch = await expectCode(unet.forward(Tensor.zeros([2, 4, 8, 8]), 1, ehs(1)), 'MODEL_INPUT');
    expect(batch.message).toContain('[1, 77, 32]');
    expect(batch.message).toContain('2 (the batch of sample)');
    expect(batch.hint).toContain('classifier-free guidance');
    const width = await expectCode(unet.forward(Tensor.zeros([1, 4, 8, 8]), 1, ehs(1, 16)), 'MODEL_INPUT');
    expect(width.message).toContain('32 (cross_attention_dim)');
    await expectCode(unet.forward(Tensor.zeros([1, 4, 8, 8]), 1, Tensor.zeros([1, 0, 32])), 'MODEL_INPUT');
  });

  it('refuses timesteps that do not fit the batch or are not finite', async () => {
    const x = Tensor.zeros([2, 4, 8, 8]);
    const count = await expectCode(unet.forward(x, [1, 2, 3], ehs(2)), 'MODEL_INPUT');
    expect(count.message).toContain('3 timesteps for a batch of 2');
    await expectCode(unet.forward(x, Tensor.zeros([2, 1]), ehs(2)), 'MODEL_INPUT');
    await expectCode(unet.forward(x, Number.NaN, ehs(2)), 'MODEL_INPUT');
    await expectCode(unet.forward(x, [], ehs(2)), 'MODEL_INPUT');
  });

  it('broadcasts a number, a [1] list, a 0-d and a [1] tensor alike; [B] int64 and float32 tensors give the same', async () => {
    const x = new Tensor('float32', [2, 4, 4, 4], Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)));
    const e = new Tensor('float32', [2, 3, 32], Float32Array.from({ length: 192 }, (_, i) => Math.cos(i)));
    const ref = (await unet.forward(x, 500, e)).sample;
    for (const t of [[500], Tensor.float32([], [500]), Tensor.int64([1], [500]), Tensor.int64([2], [500, 500]), Tensor.float32([2], [500, 500]), [500, 500]]) {
      expect((await unet.forward(x, t, e)).sample.data).toEqual(ref.data);
    }
    const other = (await unet.forward(x, [500, 10], e)).sample;
    expect(other.data.slice(0, 64)).toEqual(ref.data.slice(0, 64));
    expect(other.data.slice(64)).not.toEqual(ref.data.slice(64));
    const half = (await unet.forward(new Tensor('float16', [2, 4, 4, 4]), 500, e)).sample;
    expect([...half.shape]).toEqual([2, 4, 4, 4]);
  });
});
