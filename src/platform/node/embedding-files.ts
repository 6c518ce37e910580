// A1111's embeddings/ folder on disk, shared by the CLI's --embeddings-dir and the server's: the
// embedding files under a folder (recursively, sorted, hidden files skipped; each one's token is its
// file name without the extension) and a file's short hash (the infotext's `TI hashes`: the first
// 12 hex digits of the SHA-256 of the whole file).

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

const EXTENSIONS = new Set(['.pt', '.bin', '.safetensors']);

/** Embedding files (.pt, .bin, .safetensors) under `dir`, recursively, in a stable (sorted) order. */
export async function listEmbeddingFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  for (const name of names) {
    const path = resolve(join(dir, name));
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) out.push(...(await listEmbeddingFiles(path)));
    else if (st?.isFile() && EXTENSIONS.has(extname(name).toLowerCase())) out.push(path);
  }
  return out;
}

export async function embeddingShortHash(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex').slice(0, 12);
}
