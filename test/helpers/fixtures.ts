// Test helpers for the conformance fixtures (test/fixtures/conformance, see its README).
import '../../src/platform/node/index.js';

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Tensor } from '../../src/core/tensor.js';
import { parseJson } from '../../src/weights/pyjson.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';

export const CONFORMANCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'conformance');

export function fixturePath(...parts: string[]): string {
  return join(CONFORMANCE, ...parts);
}

/** A fixture JSON file; Python's json writes -Infinity / NaN, which parseJson accepts. */
export function readJson<T = any>(...parts: string[]): T {
  return parseJson(readFileSync(fixturePath(...parts), 'utf8'), { nonFinite: true }) as T;
}

/** All tensors of a fixture .safetensors file, by name. */
export async function loadTensors(...parts: string[]): Promise<Map<string, Tensor>> {
  return (await SafetensorsFile.open(fixturePath(...parts))).readAll();
}
