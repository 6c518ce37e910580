// The repos the fake Hub (./hub-server.ts) serves in the hub tests, all built from the tiny-sd15
// fixture pipeline: the plain one with extra files a real repo has (pickles, flax, ONNX, a safety
// checker, a single-file checkpoint) that latentlab must never download, and variations for the
// variant, sharding, revision and access cases.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fixturePath } from '../helpers/fixtures.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { serializeSafetensors } from '../../src/weights/safetensors-write.js';
import { fakeCommit, readTree, type FakeRepo } from './hub-server.js';

export const TINY = fixturePath('pipelines', 'tiny-sd15');
export const TINY_FILES = readTree(TINY);

export const ID = 'latentlab-test/tiny-sd15';
export const COMMIT = fakeCommit('tiny-sd15 v1');
export const OLD_COMMIT = fakeCommit('tiny-sd15 v0');

/** What a download without a variant fetches from the main test repo: the pipeline's files, nothing else. */
export const DEFAULT_FILES = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'text_encoder/config.json',
  'text_encoder/model.safetensors',
  'tokenizer/merges.txt',
  'tokenizer/special_tokens_map.json',
  'tokenizer/tokenizer_config.json',
  'tokenizer/vocab.json',
  'unet/config.json',
  'unet/diffusion_pytorch_model.safetensors',
  'vae/config.json',
  'vae/diffusion_pytorch_model.safetensors',
];

/** Files a real SD repo has that a latentlab download must never request. */
const EXTRAS: Record<string, Buffer> = {
  'README.md': Buffer.from('# tiny\n'),
  'v1-5-pruned-emaonly.ckpt': Buffer.from('not a checkpoint'),
  'v1-5-pruned-emaonly.safetensors': Buffer.from('single-file checkpoint'),
  'safety_checker/config.json': Buffer.from('{}'),
  'safety_checker/model.safetensors': Buffer.from('safety weights'),
  'feature_extractor/preprocessor_config.json': Buffer.from('{}'),
  'unet/diffusion_pytorch_model.bin': Buffer.from('pickle'),
  'unet/diffusion_pytorch_model.fp16.bin': Buffer.from('pickle fp16'),
  'unet/diffusion_pytorch_model.non_ema.safetensors': Buffer.from('another variant'),
  'text_encoder/pytorch_model.bin': Buffer.from('pickle'),
  'text_encoder/flax_model.msgpack': Buffer.from('flax'),
  'vae/diffusion_pytorch_model.onnx': Buffer.from('onnx'),
  'vae_encoder/model.onnx': Buffer.from('onnx'),
};

/** model_index.json listing a safety checker and a feature extractor, as SD 1.5's does. */
function withSafetyChecker(files: Record<string, Buffer>): Record<string, Buffer> {
  const index = JSON.parse(files['model_index.json'].toString('utf8'));
  index.safety_checker = ['stable_diffusion', 'StableDiffusionSafetyChecker'];
  index.feature_extractor = ['transformers', 'CLIPImageProcessor'];
  return { ...files, 'model_index.json': Buffer.from(JSON.stringify(index, null, 2)) };
}

const without = (files: Record<string, Buffer>, drop: (path: string) => boolean) => Object.fromEntries(Object.entries(files).filter(([p]) => !drop(p)));

/** text_encoder as an index + two shards (and the single file too: the index must win). */
async function sharded(files: Record<string, Buffer>): Promise<Record<string, Buffer>> {
  const tensors = await (await SafetensorsFile.open(join(TINY, 'text_encoder', 'model.safetensors'))).readAll();
  const keys = [...tensors.keys()];
  const halves = [keys.slice(0, keys.length >> 1), keys.slice(keys.length >> 1)];
  const out = { ...files };
  const weightMap: Record<string, string> = {};
  halves.forEach((part, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    out[`text_encoder/${name}`] = Buffer.from(serializeSafetensors(new Map(part.map((k) => [k, tensors.get(k)!]))));
    for (const k of part) weightMap[k] = name;
  });
  out['text_encoder/model.safetensors.index.json'] = Buffer.from(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return out;
}

/** What the main test repo holds at COMMIT. */
export const FULL_FILES = withSafetyChecker({ ...TINY_FILES, ...EXTRAS });

export async function makeRepos(): Promise<FakeRepo[]> {
  const full = FULL_FILES;
  const old = { ...full, 'scheduler/scheduler_config.json': Buffer.from('{"_class_name": "PNDMScheduler", "num_train_timesteps": 1000}') };
  const one = (id: string, files: Record<string, Buffer>, extra: Partial<FakeRepo> = {}): FakeRepo => {
    const commit = fakeCommit(id);
    return { id, commits: { [commit]: files }, refs: { main: commit }, ...extra };
  };
  return [
    { id: ID, commits: { [COMMIT]: full, [OLD_COMMIT]: old }, refs: { main: COMMIT, 'v1.0': COMMIT, old: OLD_COMMIT } },
    one('latentlab-test/gated', full, { gated: true }),
    one('latentlab-test/private', full, { private: true }),
    one('latentlab-test/vae-no-fp16', without(full, (p) => p === 'vae/diffusion_pytorch_model.fp16.safetensors')),
    one('latentlab-test/no-fp16', without(full, (p) => p.includes('.fp16.'))),
    one('latentlab-test/sharded', await sharded(full)),
    one('latentlab-test/pickle-only', without(full, (p) => p.startsWith('unet/') && p.endsWith('.safetensors'))),
    one('latentlab-test/single-file', { 'sd15.safetensors': Buffer.from('x'), 'README.md': Buffer.from('') }),
  ];
}

export function tempCache(): string {
  return mkdtempSync(join(tmpdir(), 'latentlab-hub-'));
}
