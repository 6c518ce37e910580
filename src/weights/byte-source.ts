// Random access to the bytes of a file, whether it is on disk (read through the platform's
// FileSystem seam, a range at a time, so a 4 GB checkpoint is never loaded whole) or already in
// memory (a browser upload, a test's hand-made archive). The zip and torch readers only ever ask
// a ByteSource for ranges, and every range they ask for is checked against `size` first.

import { LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';

export interface ByteSource {
  /** The path (or, for bytes in memory, the name) that errors and tensor references carry. */
  readonly name: string;
  readonly size: number;
  /** Bytes in memory, when the source is an array (tensor references then point into it). */
  readonly bytes?: Uint8Array;
  /** `length` bytes at `offset`; the range must lie inside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Bytes already in memory (a view, no copy). */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    bytes,
    read: async (offset, length) => {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A file through the registered FileSystem; small files (≤ `wholeBelow` bytes) are read once, whole. */
export async function fileSource(path: string, wholeBelow = 64 << 20): Promise<ByteSource> {
  const fs = fileSystem();
  const st = await fs.stat(path);
  if (!st?.isFile) throw new LatentlabError('IO_NOT_FOUND', `${path}: no such file`, { file: path, hint: 'check the path' });
  if (st.size <= wholeBelow) return { ...bytesSource(path, await fs.readBytes(path)), bytes: undefined };
  return {
    name: path,
    size: st.size,
    read: async (offset, length) => {
      checkRange(path, st.size, offset, length);
      return fs.readBytes(path, offset, length);
    },
  };
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new LatentlabError('IO_READ', `${name}: cannot read ${length} bytes at offset ${offset}: it has ${size} bytes`, {
      file: name, hint: 'the file is truncated or corrupt; download or export it again',
    });
  }
}
