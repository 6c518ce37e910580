// Vector-Jacobian products of normalisations, reductions and data movement. g = d loss / d output.
//
// Normalisation over the last axis of a view (layer norm: [..., C]; group norm: [N, G, C/G·spatial]):
//   x̂ = (x − μ)·r,  r = (var + eps)^−½;  with ĝ = g·γ (the affine weight):
//   dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),  dγ = Σ g ⊙ x̂,  dβ = Σ g.
// μ and r are recomputed from x in the backward (cheap, memory-bound) instead of being kept.

import { Tensor } from '../../core/tensor.js';
import type { Value } from '../graph.js';
import { staticShape } from '../dims.js';
import * as op from '../ops/index.js';
import { gradOrZeros, noGradient, sumToShape, unsupported, Vjp, VjpTable } from './common.js';

export type ShapeOp =
  | 'softmax' | 'layerNorm' | 'groupNorm' | 'reduceMean' | 'reduceSum' | 'reshape' | 'transpose' | 'expand' | 'concat' | 'split'
  | 'slice' | 'pad' | 'resizeNearest' | 'gather' | 'scatterAddRows' | 'cast' | 'fill';

/** x̂ and r of a normalisation over the last axis of x. */
function normalise(x: Value, eps: number): { xhat: Value; rstd: Value } {
  const centred = op.sub(x, op.reduceMean(x, [-1], true));
  const variance = op.reduceMean(op.mul(centred, centred), [-1], true);
  const rstd = op.div(1, op.sqrt(op.add(variance, eps)));
  return { xhat: op.mul(centred, rstd), rstd };
}

/** dx of a normalisation over the last axis, from ĝ = d loss / d x̂. */
function normaliseGrad(ghat: Value, xhat: Value, rstd: Value): Value {
  const meanG = op.reduceMean(ghat, [-1], true);
  const meanGx = op.reduceMean(op.mul(ghat, xhat), [-1], true);
  return op.mul(rstd, op.sub(op.sub(ghat, meanG), op.mul(xhat, meanGx)));
}

const layerNorm: Vjp<'layerNorm'> = (n, [g], [wx, ww, wb]) => {
  const [x, w] = n.inputs;
  const { xhat, rstd } = normalise(x, n.attrs.eps);
  const lead = x.shape.map((_, i) => i).slice(0, -1);
  return [
    wx ? normaliseGrad(op.mul(g!, w), xhat, rstd) : undefined,
    ww ? op.reduceSum(op.mul(g!, xhat), lead, false) : undefined,
    wb ? op.reduceSum(g!, lead, false) : undefined,
  ];
};

const groupNorm: Vjp<'groupNorm'> = (n, [g], [wx, ww, wb]) => {
  const [x, w] = n.inputs;
  const shape = staticShape(x.shape, 'a group norm gradient');
  const [batch, c] = shape;
  const grouped = [batch, n.attrs.groups, -1];
  const affine = [c, ...shape.slice(2).map(() => 1)]; // [C, 1, 1]
  const { xhat, rstd } = normalise(op.reshape(x, grouped), n.attrs.eps); // [N, G, C/G·HW]
  const xhatFull = op.reshape(xhat, shape);
  const notChannel = shape.map((_, i) => i).filter((i) => i !== 1);
  return [
    wx ? op.reshape(normaliseGrad(op.reshape(op.mul(g!, op.reshape(w, affine)), grouped), xhat, rstd), shape) : undefined,
    ww ? op.reduceSum(op.mul(g!, xhatFull), notChannel, false) : undefined,
    wb ? op.reduceSum(g!, notChannel, false) : undefined,
  ];
};

/** softmax: dx = y ⊙ (g − Σ_axis g ⊙ y). */
const softmax: Vjp<'softmax'> = (n, [g], [want]) => {
  const y = n.outputs[0];
  return [want ? op.mul(y, op.sub(g!, op.reduceSum(op.mul(g!, y), [n.attrs.axis], true))) : undefined];
};

/** Reductions: g broadcast back over the reduced axes (÷ count for the mean). */
function reduceGrad(n: { inputs: readonly Value[]; attrs: { axes: readonly number[]; keepdims: boolean } }, g: Value, mean: boolean): Value {
  const [x] = n.inputs;
  const kept = x.shape.map((d, i) => (n.attrs.axes.includes(i) ? 1 : d));
  const spread = op.expand(op.reshape(g, kept), x.shape);
  if (!mean) return spread;
  const count = n.attrs.axes.reduce((a, i) => a * (x.shape[i] as number), 1);
  return op.mul(spread, 1 / count);
}

/** slice (step 1): the gradient padded with zeros back to the input's extent. */
const slice: Vjp<'slice'> = (n, [g], [want]) => {
  if (!want) return [undefined];
  const { axis, start, end, step } = n.attrs;
  if (step !== 1) throw unsupported(`slice with step ${step}`, n.scope, 'strided slices have no gradient rule yet; slice with step 1 and reshape instead');
  const size = n.inputs[0].shape[axis] as number;
  const pads = n.inputs[0].shape.map((_, i): [number, number] => (i === axis ? [start, size - end] : [0, 0]));
  return [op.pad(g!, pads, 0)];
};

/**
 * pad. Constant: the gradient's interior (the padding has no gradient). Circular, per padded axis
 * of size n with pads [b, a]: each padded entry is a copy of an input entry, so its gradient is
 * added back there — dx = g[b : b+n] + g[0 : b] at [n−b, n) + g[b+n :] at [0, a) (the axes are
 * independent, so they are folded one after another).
 */
const pad: Vjp<'pad'> = (n, [g], [want]) => {
  if (!want) return [undefined];
  let out = g!;
  n.attrs.pads.forEach(([before, after], axis) => {
    const size = n.inputs[0].shape[axis] as number;
    if (before === 0 && out.shape[axis] === size) return;
    const interior = op.slice(out, axis, before, before + size);
    if (n.attrs.mode === 'constant') {
      out = interior;
      return;
    }
    const at = (range: [number, number]) => out.shape.map((_, i): [number, number] => (i === axis ? range : [0, 0]));
    let folded = interior;
    if (before > 0) folded = op.add(folded, op.pad(op.slice(out, axis, 0, before), at([size - before, 0])));
    if (after > 0) folded = op.add(folded, op.pad(op.slice(out, axis, before + size, before + size + after), at([0, size - after])));
    out = folded;
  });
  return [out];
};

/**
 * Nearest upsampling. ×k: each input pixel feeds a k×k block, so dx sums the blocks
 * ([N, C, H, k, W, k] → Σ over the k axes). Explicit sizes: out = R·x·Cᵀ with one-hot R [oh, ih]
 * and C [ow, iw] (torch's index formula), so dx = Rᵀ·g·C.
 */
const resizeNearest: Vjp<'resizeNearest'> = (n, [g], [want]) => {
  if (!want) return [undefined];
  const x = n.inputs[0];
  const [b, c, h, w] = staticShape(x.shape, 'a resize gradient');
  if ('scale' in n.attrs) {
    const k = n.attrs.scale;
    return [op.reduceSum(op.reshape(g!, [b, c, h, k, w, k]), [3, 5], false)];
  }
  const [oh, ow] = n.attrs.size;
  // One-hot [out, in] (or its transpose [in, out]) of torch's nearest source index per output row.
  const oneHot = (out: number, inSize: number, transposed: boolean) => {
    const m = Tensor.zeros(transposed ? [inSize, out] : [out, inSize]);
    op.torchNearestIndices(inSize, out).data.forEach((src, dst) => (m.data[transposed ? Number(src) * out + dst : dst * inSize + Number(src)] = 1));
    return x.graph.constant(m);
  };
  return [op.matmul(op.matmul(oneHot(oh, h, true), g!), oneHot(ow, w, false))]; // [ih, oh]·g·[ow, iw]
};

export const SHAPE_VJPS: VjpTable<ShapeOp> = {
  softmax,
  layerNorm,
  groupNorm,
  reduceMean: (n, [g], [want]) => [want ? reduceGrad(n, g!, true) : undefined],
  reduceSum: (n, [g], [want]) => [want ? reduceGrad(n, g!, false) : undefined],
  reshape: (n, [g], [want]) => [want ? op.reshape(g!, n.inputs[0].shape) : undefined],
  transpose: (n, [g], [want]) => {
    const inverse = n.attrs.perm.map((_, i) => n.attrs.perm.indexOf(i));
    return [want ? op.transpose(g!, inverse) : undefined];
  },
  expand: (n, [g], [want]) => [want ? sumToShape(g!, n.inputs[0].shape) : undefined],
  concat: (n, [g], wants) => {
    let at = 0;
    return n.inputs.map((x, i) => {
      const len = x.shape[n.attrs.axis] as number;
      const piece = wants[i] ? op.slice(g!, n.attrs.axis, at, at + len) : undefined;
      at += len;
      return piece;
    });
  },
  split: (n, grads, [want]) => [want ? op.concat(n.outputs.map((_, i) => gradOrZeros(n, grads, i)), n.attrs.axis) : undefined],
  slice,
  pad,
  resizeNearest,
  // An embedding lookup's table gradient: rows[ids] += g (ids themselves are not differentiable).
  gather: (n, [g], [want]) => [want ? op.scatterAddRows(n.inputs[1], g!, n.inputs[0].shape[0] as number) : undefined, undefined],
  scatterAddRows: (n, [g], [, want]) => [undefined, want ? op.gather(g!, n.inputs[0]) : undefined],
  cast: (n, [g], [want]) => [want ? op.cast(g!, n.inputs[0].dtype) : undefined],
  fill: noGradient,
};
