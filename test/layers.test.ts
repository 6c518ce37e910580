// The layer rules hold over src/ (test/helpers/layers.ts; docs/architecture.md): the code below the
// platforms imports neither node:*, onnxruntime nor sharp, names no Node or browser global, and each
// layer imports only the layers under it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { checkSource, checkTree } from './helpers/layers.js';

describe('layer rules', () => {
  it('hold for every file under src/', () => {
    const violations = checkTree(fileURLToPath(new URL('../src', import.meta.url)));
    expect(violations.map((v) => `${v.file}:${v.line}: ${v.problem}`)).toEqual([]);
  });

  it('keep the explorer on the web entry: it imports latentlab/web and its own files only', () => {
    const dir = fileURLToPath(new URL('../explorer/src', import.meta.url));
    const bad = readdirSync(dir).filter((f) => f.endsWith('.ts')).flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1])
        .filter((spec) => spec !== 'latentlab/web' && !spec.startsWith('./')).map((spec) => `${f}: ${spec}`));
    expect(bad).toEqual([]);
  });

  it('catch node:* imports, Node globals and upward imports in the core, and nothing in comments', () => {
    const bad = [
      "import { readFileSync } from 'node:fs';",
      "import sharp from 'sharp';",
      "export const big = Buffer.from('x');",
      'export const env = process.env.HOME;',
      "import { nodeRuntime } from '../platform/node/runtime.js';",
      "import { Scheduler } from '../schedulers/base.js';",
      'export const title = document.title;',
    ].join('\n');
    const problems = checkSource('graph/bad.ts', bad).map((v) => v.line);
    expect(problems).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const fine = [
      "// import { readFileSync } from 'node:fs'; Buffer, process",
      "const s = 'process';",
      'const o = { process: 1, document: 2 };',
      'export const n = o.process + o.document;',
      "import { Tensor } from '../core/tensor.js';",
    ].join('\n');
    expect(checkSource('graph/fine.ts', fine)).toEqual([]);
  });

  it('let the Node platform use Node, and keep the web platform off it', () => {
    expect(checkSource('platform/node/x.ts', "import * as fs from 'node:fs';\nexport const e = process.env;")).toEqual([]);
    expect(checkSource('platform/web/x.ts', "import * as fs from 'node:fs';").map((v) => v.problem)).toEqual([
      'platform/web imports the package "node:fs"; allowed here: protobufjs, zod, @huggingface/hub, fflate, ml-matrix, onnxruntime-web, fast-png',
    ]);
  });
});
