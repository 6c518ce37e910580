// Vector-Jacobian products of the compute-heavy ops. g = d loss / d output.
//
// conv2d (x [N, C, H, W], w [O, C/G, kh, kw] → y [N, O, h, w]):
//   dx = convTranspose2d(g, w) with the same stride/pads/dilation/groups and the output padding
//        that gives back H×W (a strided conv's floor division drops up to stride − 1 rows);
//   dw = a conv of x with g as the kernel (stride and dilation swapped), groups folded into the
//        batch axis (see convWeightGrad), cropped to kh×kw;  db = Σ_{N,h,w} g.
// attention: the backward of the plain formulation, with the probabilities P recomputed from q
// and k in the backward — the forward stays fused and keeps no [B, heads, Sq, Sk] tensor alive.

import type { Value } from '../graph.js';
import type { ConvAttrs } from '../op-types.js';
import * as op from '../ops/index.js';
import { staticShape } from '../dims.js';
import { sumToShape, transposeLast, Vjp, VjpTable } from './common.js';

export type LinalgOp = 'linear' | 'matmul' | 'conv2d' | 'convTranspose2d' | 'attention';

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * d loss / d w for y = conv2d(x, w): dw[o, c, i, j] = Σ_{n,y,x} g[n, o, y, x] · xpad[n, c, y·s + i·d, x·s + j·d],
 * i.e. a conv of x (batch and channels swapped) with g as the kernel, dilated by the stride.
 * Groups: x [N, G·Cg, H, W] → [Cg, G·N, H, W] and g [N, G·Og, h, w] → [G·Og, N, h, w], so a
 * G-group conv pairs group k of g only with group k of x. Result [Cg, G·Og, kh', kw'] → [O, Cg, kh, kw].
 */
function convWeightGrad(x: Value, g: Value, a: ConvAttrs, kernel: readonly [number, number]): Value {
  const [n, c, H, W] = staticShape(x.shape, 'a conv weight gradient');
  const [, o, h, w] = staticShape(g.shape, 'a conv weight gradient');
  const G = a.groups;
  const xs = op.reshape(op.transpose(op.reshape(x, [n, G, c / G, H, W]), [2, 1, 0, 3, 4]), [c / G, G * n, H, W]);
  const gs = op.reshape(op.transpose(op.reshape(g, [n, G, o / G, h, w]), [1, 2, 0, 3, 4]), [o, n, h, w]);
  const full = op.conv2d(xs, gs, undefined, { stride: a.dilation, dilation: a.stride, padding: a.pads, groups: G }); // [Cg, O, kh', kw']
  const cropped = op.slice(op.slice(full, 2, 0, kernel[0]), 3, 0, kernel[1]);
  return op.transpose(cropped, [1, 0, 2, 3]); // [O, Cg, kh, kw]
}

/** conv2d's input gradient: ConvTranspose back to x's size. */
function convInputGrad(g: Value, w: Value, a: ConvAttrs, size: readonly [number, number]): Value {
  const [, , h, wd] = staticShape(g.shape, 'a conv input gradient');
  const [, , kh, kw] = w.shape as number[];
  const base = (d: number, i: 0 | 1, k: number) => (d - 1) * a.stride[i] - a.pads[i] - a.pads[i + 2] + a.dilation[i] * (k - 1) + 1;
  const outputPadding: [number, number] = [size[0] - base(h, 0, kh), size[1] - base(wd, 1, kw)];
  return op.convTranspose2d(g, w, { stride: a.stride, padding: a.pads, dilation: a.dilation, groups: a.groups, outputPadding });
}

const conv2d: Vjp<'conv2d'> = (n, [g], [wx, ww, wb]) => {
  const [x, w] = n.inputs;
  const [, , H, W] = staticShape(x.shape, 'a conv gradient');
  const [, , kh, kw] = w.shape as number[];
  return [
    wx ? convInputGrad(g!, w, n.attrs, [H, W]) : undefined,
    ww ? convWeightGrad(x, g!, n.attrs, [kh, kw]) : undefined,
    wb ? op.reduceSum(g!, [0, 2, 3], false) : undefined,
  ];
};

/** y = convTranspose2d(x, w) is the input gradient of a conv, so its own gradients are a conv and a weight gradient with roles swapped. */
const convTranspose2d: Vjp<'convTranspose2d'> = (n, [g], [wx, ww]) => {
  const [x, w] = n.inputs;
  const [, , kh, kw] = w.shape as number[];
  const { stride, pads, dilation, groups } = n.attrs;
  const a: ConvAttrs = { stride, pads, dilation, groups };
  return [wx ? op.conv2d(g!, w, undefined, { stride, padding: pads, dilation, groups }) : undefined, ww ? convWeightGrad(g!, x, a, [kh, kw]) : undefined];
};

/** y = x·Wᵀ + b on the 2-D view [M, in]: dx = g·W, dW = gᵀ·x, db = Σ_M g. */
const linear: Vjp<'linear'> = (n, [g], [wx, ww, wb]) => {
  const [x, w] = n.inputs;
  const [out, inF] = w.shape as number[];
  const m = numel(staticShape(x.shape, 'a linear gradient')) / inF;
  const g2 = op.reshape(g!, [m, out]); // [M, out]
  return [
    wx ? op.reshape(op.matmul(g2, w), x.shape) : undefined,
    ww ? op.matmul(op.transpose(g2, [1, 0]), op.reshape(x, [m, inF])) : undefined, // [out, in]
    wb ? op.reduceSum(g2, [0], false) : undefined,
  ];
};

/** [..., M, K] @ [..., K, N]: da = g·bᵀ, db = aᵀ·g, each summed over broadcast batch dims. */
const matmul: Vjp<'matmul'> = (n, [g], [wa, wb]) => {
  const [a, b] = n.inputs;
  return [wa ? sumToShape(op.matmul(g!, transposeLast(b)), a.shape) : undefined, wb ? sumToShape(op.matmul(transposeLast(a), g!), b.shape) : undefined];
};

/**
 * Per head, S = scale·q·kᵀ (+ mask), P = softmax(S), o = P·v:
 *   dv = Pᵀ·g,  dP = g·vᵀ,  dS = P ⊙ (dP − Σ_k dP ⊙ P),  dq = scale·dS·k,  dk = scale·dSᵀ·q.
 */
const attention: Vjp<'attention'> = (n, [g], [wq, wk, wv]) => {
  const [q, k, v] = n.inputs;
  const { heads, scale, causal } = n.attrs;
  const [b, sq, c] = staticShape(q.shape, 'an attention gradient');
  const sk = k.shape[1] as number;
  const cv = v.shape[2] as number;
  const split = (x: Value, s: number, width: number) => op.transpose(op.reshape(x, [b, s, heads, width / heads]), [0, 2, 1, 3]); // [B, H, S, d]
  const merge = (x: Value, s: number, width: number) => op.reshape(op.transpose(x, [0, 2, 1, 3]), [b, s, width]); // [B, S, H·d]
  const qh = split(q, sq, c);
  const kh = split(k, sk, c);
  const vh = split(v, sk, cv);
  const gh = split(g!, sq, cv);
  let scores = op.mul(op.matmul(qh, transposeLast(kh)), scale); // [B, H, Sq, Sk]
  if (causal) scores = op.add(scores, q.graph.constant(op.causalMask(sq)));
  const p = op.softmax(scores, -1);
  const dp = op.matmul(gh, transposeLast(vh)); // [B, H, Sq, Sk]
  const ds = op.mul(op.mul(p, op.sub(dp, op.reduceSum(op.mul(dp, p), [-1], true))), scale);
  return [
    wq ? merge(op.matmul(ds, kh), sq, c) : undefined,
    wk ? merge(op.matmul(transposeLast(ds), qh), sk, c) : undefined,
    wv ? merge(op.matmul(transposeLast(p), gh), sk, cv) : undefined,
  ];
};

export const LINALG_VJPS: VjpTable<LinalgOp> = { linear, matmul, conv2d, convTranspose2d, attention };
