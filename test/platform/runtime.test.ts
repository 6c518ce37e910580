// The onnxruntime-node Runtime: device selection and its errors, session options (threads,
// optimisation level, prepacking, profiling), session reuse across many runs, and input errors.

import '../../src/platform/node/index.js';

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { CompileOptions, Device, runtime } from '../../src/graph/runtime.js';
import { expectNear, randn } from '../graph/harness.js';
import { fromTensor, map } from '../graph/reference.js';
import * as nn from '../graph/reference-nn.js';

const W = randn(1, [6, 8], 0.4);
const B = randn(2, [6]);
const weights = new Map([
  ['proj.weight', W],
  ['proj.bias', B],
]);

/** y = tanh(linear(x)) with x [batch, 8]; z = x · 2 (a second output). */
function model(): Graph {
  const g = new Graph('runtime-test');
  const x = g.input('x', 'float32', ['batch', 8]);
  g.output('y', op.tanh(op.linear(x, g.weight('proj.weight', [6, 8]), g.weight('proj.bias', [6]))));
  g.output('z', op.mul(x, 2));
  return g;
}

const expected = (x: Tensor) => map(nn.linear(fromTensor(x), fromTensor(W), fromTensor(B)), Math.tanh);

async function compileError(options: CompileOptions): Promise<LatentlabError | undefined> {
  try {
    await (await runtime().compile(model(), weights, options)).release();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(LatentlabError);
    return e as LatentlabError;
  }
}

describe('devices', () => {
  it("'cuda' without the CUDA provider fails with DEVICE_UNAVAILABLE and says how to enable it", async (ctx) => {
    const err = await compileError({ device: 'cuda' });
    if (!err) return ctx.skip(); // a machine with CUDA installed
    expect(err.code).toBe('DEVICE_UNAVAILABLE');
    expect(err.message).toContain('"cuda"');
    expect(err.hint).toMatch(/install\.js --onnxruntime-node-install=cuda12/);
    expect(err.hint).toContain('--device cpu');
  });

  for (const device of ['coreml', 'dml'] as Device[]) {
    it.runIf(process.platform === 'linux')(`'${device}' on Linux fails with DEVICE_UNAVAILABLE and a hint`, async () => {
      const err = await compileError({ device });
      expect(err?.code).toBe('DEVICE_UNAVAILABLE');
      expect(err?.message).toContain(`"${device}"`);
      expect(err?.hint).toContain('--device cpu');
    });
  }

  it('an unknown device fails with DEVICE_UNKNOWN listing the known ones', async () => {
    const err = await compileError({ device: 'tpu' as Device });
    expect(err?.code).toBe('DEVICE_UNKNOWN');
    expect(err?.message).toContain('"tpu"');
    expect(err?.message).toContain('cpu, cuda, coreml, dml, webgpu');
  });
});

describe('session options', () => {
  const x = randn(3, [3, 8]);
  const variants: [string, CompileOptions][] = [
    ['threads 1', { threads: 1 }],
    ['threads 2', { threads: 2 }],
    ...(['disabled', 'basic', 'extended', 'all'] as const).map((level): [string, CompileOptions] => [`optimizationLevel ${level}`, { optimizationLevel: level }]),
    ['prepacking', { prepacking: true }],
    ['explicit cpu device', { device: 'cpu' }],
  ];
  for (const [name, options] of variants) {
    it(`${name} is accepted and computes the same`, async () => {
      const compiled = await runtime().compile(model(), weights, options);
      try {
        expect(compiled.createMs).toBeGreaterThanOrEqual(0);
        expect([...compiled.inputNames]).toEqual(['x']);
        expect([...compiled.outputNames]).toEqual(['y', 'z']);
        expectNear('runtime', name, (await compiled.run({ x })).y, expected(x));
      } finally {
        await compiled.release();
      }
    });
  }

  it('profiling writes a JSON profile whose path endProfiling returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-profile-'));
    try {
      const compiled = await runtime().compile(model(), weights, { profileFilePrefix: join(dir, 'tiny') });
      await compiled.run({ x });
      const file = compiled.endProfiling?.();
      await compiled.release();
      expect(file?.startsWith(join(dir, 'tiny_'))).toBe(true);
      const events = JSON.parse(readFileSync(file!, 'utf8')) as { name: string }[];
      expect(events.some((e) => e.name.includes('Gemm'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one session, many runs', () => {
  it('gives correct results for 40 runs with varying batch sizes and output selections', async () => {
    const compiled = await runtime().compile(model(), weights);
    try {
      for (let i = 0; i < 40; i++) {
        const x = randn(100 + i, [1 + (i % 4), 8]);
        if (i % 3 === 0) {
          const only = await compiled.run({ x }, ['z']);
          expect(Object.keys(only)).toEqual(['z']);
          expectNear('runtime', `run ${i} z`, only.z, map(fromTensor(x), (v) => 2 * v));
        } else {
          expectNear('runtime', `run ${i} y`, (await compiled.run({ x })).y, expected(x));
        }
      }
    } finally {
      await compiled.release();
    }
  });

  it('an output fed back as the next input works (no copy needed)', async () => {
    const compiled = await runtime().compile(model(), weights);
    try {
      let x: Tensor = randn(200, [2, 8]);
      const start = fromTensor(x);
      for (let i = 0; i < 5; i++) x = (await compiled.run({ x })).z;
      expectNear('runtime', 'feedback', x, map(start, (v) => 32 * v), { abs: 0 });
    } finally {
      await compiled.release();
    }
  });
});

describe('input errors', () => {
  it('a missing input gives RUNTIME_INPUT naming it', async () => {
    const compiled = await runtime().compile(model(), weights);
    try {
      const err = await compiled.run({ other: randn(1, [2, 8]) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LatentlabError);
      expect((err as LatentlabError).code).toBe('RUNTIME_INPUT');
      expect((err as LatentlabError).message).toContain('"x"');
    } finally {
      await compiled.release();
    }
  });

  it('a wrong shape or dtype gives RUNTIME_RUN with ONNX Runtime’s reason', async () => {
    const compiled = await runtime().compile(model(), weights);
    try {
      const shape = await compiled.run({ x: randn(1, [2, 7]) }).catch((e: unknown) => e);
      expect((shape as LatentlabError).code).toBe('RUNTIME_RUN');
      expect((shape as LatentlabError).message).toMatch(/dimensions/i);
      const dtype = await compiled.run({ x: Tensor.int64([1, 8], [1, 2, 3, 4, 5, 6, 7, 8]) }).catch((e: unknown) => e);
      expect((dtype as LatentlabError).code).toBe('RUNTIME_RUN');
      expect((dtype as LatentlabError).message).toMatch(/type/i);
    } finally {
      await compiled.release();
    }
  });
});
