// Every op's vector-Jacobian product against central finite differences (checkGradients), on
// ONNX Runtime. A case per op (several where the op has modes); a guard test fails when an op
// is added without a case here.

import { afterAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { checkGradients, GradCheckSpec } from '../../src/graph/autodiff/check.js';
import type { Graph, Value } from '../../src/graph/graph.js';
import { OP_NAMES } from '../../src/graph/op-specs.js';
import type { OpName } from '../../src/graph/op-types.js';
import * as op from '../../src/graph/ops/index.js';
import { randn, uniform } from './harness.js';

interface Case {
  ops: OpName[];
  name: string;
  inputs: Record<string, Tensor>;
  weights?: Record<string, Tensor>;
  wrt: string[];
  build(g: Graph, x: Record<string, Value>): Value;
  tol?: number;
}

/** Values bounded away from 0 (for abs, and kinks at 0). */
const awayFromZero = (seed: number, shape: number[]) => {
  const t = randn(seed, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.sign(t.data[i] || 1) * (0.1 + Math.abs(t.data[i]));
  return t;
};
const ids = (shape: number[], values: number[]) => Tensor.int64(shape, values);

const unaryCase = (o: OpName, f: (x: Value) => Value, input: Tensor = randn(1, [2, 3, 5])): Case => ({
  ops: [o], name: o, inputs: { x: input }, wrt: ['x'], build: (_g, { x }) => f(x),
});

const CASES: Case[] = [
  { ops: ['add'], name: 'add, broadcast both ways', inputs: { a: randn(1, [2, 3, 4]), b: randn(2, [3, 1]) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.add(a, b) },
  { ops: ['sub'], name: 'sub, broadcast', inputs: { a: randn(3, [2, 1, 4]), b: randn(4, [3, 4]) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.sub(a, b) },
  { ops: ['mul'], name: 'mul, broadcast', inputs: { a: randn(5, [2, 3, 4]), b: randn(6, [4]) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.mul(a, b) },
  { ops: ['div'], name: 'div, broadcast', inputs: { a: randn(7, [2, 3, 4]), b: uniform(8, [3, 1], 0.5, 2) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.div(a, b) },
  { ops: ['pow'], name: 'pow, tensor exponent', inputs: { a: uniform(9, [2, 3, 4], 0.5, 2), b: uniform(10, [4], 0.5, 2) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.pow(a, b) },
  { ops: ['pow'], name: 'pow, scalar exponent', inputs: { a: uniform(11, [3, 4], 0.5, 2) }, wrt: ['a'], build: (_g, { a }) => op.pow(a, 3) },
  {
    ops: ['where', 'greater', 'less', 'equal'], name: 'where, with a computed mask', inputs: { c: awayFromZero(12, [3, 4]), a: randn(13, [3, 4]), b: randn(14, [4]) }, wrt: ['a', 'b'],
    build: (_g, { c, a, b }) => op.add(op.where(op.greater(c, 0), a, b), op.where(op.less(c, -0.5), 1, op.where(op.equal(c, 0), 2, b))),
  },
  unaryCase('clamp', (x) => op.clamp(x, -0.5, 0.5), awayFromZero(15, [4, 6])),
  unaryCase('neg', op.neg),
  unaryCase('abs', op.abs, awayFromZero(16, [3, 5])),
  unaryCase('sqrt', op.sqrt, uniform(17, [3, 5], 0.5, 3)),
  unaryCase('exp', op.exp),
  unaryCase('log', op.log, uniform(18, [3, 5], 0.5, 3)),
  unaryCase('sin', op.sin),
  unaryCase('cos', op.cos),
  unaryCase('tanh', op.tanh),
  unaryCase('sigmoid', op.sigmoid),
  unaryCase('erf', op.erf),
  unaryCase('silu', op.silu),
  unaryCase('quickGelu', op.quickGelu),
  { ...unaryCase('gelu', (x) => op.gelu(x)), name: 'gelu (erf)' },
  { ...unaryCase('gelu', (x) => op.gelu(x, 'tanh')), name: 'gelu (tanh)' },
  {
    ops: ['linear'], name: 'linear with bias, rank 3', inputs: { x: randn(19, [2, 5, 6]) }, weights: { 'l.weight': randn(20, [4, 6]), 'l.bias': randn(21, [4]) },
    wrt: ['x', 'l.weight', 'l.bias'], build: (g, { x }) => op.linear(x, g.weight('l.weight', [4, 6]), g.weight('l.bias', [4])),
  },
  { ops: ['matmul'], name: 'matmul, batch broadcast', inputs: { a: randn(22, [2, 3, 4, 5]), b: randn(23, [5, 6]) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.matmul(a, b) },
  { ops: ['matmul'], name: 'matmul, both broadcast', inputs: { a: randn(24, [2, 1, 4, 5]), b: randn(25, [3, 5, 2]) }, wrt: ['a', 'b'], build: (_g, { a, b }) => op.matmul(a, b) },
  ...(
    [
      ['3×3, stride 1, pad 1', [2, 3, 6, 5], [4, 3, 3, 3], { padding: 1 }],
      ['3×3, stride 2, asymmetric pad (VAE downsampler)', [1, 4, 7, 8], [4, 4, 3, 3], { stride: 2, padding: [0, 0, 1, 1] }],
      ['groups 2, dilation 2', [1, 4, 9, 9], [6, 2, 3, 3], { groups: 2, dilation: 2, padding: 2 }],
      ['1×1, stride 2, odd size', [2, 3, 7, 7], [5, 3, 1, 1], { stride: 2 }],
    ] as const
  ).map(([label, xs, ws, o], i): Case => ({
    ops: ['conv2d', 'convTranspose2d'], name: `conv2d ${label}`, inputs: { x: randn(30 + i, [...xs]) }, weights: { 'c.weight': randn(40 + i, [...ws], 0.3), 'c.bias': randn(50 + i, [ws[0]]) },
    wrt: ['x', 'c.weight', 'c.bias'], build: (g, { x }) => op.conv2d(x, g.weight('c.weight', [...ws]), g.weight('c.bias', [ws[0]]), o),
  })),
  {
    ops: ['convTranspose2d', 'conv2d'], name: 'convTranspose2d, stride 2', inputs: { x: randn(60, [1, 4, 4, 5]) }, weights: { 'ct.weight': randn(61, [4, 3, 3, 3], 0.3) },
    wrt: ['x', 'ct.weight'], build: (g, { x }) => op.convTranspose2d(x, g.weight('ct.weight', [4, 3, 3, 3]), { stride: 2, padding: 1, outputPadding: [1, 0] }),
  },
  {
    ops: ['attention'], name: 'attention, self, 2 heads', inputs: { q: randn(62, [2, 5, 8]), k: randn(63, [2, 5, 8]), v: randn(64, [2, 5, 6]) }, wrt: ['q', 'k', 'v'],
    build: (_g, { q, k, v }) => op.attention(q, k, v, { heads: 2 }),
  },
  {
    ops: ['attention'], name: 'attention, causal (CLIP)', inputs: { q: randn(65, [1, 6, 8]), k: randn(66, [1, 6, 8]), v: randn(67, [1, 6, 8]) }, wrt: ['q', 'k', 'v'],
    build: (_g, { q, k, v }) => op.attention(q, k, v, { heads: 4, causal: true }),
  },
  {
    ops: ['attention'], name: 'attention, cross (Sk ≠ Sq)', inputs: { q: randn(68, [1, 7, 6]), k: randn(69, [1, 3, 6]), v: randn(70, [1, 3, 4]) }, wrt: ['q', 'k', 'v'],
    build: (_g, { q, k, v }) => op.attention(q, k, v, { heads: 2, scale: 0.3 }),
  },
  { ops: ['softmax'], name: 'softmax, middle axis', inputs: { x: randn(71, [2, 5, 3]) }, wrt: ['x'], build: (_g, { x }) => op.softmax(x, 1) },
  {
    ops: ['layerNorm'], name: 'layerNorm', inputs: { x: randn(72, [2, 3, 8], 2, 1) }, weights: { 'ln.weight': randn(73, [8], 0.5, 1), 'ln.bias': randn(74, [8]) },
    wrt: ['x', 'ln.weight', 'ln.bias'], build: (g, { x }) => op.layerNorm(x, g.weight('ln.weight', [8]), g.weight('ln.bias', [8]), 1e-5),
  },
  {
    ops: ['groupNorm'], name: 'groupNorm, 3 groups', inputs: { x: randn(75, [2, 6, 3, 4], 2, 1) }, weights: { 'gn.weight': randn(76, [6], 0.5, 1), 'gn.bias': randn(77, [6]) },
    wrt: ['x', 'gn.weight', 'gn.bias'], build: (g, { x }) => op.groupNorm(x, g.weight('gn.weight', [6]), g.weight('gn.bias', [6]), 3, 1e-6),
  },
  { ops: ['reduceMean'], name: 'reduceMean, two axes', inputs: { x: randn(78, [2, 3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.reduceMean(x, [0, 2], false) },
  { ops: ['reduceSum'], name: 'reduceSum, keepdims', inputs: { x: randn(79, [2, 3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.reduceSum(x, [1], true) },
  { ops: ['reshape', 'transpose'], name: 'reshape + transpose', inputs: { x: randn(80, [2, 3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.transpose(op.reshape(x, [4, 6]), [1, 0]) },
  { ops: ['expand'], name: 'expand', inputs: { x: randn(81, [3, 1]) }, wrt: ['x'], build: (_g, { x }) => op.expand(x, [2, 3, 4]) },
  { ops: ['concat'], name: 'concat of three', inputs: { a: randn(82, [2, 1, 3]), b: randn(83, [2, 4, 3]), c: randn(84, [2, 2, 3]) }, wrt: ['a', 'c'], build: (_g, { a, b, c }) => op.concat([a, b, c], 1) },
  {
    ops: ['split', 'fill'], name: 'split, one part unused', inputs: { x: randn(85, [2, 7]) }, wrt: ['x'],
    build: (_g, { x }) => {
      const [p, , r] = op.split(x, [2, 3, 2], 1);
      return op.mul(p, r);
    },
  },
  { ops: ['slice'], name: 'slice', inputs: { x: randn(86, [3, 8]) }, wrt: ['x'], build: (_g, { x }) => op.slice(x, 1, 2, -1) },
  { ops: ['pad'], name: 'pad, asymmetric', inputs: { x: randn(87, [2, 3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.mul(op.pad(x, [[0, 0], [1, 2], [0, 3]], 0.5), op.pad(x, [[0, 0], [1, 2], [0, 3]], 2)) },
  {
    ops: ['pad'], name: 'pad, circular (each padded entry is a copy, so its gradient folds back)', inputs: { x: randn(91, [2, 3, 4]) }, wrt: ['x'],
    build: (_g, { x }) => op.mul(op.padCircular(x, [[0, 0], [2, 1], [3, 4]]), op.padCircular(op.sin(x), [[0, 0], [2, 1], [3, 4]])),
  },
  {
    ops: ['pad', 'conv2d', 'convTranspose2d'], name: 'a tiled 3×3 conv (circular pad, then a stride-2 conv without padding)', inputs: { x: randn(92, [1, 2, 5, 6]) },
    weights: { 'c.weight': randn(93, [3, 2, 3, 3], 0.3) }, wrt: ['x', 'c.weight'],
    build: (g, { x }) => op.conv2d(op.padCircular(x, [[0, 0], [0, 0], [1, 1], [1, 1]]), g.weight('c.weight', [3, 2, 3, 3]), undefined, { stride: 2 }),
  },
  { ops: ['resizeNearest'], name: 'resizeNearest ×2', inputs: { x: randn(88, [1, 2, 3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.resizeNearest(x, { scale: 2 }) },
  { ops: ['resizeNearest'], name: 'resizeNearest to an explicit size', inputs: { x: randn(89, [1, 2, 3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.resizeNearest(x, { size: [5, 7] }) },
  {
    ops: ['gather', 'scatterAddRows'], name: 'gather (embedding, repeated ids)', inputs: { ids: ids([2, 3], [1, 4, 1, 0, 4, 4]) }, weights: { 'emb.weight': randn(90, [6, 5]) },
    wrt: ['emb.weight'], build: (g, { ids: i }) => op.gather(g.weight('emb.weight', [6, 5]), i),
  },
  {
    ops: ['scatterAddRows', 'gather'], name: 'scatterAddRows', inputs: { ids: ids([4], [2, 0, 2, 1]), u: randn(91, [4, 3]) }, wrt: ['u'],
    build: (_g, { ids: i, u }) => op.scatterAddRows(i, u, 5),
  },
  { ops: ['cast'], name: 'cast to float64 and back', inputs: { x: randn(92, [3, 4]) }, wrt: ['x'], build: (_g, { x }) => op.cast(op.mul(op.cast(x, 'float64'), op.cast(x, 'float64')), 'float32') },
];

const worst: [string, number][] = [];
afterAll(() => {
  console.log('vjp vs central differences (max relative error per case):');
  for (const [name, e] of worst) console.log(`  ${name.padEnd(52)} ${e.toExponential(2)}`);
});

describe('every op has a checked vjp', () => {
  it('each op is covered by a case', () => {
    const covered = new Set(CASES.flatMap((c) => c.ops));
    expect(OP_NAMES.filter((o) => !covered.has(o))).toEqual([]);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const spec: GradCheckSpec = { inputs: c.inputs, weights: new Map(Object.entries(c.weights ?? {})), wrt: c.wrt, build: c.build };
      const report = await checkGradients(spec, { coordinates: 10, seed: 7 });
      worst.push([c.name, report.maxRelError]);
      expect(report.maxRelError, JSON.stringify(report.relError)).toBeLessThan(c.tol ?? 2e-3);
    });
  }
});
