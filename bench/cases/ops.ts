// Op micro-benchmarks at Stable Diffusion 1.5's sizes (batch 2 = classifier-free guidance,
// 64×64 latent = 512×512 image): the convolutions, linears and attention that hold nearly all of
// the UNet's FLOPs, and the memory-bound ops around them. Defaults are the library's (level
// 'basic', no prepacking, fused attention) unless the name says otherwise, so each pair
// (conv basic/all, linear with/without prepacking, attention fused/plain) is an A/B in one run.

import type { Tensor } from '../../src/core/tensor.js';
import { Graph, Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import type { CompileOptions } from '../../src/graph/runtime.js';
import { BenchCase, graphCase, noise, oneElement } from '../lib/case.js';

interface OpSpec {
  name: string;
  what: string;
  shape: string;
  /** Graph inputs (fed with noise) by name. */
  inputs: Record<string, number[]>;
  /** Weights by key, with the std of their noise. */
  weights?: Record<string, [number[], number]>;
  body(x: Record<string, Value>, w: (key: string) => Value): Value;
  options?: CompileOptions;
}

function opCase(s: OpSpec): BenchCase {
  return graphCase({ name: s.name, what: s.what, shape: s.shape }, () => {
    const g = new Graph(s.name);
    const x = Object.fromEntries(Object.entries(s.inputs).map(([k, shape]) => [k, g.input(k, 'float32', shape)]));
    const weights = new Map<string, Tensor>();
    let seed = 100;
    for (const [k, [shape, std]] of Object.entries(s.weights ?? {})) weights.set(k, noise(shape, std, seed++));
    const w = (k: string) => g.weight(k, weights.get(k)!.shape);
    g.output('y', oneElement(s.body(x, w)));
    const feeds = Object.fromEntries(Object.entries(s.inputs).map(([k, shape]) => [k, noise(shape, 1, seed++)]));
    return { graph: g, weights, feeds, options: s.options };
  });
}

const conv = (cin: number, cout: number, k: number): Record<string, [number[], number]> => ({
  'conv.weight': [[cout, cin, k, k], 1 / Math.sqrt(cin * k * k)],
  'conv.bias': [[cout], 0.1],
});
const lin = (fin: number, fout: number): Record<string, [number[], number]> => ({
  'proj.weight': [[fout, fin], 1 / Math.sqrt(fin)],
  'proj.bias': [[fout], 0.1],
});
const convBody = (pad: number) => (x: Record<string, Value>, w: (k: string) => Value) => op.conv2d(x.x, w('conv.weight'), w('conv.bias'), { padding: pad });
const linBody = (x: Record<string, Value>, w: (k: string) => Value) => op.linear(x.x, w('proj.weight'), w('proj.bias'));
const selfAttn = { q: [2, 4096, 320], k: [2, 4096, 320], v: [2, 4096, 320] };
const attnBody = (x: Record<string, Value>) => op.attention(x.q, x.k, x.v, { heads: 8 });

export const opCases: BenchCase[] = [
  opCase({ name: 'conv3x3', what: 'conv 3×3 (level basic)', shape: '2×320×64×64 → 320', inputs: { x: [2, 320, 64, 64] }, weights: conv(320, 320, 3), body: convBody(1) }),
  opCase({ name: 'conv3x3-all', what: 'conv 3×3 (level all)', shape: '2×320×64×64 → 320', inputs: { x: [2, 320, 64, 64] }, weights: conv(320, 320, 3), body: convBody(1), options: { optimizationLevel: 'all' } }),
  opCase({ name: 'conv1x1', what: 'conv 1×1 (skip connection)', shape: '2×640×32×32 → 320', inputs: { x: [2, 640, 32, 32] }, weights: conv(640, 320, 1), body: convBody(0) }),
  opCase({ name: 'conv-out', what: 'conv 3×3 conv_out', shape: '2×320×64×64 → 4', inputs: { x: [2, 320, 64, 64] }, weights: conv(320, 4, 3), body: convBody(1) }),
  opCase({ name: 'linear-geglu', what: 'linear (GEGLU proj)', shape: '2×4096×320 → 2560', inputs: { x: [2, 4096, 320] }, weights: lin(320, 2560), body: linBody }),
  opCase({ name: 'linear-geglu-prepacked', what: 'linear (GEGLU proj, prepacked)', shape: '2×4096×320 → 2560', inputs: { x: [2, 4096, 320] }, weights: lin(320, 2560), body: linBody, options: { prepacking: true } }),
  opCase({ name: 'linear-q', what: 'linear (to_q)', shape: '2×4096×320 → 320', inputs: { x: [2, 4096, 320] }, weights: lin(320, 320), body: linBody }),
  opCase({ name: 'linear-kv', what: 'linear (cross-attn to_k)', shape: '2×77×768 → 320', inputs: { x: [2, 77, 768] }, weights: lin(768, 320), body: linBody }),
  opCase({ name: 'attention-fused', what: 'self-attention, fused MHA', shape: '2×4096×(8×40)', inputs: selfAttn, body: attnBody }),
  opCase({ name: 'attention-plain', what: 'self-attention, plain', shape: '2×4096×(8×40)', inputs: selfAttn, body: attnBody, options: { attention: 'plain' } }),
  opCase({ name: 'attention-cross', what: 'cross-attention, fused MHA', shape: '2×4096 × 2×77, 8×40', inputs: { q: [2, 4096, 320], k: [2, 77, 320], v: [2, 77, 320] }, body: attnBody }),
  opCase({
    name: 'groupnorm',
    what: 'group norm, 32 groups',
    shape: '2×320×64×64',
    inputs: { x: [2, 320, 64, 64] },
    weights: { 'norm.weight': [[320], 1], 'norm.bias': [[320], 1] },
    body: (x, w) => op.groupNorm(x.x, w('norm.weight'), w('norm.bias'), 32, 1e-5),
  }),
  opCase({
    name: 'layernorm',
    what: 'layer norm',
    shape: '2×4096×320',
    inputs: { x: [2, 4096, 320] },
    weights: { 'norm.weight': [[320], 1], 'norm.bias': [[320], 1] },
    body: (x, w) => op.layerNorm(x.x, w('norm.weight'), w('norm.bias'), 1e-5),
  }),
  opCase({ name: 'gelu', what: 'gelu (erf)', shape: '2×4096×1280', inputs: { x: [2, 4096, 1280] }, body: (x) => op.gelu(x.x) }),
  opCase({ name: 'resize', what: 'nearest resize ×2', shape: '2×640×32×32 → 64×64', inputs: { x: [2, 640, 32, 32] }, body: (x) => op.resizeNearest(x.x, { scale: 2 }) }),
];
