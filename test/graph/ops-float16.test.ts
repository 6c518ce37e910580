// float16 graphs (what a GPU user runs): every constant a lowering adds next to a float16 value
// (QuickGelu's 1.702, attention's scale and causal mask, group norm's unit affine, Pad's and
// Clip's scalars) must be float16 too, since ONNX never promotes types. Compared with the float64
// reference on the float16-rounded inputs, at float16 precision (eps 2^-11 ≈ 4.9e-4).

import { describe, expect, it } from 'vitest';

import { f32ToF16 } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import * as op from '../../src/graph/ops/index.js';
import { evaluate, expectNear, randn, reportErrors } from './harness.js';
import * as ref from './reference.js';
import * as nn from './reference-nn.js';

reportErrors('float16');

const half = (t: Tensor<'float32'>): Tensor<'float16'> => new Tensor('float16', t.shape, Uint16Array.from(t.data, f32ToF16));
const tol = { rel: 4e-3 };

describe('float16 graphs', () => {
  it('activations, clamp and pad', async () => {
    const x = half(randn(1, [3, 8], 2));
    const X = ref.fromTensor(x);
    const outs = await evaluate({ feeds: { x } }, ({ x: v }) => [op.quickGelu(v.x), op.silu(v.x), op.gelu(v.x), op.clamp(v.x, -1, 0.5), op.pad(v.x, [[0, 0], [1, 2]], 0.25)]);
    expect(outs.map((t) => t.dtype)).toEqual(Array(5).fill('float16'));
    const expected = [
      ref.map(X, (v) => v * ref.sigmoid(1.702 * v)),
      ref.map(X, (v) => v * ref.sigmoid(v)),
      ref.map(X, ref.geluErf),
      ref.map(X, (v) => Math.min(Math.max(v, -1), 0.5)),
      ref.padConstant(X, [[0, 0], [1, 2]], 0.25),
    ];
    outs.forEach((y, i) => expectNear('float16', `elementwise #${i}`, y, expected[i], tol));
  });

  it('group norm', async () => {
    const x = half(randn(2, [2, 4, 3, 3], 2, 1));
    const weights = new Map<string, Tensor>([
      ['norm.weight', half(randn(3, [4], 0.5, 1))],
      ['norm.bias', half(randn(4, [4], 0.5))],
    ]);
    const [y] = await evaluate({ feeds: { x }, weights }, ({ x: v, w }) => op.groupNorm(v.x, w('norm.weight'), w('norm.bias'), 2, 1e-5));
    const [wt, bs] = ['norm.weight', 'norm.bias'].map((k) => ref.fromTensor(weights.get(k)!));
    expectNear('float16', 'groupNorm', y, nn.groupNorm(ref.fromTensor(x), wt, bs, 2, 1e-5), tol);
  });

  for (const attention of ['fused', 'plain'] as const) {
    for (const causal of [false, true]) {
      it(`attention (${attention}${causal ? ', causal' : ''})`, async () => {
        const [q, k, v] = [10, 11, 12].map((s) => half(randn(s, [2, 5, 8])));
        const [y] = await evaluate({ feeds: { q, k, v }, options: { attention } }, ({ x }) => op.attention(x.q, x.k, x.v, { heads: 2, causal }));
        const expected = nn.attention(ref.fromTensor(q), ref.fromTensor(k), ref.fromTensor(v), 2, 0.5, causal);
        expectNear('float16', `attention ${attention} ${causal}`, y, expected, tol);
      });
    }
  }
});
