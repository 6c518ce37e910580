// A1111's short hash of a LoRA file ("addnet" hash, what its infotext's `Lora hashes` lists): the
// first 12 hex digits of the SHA-256 of a .safetensors file's bytes after its header (8-byte
// little-endian length, then the JSON header), so editing the metadata keeps the hash.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export async function loraShortHash(file: string): Promise<string> {
  const bytes = await readFile(file);
  const headerEnd = 8 + Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  return createHash('sha256').update(bytes.subarray(headerEnd)).digest('hex').slice(0, 12);
}
