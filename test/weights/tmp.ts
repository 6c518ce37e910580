// Temporary folders for the weights tests (under os.tmpdir(), removed after the file's tests).
import '../../src/platform/node/index.js';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';

/** A fresh folder, removed when the test file is done. Call at the top level of a test file. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => (dir ??= mkdtempSync(join(tmpdir(), `latentlab-${prefix}-`)));
}

/** A safetensors file from raw parts: header (object or exact text), data bytes, and an optional lying length. */
export function rawSafetensors(header: object | string, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

export function writeBytes(path: string, bytes: Uint8Array | string): string {
  writeFileSync(path, bytes);
  return path;
}

/** Awaits `p`, expects a LatentlabError with `code`, and returns it for further checks. */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<LatentlabError> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a LatentlabError ${code}`).toBeInstanceOf(LatentlabError);
  expect((error as LatentlabError).code, (error as Error).message).toBe(code);
  return error as LatentlabError;
}
