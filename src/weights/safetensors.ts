// The safetensors format (https://github.com/huggingface/safetensors), reading side:
//   [8 bytes little-endian u64 n][n bytes UTF-8 JSON header][data block]
// header = { "<key>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//            "__metadata__": {str: str} (optional) }, offsets relative to the data block.
//
// Only the header is parsed here; tensors are read on demand or handed to ONNX Runtime as
// external-data references into the file, so weights are never copied. The checks mirror the
// Rust crate's `SafeTensors::read_metadata` (header size cap, UTF-8 JSON object, known dtypes,
// byte length = dtype × shape, offsets inside the file, no overlap) so a file that crate rejects
// is rejected here too, each problem with its own error code. One deliberate difference: the
// crate also rejects gaps between tensors and trailing bytes; unused bytes cannot produce a wrong
// number, so we accept them.
//
// Typed-array views assume a little-endian host, like the format (every platform Node and the
// browsers run on is little-endian).

import { DType, dtypeSize, viewAs } from '../core/dtype.js';
import { fmtShape, fmtValue, LatentlabError } from '../core/errors.js';
import type { ExternalTensor } from '../core/external.js';
import { Tensor } from '../core/tensor.js';
import { JsonSyntaxError, parseJson } from './pyjson.js';

/** safetensors dtype strings -> latentlab dtypes (the ones Stable Diffusion files use). */
export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  I8: 'int8',
  BOOL: 'bool',
};

/** latentlab dtypes -> safetensors dtype strings (the writer's direction). */
export const DTYPE_TO_SAFETENSORS: Readonly<Record<DType, string>> = Object.fromEntries(
  Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k]),
) as Record<DType, string>;

/** Valid in the format but not read by latentlab (quantised and exotic integer types). */
const OTHER_FORMAT_DTYPES = ['I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

/** Largest header accepted, as the Rust crate's MAX_HEADER_SIZE: a bigger one is a corrupt length, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly key: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte offsets of the tensor in the file: [begin, end). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data block: 8 + header length. */
  readonly dataOffset: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** In header order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
}

const CORRUPT = 'the file is corrupt or truncated; download or export it again';

/** Reads the u64 header length from the first 8 bytes and checks it against the file size and the cap. */
export function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new LatentlabError('SAFETENSORS_TRUNCATED', `${file}: ${fileSize} bytes is too short for a safetensors file (it starts with an 8-byte header length)`, {
      file, hint: CORRUPT,
    });
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new LatentlabError('SAFETENSORS_HEADER_LENGTH', `${file}: the header length ${n} runs past the end of the file (${fileSize} bytes)`, {
      file, hint: `${CORRUPT} (or it is not a safetensors file)`,
    });
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new LatentlabError('SAFETENSORS_HEADER_TOO_LARGE', `${file}: the header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit of the format`, {
      file, hint: `${CORRUPT} (or it is not a safetensors file)`,
    });
  }
  return Number(n);
}

/** Parses and validates a safetensors header; `headerJson` holds bytes 8 .. 8+n of a file of `fileSize` bytes. */
export function parseSafetensorsHeader(headerJson: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataOffset = 8 + headerJson.byteLength;
  const raw = decodeHeader(headerJson, file);
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === '__metadata__') metadata = checkMetadata(value, file);
    else entries.set(key, parseEntry(key, value, dataOffset, fileSize, file));
  }
  checkNoOverlap(entries, file);
  return { dataOffset, metadata, entries };
}

function decodeHeader(bytes: Uint8Array, file: string): Record<string, unknown> {
  const bad = (why: string): never => {
    throw new LatentlabError('SAFETENSORS_BAD_JSON', `${file}: the safetensors header ${why}`, { file, hint: `${CORRUPT} (or it is not a safetensors file)` });
  };
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    bad('is not valid UTF-8');
  }
  let raw: unknown;
  try {
    raw = parseJson(text, { rejectDuplicateKeys: true });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    bad(`is not valid JSON (${e.message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad(`must be a JSON object, found ${fmtValue(raw)}`);
  return raw as Record<string, unknown>;
}

function checkMetadata(value: unknown, file: string): Record<string, string> {
  const ok = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
  if (!ok) {
    throw new LatentlabError('SAFETENSORS_BAD_METADATA', `${file}: "__metadata__" must map strings to strings, found ${fmtValue(value)}`, {
      file, key: '__metadata__', hint: CORRUPT,
    });
  }
  return value as Record<string, string>;
}

function parseEntry(key: string, value: unknown, dataOffset: number, fileSize: number, file: string): SafetensorsEntry {
  const bad = (what: string): never => {
    throw new LatentlabError('SAFETENSORS_BAD_ENTRY', `${file}: tensor "${key}" has ${what}`, { file, key, hint: CORRUPT });
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(`a header entry that is not an object: ${fmtValue(value)}`);
  const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof info.dtype !== 'string') bad(`dtype ${fmtValue(info.dtype)}, expected a string such as "F32"`);
  const dtype = SAFETENSORS_DTYPES[info.dtype as string];
  if (!dtype) {
    const known = OTHER_FORMAT_DTYPES.includes(info.dtype as string);
    throw new LatentlabError('SAFETENSORS_DTYPE',
      `${file}: tensor "${key}" has dtype ${fmtValue(info.dtype)}${known ? ', which latentlab does not read' : ', which is not a safetensors dtype'}; supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
      { file, key, hint: known ? 'convert the checkpoint to F32, F16 or BF16 (e.g. with diffusers: load it and save_pretrained again)' : CORRUPT });
  }
  const shape = info.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`shape ${fmtValue(shape)}, expected a list of non-negative integers`);
  const offsets = info.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[0] > offsets[1]) {
    bad(`data_offsets ${fmtValue(offsets)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const [b, e] = offsets as number[];
  const begin = dataOffset + b;
  const end = dataOffset + e;
  if (end > fileSize) {
    throw new LatentlabError('SAFETENSORS_OUT_OF_RANGE', `${file}: tensor "${key}" spans bytes ${begin}..${end} but the file has ${fileSize} bytes`, {
      file, key, hint: CORRUPT,
    });
  }
  const expected = byteSize(dtype, shape as number[]);
  if (e - b !== expected) {
    const need = Number.isFinite(expected) ? `needs ${expected} bytes` : 'is too large to address';
    throw new LatentlabError('SAFETENSORS_SIZE_MISMATCH', `${file}: tensor "${key}" (${info.dtype} ${fmtShape(shape as number[])}) ${need} but its data_offsets span ${e - b}`, {
      file, key, hint: CORRUPT,
    });
  }
  return { key, dtype, shape: Object.freeze([...(shape as number[])]), begin, end };
}

/** numel × element size, or Infinity when it does not fit in a safe integer (a shape no file can hold). */
export function byteSize(dtype: DType, shape: readonly number[]): number {
  let n = dtypeSize(dtype);
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

// Tensors must not share bytes (the format forbids it; a reader that allowed it would hand out aliased weights).
function checkNoOverlap(entries: ReadonlyMap<string, SafetensorsEntry>, file: string): void {
  const sorted = [...entries.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [prev, cur] = [sorted[i - 1], sorted[i]];
    if (cur.begin < prev.end) {
      throw new LatentlabError('SAFETENSORS_OVERLAP', `${file}: tensors "${prev.key}" and "${cur.key}" overlap (bytes ${cur.begin}..${Math.min(prev.end, cur.end)})`, {
        file, key: cur.key, hint: CORRUPT,
      });
    }
  }
}

/** The external-data reference for one entry of a file. */
export function externalRef(file: string, entry: SafetensorsEntry): ExternalTensor {
  return { kind: 'external', dtype: entry.dtype, shape: entry.shape, file, offset: entry.begin, length: entry.end - entry.begin };
}

/** A host tensor over the bytes of one entry (`bytes` = that entry's bytes; copied only if misaligned). */
export function tensorFromBytes(entry: SafetensorsEntry, bytes: Uint8Array): Tensor {
  return new Tensor(entry.dtype, entry.shape, viewAs(entry.dtype, bytes));
}
