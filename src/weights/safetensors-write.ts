// The safetensors format, writing side (the inverse of ./safetensors.ts).
//
// Layout decisions, as the Rust crate's `serialize` (which Python's `save_file` calls) makes them,
// so our files are byte-identical to Python's and independent of insertion order:
// - tensors are laid out by dtype in the crate's order, widest first (I64, F64, F32, I32, BF16,
//   F16, I8, U8, BOOL), then by name in UTF-8 byte order. With the header padded to a multiple of 8,
//   every tensor then starts at a multiple of its own element size, so a reader can view it as a
//   typed array without a copy;
// - the header JSON has no whitespace, `__metadata__` first (its keys sorted: the crate's order
//   there is a hash map's, i.e. arbitrary), and is padded with spaces.
//
// A full SD 1.5 UNet is 3.4 GB: more than one Uint8Array may hold and more than one write() call
// may write. So the writer is a stream of chunks (the header, then each tensor's own bytes, no
// copies) that `writeSafetensors` hands to the platform's atomic writer; `serializeSafetensors`
// joins the same chunks in memory for small files (tests, embeddings, latents).

import type { DType } from '../core/dtype.js';
import { fmtShape, fmtValue, LatentlabError } from '../core/errors.js';
import { isExternal, type WeightData } from '../core/external.js';
import { fileSystem } from '../core/io.js';
import { Tensor } from '../core/tensor.js';
import { byteSize, DTYPE_TO_SAFETENSORS } from './safetensors.js';

/** Tensors by name: a plain object or a Map (in-memory Tensors and/or tensors still in their files). */
export type TensorDict<T = WeightData> = Readonly<Record<string, T>> | ReadonlyMap<string, T>;

interface Planned {
  readonly key: string;
  readonly data: WeightData;
  readonly begin: number; // relative to the data block
  readonly end: number;
}

interface Plan {
  readonly header: Uint8Array; // 8-byte length + padded JSON
  readonly tensors: readonly Planned[];
  readonly totalBytes: number;
}

function entriesOf<T>(tensors: TensorDict<T>): [string, T][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, T>);
}

function checkMetadata(metadata: Readonly<Record<string, string>> | undefined): void {
  if (metadata === undefined) return;
  const bad = Object.entries(metadata).find(([, v]) => typeof v !== 'string');
  if (bad || metadata === null || typeof metadata !== 'object') {
    throw new LatentlabError('SAFETENSORS_BAD_METADATA',
      `safetensors metadata must map strings to strings; ${bad ? `"${bad[0]}" is ${fmtValue(bad[1])}` : `got ${fmtValue(metadata)}`}`,
      { key: bad?.[0], hint: 'convert metadata values to strings (e.g. JSON.stringify) before writing' });
  }
}

function checkTensor(key: string, data: WeightData): void {
  if (key === '__metadata__') {
    throw new LatentlabError('SAFETENSORS_BAD_ENTRY', 'a tensor cannot be named "__metadata__": the format reserves that key', {
      key, hint: 'rename the tensor; pass metadata as the separate metadata argument',
    });
  }
  const isTensor = data instanceof Tensor;
  if (!isTensor && !(data && isExternal(data))) {
    throw new LatentlabError('SAFETENSORS_BAD_ENTRY', `tensor "${key}" is ${fmtValue(data)}, expected a Tensor or an ExternalTensor`, { key });
  }
  if (!DTYPE_TO_SAFETENSORS[data.dtype]) {
    throw new LatentlabError('SAFETENSORS_DTYPE', `tensor "${key}" has dtype ${fmtValue(data.dtype)}, which safetensors cannot store`, { key });
  }
  if (!isTensor && data.length !== byteSize(data.dtype, data.shape)) {
    throw new LatentlabError('SAFETENSORS_SIZE_MISMATCH',
      `tensor "${key}" (${data.dtype} ${fmtShape(data.shape)} in ${data.file}) has length ${data.length}, expected ${byteSize(data.dtype, data.shape)} bytes`,
      { key, file: data.file });
  }
}

/** The Rust crate's `Dtype` enum order, reversed (it sorts by `right.dtype().cmp(&left.dtype())`). */
const WRITE_ORDER: readonly DType[] = ['int64', 'float64', 'float32', 'int32', 'bfloat16', 'float16', 'int8', 'uint8', 'bool'];

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Decides the order, offsets and header bytes of a file. */
function plan(tensors: TensorDict, metadata?: Readonly<Record<string, string>>): Plan {
  checkMetadata(metadata);
  const items = entriesOf(tensors);
  for (const [key, data] of items) checkTensor(key, data);
  const utf8 = new Map(items.map(([key]) => [key, new TextEncoder().encode(key)]));
  items.sort(([ka, a], [kb, b]) => WRITE_ORDER.indexOf(a.dtype) - WRITE_ORDER.indexOf(b.dtype) || compareBytes(utf8.get(ka)!, utf8.get(kb)!));
  const planned: Planned[] = [];
  const json: string[] = [];
  if (metadata !== undefined) json.push(`"__metadata__":${JSON.stringify(Object.fromEntries(Object.entries(metadata).sort()))}`);
  let offset = 0;
  for (const [key, data] of items) {
    const end = offset + byteSize(data.dtype, data.shape);
    planned.push({ key, data, begin: offset, end });
    json.push(`${JSON.stringify(key)}:${JSON.stringify({ dtype: DTYPE_TO_SAFETENSORS[data.dtype], shape: data.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const text = new TextEncoder().encode(`{${json.join(',')}}`);
  const padded = Math.ceil(text.byteLength / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20); // spaces
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, tensors: planned, totalBytes: header.byteLength + offset };
}

/** The bytes of an in-memory tensor, as a view (no copy). */
function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

async function* chunksOf(p: Plan): AsyncGenerator<Uint8Array> {
  yield p.header;
  for (const { data } of p.tensors) {
    if (data.shape.includes(0)) continue;
    yield isExternal(data) ? await fileSystem().readBytes(data.file, data.offset, data.length) : tensorBytes(data);
  }
}

/**
 * The file's bytes as a stream of chunks: the header, then each tensor (external ones read one at
 * a time). Validates at once, before the first chunk is asked for.
 */
export function safetensorsChunks(tensors: TensorDict, metadata?: Readonly<Record<string, string>>): AsyncGenerator<Uint8Array> {
  return chunksOf(plan(tensors, metadata));
}

/** A whole safetensors file in memory. For big outputs use `writeSafetensors`, which streams. */
export function serializeSafetensors(tensors: TensorDict<Tensor>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const p = plan(tensors, metadata);
  const external = p.tensors.find((t) => isExternal(t.data));
  if (external) {
    throw new LatentlabError('SAFETENSORS_BAD_ENTRY', `tensor "${external.key}" is still in its file; serializeSafetensors takes in-memory Tensors`, {
      key: external.key, hint: 'use writeSafetensors(path, tensors), which copies tensors from their files',
    });
  }
  let out: Uint8Array;
  try {
    out = new Uint8Array(p.totalBytes);
  } catch (e) {
    throw new LatentlabError('SAFETENSORS_TOO_LARGE', `cannot hold a ${p.totalBytes}-byte safetensors file in one buffer`, {
      hint: 'use writeSafetensors(path, tensors), which streams the tensors to the file', cause: e,
    });
  }
  out.set(p.header, 0);
  for (const { data, begin } of p.tensors) out.set(tensorBytes(data as Tensor), p.header.byteLength + begin);
  return out;
}

/**
 * Writes a safetensors file atomically (temporary file + rename): a crash never leaves half a file.
 * Tensors may be in memory or still in other files (ExternalTensor: copied through, one at a time).
 */
export async function writeSafetensors(path: string, tensors: TensorDict, metadata?: Readonly<Record<string, string>>): Promise<void> {
  const chunks = safetensorsChunks(tensors, metadata); // validates before any file is created
  await fileSystem().writeFileAtomic(path, chunks);
}
