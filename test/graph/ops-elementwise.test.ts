// Elementwise ops through the real pipeline (graph → ONNX → onnxruntime-node) against float64
// loops: broadcasting binary arithmetic with graph and number operands, unary maths, the
// activations (at optimisation levels 'basic' and 'all', since ONNX Runtime fuses Gelu, SiLU and
// QuickGelu patterns at 'extended' and above), comparisons, where and clamp.

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import type { Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { evaluate, expectExact, expectNear, randn, reportErrors, uniform } from './harness.js';
import * as ref from './reference.js';

reportErrors('elementwise');

const f32 = Math.fround;

describe('binary arithmetic with broadcasting', () => {
  // a [2, 3, 4] against b [3, 1]: both sides broadcast.
  const a = randn(1, [2, 3, 4]);
  const b = uniform(2, [3, 1], 0.5, 2); // positive and away from 0: safe divisor and pow base
  const cases: [string, (x: Value, y: Value) => Value, (x: number, y: number) => number][] = [
    ['add', op.add, (x, y) => x + y],
    ['sub', op.sub, (x, y) => x - y],
    ['mul', op.mul, (x, y) => x * y],
    ['div', op.div, (x, y) => x / y],
    ['pow', (x, y) => op.pow(y, x), (x, y) => y ** x], // positive base, any exponent
  ];
  for (const [name, build, f] of cases) {
    it(`${name}: [2,3,4] with [3,1]`, async () => {
      const [y] = await evaluate({ feeds: { a, b } }, ({ x }) => build(x.a, x.b));
      expectNear('binary', name, y, ref.zip(f, ref.fromTensor(a), ref.fromTensor(b)));
    });
  }

  it('number operands on either side (rounded to float32, like torch)', async () => {
    const p = uniform(3, [2, 5], 0.5, 3);
    const outs = await evaluate({ feeds: { p } }, ({ x }) => [
      op.add(x.p, 2.5),
      op.sub(1, x.p),
      op.mul(x.p, 0.1),
      op.div(x.p, 3),
      op.div(2, x.p),
      op.pow(x.p, 2),
      op.pow(x.p, 0.5),
      op.pow(2, x.p),
    ]);
    const fns: ((v: number) => number)[] = [
      (v) => v + 2.5,
      (v) => 1 - v,
      (v) => v * f32(0.1),
      (v) => v / 3,
      (v) => 2 / v,
      (v) => v ** 2,
      (v) => Math.sqrt(v),
      (v) => 2 ** v,
    ];
    fns.forEach((fn, i) => expectNear('binary', `number operand #${i}`, outs[i], ref.map(ref.fromTensor(p), fn)));
  });

  it('int64 arithmetic with a number operand', async () => {
    const ids = Tensor.int64([4], [3, -2, 7, 0]);
    const [y] = await evaluate({ feeds: { ids } }, ({ x }) => op.mul(op.add(x.ids, 5), 2));
    expectExact('binary', 'int64', y, ref.nd([4], (i) => ([3, -2, 7, 0][i] + 5) * 2));
  });
});

describe('unary maths', () => {
  const x = randn(10, [3, 7], 2);
  const pos = uniform(11, [3, 7], 0.05, 4);
  const cases: [string, (v: Value) => Value, (v: number) => number, Tensor][] = [
    ['sqrt', op.sqrt, Math.sqrt, pos],
    ['exp', op.exp, Math.exp, x],
    ['log', op.log, Math.log, pos],
    ['sin', op.sin, Math.sin, x],
    ['cos', op.cos, Math.cos, x],
    ['tanh', op.tanh, Math.tanh, x],
    ['sigmoid', op.sigmoid, ref.sigmoid, x],
    ['erf', op.erf, ref.erf, x],
    ['neg', op.neg, (v) => -v, x],
    ['abs', op.abs, Math.abs, x],
  ];
  for (const [name, build, f, input] of cases) {
    it(name, async () => {
      const [y] = await evaluate({ feeds: { input } }, ({ x: v }) => build(v.input));
      expectNear('unary', name, y, ref.map(ref.fromTensor(input), f), { abs: 1e-5, rel: 2e-6 });
    });
  }
});

describe('neg and abs on integers', () => {
  it('int64 and int32', async () => {
    const a = Tensor.int64([4], [3, -2, 0, -9]);
    const b = new Tensor('int32', [3], Int32Array.of(-1, 4, -7));
    const outs = await evaluate({ feeds: { a, b } }, ({ x }) => [op.neg(x.a), op.abs(x.a), op.neg(x.b), op.abs(x.b)]);
    const [A, B] = [a, b].map(ref.fromTensor);
    [ref.map(A, (v) => -v), ref.map(A, Math.abs), ref.map(B, (v) => -v), ref.map(B, Math.abs)].forEach((e, i) => expectExact('unary', `int #${i}`, outs[i], e));
    expect(outs.map((t) => t.dtype)).toEqual(['int64', 'int64', 'int32', 'int32']);
  });
});

describe('activations', () => {
  // A wide range, including large |x| where the tanh/erf tails matter.
  const x = randn(20, [2, 4, 33], 3);
  const cases: [string, (v: Value) => Value, (v: number) => number][] = [
    ['silu', op.silu, (v) => v * ref.sigmoid(v)],
    ['gelu (erf)', (v) => op.gelu(v), ref.geluErf],
    ['gelu (tanh)', (v) => op.gelu(v, 'tanh'), ref.geluTanh],
    ['quickGelu', op.quickGelu, (v) => v * ref.sigmoid(f32(1.702) * v)],
  ];
  for (const level of ['basic', 'all'] as const) {
    for (const [name, build, f] of cases) {
      it(`${name} at optimizationLevel ${level}`, async () => {
        const [y] = await evaluate({ feeds: { x }, options: { optimizationLevel: level } }, ({ x: v }) => build(v.x));
        expectNear('activations', `${name} ${level}`, y, ref.map(ref.fromTensor(x), f));
      });
    }
  }
});

describe('comparisons, where, clamp', () => {
  // Small integers so that equal() has both outcomes.
  const a = Tensor.float32([2, 6], Array.from(randn(30, [12]).data, (v) => Math.round(v * 2)));
  const b = Tensor.float32([6], Array.from(randn(31, [6]).data, (v) => Math.round(v * 2)));
  const cases: [string, (x: Value, y: Value) => Value, (x: number, y: number) => number][] = [
    ['less', op.less, (x, y) => Number(x < y)],
    ['greater', op.greater, (x, y) => Number(x > y)],
    ['equal', op.equal, (x, y) => Number(x === y)],
  ];
  for (const [name, build, f] of cases) {
    it(`${name}: [2,6] with [6] gives bool`, async () => {
      const [y] = await evaluate({ feeds: { a, b } }, ({ x }) => build(x.a, x.b));
      expectExact('compare', name, y, ref.zip(f, ref.fromTensor(a), ref.fromTensor(b)));
      if (y.dtype !== 'bool') throw new Error(`${name} returned ${y.dtype}, expected bool`);
    });
  }

  it('where: bool input and computed condition, broadcast, number branch', async () => {
    const cond = new Tensor('bool', [3, 1], Uint8Array.of(1, 0, 1));
    const p = randn(32, [3, 4]);
    const q = randn(33, [4]);
    const [y1, y2] = await evaluate({ feeds: { cond, p, q } }, ({ x }) => [op.where(x.cond, x.p, x.q), op.where(op.greater(x.p, x.q), x.p, -1)]);
    const [c, pp, qq] = [cond, p, q].map(ref.fromTensor);
    expectExact('where', 'where input cond', y1, ref.zip((s, u, v) => (s ? u : v), c, pp, qq));
    expectExact('where', 'where computed cond', y2, ref.zip((u, v) => (u > v ? u : -1), pp, qq));
  });

  it('clamp', async () => {
    const x = randn(34, [5, 5]);
    const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.clamp(v.x, -0.5, 0.7));
    expectExact('clamp', 'clamp', y, ref.map(ref.fromTensor(x), (v) => Math.min(Math.max(v, f32(-0.5)), f32(0.7))));
  });
});
