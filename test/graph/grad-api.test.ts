// grad()'s contract: what it refuses (with the codes and names a user needs) and the
// trainable-weights compile option it works with.

import '../../src/platform/node/index.js';

import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { grad } from '../../src/graph/autodiff/grad.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { runtime } from '../../src/graph/runtime.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return [(e as LatentlabError).code, (e as Error).message];
  }
  return ['no error', ''];
};

describe('grad refuses what has no gradient', () => {
  it('token ids (int64) are not differentiable', () => {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', [1, 4]);
    const loss = op.reduceSum(op.gather(g.weight('emb', [10, 3]), ids), [0, 1, 2], false);
    const [c, msg] = code(() => grad(loss, [ids]));
    expect(c).toBe('GRAD_INPUT');
    expect(msg).toMatch(/"input_ids" has dtype int64/);
  });

  it('a value that reaches the loss only through a comparison', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const y = g.input('y', 'float32', [3]);
    const loss = op.reduceSum(op.where(op.greater(x, 0), y, 0), [0], false);
    expect(code(() => grad(loss, [x]))[0]).toBe('GRAD_UNUSED');
    expect(code(() => grad(loss, [y]))[0]).toBe('no error');
  });

  it('a loss with more than one element, and symbolic shapes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    expect(code(() => grad(op.mul(x, 2), [x]))[0]).toBe('GRAD_LOSS');
    const h = new Graph();
    const s = h.input('s', 'float32', ['batch', 3]);
    expect(code(() => grad(op.reduceSum(op.mul(s, s), [0, 1], false), [s]))[0]).toBe('GRAD_SYMBOLIC');
  });
});

describe('trainable weights are fed as inputs', () => {
  it('one session, new weight values each run, gradients for them', async () => {
    const g = new Graph('trainable');
    const x = g.input('x', 'float32', [2, 3]);
    const wv = g.weight('lin.weight', [1, 3]);
    const loss = op.reduceSum(op.linear(x, wv), [0, 1], false); // Σ x·wᵀ
    const [dw] = grad(loss, [wv]);
    g.output('loss', loss);
    g.output('dw', dw);
    const compiled = await runtime().compile(g, new Map(), { trainable: ['lin.weight'] });
    expect(compiled.inputNames).toEqual(['x', 'lin.weight']);
    const xs = Tensor.float32([2, 3], [1, 2, 3, 4, 5, 6]);
    for (const wts of [[1, 0, 0], [0, 1, 1]]) {
      const r = await compiled.run({ x: xs, 'lin.weight': Tensor.float32([1, 3], wts) });
      expect(r.loss.data[0]).toBe(wts[0] * 5 + wts[1] * 7 + wts[2] * 9);
      expect([...r.dw.data]).toEqual([5, 7, 9]);
    }
    await compiled.release();
  });

  it('a trainable key the graph does not declare is an error', async () => {
    const g = new Graph('t');
    g.output('y', op.mul(g.input('x', 'float32', [1]), 2));
    await expect(runtime().compile(g, new Map(), { trainable: ['nope.weight'] })).rejects.toThrow(/"nope.weight" is not a weight of this graph/);
  });
});

describe('graphs ONNX Runtime must accept at every level', () => {
  // ONNX Runtime 1.30 rejected this at levels ≥ basic ("Node input 'expand_N' is not a graph input")
  // when expand to the same shape emitted an Expand; the backward of a [1, 1] sum and log built it.
  it('expand to the same shape is no node; the backward of −log(picked probability) runs at every level', async () => {
    for (const optimizationLevel of ['disabled', 'basic', 'all'] as const) {
      const g = new Graph('nll');
      const a = g.input('a', 'float32', [1]);
      const x = g.input('x', 'float32', [1, 3, 2, 2]);
      g.output('y', op.mul(op.expand(op.reshape(a, [1, 1]), [1, 1]), op.div(1, op.slice(x, 1, 2, 3))));
      const c = await runtime().compile(g, new Map(), { optimizationLevel });
      const r = await c.run({ a: Tensor.float32([1], [2]), x: Tensor.float32([1, 3, 2, 2], Array.from({ length: 12 }, (_, i) => i + 1)) });
      expect([...r.y.data]).toEqual([9, 10, 11, 12].map((v) => Math.fround(2 * Math.fround(1 / v))));
      await c.release();
    }
  });
});

describe('the memoryArena switch', () => {
  it('sessions without the arena give the same values (the gradient sessions default)', async () => {
    const outs: number[][] = [];
    for (const memoryArena of [true, false]) {
      const g = new Graph('arena');
      const x = g.input('x', 'float32', [2, 3]);
      const loss = op.reduceSum(op.mul(x, x), [0, 1], false);
      g.output('dx', grad(loss, [x])[0]);
      const c = await runtime().compile(g, new Map(), { memoryArena });
      outs.push([...((await c.run({ x: Tensor.float32([2, 3], [1, 2, 3, 4, 5, 6]) })).dx.data as Float32Array)]);
      await c.release();
    }
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[0]).toEqual([2, 4, 6, 8, 10, 12]);
  });
});
