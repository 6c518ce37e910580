// Binding a checkpoint to the weights a graph declares: all problems at once, each explained.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { ExternalTensor } from '../../src/core/external.js';
import { Tensor } from '../../src/core/tensor.js';
import { bindWeights, COMMON_IGNORED_KEYS, WeightBindingError, type ExpectedWeight } from '../../src/weights/bind.js';
import { openWeights } from '../../src/weights/discovery.js';
import { writeSafetensors } from '../../src/weights/safetensors-write.js';
import { WeightSet } from '../../src/weights/weight-set.js';
import { fixturePath } from '../helpers/fixtures.js';
import { writeShards } from './shards.js';
import { expectCode, useTempDir } from './tmp.js';

const tmp = useTempDir('bind');
const UNET = fixturePath('pipelines', 'tiny-sd15', 'unet', 'diffusion_pytorch_model.safetensors');
const TEXT = fixturePath('pipelines', 'tiny-sd15', 'text_encoder', 'model.safetensors');

/** What a UNet builder would declare: the fixture's keys and shapes, with an origin on a few. */
async function expectedOf(path: string): Promise<ExpectedWeight[]> {
  const w = await WeightSet.open([path]);
  return w.keys.map((key) => ({
    key, shape: w.entry(key).shape, origin: key.startsWith('down_blocks.1.') ? 'block_out_channels[1] = 32' : undefined,
  }));
}

/** A copy of `path` with tensors dropped / renamed / added (copied from the file, not loaded). */
async function variantOf(path: string, name: string, edit: (m: Map<string, ExternalTensor | Tensor>) => void): Promise<WeightSet> {
  const src = await WeightSet.open([path]);
  const tensors = new Map<string, ExternalTensor | Tensor>(src.keys.map((k) => [k, src.ref(k)]));
  edit(tensors);
  const out = join(tmp(), `${name}.safetensors`);
  await writeSafetensors(out, tensors, { format: 'pt' });
  return WeightSet.open([out]);
}

function rename<V>(m: Map<string, V>, from: string, to: string): void {
  m.set(to, m.get(from)!);
  m.delete(from);
}

async function bindError(p: () => unknown, code: string): Promise<WeightBindingError> {
  const e = await expectCode(p, code);
  expect(e).toBeInstanceOf(WeightBindingError);
  return e as WeightBindingError;
}

describe('bindWeights', () => {
  it('binds every declared weight to its place in the file, in declaration order', async () => {
    const expected = await expectedOf(UNET);
    const weights = await WeightSet.open([UNET]);
    const bound = bindWeights(expected, weights, { component: 'unet' });
    expect([...bound.keys()]).toEqual(expected.map((w) => w.key));
    const ref = bound.get('conv_in.weight')!;
    const entry = weights.entry('conv_in.weight');
    expect(ref).toEqual({ kind: 'external', dtype: 'float32', shape: [32, 4, 3, 3], file: UNET, offset: entry.begin, length: entry.end - entry.begin });
  });

  it('binds across shards, each reference pointing into its own shard', async () => {
    const dir = join(tmp(), 'shards');
    mkdirSync(dir, { recursive: true });
    await writeShards(UNET, dir, { shard: (i, n) => `diffusion_pytorch_model-0000${i}-of-0000${n}.safetensors`, index: 'diffusion_pytorch_model.safetensors.index.json' });
    const bound = bindWeights(await expectedOf(UNET), await openWeights(dir), { component: 'unet' });
    expect(new Set([...bound.values()].map((r) => (r as ExternalTensor).file)).size).toBe(2);
  });

  it('WEIGHTS_MISSING for a removed weight: key, expected shape and the config field behind it', async () => {
    const key = 'down_blocks.1.resnets.0.conv1.weight';
    const weights = await variantOf(UNET, 'removed', (m) => m.delete(key));
    const e = await bindError(async () => bindWeights(await expectedOf(UNET), weights, { component: 'unet' }), 'WEIGHTS_MISSING');
    expect(e.problems).toEqual([{ kind: 'missing', key, expected: [32, 32, 3, 3], origin: 'block_out_channels[1] = 32', suggestion: undefined }]);
    expect(e.key).toBe(key);
    expect(e.message).toContain(`missing    ${key}: expected [32, 32, 3, 3] (from block_out_channels[1] = 32)`);
    expect(e.message).toContain('unet');
  });

  it('a renamed weight is reported as missing + unexpected, each pointing at the other', async () => {
    const key = 'mid_block.attentions.0.proj_in.weight';
    const weights = await variantOf(UNET, 'renamed', (m) => rename(m, key, 'mid_block.attentions.0.projin.weight'));
    const e = await bindError(async () => bindWeights(await expectedOf(UNET), weights, { component: 'unet' }), 'WEIGHTS_MISSING');
    expect(e.problems.map((p) => p.kind)).toEqual(['missing', 'unexpected']);
    expect(e.problems[1]).toMatchObject({ key: 'mid_block.attentions.0.projin.weight', found: [64, 64, 1, 1], suggestion: key });
    expect(e.message).toContain(`did you mean "${key}"?`);
  });

  it('WEIGHTS_SHAPE: expected vs found shape and the origin', async () => {
    const expected = (await expectedOf(UNET)).map((w) =>
      w.key === 'conv_in.weight' ? { ...w, shape: [64, 4, 3, 3], origin: 'block_out_channels[0] = 64' } : w);
    const e = await bindError(async () => bindWeights(expected, await WeightSet.open([UNET]), { component: 'unet' }), 'WEIGHTS_SHAPE');
    expect(e.message).toContain('shape      conv_in.weight: expected [64, 4, 3, 3], found [32, 4, 3, 3] (from block_out_channels[0] = 64)');
    expect(e.hint).toContain('config.json');
  });

  it('reports every problem in one error; the code is the first problem\'s kind', async () => {
    const weights = await variantOf(UNET, 'several', (m) => {
      m.delete('down_blocks.1.resnets.0.conv1.weight');
      rename(m, 'conv_out.bias', 'conv_out.biass');
    });
    const expected = (await expectedOf(UNET)).map((w) => (w.key === 'time_embedding.linear_1.weight' ? { ...w, shape: [1, 1] } : w));
    const e = await bindError(() => bindWeights(expected, weights, { component: 'unet' }), 'WEIGHTS_MISSING');
    expect(e.problems.map((p) => `${p.kind} ${p.key}`).sort()).toEqual([
      'missing conv_out.bias', 'missing down_blocks.1.resnets.0.conv1.weight', 'shape time_embedding.linear_1.weight', 'unexpected conv_out.biass']);
    for (const p of e.problems) expect(e.message).toContain(p.key);
    expect(e.message).toContain('2 missing, 1 unexpected, 1 with the wrong shape');
  });

  it('leaves ignored checkpoint keys (CLIP\'s position_ids) and flags them otherwise', async () => {
    const weights = await variantOf(TEXT, 'with-position-ids', (m) => m.set('text_model.embeddings.position_ids', Tensor.int64([1, 77], Array.from({ length: 77 }, (_, i) => i))));
    const expected = await expectedOf(TEXT);
    const e = await bindError(() => bindWeights(expected, weights, { component: 'text_encoder' }), 'WEIGHTS_UNEXPECTED');
    expect(e.message).toContain('unexpected text_model.embeddings.position_ids [1, 77]');
    const bound = bindWeights(expected, weights, { component: 'text_encoder', ignore: (k) => COMMON_IGNORED_KEYS.has(k) });
    expect(bound.size).toBe(expected.length);
  });

  it('says so when the checkpoint belongs to another component', async () => {
    const vae = await WeightSet.open([fixturePath('pipelines', 'tiny-sd15', 'vae', 'diffusion_pytorch_model.safetensors')]);
    const e = await bindError(async () => bindWeights(await expectedOf(UNET), vae, { component: 'unet' }), 'WEIGHTS_MISSING');
    expect(e.hint).toContain('another model or component');
    expect(e.message).toContain('more (all in error.problems)');
    expect(e.problems.length).toBeGreaterThan(600);
  });

  it('rejects a graph that declares a weight twice', async () => {
    const expected = await expectedOf(TEXT);
    await expectCode(async () => bindWeights([...expected, expected[0]], await WeightSet.open([TEXT]), { component: 'text_encoder' }), 'WEIGHTS_EXPECTED_DUPLICATE');
  });
});
