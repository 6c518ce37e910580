// Diffusers folders: model_index.json, configs, and finding a component's weights (variants,
// shards, the Hugging Face cache's symlinks) — plus a clear error for every folder we cannot use.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

import { DiffusersPipelineFolder, readConfigFile } from '../../src/weights/diffusers.js';
import { findWeightFiles, openWeights } from '../../src/weights/discovery.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { fixturePath } from '../helpers/fixtures.js';
import { writeShards } from './shards.js';
import { expectCode, useTempDir } from './tmp.js';

const tmp = useTempDir('diffusers');
const SD15 = fixturePath('pipelines', 'tiny-sd15');
const SD2 = fixturePath('pipelines', 'tiny-sd2');

/** A fresh folder under the test's temp dir, holding copies of `files` (relative to `from`). */
function folderWith(name: string, from: string, files: string[]): string {
  const dir = join(tmp(), name);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(from, f), join(dir, f));
    chmodSync(join(dir, f), 0o644); // the fixtures are read-only; some tests edit their copies
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('model_index.json and configs', () => {
  it('reads the pipeline class, the components and the options', async () => {
    const p = await DiffusersPipelineFolder.open(SD15);
    expect(p.modelIndex.className).toBe('StableDiffusionPipeline');
    expect(p.modelIndex.diffusersVersion).toBe('0.27.2');
    expect(p.modelIndex.components.get('unet')).toEqual({ library: 'diffusers', className: 'UNet2DConditionModel' });
    expect(p.modelIndex.components.get('text_encoder')).toEqual({ library: 'transformers', className: 'CLIPTextModel' });
    expect(p.modelIndex.components.get('safety_checker')).toBeNull();
    expect(p.componentNames.sort()).toEqual(['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']);
    expect(p.modelIndex.options).toEqual({ requires_safety_checker: false });
    await expectCode(p.config('safety_checker'), 'DIFFUSERS_NO_COMPONENT');
    await expectCode(p.config('controlnet'), 'DIFFUSERS_NO_COMPONENT');
  });

  it('reads component configs, scheduler_config.json included', async () => {
    const p = await DiffusersPipelineFolder.open(SD2);
    const unet = await p.config('unet');
    expect(unet._class_name).toBe('UNet2DConditionModel');
    expect(unet.block_out_channels).toEqual([16, 16, 32, 32]);
    expect(unet.attention_head_dim).toEqual([2, 4, 4, 4]);
    expect((await p.config('scheduler')).prediction_type).toBe('v_prediction');
    await expectCode(p.config('tokenizer'), 'DIFFUSERS_CONFIG_MISSING');
  });

  it('parses Python-style JSON: Infinity, -Infinity and NaN as numbers, not inside strings', async () => {
    const dir = folderWith('pyjson', SD15, ['model_index.json', 'scheduler/scheduler_config.json']);
    const path = join(dir, 'scheduler', 'scheduler_config.json');
    const text = readFileSync(path, 'utf8').replace('"beta_end": 0.012,', '"beta_end": 0.012,\n  "clip_sample_range": Infinity,\n  "low": -Infinity,\n  "odd": NaN,\n  "note": "NaN, Infinity",');
    writeFileSync(path, text);
    const config = await (await DiffusersPipelineFolder.open(dir)).config('scheduler');
    expect(config.clip_sample_range).toBe(Infinity);
    expect(config.low).toBe(-Infinity);
    expect(config.odd).toBeNaN();
    expect(config.note).toBe('NaN, Infinity');
    expect(config.beta_end).toBe(0.012);
    writeFileSync(path, text.replace('"low"', "'low'"));
    const e = await expectCode((await DiffusersPipelineFolder.open(dir)).config('scheduler'), 'CONFIG_BAD_JSON');
    expect(e.message).toMatch(/line \d+, column \d+/);
  });

  it('DIFFUSERS_BAD_MODEL_INDEX for a malformed component entry', async () => {
    const dir = join(tmp(), 'bad-index');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionPipeline', unet: ['diffusers'] }));
    await expectCode(DiffusersPipelineFolder.open(dir), 'DIFFUSERS_BAD_MODEL_INDEX');
  });
});

describe('weight discovery', () => {
  it('finds the default weights and the fp16 variant (diffusers and transformers file names)', async () => {
    const p = await DiffusersPipelineFolder.open(SD15);
    expect(await p.weightFiles('unet')).toMatchObject({ format: 'single', path: join(SD15, 'unet', 'diffusion_pytorch_model.safetensors') });
    const fp16 = await p.weights('unet', { variant: 'fp16' });
    expect(fp16.paths).toEqual([join(SD15, 'unet', 'diffusion_pytorch_model.fp16.safetensors')]);
    expect(fp16.entry('conv_in.weight').dtype).toBe('float16');
    const te = await p.weights('text_encoder', { variant: 'fp16' });
    expect(te.paths).toEqual([join(SD15, 'text_encoder', 'model.fp16.safetensors')]);
    expect(te.entry('text_model.embeddings.token_embedding.weight').shape).toEqual([49408, 32]);
  });

  it('WEIGHTS_VARIANT_MISSING lists the files and the variants that exist', async () => {
    const p = await DiffusersPipelineFolder.open(SD2);
    const e = await expectCode(p.weights('unet', { variant: 'fp16' }), 'WEIGHTS_VARIANT_MISSING');
    expect(e.message).toContain('variant "fp16"');
    expect(e.message).toContain('variants available: default');
    expect(e.message).toContain('diffusion_pytorch_model.safetensors');
    const e2 = await expectCode((await DiffusersPipelineFolder.open(SD15)).weights('vae', { variant: 'bf16' }), 'WEIGHTS_VARIANT_MISSING');
    expect(e2.message).toMatch(/variants available: .*fp16/);
  });

  it('WEIGHTS_NOT_FOUND without a variant when only variant files exist, naming the variant to pass', async () => {
    const dir = folderWith('only-fp16', join(SD15, 'text_encoder'), ['config.json', 'model.fp16.safetensors']);
    const e = await expectCode(findWeightFiles(dir), 'WEIGHTS_NOT_FOUND');
    expect(e.hint).toContain('variant: "fp16"');
  });

  it('WEIGHTS_PICKLE_ONLY for a folder with only .bin / .ckpt weights, saying how to convert', async () => {
    const dir = folderWith('bin-only', join(SD15, 'unet'), ['config.json']);
    writeFileSync(join(dir, 'diffusion_pytorch_model.bin'), 'PK\x03\x04 not really a zip');
    const e = await expectCode(openWeights(dir), 'WEIGHTS_PICKLE_ONLY');
    expect(e.message).toContain('diffusion_pytorch_model.bin');
    expect(e.message).toContain('safetensors');
    expect(e.hint).toContain('safe_serialization=True');
    const te = folderWith('bin-only-te', join(SD15, 'text_encoder'), ['config.json']);
    writeFileSync(join(te, 'pytorch_model.bin'), 'x');
    await expectCode(openWeights(te, { stem: 'model' }), 'WEIGHTS_PICKLE_ONLY');
    // A pickle variant next to default safetensors: the variant is pickle-only, and the message says what else exists.
    const mixed = folderWith('mixed', join(SD15, 'unet'), ['config.json', 'diffusion_pytorch_model.safetensors']);
    writeFileSync(join(mixed, 'diffusion_pytorch_model.fp16.bin'), 'x');
    const e3 = await expectCode(openWeights(mixed, { variant: 'fp16' }), 'WEIGHTS_PICKLE_ONLY');
    expect(e3.message).toContain('Safetensors exist for variants: default');
  });

  it('WeightSet.entry suggests the closest key for a typo; readConfigFile names a missing file', async () => {
    const w = await (await DiffusersPipelineFolder.open(SD15)).weights('unet');
    const e = await expectCode(() => w.entry('conv_in.weights'), 'WEIGHTS_MISSING');
    expect(e.message).toContain('did you mean "conv_in.weight"?');
    await expectCode(readConfigFile(join(SD15, 'unet', 'nope.json')), 'CONFIG_MISSING');
  });

  it('WEIGHTS_NOT_FOUND for a folder without weights', async () => {
    await expectCode((await DiffusersPipelineFolder.open(SD15)).weights('scheduler'), 'WEIGHTS_NOT_FOUND');
  });
});

describe('sharded checkpoints', () => {
  it('reads a UNet split into two shards + index, like the single file', async () => {
    const dir = folderWith('sharded', SD15, ['model_index.json', 'unet/config.json']);
    await writeShards(join(SD15, 'unet', 'diffusion_pytorch_model.safetensors'), join(dir, 'unet'), {
      shard: (i, n) => `diffusion_pytorch_model-0000${i}-of-0000${n}.safetensors`, index: 'diffusion_pytorch_model.safetensors.index.json',
    });
    const p = await DiffusersPipelineFolder.open(dir);
    expect((await p.weightFiles('unet')).format).toBe('sharded');
    const sharded = await p.weights('unet');
    const single = await SafetensorsFile.open(join(SD15, 'unet', 'diffusion_pytorch_model.safetensors'));
    expect(sharded.paths.map((f) => f.slice(dir.length + 1))).toEqual([
      'unet/diffusion_pytorch_model-00001-of-00002.safetensors', 'unet/diffusion_pytorch_model-00002-of-00002.safetensors']);
    expect(new Set(sharded.keys)).toEqual(new Set(single.keys));
    for (const key of [single.keys[0], single.keys[single.keys.length - 1]]) {
      expect(sharded.ref(key).shape).toEqual(single.entry(key).shape);
      expect([...(await sharded.read(key)).data]).toEqual([...(await single.read(key)).data]);
    }
    await expectCode(p.weights('vae'), 'DIFFUSERS_COMPONENT_MISSING');
  });

  it('finds an fp16 sharded variant by diffusers\' name (…safetensors.index.fp16.json) and the legacy one', async () => {
    const src = join(SD15, 'unet', 'diffusion_pytorch_model.fp16.safetensors');
    const current = folderWith('sharded-fp16', join(SD15, 'unet'), ['config.json', 'diffusion_pytorch_model.safetensors']);
    await writeShards(src, current, {
      shard: (i, n) => `diffusion_pytorch_model.fp16-0000${i}-of-0000${n}.safetensors`, index: 'diffusion_pytorch_model.safetensors.index.fp16.json',
    });
    expect((await findWeightFiles(current)).format).toBe('single'); // the default is still the single file
    const w = await openWeights(current, { variant: 'fp16' });
    expect(w.index).toBe(join(current, 'diffusion_pytorch_model.safetensors.index.fp16.json'));
    expect(w.entry('conv_out.bias').dtype).toBe('float16');
    const legacy = folderWith('sharded-fp16-legacy', join(SD15, 'unet'), ['config.json']);
    await writeShards(src, legacy, {
      shard: (i, n) => `diffusion_pytorch_model-0000${i}-of-0000${n}.fp16.safetensors`, index: 'diffusion_pytorch_model.safetensors.fp16.index.json',
    });
    expect((await findWeightFiles(legacy, { variant: 'fp16' })).path).toBe(join(legacy, 'diffusion_pytorch_model.safetensors.fp16.index.json'));
    const e = await expectCode(findWeightFiles(legacy, { variant: 'bf16' }), 'WEIGHTS_VARIANT_MISSING');
    expect(e.message).toContain('variants available: fp16');
  });

  it('rejects missing shards, an index that does not match its shards, and paths out of the folder', async () => {
    const dir = join(tmp(), 'bad-shards');
    mkdirSync(dir, { recursive: true });
    const index = join(dir, 'model.safetensors.index.json');
    const weightMap = await writeShards(join(SD15, 'text_encoder', 'model.safetensors'), dir, {
      shard: (i, n) => `model-0000${i}-of-0000${n}.safetensors`, index: 'model.safetensors.index.json',
    });
    const good = readFileSync(index, 'utf8');
    const keys = Object.keys(weightMap);
    const rewrite = (map: Record<string, string>) => writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: map }));
    rewrite({ ...weightMap, [keys[0]]: 'model-00003-of-00003.safetensors' });
    const e = await expectCode(openWeights(dir), 'WEIGHTS_SHARD_MISSING');
    expect(e.message).toContain('model-00003-of-00003.safetensors');
    rewrite({ ...weightMap, [keys[0]]: weightMap[keys[keys.length - 1]] });
    expect((await expectCode(openWeights(dir), 'WEIGHTS_BAD_INDEX')).message).toContain(keys[0]);
    const { [keys[1]]: _dropped, ...fewer } = weightMap;
    rewrite(fewer);
    expect((await expectCode(openWeights(dir), 'WEIGHTS_BAD_INDEX')).message).toContain('not in the weight_map');
    rewrite({ ...weightMap, [keys[0]]: '../elsewhere.safetensors' });
    await expectCode(openWeights(dir), 'WEIGHTS_BAD_INDEX');
    writeFileSync(index, '{"weight_map": [');
    await expectCode(openWeights(dir), 'WEIGHTS_BAD_INDEX');
    writeFileSync(index, good);
    expect((await openWeights(dir)).size).toBe(keys.length);
  });
});

describe('folders that are not pipelines', () => {
  it('DIFFUSERS_NOT_A_PIPELINE names what is missing and what the folder looks like', async () => {
    const empty = join(tmp(), 'empty');
    mkdirSync(empty, { recursive: true });
    expect((await expectCode(DiffusersPipelineFolder.open(empty), 'DIFFUSERS_NOT_A_PIPELINE')).message).toContain('no model_index.json');
    const component = await expectCode(DiffusersPipelineFolder.open(join(SD15, 'unet')), 'DIFFUSERS_NOT_A_PIPELINE');
    expect(component.message).toContain('one component');
    expect(component.hint).toContain(SD15);
    const single = join(tmp(), 'single-file');
    mkdirSync(single, { recursive: true });
    writeFileSync(join(single, 'v1-5-pruned-emaonly.safetensors'), '');
    expect((await expectCode(DiffusersPipelineFolder.open(single), 'DIFFUSERS_NOT_A_PIPELINE')).message).toContain('single-file');
    await expectCode(DiffusersPipelineFolder.open(join(tmp(), 'does-not-exist')), 'DIFFUSERS_NOT_FOUND');
  });
});

describe('Hugging Face cache layout', () => {
  it('reads a snapshot whose files are symlinks into ../../blobs', async () => {
    const repo = join(tmp(), 'hub', 'models--tiny--sd15');
    const snapshot = join(repo, 'snapshots', '0123abcd');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    for (const f of ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors']) {
      const bytes = readFileSync(join(SD15, f));
      const blob = join(repo, 'blobs', createHash('sha256').update(bytes).digest('hex'));
      writeFileSync(blob, bytes);
      const link = join(snapshot, f);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), blob), link); // e.g. ../../../blobs/<sha>, as huggingface_hub makes them
    }
    const p = await DiffusersPipelineFolder.open(snapshot);
    expect((await p.config('unet')).block_out_channels).toEqual([32, 32, 64, 64]);
    const w = await p.weights('unet');
    const ref = w.ref('conv_in.weight');
    expect(ref.file).toBe(join(snapshot, 'unet', 'diffusion_pytorch_model.safetensors'));
    expect(realpathSync(ref.file).startsWith(realpathSync(join(repo, 'blobs')))).toBe(true);
    const original = await SafetensorsFile.open(join(SD15, 'unet', 'diffusion_pytorch_model.safetensors'));
    expect([...(await w.read('conv_in.weight')).data]).toEqual([...(await original.read('conv_in.weight')).data]);
    expect(ref.offset).toBe(original.entry('conv_in.weight').begin);
  });
});
