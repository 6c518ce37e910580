// Weights as ONNX external data pointing into .safetensors files, as a real checkpoint is used:
// in place, through the Hugging Face cache's symlinks (snapshots/<rev>/… → ../../../blobs/<sha>),
// from F16 and BF16 files (a Cast to float32 after each weight), and spread over files in
// different folders. Each run must equal the same graph with the weights given inline.

import '../../src/platform/node/index.js';

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { LatentlabError } from '../../src/core/errors.js';
import type { WeightData } from '../../src/core/external.js';
import { Tensor } from '../../src/core/tensor.js';
import { CompileOptions, runtime } from '../../src/graph/runtime.js';
import { lowerToOnnx } from '../../src/onnx/lower.js';
import { serializeSafetensors } from '../../src/weights/safetensors-write.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { randn } from '../graph/harness.js';
import { buildModel, referenceOutput, WEIGHT_SHAPES } from './model.js';

const root = mkdtempSync(join(tmpdir(), 'latentlab-external-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const f32Weights = new Map<string, Tensor<'float32'>>(Object.entries(WEIGHT_SHAPES).map(([key, shape], i) => [key, randn(10 + i, shape, 0.3)]));
const input = randn(1, [2, 3, 6, 6]);

/** Writes `tensors` into a Hugging Face cache layout and returns the snapshot path (a symlink into blobs/). */
function writeHfCache(repo: string, tensors: ReadonlyMap<string, Tensor>): string {
  const bytes = serializeSafetensors(tensors);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const base = join(root, `models--latentlab--${repo}`);
  mkdirSync(join(base, 'blobs'), { recursive: true });
  writeFileSync(join(base, 'blobs', sha), bytes);
  const unet = join(base, 'snapshots', 'a1b2c3d4', 'unet');
  mkdirSync(unet, { recursive: true });
  const link = join(unet, 'diffusion_pytorch_model.safetensors');
  symlinkSync(join('..', '..', '..', 'blobs', sha), link); // relative, as huggingface_hub writes it
  return link;
}

async function refsOf(file: string): Promise<Map<string, WeightData>> {
  const f = await SafetensorsFile.open(file);
  return new Map(f.keys.map((k) => [k, f.ref(k)]));
}

async function run(weights: ReadonlyMap<string, WeightData>, options: CompileOptions = {}): Promise<Tensor> {
  const compiled = await runtime().compile(buildModel(), weights, options);
  try {
    return (await compiled.run({ x: input })).y;
  } finally {
    await compiled.release();
  }
}

function expectEqual(actual: Tensor, expected: Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
  expect(worst, `max |external − inline| = ${worst}`).toBe(0);
}

/** The float32 values a 16-bit file holds (what the Cast after each external weight produces). */
function decoded(encode: (v: number) => number, dtype: 'float16' | 'bfloat16'): { file: Map<string, Tensor>; f32: Map<string, Tensor> } {
  const file = new Map<string, Tensor>();
  const f32 = new Map<string, Tensor>();
  for (const [k, t] of f32Weights) {
    const bits = new Tensor(dtype, t.shape, Uint16Array.from(t.data, encode));
    file.set(k, bits);
    f32.set(k, bits.toFloat32());
  }
  return { file, f32 };
}

describe('external data in .safetensors', () => {
  it('through a Hugging Face cache symlink equals the inline run, and matches the float64 reference', async () => {
    const link = writeHfCache('f32', f32Weights);
    const external = await run(await refsOf(link));
    const inline = await run(f32Weights);
    expectEqual(external, inline);
    const ref = referenceOutput(input, f32Weights);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(external.data[i] as number - ref[i])).toBeLessThan(1e-5);
  });

  it('keeps the weights in the file: the model proto holds references, not bytes', async () => {
    const link = writeHfCache('proto', f32Weights);
    const external = lowerToOnnx(buildModel(), { weights: await refsOf(link), location: () => 'weights.safetensors' });
    const inline = lowerToOnnx(buildModel(), { weights: f32Weights, location: () => '' });
    const w = f32Weights.get('conv_in.weight')!.data;
    const needle = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    expect(Buffer.from(inline).includes(needle), 'inline model holds the bytes').toBe(true);
    expect(Buffer.from(external).includes(needle), 'external model holds no weight bytes').toBe(false);
    expect(Buffer.from(external).includes(Buffer.from('weights.safetensors'))).toBe(true);
  });

  for (const [dtype, encode] of [['float16', f32ToF16], ['bfloat16', f32ToBf16]] as const) {
    for (const level of ['basic', 'disabled'] as const) {
      it(`${dtype} weights in the file give the float32 computation on the decoded weights (level ${level})`, async () => {
        const { file, f32 } = decoded(encode, dtype);
        const link = writeHfCache(`${dtype}-${level}`, file);
        const refs = await refsOf(link);
        expect([...refs.values()].every((r) => r.dtype === dtype)).toBe(true);
        expectEqual(await run(refs, { optimizationLevel: level }), await run(f32, { optimizationLevel: level }));
      });
    }
  }

  it('weights spread over two files in different folders', async () => {
    const keys = [...f32Weights.keys()];
    const half = Math.ceil(keys.length / 2);
    const parts = [keys.slice(0, half), keys.slice(half)].map((ks) => new Map(ks.map((k) => [k, f32Weights.get(k)!])));
    const first = writeHfCache('sharded', parts[0]);
    const otherDir = join(root, 'elsewhere', 'text_encoder');
    mkdirSync(otherDir, { recursive: true });
    const second = join(otherDir, 'model.safetensors');
    writeFileSync(second, serializeSafetensors(parts[1]));
    const weights = new Map([...(await refsOf(first)), ...(await refsOf(second))]);
    expect(weights.size).toBe(keys.length);
    expectEqual(await run(weights), await run(f32Weights));
  });
});

describe('weight errors at lowering', () => {
  async function failure(weights: ReadonlyMap<string, WeightData>): Promise<LatentlabError> {
    const err = await runtime().compile(buildModel(), weights).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatentlabError);
    return err as LatentlabError;
  }

  it('a missing weight names its key', async () => {
    const weights = new Map<string, WeightData>(f32Weights);
    weights.delete('conv_in.bias');
    const err = await failure(weights);
    expect(err.code).toBe('ONNX_LOWERING');
    expect(err.key).toBe('conv_in.bias');
    expect(err.message).toContain('no data for weight "conv_in.bias"');
  });

  it('a weight of the wrong shape names the key and both shapes', async () => {
    const weights = new Map<string, WeightData>(f32Weights);
    weights.set('proj_out.weight', randn(99, [5, 7]));
    const err = await failure(weights);
    expect(err.code).toBe('WEIGHTS_SHAPE');
    expect(err.message).toContain('proj_out.weight');
    expect(err.message).toContain(`[${WEIGHT_SHAPES['proj_out.weight'].join(', ')}]`);
    expect(err.message).toContain('[5, 7]');
  });

  it('a weight of a non-float dtype is refused', async () => {
    const weights = new Map<string, WeightData>(f32Weights);
    weights.set('conv_in.bias', Tensor.int64([4], [1, 2, 3, 4]));
    expect((await failure(weights)).code).toBe('WEIGHTS_DTYPE');
  });

  it('a weights file that no longer exists names the file', async () => {
    const link = writeHfCache('vanishing', f32Weights);
    const refs = await refsOf(link);
    rmSync(link);
    const err = await failure(refs);
    expect(err.code).toBe('IO_NOT_FOUND');
    expect(err.message).toContain(link);
  });
});
