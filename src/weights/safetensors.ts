// The safetensors format (https://github.com/huggingface/safetensors):
//   [8 bytes little-endian u64 n][n bytes UTF-8 JSON header][data block]
// header = { "<key>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//            "__metadata__": {str: str} (optional) }, offsets relative to the data block.
//
// Only the header is parsed here; tensors are read on demand or handed to ONNX Runtime as
// external-data references into the file, so weights are never copied.

import { DType, dtypeSize, viewAs } from '../core/dtype.js';
import { check, fmtShape, fmtValue, LatentlabError } from '../core/errors.js';
import type { ExternalTensor } from '../core/external.js';
import { numel, Tensor } from '../core/tensor.js';

/** safetensors dtype strings <-> latentlab dtypes (only those Stable Diffusion files use). */
export const SAFETENSORS_DTYPES: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

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
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
}

/**
 * Parses and validates a safetensors header.
 * `prefix` holds at least the first 8 bytes; `headerBytes` the JSON (bytes 8 .. 8+n).
 */
export function parseSafetensorsHeader(headerJson: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataOffset = 8 + headerJson.byteLength;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerJson));
  } catch (e) {
    throw new LatentlabError('SAFETENSORS_BAD_JSON', `${file}: the safetensors header is not valid UTF-8 JSON (${(e as Error).message})`, {
      file,
      hint: 'the file is truncated or not a safetensors file; download it again',
    });
  }
  check(raw !== null && typeof raw === 'object' && !Array.isArray(raw), 'SAFETENSORS_BAD_JSON',
    () => `${file}: the safetensors header must be a JSON object, found ${fmtValue(raw)}`, { file });
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === '__metadata__') {
      metadata = value as Record<string, string>;
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (what: string): never => {
      throw new LatentlabError('SAFETENSORS_BAD_ENTRY', `${file}: tensor "${key}" has ${what}`, { file, key, hint: 'the file is corrupt; download or export it again' });
    };
    if (!info || typeof info !== 'object') bad(`a header entry that is not an object: ${fmtValue(info)}`);
    const dtype = SAFETENSORS_DTYPES[info.dtype as string];
    if (!dtype) {
      throw new LatentlabError('SAFETENSORS_DTYPE', `${file}: tensor "${key}" has dtype ${fmtValue(info.dtype)}; supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`, {
        file, key, hint: 'convert the checkpoint to F32, F16 or BF16',
      });
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
        file, key, hint: 'the file is truncated; download it again',
      });
    }
    const expected = numel(shape as number[]) * dtypeSize(dtype);
    if (e - b !== expected) {
      throw new LatentlabError('SAFETENSORS_SIZE_MISMATCH', `${file}: tensor "${key}" (${info.dtype} ${fmtShape(shape as number[])}) needs ${expected} bytes but its data_offsets span ${e - b}`, {
        file, key, hint: 'the file is corrupt; download or export it again',
      });
    }
    entries.set(key, { key, dtype, shape: shape as number[], begin, end });
  }
  // Tensors must not share bytes (the format forbids it; a reader that allowed it would hand out aliased weights).
  const sorted = [...entries.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw new LatentlabError('SAFETENSORS_OVERLAP', `${file}: tensors "${sorted[i - 1].key}" and "${sorted[i].key}" overlap (bytes ${sorted[i].begin}..${sorted[i - 1].end})`, {
        file, key: sorted[i].key, hint: 'the file is corrupt; download or export it again',
      });
    }
  }
  return { dataOffset, metadata, entries };
}

/** Reads the u64 header length from the first 8 bytes and checks it against the file size. */
export function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  check(fileSize >= 8 && prefix.byteLength >= 8, 'SAFETENSORS_TRUNCATED',
    () => `${file}: ${fileSize} bytes is too short for a safetensors file (at least 8 bytes of header length)`, { file, hint: 'the file is truncated; download it again' });
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  check(n <= BigInt(fileSize - 8), 'SAFETENSORS_HEADER_LENGTH',
    () => `${file}: header length ${n} runs past the end of the file (${fileSize} bytes)`, { file, hint: 'the file is truncated or not a safetensors file' });
  return Number(n);
}

/** The external-data reference for one entry of a file. */
export function externalRef(file: string, entry: SafetensorsEntry): ExternalTensor {
  return { kind: 'external', dtype: entry.dtype, shape: entry.shape, file, offset: entry.begin, length: entry.end - entry.begin };
}

/** A host tensor over the bytes of one entry (`bytes` = that entry's bytes). */
export function tensorFromBytes(entry: SafetensorsEntry, bytes: Uint8Array): Tensor {
  return new Tensor(entry.dtype, entry.shape, viewAs(entry.dtype, bytes));
}
