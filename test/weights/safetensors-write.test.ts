// The writer: round trips for every dtype, deterministic bytes, streaming, atomic failure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { fileSystem } from '../../src/core/io.js';
import { Tensor } from '../../src/core/tensor.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { serializeSafetensors, writeSafetensors } from '../../src/weights/safetensors-write.js';
import { fixturePath } from '../helpers/fixtures.js';
import { expectCode, useTempDir, writeBytes } from './tmp.js';

const tmp = useTempDir('st-write');

function everyDtype(): Record<string, Tensor> {
  return {
    f32: Tensor.float32([2, 3], [1, -2.5, 3e-8, Infinity, -0, 6]),
    f64: new Tensor('float64', [3], Float64Array.from([Math.PI, -1e300, 5e-324])),
    f16: new Tensor('float16', [2], Uint16Array.from([f32ToF16(1.5), f32ToF16(-65504)])),
    bf16: new Tensor('bfloat16', [2, 1], Uint16Array.from([f32ToBf16(3.140625), f32ToBf16(-1e38)])),
    i64: Tensor.int64([3], [-(2n ** 63n), 0n, 2n ** 63n - 1n]),
    i32: new Tensor('int32', [2], Int32Array.from([-(2 ** 31), 2 ** 31 - 1])),
    u8: new Tensor('uint8', [1, 1, 3], Uint8Array.from([0, 128, 255])),
    bool: new Tensor('bool', [3], Uint8Array.from([1, 0, 1])),
    empty: new Tensor('float32', [0, 4]),
    scalar: Tensor.float32([], [42]),
    odd: new Tensor('float16', [3], Uint16Array.from([1, 2, 3])), // 6 bytes: the next tensor must stay aligned
  };
}

async function roundTrip(bytes: Uint8Array, name: string): Promise<SafetensorsFile> {
  return SafetensorsFile.open(writeBytes(join(tmp(), name), bytes));
}

describe('safetensors writer', () => {
  it('round-trips every dtype, empty and scalar tensors, and metadata', async () => {
    const tensors = everyDtype();
    const st = await roundTrip(serializeSafetensors(tensors, { format: 'pt', note: 'héllo' }), 'all.safetensors');
    expect(st.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect(st.keys.sort()).toEqual(Object.keys(tensors).sort());
    const back = await st.readAll();
    for (const [key, t] of Object.entries(tensors)) {
      const r = back.get(key)!;
      expect(r.dtype, key).toBe(t.dtype);
      expect([...r.shape], key).toEqual([...t.shape]);
      expect(Array.from(r.data as ArrayLike<unknown>), key).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
  });

  it('writes deterministic bytes: independent of insertion order, object or Map', () => {
    const tensors = everyDtype();
    const a = serializeSafetensors(tensors, { b: '2', a: '1' });
    const reversed = new Map(Object.entries(tensors).reverse());
    const b = serializeSafetensors(reversed, { a: '1', b: '2' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('pads the header with spaces to a multiple of 8 and keeps every tensor aligned to its element size', async () => {
    const bytes = serializeSafetensors(everyDtype());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(json).toMatch(/^\{.*\} *$/);
    const st = await roundTrip(bytes, 'aligned.safetensors');
    for (const key of st.keys) {
      const e = st.entry(key);
      const size = { float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, uint8: 1, int8: 1, bool: 1 }[e.dtype];
      expect(e.begin % size, key).toBe(0);
    }
  });

  it('lays tensors out in the Rust crate\'s order: dtype (I64, F64, F32, I32, BF16, F16, U8, BOOL), then name', async () => {
    const one = (dtype: 'bool' | 'uint8' | 'float16' | 'bfloat16' | 'int32' | 'float32' | 'float64' | 'int64') => new Tensor(dtype, [1]);
    const bytes = serializeSafetensors({
      a: one('bool'), b: one('uint8'), c: one('float16'), d: one('bfloat16'), e: one('int32'), f: one('float32'), g: one('float64'), h: one('int64'),
      f2: one('float32'), 'f\u00e9': one('float32'), 'f\u{1f600}': one('float32'), 'f\uffff': one('float32'),
    });
    const st = await roundTrip(bytes, 'order.safetensors');
    const byOffset = st.keys.sort((x, y) => st.entry(x).begin - st.entry(y).begin);
    // Names compare as UTF-8 bytes: U+FFFF (ef bf bf) sorts before U+1F600 (f0 9f 98 80).
    expect(byOffset).toEqual(['h', 'g', 'f', 'f2', 'f\u00e9', 'f\uffff', 'f\u{1f600}', 'e', 'd', 'c', 'b', 'a']);
  });

  it('writes an empty file (no tensors) that reads back', async () => {
    const st = await roundTrip(serializeSafetensors({}), 'empty.safetensors');
    expect(st.keys).toEqual([]);
  });

  // The pipeline files were written by diffusers' save_pretrained (the Rust crate). The reference/
  // fixtures are not used here: they were written in plain name order, as older writers did.
  it('reproduces files written by Python safetensors byte for byte (F32, F16, metadata)', async () => {
    const files = [
      ['pipelines', 'tiny-sd2', 'vae', 'diffusion_pytorch_model.safetensors'],
      ['pipelines', 'tiny-sd15', 'vae', 'diffusion_pytorch_model.fp16.safetensors'],
      ['pipelines', 'tiny-sd15', 'text_encoder', 'model.safetensors'],
    ];
    for (const parts of files) {
      const path = fixturePath(...parts);
      const st = await SafetensorsFile.open(path);
      const metadata = Object.keys(st.metadata).length > 0 ? { ...st.metadata } : undefined;
      const bytes = serializeSafetensors(await st.readAll(), metadata);
      expect(Buffer.from(bytes).equals(readFileSync(path)), parts.join('/')).toBe(true);
    }
  });

  it('writeSafetensors streams tensors, including tensors still in another file, to the same bytes', async () => {
    const src = await SafetensorsFile.open(fixturePath('pipelines', 'tiny-sd15', 'text_encoder', 'model.safetensors'));
    const inMemory = await src.readAll();
    const refs = new Map(src.keys.map((k) => [k, src.ref(k)]));
    const out1 = join(tmp(), 'copied.safetensors');
    const out2 = join(tmp(), 'memory.safetensors');
    await writeSafetensors(out1, refs, { format: 'pt' });
    await writeSafetensors(out2, inMemory, { format: 'pt' });
    const expected = serializeSafetensors(inMemory, { format: 'pt' });
    expect(readFileSync(out1).equals(Buffer.from(expected))).toBe(true);
    expect(readFileSync(out2).equals(Buffer.from(expected))).toBe(true);
  });

  it('writeFileAtomic takes a chunk stream; a failing stream leaves neither the file nor a temporary file', async () => {
    const dir = join(tmp(), 'atomic');
    await fileSystem().mkdirp(dir);
    await fileSystem().writeFileAtomic(join(dir, 'ok.bin'), [Uint8Array.of(1, 2), Uint8Array.of(3)]);
    expect([...readFileSync(join(dir, 'ok.bin'))]).toEqual([1, 2, 3]);
    async function* failing() {
      yield Uint8Array.of(1);
      throw new Error('producer broke');
    }
    await expect(fileSystem().writeFileAtomic(join(dir, 'bad.bin'), failing())).rejects.toThrow(/producer broke/);
    expect(readdirSync(dir)).toEqual(['ok.bin']);
  });

  it('rejects bad input before creating any file', async () => {
    const out = join(tmp(), 'never.safetensors');
    await expectCode(writeSafetensors(out, { __metadata__: Tensor.float32([1], [1]) }), 'SAFETENSORS_BAD_ENTRY');
    await expectCode(writeSafetensors(out, { w: Tensor.float32([1], [1]) }, { step: 5 as unknown as string }), 'SAFETENSORS_BAD_METADATA');
    const bogus = { kind: 'external' as const, dtype: 'float32' as const, shape: [4], file: out, offset: 0, length: 8 };
    await expectCode(writeSafetensors(out, { w: bogus }), 'SAFETENSORS_SIZE_MISMATCH');
    const external = { ...bogus, length: 16 };
    await expectCode(() => serializeSafetensors({ w: external as unknown as Tensor }), 'SAFETENSORS_BAD_ENTRY');
    expect(existsSync(out)).toBe(false);
  });
});
