// Every way a safetensors file can be broken gets its own error code, naming the file and key.
import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { headerLength, MAX_HEADER_BYTES } from '../../src/weights/safetensors.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { expectCode, rawSafetensors, useTempDir, writeBytes } from './tmp.js';

const tmp = useTempDir('st-bad');
let n = 0;
const file = (bytes: Uint8Array | string) => writeBytes(join(tmp(), `f${n++}.safetensors`), bytes);
const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

async function openExpect(bytes: Uint8Array, code: string, key?: string) {
  const path = file(bytes);
  const e = await expectCode(SafetensorsFile.open(path), code);
  expect(e.file).toBe(path);
  expect(e.message).toContain(path);
  if (key !== undefined) {
    expect(e.key).toBe(key);
    expect(e.message).toContain(key);
  }
  return e;
}

describe('safetensors validation', () => {
  it('accepts a well-formed file', async () => {
    const path = file(rawSafetensors({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32([1, 2])));
    const st = await SafetensorsFile.open(path);
    expect(st.keys).toEqual(['w']);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect([...(await st.read('w')).data]).toEqual([1, 2]);
  });

  it('SAFETENSORS_TRUNCATED: shorter than the 8-byte length', async () => {
    await openExpect(new Uint8Array([1, 2, 3, 4, 5]), 'SAFETENSORS_TRUNCATED');
    await openExpect(new Uint8Array(0), 'SAFETENSORS_TRUNCATED');
  });

  it('SAFETENSORS_HEADER_LENGTH: header length beyond the file', async () => {
    await openExpect(rawSafetensors('{}', new Uint8Array(0), 1000n), 'SAFETENSORS_HEADER_LENGTH');
    await openExpect(rawSafetensors('{}', new Uint8Array(0), 0xffffffffffffffffn), 'SAFETENSORS_HEADER_LENGTH');
  });

  it('SAFETENSORS_HEADER_TOO_LARGE: header length over the 100 MB cap, even in a file that big', async () => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    expect(() => headerLength(prefix, MAX_HEADER_BYTES + 100, 'x.safetensors')).toThrow(/over the 100000000-byte limit/);
    // A sparse file of that size: the reader must refuse before reading (or allocating) the header.
    const path = join(tmp(), 'huge.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, prefix);
    ftruncateSync(fd, MAX_HEADER_BYTES + 100);
    closeSync(fd);
    await expectCode(SafetensorsFile.open(path), 'SAFETENSORS_HEADER_TOO_LARGE');
  });

  it('SAFETENSORS_BAD_JSON: not JSON, not UTF-8, not an object, duplicate keys, absurd nesting', async () => {
    await openExpect(rawSafetensors('{"w": {"dtype": "F32",'), 'SAFETENSORS_BAD_JSON');
    await openExpect(rawSafetensors(new TextDecoder('latin1').decode(new Uint8Array([0x7b, 0xff, 0x7d]))), 'SAFETENSORS_BAD_JSON');
    const notUtf8 = rawSafetensors('{ }');
    notUtf8[9] = 0xff;
    await openExpect(notUtf8, 'SAFETENSORS_BAD_JSON');
    await openExpect(rawSafetensors('[1, 2]'), 'SAFETENSORS_BAD_JSON');
    await openExpect(rawSafetensors('null'), 'SAFETENSORS_BAD_JSON');
    const dup = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}';
    const e = await openExpect(rawSafetensors(dup, f32([1, 2])), 'SAFETENSORS_BAD_JSON');
    expect(e.message).toContain('duplicate key "w"');
    await openExpect(rawSafetensors('['.repeat(100_000)), 'SAFETENSORS_BAD_JSON');
  });

  it('SAFETENSORS_DTYPE: unknown or unsupported dtype', async () => {
    const e = await openExpect(rawSafetensors({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4)), 'SAFETENSORS_DTYPE', 'w');
    expect(e.message).toContain('does not read');
    await openExpect(rawSafetensors({ w: { dtype: 'Q4_K', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4)), 'SAFETENSORS_DTYPE', 'w');
  });

  it('SAFETENSORS_OUT_OF_RANGE: data past the end of the file', async () => {
    await openExpect(rawSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32([1, 2])), 'SAFETENSORS_OUT_OF_RANGE', 'w');
  });

  it('SAFETENSORS_OVERLAP: two tensors share bytes', async () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    await openExpect(rawSafetensors(header, f32([1, 2, 3])), 'SAFETENSORS_OVERLAP', 'b');
  });

  it('SAFETENSORS_SIZE_MISMATCH: byte length differs from dtype x shape (incl. shapes too big to address)', async () => {
    await openExpect(rawSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32([1, 2])), 'SAFETENSORS_SIZE_MISMATCH', 'w');
    await openExpect(rawSafetensors({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 8] } }, f32([1, 2])), 'SAFETENSORS_SIZE_MISMATCH', 'w');
    const huge = { w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } };
    const e = await openExpect(rawSafetensors(huge, f32([1, 2])), 'SAFETENSORS_SIZE_MISMATCH', 'w');
    expect(e.message).toContain('too large');
  });

  it('SAFETENSORS_BAD_ENTRY: malformed entries', async () => {
    const cases: unknown[] = [
      5,
      null,
      { dtype: 7, shape: [1], data_offsets: [0, 4] },
      { dtype: 'F32', shape: 'big', data_offsets: [0, 4] },
      { dtype: 'F32', shape: [-1], data_offsets: [0, 4] },
      { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] },
      { dtype: 'F32', shape: [1], data_offsets: [4] },
      { dtype: 'F32', shape: [1], data_offsets: [4, 0] },
      { dtype: 'F32', shape: [1] },
    ];
    for (const entry of cases) await openExpect(rawSafetensors({ w: entry }, f32([1, 2])), 'SAFETENSORS_BAD_ENTRY', 'w');
  });

  it('SAFETENSORS_BAD_METADATA: __metadata__ must map strings to strings', async () => {
    await openExpect(rawSafetensors({ __metadata__: { step: 5 } }), 'SAFETENSORS_BAD_METADATA', '__metadata__');
    await openExpect(rawSafetensors({ __metadata__: ['pt'] }), 'SAFETENSORS_BAD_METADATA', '__metadata__');
  });

  it('accepts empty tensors, scalars, padding and unused bytes', async () => {
    const header = '{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}   ';
    const st = await SafetensorsFile.open(file(rawSafetensors(header, f32([7, 9]))));
    expect((await st.read('e')).shape).toEqual([0, 3]);
    expect([...(await st.read('s')).data]).toEqual([7]);
  });
});
