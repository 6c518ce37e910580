// graphFlops against hand-computed counts (FLOP = 2 × multiply-adds of convolutions, linears,
// matmuls and attention; everything else counts 0), the convention of
// ../shared/anchors/performance.md that benchmarks divide by to get GFLOP/s.

import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { nodeFlops, graphFlops } from '../../src/graph/flops.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';

describe('graphFlops', () => {
  it('conv2d: 2 · N · O · oh · ow · (C / groups) · kh · kw', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 320, 64, 64]);
    g.output('y', op.conv2d(x, g.weight('w', [320, 320, 3, 3]), g.weight('b', [320]), { padding: 1 }));
    // SD 1.5's 3×3 320→320 conv at 64² with batch 2: 2·2·320·64·64·320·9 = 15.1 GFLOP.
    expect(graphFlops(g)).toBe(2 * 2 * 320 * 64 * 64 * 320 * 9);
    expect(graphFlops(g)).toBe(15_099_494_400);
  });

  it('conv2d with stride 2 and groups counts the output positions and the channels per group', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [1, 8, 9, 9]);
    // out = floor((9 + 1 + 1 − 3) / 2) + 1 = 5; groups 4 → 2 input channels per output.
    g.output('y', op.conv2d(x, g.weight('w', [12, 2, 3, 3]), undefined, { stride: 2, padding: 1, groups: 4 }));
    expect(graphFlops(g)).toBe(2 * 1 * 12 * 5 * 5 * 2 * 9);
  });

  it('linear: 2 · rows · out · in, for 2-D and 3-D inputs', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 4096, 320]);
    g.output('y', op.linear(x, g.weight('w', [1280, 320]), g.weight('b', [1280])));
    g.output('z', op.linear(g.input('t', 'float32', [154, 768]), g.weight('k', [320, 768])));
    expect(graphFlops(g)).toBe(2 * 8192 * 1280 * 320 + 2 * 154 * 320 * 768);
  });

  it('matmul: 2 · batch · M · N · K with broadcast batch dims', () => {
    const g = new Graph();
    g.output('y', op.matmul(g.input('a', 'float32', [3, 1, 4, 5]), g.input('b', 'float32', [2, 5, 6])));
    expect(graphFlops(g)).toBe(2 * 3 * 2 * 4 * 6 * 5);
  });

  it('attention: 2 · B · Sq · Sk · (C + Cv) — q·kᵀ plus probs·v, summed over heads', () => {
    const g = new Graph();
    const q = g.input('q', 'float32', [2, 4096, 320]);
    const ctx = g.input('ctx', 'float32', [2, 77, 320]);
    const v = g.input('v', 'float32', [2, 77, 640]);
    const self = op.attention(q, q, q, { heads: 8 });
    const cross = op.attention(q, ctx, v, { heads: 8 });
    g.output('self', self);
    g.output('cross', cross);
    expect(nodeFlops(self.producer!)).toBe(2 * 2 * 4096 * 4096 * (320 + 320));
    expect(nodeFlops(cross.producer!)).toBe(2 * 2 * 4096 * 77 * (320 + 640));
    expect(graphFlops(g)).toBe(2 * 2 * 4096 * 4096 * 640 + 2 * 2 * 4096 * 77 * 960);
  });

  it('memory-bound ops count 0; a graph sums its compute ops', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [1, 4, 8, 8]);
    const h = op.conv2d(x, g.weight('w', [4, 4, 1, 1]));
    const n = op.groupNorm(op.silu(op.add(h, x)), g.weight('gw', [4]), g.weight('gb', [4]), 2, 1e-6);
    g.output('y', op.softmax(op.resizeNearest(n, { scale: 2 }), 1));
    expect(graphFlops(g)).toBe(2 * 4 * 8 * 8 * 4);
  });

  it('refuses symbolic shapes with GRAPH_SYMBOLIC', () => {
    const g = new Graph();
    g.output('y', op.linear(g.input('x', 'float32', ['batch', 8]), g.weight('w', [4, 8])));
    expect(() => graphFlops(g)).toThrow(LatentlabError);
    try {
      graphFlops(g);
    } catch (e) {
      expect((e as LatentlabError).code).toBe('GRAPH_SYMBOLIC');
    }
  });
});
