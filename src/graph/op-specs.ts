// One specification per op beyond its builder (ops/, which validates and infers the output
// shape): how many FLOPs one evaluation costs and its vector-Jacobian product. The table is a
// mapped type over every op name, so an op added to op-types.ts without both rules does not
// compile; its ONNX lowering is checked the same way in onnx/lower-ops.ts (kept there so the
// graph layer knows nothing about ONNX).
//
// FLOPs are 2 × multiply-adds of convolutions, linears, matmuls and attention — the convention of
// ../shared/anchors/performance.md, so benchmarks can report a fraction of the machine's peak.
// Memory-bound ops (norms, adds, softmax, data movement) count 0.

import type { Dim } from './dims.js';
import type { NodeOf } from './graph.js';
import type { OpName } from './op-types.js';
import type { Vjp } from './autodiff/common.js';
import { ELEMENTWISE_VJPS } from './autodiff/vjp-elementwise.js';
import { LINALG_VJPS } from './autodiff/vjp-linalg.js';
import { SHAPE_VJPS } from './autodiff/vjp-shape.js';

export interface OpSpec<K extends OpName> {
  flops(node: NodeOf<K>): number;
  vjp: Vjp<K>;
}

const prod = (dims: readonly Dim[]) => dims.reduce<number>((a, d) => a * (d as number), 1);

/** FLOPs of ops that move or touch each element once: counted as memory-bound. */
const memoryBound = () => 0;

const FLOPS: { readonly [K in OpName]: (n: NodeOf<K>) => number } = {
  add: memoryBound,
  sub: memoryBound,
  mul: memoryBound,
  div: memoryBound,
  pow: memoryBound,
  less: memoryBound,
  greater: memoryBound,
  equal: memoryBound,
  where: memoryBound,
  clamp: memoryBound,
  neg: memoryBound,
  abs: memoryBound,
  sqrt: memoryBound,
  exp: memoryBound,
  log: memoryBound,
  sin: memoryBound,
  cos: memoryBound,
  tanh: memoryBound,
  sigmoid: memoryBound,
  erf: memoryBound,
  silu: memoryBound,
  quickGelu: memoryBound,
  gelu: memoryBound,
  softmax: memoryBound,
  layerNorm: memoryBound,
  groupNorm: memoryBound,
  reduceMean: memoryBound,
  reduceSum: memoryBound,
  reshape: memoryBound,
  transpose: memoryBound,
  expand: memoryBound,
  concat: memoryBound,
  split: memoryBound,
  slice: memoryBound,
  pad: memoryBound,
  resizeNearest: memoryBound,
  gather: memoryBound,
  scatterAddRows: memoryBound,
  cast: memoryBound,
  fill: memoryBound,
  linear: (n) => 2 * prod(n.outputs[0].shape) * (n.inputs[1].shape[1] as number), // [..., in] × [out, in]ᵀ
  matmul: (n) => 2 * prod(n.outputs[0].shape) * (n.inputs[0].shape[n.inputs[0].rank - 1] as number),
  conv2d: (n) => {
    const [, cPerGroup, kh, kw] = n.inputs[1].shape as number[];
    return 2 * prod(n.outputs[0].shape) * cPerGroup * kh * kw;
  },
  // Each input element meets C/groups·kh·kw weights: the MACs of the conv it transposes.
  convTranspose2d: (n) => {
    const [, cPerGroup, kh, kw] = n.inputs[1].shape as number[];
    return 2 * prod(n.inputs[0].shape) * cPerGroup * kh * kw;
  },
  // scores q·kᵀ: B·heads·Sq·Sk·d, then probs·v: B·heads·Sq·Sk·dv — per head widths sum to C.
  attention: (n) => {
    const [q, k, v] = n.inputs;
    const [batch, sq, c] = q.shape as number[];
    return 2 * batch * sq * (k.shape[1] as number) * (c + (v.shape[2] as number));
  },
};

const VJPS: { readonly [K in OpName]: Vjp<K> } = { ...ELEMENTWISE_VJPS, ...LINALG_VJPS, ...SHAPE_VJPS };

/** Every op name (the keys of the exhaustive tables). */
export const OP_NAMES = Object.keys(VJPS) as OpName[];

/** The specification of op `name`. */
export function opSpec<K extends OpName>(name: K): OpSpec<K> {
  return { flops: FLOPS[name], vjp: VJPS[name] };
}
