// Symbolic dimensions: one graph built with a named batch ("batch") or spatial size ("h", "w"),
// compiled into one ONNX Runtime session and run at several sizes — the way a pipeline reuses
// one UNet session for batch 1 and batch 2 (guidance). The graph is a miniature UNet transformer
// block: group norm → conv → reshape/transpose to tokens → linear q/k/v → cross-attention →
// linear out → back to an image → ×2 nearest upsampling.

import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { runtime } from '../../src/graph/runtime.js';
import { expectNear, randn, reportErrors } from './harness.js';
import * as ref from './reference.js';
import * as nn from './reference-nn.js';

reportErrors('symbolic');

const C = 4; // image channels
const D = 8; // model width
const S = 6; // image side
const CTX = [5, 6]; // context tokens, context width

const weights = new Map<string, Tensor>([
  ['norm.weight', randn(1, [C], 0.5, 1)],
  ['norm.bias', randn(2, [C], 0.5)],
  ['proj_in.weight', randn(3, [D, C, 3, 3], 0.3)],
  ['proj_in.bias', randn(4, [D])],
  ['attn.to_q.weight', randn(5, [D, D], 0.4)],
  ['attn.to_k.weight', randn(6, [D, CTX[1]], 0.4)],
  ['attn.to_v.weight', randn(7, [D, CTX[1]], 0.4)],
  ['attn.to_out.0.weight', randn(8, [D, D], 0.4)],
  ['attn.to_out.0.bias', randn(9, [D])],
]);

function buildBlock(): Graph {
  const g = new Graph('symbolic-block');
  const w = (k: string) => g.weight(k, weights.get(k)!.shape);
  const x = g.input('x', 'float32', ['batch', C, S, S]);
  const ctx = g.input('ctx', 'float32', ['batch', ...CTX]);
  const h = op.conv2d(op.groupNorm(x, w('norm.weight'), w('norm.bias'), 2, 1e-6), w('proj_in.weight'), w('proj_in.bias'), { padding: 1 }); // [batch, D, S, S]
  const tokens = op.transpose(op.reshape(h, ['batch', D, -1]), [0, 2, 1]); // [batch, S·S, D]
  const q = op.linear(tokens, w('attn.to_q.weight'));
  const k = op.linear(ctx, w('attn.to_k.weight')); // [batch, 5, D]
  const v = op.linear(ctx, w('attn.to_v.weight'));
  const a = op.linear(op.attention(q, k, v, { heads: 2 }), w('attn.to_out.0.weight'), w('attn.to_out.0.bias')); // [batch, S·S, D]
  const image = op.reshape(op.transpose(a, [0, 2, 1]), ['batch', D, S, S]);
  g.output('tokens', a);
  g.output('up', op.resizeNearest(image, { scale: 2 })); // [batch, D, 2S, 2S]
  g.output('flat', op.reshape(h, ['batch', -1])); // [batch, D·S·S]
  return g;
}

function reference(x: Tensor, ctx: Tensor): { tokens: ref.Nd; up: ref.Nd; flat: ref.Nd } {
  const W = (k: string) => ref.fromTensor(weights.get(k)!);
  const b = x.shape[0];
  const normed = nn.groupNorm(ref.fromTensor(x), W('norm.weight'), W('norm.bias'), 2, 1e-6);
  const h = nn.conv2d(normed, W('proj_in.weight'), W('proj_in.bias'), { stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 });
  const tokens = ref.transpose({ shape: [b, D, S * S], data: h.data }, [0, 2, 1]);
  const c = ref.fromTensor(ctx);
  const q = nn.linear(tokens, W('attn.to_q.weight'));
  const attn = nn.attention(q, nn.linear(c, W('attn.to_k.weight')), nn.linear(c, W('attn.to_v.weight')), 2, Math.fround(1 / 2), false);
  const a = nn.linear(attn, W('attn.to_out.0.weight'), W('attn.to_out.0.bias'));
  const image = ref.transpose(a, [0, 2, 1]);
  return { tokens: a, up: ref.resizeNearest({ shape: [b, D, S, S], data: image.data }, 2 * S, 2 * S), flat: { shape: [b, D * S * S], data: h.data } };
}

describe('symbolic batch: one session, several batch sizes', () => {
  for (const attention of ['fused', 'plain'] as const) {
    it(`runs at batch 1, 3 and 2 through one session (attention ${attention})`, async () => {
      const g = buildBlock();
      expect(g.outputs.map((o) => o.value.shape)).toEqual([['batch', S * S, D], ['batch', D, 2 * S, 2 * S], ['batch', D * S * S]]);
      const compiled = await runtime().compile(g, weights, { attention });
      try {
        for (const [i, batch] of [1, 3, 2].entries()) {
          const x = randn(100 + i, [batch, C, S, S], 2);
          const ctx = randn(200 + i, [batch, ...CTX]);
          const out = await compiled.run({ x, ctx });
          const expected = reference(x, ctx);
          for (const name of ['tokens', 'up', 'flat'] as const) expectNear('symbolic batch', `${name} @ batch ${batch}`, out[name], expected[name]);
        }
      } finally {
        await compiled.release();
      }
    });
  }
});

describe('reshape that moves a symbol (read from the input shape at run time)', () => {
  it('[3, batch, 4] → [batch, 12] and [batch, 2, -1]', async () => {
    const g = new Graph('symbolic-reshape');
    const x = g.input('x', 'float32', ['batch', 3, 4]);
    const moved = op.transpose(x, [1, 0, 2]); // [3, batch, 4]
    g.output('a', op.reshape(moved, ['batch', 12]));
    g.output('b', op.reshape(moved, ['batch', 2, -1]));
    const compiled = await runtime().compile(g, new Map());
    try {
      for (const batch of [1, 4]) {
        const input = randn(400 + batch, [batch, 3, 4]);
        const { a, b } = await compiled.run({ x: input });
        const flat = ref.transpose(ref.fromTensor(input), [1, 0, 2]).data; // the row-major buffer Reshape reinterprets
        expectNear('symbolic reshape', `a @ ${batch}`, a, { shape: [batch, 12], data: flat }, { abs: 0 });
        expectNear('symbolic reshape', `b @ ${batch}`, b, { shape: [batch, 2, 6], data: flat }, { abs: 0 });
      }
    } finally {
      await compiled.release();
    }
  });
});

describe('symbolic spatial size', () => {
  it('a strided conv on [1, C, h, w] runs at 8×8 and 9×7', async () => {
    const g = new Graph('symbolic-conv');
    const weight = randn(300, [3, 2, 3, 3], 0.4);
    const x = g.input('x', 'float32', [1, 2, 'h', 'w']);
    const y = op.conv2d(x, g.weight('conv.weight', weight.shape), undefined, { stride: 2, padding: [0, 0, 1, 1] });
    g.output('y', y);
    // Output sides are canonical expressions of the input symbols: floor((h + 1 − 3) / 2) + 1.
    expect(y.shape).toEqual([1, 3, '(h+-2)/2+1', '(w+-2)/2+1']);
    const compiled = await runtime().compile(g, new Map([['conv.weight', weight]]));
    try {
      for (const [h, w] of [[8, 8], [9, 7]]) {
        const input = randn(301 + h, [1, 2, h, w]);
        const { y: out } = await compiled.run({ x: input });
        const expected = nn.conv2d(ref.fromTensor(input), ref.fromTensor(weight), undefined, { stride: [2, 2], pads: [0, 0, 1, 1], dilation: [1, 1], groups: 1 });
        expectNear('symbolic spatial', `${h}x${w}`, out, expected);
      }
    } finally {
      await compiled.release();
    }
  });

  it('causal attention over a symbolic sequence is refused at lowering, naming the module', async () => {
    const g = new Graph('symbolic-causal');
    const t = g.input('t', 'float32', ['batch', 'seq', 8]);
    g.scoped('text_model.encoder.layers.0.self_attn', () => g.output('y', op.attention(t, t, t, { heads: 2, causal: true })));
    const err = await runtime().compile(g, new Map()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatentlabError);
    expect((err as LatentlabError).code).toBe('ONNX_LOWERING');
    expect((err as LatentlabError).message).toContain('text_model.encoder.layers.0.self_attn');
  });
});
