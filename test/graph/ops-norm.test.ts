// Normalisations and reductions through the real pipeline against float64 loops: softmax along
// several axes, layer norm, group norm (the hand-written InstanceNormalization form, including
// inputs with a large mean where a naive E[x²]−E[x]² would lose digits), reduce mean / sum.

import { describe, it } from 'vitest';

import * as op from '../../src/graph/ops/index.js';
import { evaluate, expectNear, randn, reportErrors } from './harness.js';
import { fromTensor } from './reference.js';
import * as nn from './reference-nn.js';

reportErrors('norm');

describe('softmax', () => {
  const x = randn(1, [2, 3, 4, 5], 2);
  for (const axis of [-1, 3, 2, 1, 0]) {
    it(`axis ${axis} of [2,3,4,5]`, async () => {
      const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.softmax(v.x, axis));
      expectNear('softmax', `axis ${axis}`, y, nn.softmax(fromTensor(x), axis < 0 ? axis + 4 : axis), { abs: 1e-6 });
    });
  }
  it('large logits (max subtraction keeps it finite)', async () => {
    const big = randn(2, [3, 7], 40);
    const [y] = await evaluate({ feeds: { big } }, ({ x: v }) => op.softmax(v.big));
    expectNear('softmax', 'large logits', y, nn.softmax(fromTensor(big), 1), { abs: 1e-6 });
  });
});

describe('layerNorm', () => {
  const cases: [string, number[], number][] = [
    ['[2,5,16], eps 1e-5', [2, 5, 16], 1e-5],
    ['[3,12], eps 1e-6, offset input', [3, 12], 1e-6],
  ];
  cases.forEach(([name, shape, eps], i) => {
    it(name, async () => {
      const c = shape[shape.length - 1];
      const x = randn(10 + i, shape, 2, i === 1 ? 5 : 0);
      const weights = new Map([
        ['norm.weight', randn(20 + i, [c], 0.5, 1)],
        ['norm.bias', randn(30 + i, [c], 0.5)],
      ]);
      const [y] = await evaluate({ feeds: { x }, weights }, ({ x: v, w }) => op.layerNorm(v.x, w('norm.weight'), w('norm.bias'), eps));
      const [wt, bs] = ['norm.weight', 'norm.bias'].map((k) => fromTensor(weights.get(k)!));
      expectNear('layerNorm', name, y, nn.layerNorm(fromTensor(x), wt, bs, eps));
    });
  });
});

describe('groupNorm', () => {
  const cases: [string, number[], number, number, number][] = [
    // name, shape, groups, eps, input mean
    ['[2,8,5,5], 4 groups', [2, 8, 5, 5], 4, 1e-6, 0],
    ['[2,6,10] (rank 3), 3 groups', [2, 6, 10], 3, 1e-5, 0],
    ['groups = channels', [1, 4, 3, 3], 4, 1e-6, 0],
    ['one group', [2, 5, 4, 4], 1, 1e-6, 0],
    ['input with mean 10', [1, 8, 6, 6], 2, 1e-6, 10],
  ];
  for (const level of ['basic', 'all'] as const) {
    cases.forEach(([name, shape, groups, eps, mean], i) => {
      it(`${name} (${level})`, async () => {
        const c = shape[1];
        const x = randn(40 + i, shape, 2, mean);
        const weights = new Map([
          ['norm.weight', randn(50 + i, [c], 0.5, 1)],
          ['norm.bias', randn(60 + i, [c], 0.5)],
        ]);
        const [y] = await evaluate({ feeds: { x }, weights, options: { optimizationLevel: level } }, ({ x: v, w }) =>
          op.groupNorm(v.x, w('norm.weight'), w('norm.bias'), groups, eps),
        );
        const [wt, bs] = ['norm.weight', 'norm.bias'].map((k) => fromTensor(weights.get(k)!));
        expectNear('groupNorm', name, y, nn.groupNorm(fromTensor(x), wt, bs, groups, eps));
      });
    });
  }
});

describe('reduceMean / reduceSum', () => {
  const x = randn(70, [2, 3, 4, 5]);
  const cases: [number[], boolean][] = [
    [[1], true],
    [[1], false],
    [[-1], true],
    [[2, 3], true],
    [[3, 0], false],
    [[0, 1, 2, 3], false],
  ];
  for (const [mean, name] of [[true, 'reduceMean'], [false, 'reduceSum']] as const) {
    for (const [axes, keepdims] of cases) {
      it(`${name} axes ${JSON.stringify(axes)} keepdims ${keepdims}`, async () => {
        const f = mean ? op.reduceMean : op.reduceSum;
        const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => f(v.x, axes, keepdims));
        expectNear('reduce', `${name} ${axes} ${keepdims}`, y, nn.reduce(fromTensor(x), axes, keepdims, mean));
      });
    }
  }
});
