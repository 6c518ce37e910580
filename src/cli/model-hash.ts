// AUTOMATIC1111's "Model hash" of a single-file checkpoint: the first 10 hex digits of the SHA-256
// of the whole file (A1111's `shorthash`; the older 8-digit hash of 64 kB at offset 1 MB is gone
// since A1111 1.0). It lets a reader of the PNG find the exact file on civitai or in A1111, which
// the file name alone does not. Diffusers folders have no such hash, so none is written for them.
//
// Reading a 2–4 GB file costs a few seconds; the file is streamed, never held in memory.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function a1111ModelHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex').slice(0, 10);
}
