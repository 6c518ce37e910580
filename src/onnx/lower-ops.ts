// One lowering per latentlab op: how it is spelled in ONNX (opset 21) for ONNX Runtime's CPU EP.
// LOWERINGS is a mapped type over every op name (graph/op-types.ts): an op without a lowering
// does not compile.

import { LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { Dim, Shape } from '../graph/dims.js';
import type { NodeOf } from '../graph/graph.js';
import type { OpName } from '../graph/op-types.js';
import { torchNearestIndices } from '../graph/ops/shape.js';
import { onnxDtype } from './emitter.js';
import { dequantizedWeight, dynamicMatMul, quantDequant } from './int8.js';
import { lowerAttention } from './lower-attention.js';
import type { Lowering, LoweringContext } from './lowering.js';

/** Ops whose ONNX spelling is one node with the same inputs and no attributes. */
const simple =
  (opType: string): Lowering<OpName> =>
  (ctx, n) => [ctx.e.op(opType, n.inputs.map(ctx.name))];

/** A concrete shape for ONNX shape inputs (Expand, fills); gradients are built on concrete shapes. */
function concrete(shape: readonly Dim[], what: string, scope: string): number[] {
  if (!shape.every((d): d is number => typeof d === 'number')) {
    throw new LatentlabError('ONNX_LOWERING', `${what} at "${scope}" needs a concrete shape, got ${JSON.stringify(shape)}`, { hint: 'build the graph with concrete sizes' });
  }
  return [...shape];
}

/**
 * An ONNX Reshape target for `shape`, taken from a value of shape `from`. Numbers are literal;
 * a symbolic dim at the same position as in `from` becomes 0 ("copy that input dim"); other
 * symbolic dims are read at run time with Shape + Gather.
 */
export function reshapeTarget(ctx: LoweringContext, x: string, from: Shape, shape: Shape): string {
  const { e } = ctx;
  if (shape.every((d, i) => typeof d === 'number' || from[i] === d)) return e.ints(shape.map((d) => (typeof d === 'number' ? d : 0)));
  const shapeOf = e.op('Shape', [x]);
  const parts = shape.map((d: Dim) => {
    if (typeof d === 'number') return e.ints([d]);
    const j = from.indexOf(d);
    if (j < 0) throw new LatentlabError('ONNX_LOWERING', `reshape: symbolic dimension "${d}" is not a dimension of the input ${JSON.stringify(from)}`);
    return e.op('Gather', [shapeOf, e.ints([j])], { axis: 0 });
  });
  return e.op('Concat', parts, { axis: 0 });
}

/**
 * linear: Gemm(x2d, W, b, transB=1) so PyTorch's [out, in] weights are used as stored (no transposed
 * copy). An int8 target is MatMul on its dequantised [in, out] weight instead (int8.ts).
 */
const linear: Lowering<'linear'> = (ctx, n) => {
  const { e } = ctx;
  const [x, w] = n.inputs;
  const inF = w.shape[1] as number;
  const xs = ctx.name(x);
  const flat = x.rank === 2 ? xs : e.op('Reshape', [xs, e.ints([-1, inF])]);
  const y = linear2d(ctx, n, flat);
  if (x.rank === 2) return [y];
  const outShape = n.outputs[0].shape;
  if (outShape.every((d) => typeof d === 'number')) return [e.op('Reshape', [y, e.ints(outShape as number[])])];
  // Symbolic leading dims: target = shape(x)[:-1] ++ [out].
  const lead = e.op('Slice', [e.op('Shape', [xs]), e.ints([0]), e.ints([-1]), e.ints([0])]);
  return [e.op('Reshape', [y, e.op('Concat', [lead, e.ints([w.shape[0] as number])], { axis: 0 })])];
};

function linear2d(ctx: LoweringContext, n: NodeOf<'linear'>, x2d: string): string {
  const { e } = ctx;
  const [, w, b] = n.inputs;
  const t = ctx.int8 ? ctx.int8Target(w) : undefined;
  if (!t) {
    const y = e.op('Gemm', [x2d, ctx.name(w), ...(b ? [ctx.name(b)] : [])], { transB: 1 });
    if (ctx.calibration && ctx.int8Target(w)) ctx.calibration.push({ key: ctx.int8Target(w)!.key, input: x2d, output: y });
    return y;
  }
  if (t.activations === 'dynamic') {
    const mm = dynamicMatMul(e, x2d, t); // [rows, out]
    return b ? e.op('Add', [mm, ctx.name(b)]) : mm;
  }
  const range = staticRange(ctx.int8!.ranges.get(t.key), t.key);
  const mm = e.op('MatMul', [quantDequant(e, x2d, range.input), dequantizedWeight(e, t)]); // [rows, out]
  return quantDequant(e, b ? e.op('Add', [mm, ctx.name(b)]) : mm, range.output);
}

function staticRange<R>(range: R | undefined, key: string): R {
  if (!range) throw new LatentlabError('ONNX_LOWERING', `int8: no calibrated range for "${key}"`, { key, hint: 'calibrate the graph before lowering its static int8 ops' });
  return range;
}

const conv2d: Lowering<'conv2d'> = (ctx, n) => {
  const { stride, pads, dilation, groups } = n.attrs;
  const [x, wv, b] = n.inputs;
  const w = wv.shape as number[];
  const attrs = { kernel_shape: [w[2], w[3]], strides: stride, pads, dilations: dilation, group: groups };
  const { e } = ctx;
  const t = ctx.int8 ? ctx.int8Target(wv) : undefined;
  if (!t) {
    const y = e.op('Conv', n.inputs.map(ctx.name), attrs);
    if (ctx.calibration && ctx.int8Target(wv)) ctx.calibration.push({ key: ctx.int8Target(wv)!.key, input: ctx.name(x), output: y });
    return [y];
  }
  // Static only: ONNX Runtime's ConvInteger (dynamic) has no optimised kernel.
  const range = staticRange(ctx.int8!.ranges.get(t.key), t.key);
  const y = e.op('Conv', [quantDequant(e, ctx.name(x), range.input), dequantizedWeight(e, t), ...(b ? [ctx.name(b)] : [])], attrs);
  return [quantDequant(e, y, range.output)];
};

const convTranspose2d: Lowering<'convTranspose2d'> = (ctx, n) => {
  const { stride, pads, dilation, groups, outputPadding } = n.attrs;
  const w = n.inputs[1].shape as number[];
  return [
    ctx.e.op('ConvTranspose', n.inputs.map(ctx.name), {
      kernel_shape: [w[2], w[3]],
      strides: stride,
      pads,
      dilations: dilation,
      group: groups,
      output_padding: outputPadding,
    }),
  ];
};

/** rows[ids[i]] += updates[i]: ScatterND(reduction add) into zeros, ids as [..., 1] index tuples. */
const scatterAddRows: Lowering<'scatterAddRows'> = (ctx, n) => {
  const { e } = ctx;
  const [ids, updates] = n.inputs;
  const rest = concrete(updates.shape.slice(ids.rank), 'scatterAddRows', n.scope);
  const zeros = e.op('Expand', [e.scalar(updates.dtype, 0), e.ints([n.attrs.rows, ...rest])]);
  let index = e.op('Unsqueeze', [ctx.name(ids), e.ints([-1])]);
  if (ids.dtype !== 'int64') index = e.op('Cast', [index], { to: onnxDtype('int64') });
  return [e.op('ScatterND', [zeros, index, ctx.name(updates)], { reduction: 'add' })];
};

/** GroupNorm as InstanceNormalization over [N, G, -1] + per-channel affine (ORT's CPU EP has no GroupNorm kernel). */
const groupNorm: Lowering<'groupNorm'> = (ctx, n) => {
  const { e } = ctx;
  const [x, w, b] = n.inputs;
  const { groups, eps } = n.attrs;
  const c = x.shape[1] as number;
  const xs = ctx.name(x);
  const grouped = e.op('Reshape', [xs, e.ints([0, groups, -1])]);
  const ones = e.full(x.dtype, [groups], 1);
  const zeros = e.full(x.dtype, [groups], 0);
  const normed = e.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: eps } });
  const back = e.op('Reshape', [normed, e.op('Shape', [xs])]);
  const affineShape = e.ints([c, ...Array<number>(x.rank - 2).fill(1)]); // [C, 1, 1]
  const scaled = e.op('Mul', [back, e.op('Reshape', [ctx.name(w), affineShape])]);
  return [e.op('Add', [scaled, e.op('Reshape', [ctx.name(b), affineShape])])];
};

/** Nearest resize: ×k via Resize (floor(dst/k) exactly); explicit sizes via Gather with torch's index formula. */
const resizeNearest: Lowering<'resizeNearest'> = (ctx, n) => {
  const { e } = ctx;
  const [x] = n.inputs;
  const xs = ctx.name(x);
  if ('scale' in n.attrs) {
    const s = n.attrs.scale;
    const scales = e.constant(Tensor.float32([4], [1, 1, s, s]));
    return [e.op('Resize', [xs, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })];
  }
  const [oh, ow] = n.attrs.size;
  const [ih, iw] = [x.shape[2], x.shape[3]] as number[];
  const rows = e.op('Gather', [xs, e.constant(torchNearestIndices(ih, oh), 'rows')], { axis: 2 });
  return [e.op('Gather', [rows, e.constant(torchNearestIndices(iw, ow), 'cols')], { axis: 3 })];
};

export const LOWERINGS: { readonly [K in OpName]: Lowering<K> } = {
  add: simple('Add'),
  sub: simple('Sub'),
  mul: simple('Mul'),
  div: simple('Div'),
  pow: simple('Pow'),
  less: simple('Less'),
  greater: simple('Greater'),
  equal: simple('Equal'),
  neg: simple('Neg'),
  abs: simple('Abs'),
  sqrt: simple('Sqrt'),
  exp: simple('Exp'),
  log: simple('Log'),
  sin: simple('Sin'),
  cos: simple('Cos'),
  tanh: simple('Tanh'),
  sigmoid: simple('Sigmoid'),
  erf: simple('Erf'),
  where: simple('Where'),
  matmul: simple('MatMul'),
  gather: (ctx, n) => [ctx.e.op('Gather', n.inputs.map(ctx.name), { axis: 0 })],
  silu: (ctx, n) => {
    const x = ctx.name(n.inputs[0]);
    return [ctx.e.op('Mul', [x, ctx.e.op('Sigmoid', [x])])];
  },
  quickGelu: (ctx, n) => {
    const { e } = ctx;
    const x = ctx.name(n.inputs[0]);
    return [e.op('Mul', [x, e.op('Sigmoid', [e.op('Mul', [x, e.scalar(n.inputs[0].dtype, 1.702)])])])];
  },
  gelu: (ctx, n) => [ctx.e.op('Gelu', [ctx.name(n.inputs[0])], { approximate: n.attrs.approximate })],
  clamp: (ctx, n) => {
    const [x] = n.inputs;
    return [ctx.e.op('Clip', [ctx.name(x), ctx.e.scalar(x.dtype, n.attrs.min), ctx.e.scalar(x.dtype, n.attrs.max)])];
  },
  cast: (ctx, n) => [ctx.e.op('Cast', [ctx.name(n.inputs[0])], { to: onnxDtype(n.attrs.to) })],
  linear,
  conv2d,
  attention: (ctx, n) => [lowerAttention(ctx, n)],
  softmax: (ctx, n) => [ctx.e.op('Softmax', [ctx.name(n.inputs[0])], { axis: n.attrs.axis })],
  layerNorm: (ctx, n) => [ctx.e.op('LayerNormalization', n.inputs.map(ctx.name), { axis: -1, epsilon: { float: n.attrs.eps } })],
  groupNorm,
  reduceMean: (ctx, n) => [ctx.e.op('ReduceMean', [ctx.name(n.inputs[0]), ctx.e.ints(n.attrs.axes)], { keepdims: n.attrs.keepdims ? 1 : 0 })],
  reduceSum: (ctx, n) => [ctx.e.op('ReduceSum', [ctx.name(n.inputs[0]), ctx.e.ints(n.attrs.axes)], { keepdims: n.attrs.keepdims ? 1 : 0 })],
  reshape: (ctx, n) => {
    const [x] = n.inputs;
    const xs = ctx.name(x);
    return [ctx.e.op('Reshape', [xs, reshapeTarget(ctx, xs, x.shape, n.attrs.shape)])];
  },
  transpose: (ctx, n) => [ctx.e.op('Transpose', [ctx.name(n.inputs[0])], { perm: n.attrs.perm })],
  concat: (ctx, n) => [ctx.e.op('Concat', n.inputs.map(ctx.name), { axis: n.attrs.axis })],
  split: (ctx, n) => {
    const sizes = n.attrs.sizes;
    return ctx.e.node('Split', [ctx.name(n.inputs[0]), ctx.e.ints(sizes)], { axis: n.attrs.axis }, sizes.length);
  },
  slice: (ctx, n) => {
    const { axis, start, end, step } = n.attrs;
    const { e } = ctx;
    return [e.op('Slice', [ctx.name(n.inputs[0]), e.ints([start]), e.ints([end]), e.ints([axis]), e.ints([step])])];
  },
  pad: (ctx, n) => {
    const pads = n.attrs.pads;
    const { e } = ctx;
    const x = n.inputs[0];
    const onnxPads = e.ints([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]);
    // Circular padding is Pad's "wrap" mode (opset 19); ONNX Runtime's CPU and wasm kernels have it.
    if (n.attrs.mode === 'circular') return [e.op('Pad', [ctx.name(x), onnxPads], { mode: 'wrap' })];
    const value = e.scalar(x.dtype, n.attrs.value); // Pad's constant must have the input's type
    return [e.op('Pad', [ctx.name(x), onnxPads, value], { mode: 'constant' })];
  },
  resizeNearest,
  convTranspose2d,
  scatterAddRows,
  expand: (ctx, n) => [ctx.e.op('Expand', [ctx.name(n.inputs[0]), ctx.e.ints(concrete(n.attrs.shape, 'expand', n.scope))])],
  fill: (ctx, n) => [ctx.e.op('Expand', [ctx.e.scalar(n.attrs.dtype, n.attrs.value), ctx.e.ints(n.attrs.shape)])],
};
