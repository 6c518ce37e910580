// The compute ops through the real pipeline against float64 loops: conv2d (stride, symmetric and
// asymmetric padding, dilation, groups, depthwise; at optimisation levels 'basic' and 'all' since
// 'all' switches convolutions to the NCHWc kernels), linear (2-D/3-D/4-D input, with and without
// bias, with and without prepacking), matmul with batch broadcasting, and attention on both
// lowerings ('fused' com.microsoft.MultiHeadAttention and the 'plain' MatMul/Softmax/MatMul path).

import { describe, it } from 'vitest';

import { Conv2dOptions, convParams } from '../../src/graph/ops/linalg.js';
import * as op from '../../src/graph/ops/index.js';
import { BuildContext, evaluate, expectNear, randn, reportErrors } from './harness.js';
import { fromTensor } from './reference.js';
import * as nn from './reference-nn.js';

reportErrors('linalg');

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  bias: boolean;
  options: Conv2dOptions;
}

const convCases: ConvCase[] = [
  { name: '3x3 pad 1 + bias', x: [2, 4, 7, 6], w: [5, 4, 3, 3], bias: true, options: { padding: 1 } },
  { name: '1x1 no bias', x: [1, 6, 5, 5], w: [3, 6, 1, 1], bias: false, options: {} },
  { name: 'stride 2, padding [ph, pw] = [1, 2]', x: [1, 3, 9, 8], w: [4, 3, 3, 3], bias: true, options: { stride: 2, padding: [1, 2] } },
  { name: 'VAE downsample: pad [0,0,1,1] then stride 2', x: [2, 3, 8, 8], w: [3, 3, 3, 3], bias: true, options: { stride: 2, padding: [0, 0, 1, 1] } },
  { name: 'asymmetric pads [t,l,b,r] = [2,0,1,3]', x: [1, 2, 6, 5], w: [3, 2, 3, 3], bias: true, options: { padding: [2, 0, 1, 3] } },
  { name: 'stride [2, 1], 3x2 kernel', x: [1, 2, 7, 6], w: [4, 2, 3, 2], bias: false, options: { stride: [2, 1], padding: 1 } },
  { name: 'dilation 2', x: [1, 3, 9, 9], w: [2, 3, 3, 3], bias: true, options: { dilation: 2, padding: 2 } },
  { name: 'dilation [2, 3], stride 2', x: [1, 2, 11, 12], w: [2, 2, 3, 3], bias: false, options: { dilation: [2, 3], stride: 2, padding: 1 } },
  { name: 'groups 2', x: [2, 4, 6, 6], w: [6, 2, 3, 3], bias: true, options: { groups: 2, padding: 1 } },
  { name: 'depthwise (groups = C)', x: [1, 4, 6, 7], w: [4, 1, 3, 3], bias: true, options: { groups: 4, padding: 1 } },
  { name: 'depthwise ×2 multiplier', x: [1, 3, 5, 5], w: [6, 1, 3, 3], bias: false, options: { groups: 3, padding: [1, 0, 1, 2] } },
];

describe('conv2d', () => {
  for (const level of ['basic', 'all'] as const) {
    convCases.forEach((c, i) => {
      it(`${c.name} (${level})`, async () => {
        const x = randn(100 + i, c.x);
        const weights = new Map([['conv.weight', randn(200 + i, c.w, 0.3)]]);
        if (c.bias) weights.set('conv.bias', randn(300 + i, [c.w[0]]));
        const [y] = await evaluate({ feeds: { x }, weights, options: { optimizationLevel: level } }, ({ x: v, w }) =>
          op.conv2d(v.x, w('conv.weight'), c.bias ? w('conv.bias') : undefined, c.options),
        );
        const p = convParams(c.options);
        const expected = nn.conv2d(fromTensor(x), fromTensor(weights.get('conv.weight')!), c.bias ? fromTensor(weights.get('conv.bias')!) : undefined, p);
        expectNear('conv2d', `${c.name} ${level}`, y, expected);
      });
    });
  }
});

describe('linear', () => {
  const cases: { name: string; x: number[]; bias: boolean }[] = [
    { name: '1-D input with bias', x: [8], bias: true },
    { name: '2-D input with bias', x: [5, 8], bias: true },
    { name: '2-D input without bias', x: [5, 8], bias: false },
    { name: '3-D input with bias', x: [2, 3, 8], bias: true },
    { name: '3-D input without bias', x: [2, 3, 8], bias: false },
    { name: '4-D input with bias', x: [2, 2, 3, 8], bias: true },
  ];
  for (const prepacking of [false, true]) {
    cases.forEach((c, i) => {
      it(`${c.name}${prepacking ? ' (prepacked, level all)' : ''}`, async () => {
        const x = randn(400 + i, c.x);
        const weights = new Map([['proj.weight', randn(410 + i, [6, 8], 0.4)]]);
        if (c.bias) weights.set('proj.bias', randn(420 + i, [6]));
        const options = prepacking ? { prepacking, optimizationLevel: 'all' as const } : {};
        const [y] = await evaluate({ feeds: { x }, weights, options }, ({ x: v, w }) => op.linear(v.x, w('proj.weight'), c.bias ? w('proj.bias') : undefined));
        const bias = c.bias ? fromTensor(weights.get('proj.bias')!) : undefined;
        expectNear('linear', c.name, y, nn.linear(fromTensor(x), fromTensor(weights.get('proj.weight')!), bias));
      });
    });
  }
});

describe('matmul', () => {
  const cases: [string, number[], number[]][] = [
    ['2-D', [4, 5], [5, 3]],
    ['batched @ 2-D', [2, 3, 4, 5], [5, 6]],
    ['2-D @ batched', [4, 5], [2, 5, 3]],
    ['batch broadcast both ways', [3, 1, 4, 5], [2, 5, 6]],
  ];
  cases.forEach(([name, as, bs], i) => {
    it(name, async () => {
      const a = randn(500 + i, as);
      const b = randn(510 + i, bs);
      const [y] = await evaluate({ feeds: { a, b } }, ({ x }) => op.matmul(x.a, x.b));
      expectNear('matmul', name, y, nn.matmul(fromTensor(a), fromTensor(b)));
    });
  });
});

describe('attention', () => {
  interface AttnCase {
    name: string;
    heads: number;
    q: number[];
    k: number[];
    v: number[];
    causal?: boolean;
    scale?: number;
  }
  const cases: AttnCase[] = [
    { name: 'self, 1 head', heads: 1, q: [2, 5, 8], k: [2, 5, 8], v: [2, 5, 8] },
    { name: 'self, 2 heads', heads: 2, q: [2, 5, 8], k: [2, 5, 8], v: [2, 5, 8] },
    { name: 'self, 4 heads', heads: 4, q: [1, 6, 16], k: [1, 6, 16], v: [1, 6, 16] },
    { name: 'cross, Sq ≠ Sk', heads: 2, q: [2, 4, 8], k: [2, 7, 8], v: [2, 7, 8] },
    { name: 'cross, value width ≠ query width', heads: 2, q: [2, 4, 8], k: [2, 7, 8], v: [2, 7, 12] },
    { name: 'causal, 2 heads', heads: 2, q: [2, 6, 8], k: [2, 6, 8], v: [2, 6, 8], causal: true },
    { name: 'causal, 4 heads, custom scale', heads: 4, q: [1, 5, 16], k: [1, 5, 16], v: [1, 5, 16], causal: true, scale: 0.3 },
  ];
  for (const impl of ['fused', 'plain'] as const) {
    cases.forEach((c, i) => {
      it(`${c.name} (${impl})`, async () => {
        const [q, k, v] = [c.q, c.k, c.v].map((s, j) => randn(600 + 10 * i + j, s, 1.5));
        const [y] = await evaluate({ feeds: { q, k, v }, options: { attention: impl } }, ({ x }) =>
          op.attention(x.q, x.k, x.v, { heads: c.heads, causal: c.causal, scale: c.scale }),
        );
        const scale = c.scale ?? 1 / Math.sqrt(c.q[2] / c.heads);
        expectNear('attention', `${c.name} ${impl}`, y, nn.attention(fromTensor(q), fromTensor(k), fromTensor(v), c.heads, Math.fround(scale), c.causal ?? false));
      });
    });
  }

  it('is the same on both paths for one graph (fused vs plain agree)', async () => {
    const q = randn(700, [2, 9, 12]);
    const feeds = { q, k: randn(701, [2, 3, 12]), v: randn(702, [2, 3, 6]) };
    const build = ({ x }: BuildContext) => op.attention(x.q, x.k, x.v, { heads: 3 });
    const [fused] = await evaluate({ feeds, options: { attention: 'fused' } }, build);
    const [plain] = await evaluate({ feeds, options: { attention: 'plain' } }, build);
    expectNear('attention', 'fused vs plain', fused, fromTensor(plain));
  });
});
