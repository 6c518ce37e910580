// The set of latentlab ops and the attributes each carries: the one list every other table is
// checked against. FLOP rules and vector-Jacobian products (graph/op-specs.ts) and the ONNX
// lowerings (onnx/lower-ops.ts) are mapped types over `OpName`, so an op added here without a
// rule in each of them is a compile error, not a run-time surprise.

import type { DType } from '../core/dtype.js';
import type { Dim } from './dims.js';

type None = Record<string, never>;

/** Conv attributes after convParams(): pads are [top, left, bottom, right]. */
export interface ConvAttrs {
  readonly stride: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Attributes by op name. */
export interface OpAttrs {
  // elementwise, numpy broadcasting
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  less: None;
  greater: None;
  equal: None;
  where: None;
  clamp: { readonly min: number; readonly max: number };
  // unary maths and activations
  neg: None;
  abs: None;
  sqrt: None;
  exp: None;
  log: None;
  sin: None;
  cos: None;
  tanh: None;
  sigmoid: None;
  erf: None;
  silu: None;
  quickGelu: None;
  gelu: { readonly approximate: 'none' | 'tanh' };
  // compute-heavy
  linear: None;
  matmul: None;
  conv2d: ConvAttrs;
  /** The transpose of conv2d (the input gradient of a conv): output size fixed by `outputPadding`. */
  convTranspose2d: ConvAttrs & { readonly outputPadding: readonly [number, number] };
  attention: { readonly heads: number; readonly scale: number; readonly causal: boolean };
  // normalisations and reductions
  softmax: { readonly axis: number };
  layerNorm: { readonly eps: number };
  groupNorm: { readonly groups: number; readonly eps: number };
  reduceMean: { readonly axes: readonly number[]; readonly keepdims: boolean };
  reduceSum: { readonly axes: readonly number[]; readonly keepdims: boolean };
  // data movement
  reshape: { readonly shape: readonly Dim[] };
  transpose: { readonly perm: readonly number[] };
  expand: { readonly shape: readonly Dim[] };
  concat: { readonly axis: number };
  split: { readonly axis: number; readonly sizes: readonly number[] };
  slice: { readonly axis: number; readonly start: number; readonly end: number; readonly step: number };
  /** 'constant' fills with `value`; 'circular' wraps around (torch F.pad mode="circular", ONNX Pad mode "wrap"). */
  pad: { readonly pads: readonly (readonly [number, number])[]; readonly value: number; readonly mode: 'constant' | 'circular' };
  resizeNearest: { readonly scale: number } | { readonly size: readonly [number, number] };
  gather: None;
  /** The transpose of gather: rows[ids[i]] += updates[i] into a zero table of `rows` rows. */
  scatterAddRows: { readonly rows: number };
  cast: { readonly to: DType };
  /** A tensor of one value (zeros for gradients that do not flow). */
  fill: { readonly shape: readonly number[]; readonly value: number; readonly dtype: DType };
}

export type OpName = keyof OpAttrs;
