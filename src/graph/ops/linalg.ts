// The compute-heavy ops: linear (PyTorch [out, in] weights used as stored), matmul, conv2d and
// multi-head attention. Nearly all of Stable Diffusion's FLOPs are here (see graph/flops.ts).

import { Tensor } from '../../core/tensor.js';
import { broadcastShapes, Dim, dimAffine } from '../dims.js';
import type { Value } from '../graph.js';
import { shapeError } from './common.js';

function checkFloat(op: string, vs: readonly Value[]): void {
  for (const v of vs) if (v.dtype !== 'float32' && v.dtype !== 'float16') throw shapeError(op, vs, `needs float inputs, got ${v.dtype}`);
}

/** y = x·Wᵀ + b, like torch.nn.Linear: x [..., in], weight [out, in], bias [out] → [..., out]. */
export function linear(x: Value, weight: Value, bias?: Value): Value {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  checkFloat('linear', inputs);
  if (weight.rank !== 2) throw shapeError('linear', inputs, 'weight must be [out_features, in_features]');
  const [out, inF] = weight.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw shapeError('linear', inputs, `input's last dimension must equal in_features = ${inF}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) throw shapeError('linear', inputs, `bias must be [${out}]`);
  return x.graph.addNode('linear', inputs, {}, [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), out] }])[0];
}

/** torch.matmul for rank ≥ 2: [..., M, K] @ [..., K, N] → [..., M, N], batch dims broadcast. */
export function matmul(a: Value, b: Value): Value {
  checkFloat('matmul', [a, b]);
  if (a.rank < 2 || b.rank < 2) throw shapeError('matmul', [a, b], 'both operands need rank >= 2');
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw shapeError('matmul', [a, b], `inner dimensions differ (${k} vs ${k2})`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!batch) throw shapeError('matmul', [a, b], 'batch dimensions do not broadcast');
  return a.graph.addNode('matmul', [a, b], {}, [{ dtype: a.dtype, shape: [...batch, m, n] }])[0];
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** p (all sides), [ph, pw], or [top, left, bottom, right] (asymmetric, like the VAE's F.pad). */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
}

function pair(v: number | readonly number[] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Resolves Conv2dOptions to [top, left, bottom, right] pads etc. */
export function convParams(o: Conv2dOptions): { stride: [number, number]; pads: [number, number, number, number]; dilation: [number, number]; groups: number } {
  const p = o.padding ?? 0;
  const pads: [number, number, number, number] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : [p[0], p[1], p[2], p[3]];
  return { stride: pair(o.stride, 1), pads, dilation: pair(o.dilation, 1), groups: o.groups ?? 1 };
}

/** torch.nn.functional.conv2d: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O]. */
export function conv2d(x: Value, weight: Value, bias?: Value, options: Conv2dOptions = {}): Value {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  checkFloat('conv2d', inputs);
  const { stride, pads, dilation, groups } = convParams(options);
  if (x.rank !== 4) throw shapeError('conv2d', inputs, 'input must be [N, C, H, W]');
  if (weight.rank !== 4) throw shapeError('conv2d', inputs, 'weight must be [out_channels, in_channels/groups, kh, kw]');
  const [n, c, h, w] = x.shape;
  const [o, cg, kh, kw] = weight.shape as number[];
  if (typeof c !== 'number' || c !== cg * groups) {
    throw shapeError('conv2d', inputs, `weight expects ${cg * groups} input channels (${cg} × ${groups} groups), input has ${c}`);
  }
  if (o % groups !== 0) throw shapeError('conv2d', inputs, `out_channels ${o} is not divisible by groups ${groups}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== o)) throw shapeError('conv2d', inputs, `bias must be [${o}]`);
  if (![...stride, ...dilation].every((s) => Number.isInteger(s) && s >= 1) || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw shapeError('conv2d', inputs, `bad stride/padding/dilation ${JSON.stringify({ stride, pads, dilation })}`);
  }
  // out = floor((in + pad_begin + pad_end - dilation·(k-1) - 1) / stride) + 1
  const oh: Dim = dimAffine(h, pads[0] + pads[2] - dilation[0] * (kh - 1) - 1, stride[0], 1);
  const ow: Dim = dimAffine(w, pads[1] + pads[3] - dilation[1] * (kw - 1) - 1, stride[1], 1);
  if ((typeof oh === 'number' && oh < 1) || (typeof ow === 'number' && ow < 1)) {
    throw shapeError('conv2d', inputs, `the ${kh}×${kw} kernel does not fit the padded input (output would be ${oh}×${ow})`);
  }
  return x.graph.addNode('conv2d', inputs, { stride, pads, dilation, groups }, [{ dtype: x.dtype, shape: [n, o, oh, ow] }])[0];
}

/** Additive causal mask [1, 1, S, S]: 0 on and below the diagonal, float32 lowest above (as HF CLIP). */
export function causalMask(s: number): Tensor<'float32'> {
  const t = Tensor.zeros([1, 1, s, s]);
  const lowest = -3.4028234663852886e38;
  for (let i = 0; i < s; i++) for (let j = i + 1; j < s; j++) t.data[i * s + j] = lowest;
  return t;
}

export interface AttentionOptions {
  heads: number;
  /** Multiplies q·kᵀ; default head_dim^-0.5 (diffusers applies it after the matmul). */
  scale?: number;
  /** Masks keys after the query position (CLIP's causal mask). Needs Sq = Sk. */
  causal?: boolean;
}

/**
 * Multi-head scaled dot-product attention on projected, un-split tensors:
 * q [B, Sq, heads·d], k [B, Sk, heads·d], v [B, Sk, heads·dv] → [B, Sq, heads·dv];
 * per head: softmax(scale · q·kᵀ (+ causal mask)) · v.
 * Lowered to com.microsoft.MultiHeadAttention (fused, never materialises the scores) or to
 * MatMul/Softmax/MatMul (the reference path); see onnx/lower-attention.ts.
 */
export function attention(q: Value, k: Value, v: Value, options: AttentionOptions): Value {
  const inputs = [q, k, v];
  checkFloat('attention', inputs);
  const { heads } = options;
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) throw shapeError('attention', inputs, 'q, k, v must be [batch, sequence, heads·head_dim]');
  const [b, sq, cq] = q.shape;
  const [bk, sk, ck] = k.shape;
  const [bv, sv, cv] = v.shape;
  if (b !== bk || b !== bv) throw shapeError('attention', inputs, 'batch sizes differ');
  if (sk !== sv) throw shapeError('attention', inputs, 'key and value sequence lengths differ');
  if (cq !== ck) throw shapeError('attention', inputs, 'query and key widths differ');
  for (const c of [cq, cv]) {
    if (typeof c !== 'number' || !Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
      throw shapeError('attention', inputs, `width ${c} is not divisible into ${heads} heads`);
    }
  }
  if (options.causal && sq !== sk) throw shapeError('attention', inputs, 'a causal mask needs equal query and key lengths');
  const headDim = (cq as number) / heads;
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  return q.graph.addNode('attention', inputs, { heads, scale, causal: options.causal ?? false }, [{ dtype: q.dtype, shape: [b, sq, cv] }])[0];
}

/**
 * The transpose of conv2d with the same weight [O, C/groups, kh, kw]: x [N, O, h, w] → [N, C, H, W],
 * H = (h − 1)·stride − pad_top − pad_bottom + dilation·(kh − 1) + 1 + outputPadding. It is the
 * gradient of a conv with respect to its input (ONNX ConvTranspose); `outputPadding` < stride
 * recovers the rows a strided conv's floor division dropped.
 */
export function convTranspose2d(x: Value, weight: Value, options: Conv2dOptions & { outputPadding?: readonly [number, number] } = {}): Value {
  checkFloat('convTranspose2d', [x, weight]);
  const { stride, pads, dilation, groups } = convParams(options);
  const outputPadding = options.outputPadding ?? [0, 0];
  if (x.rank !== 4 || weight.rank !== 4) throw shapeError('convTranspose2d', [x, weight], 'input must be [N, O, h, w] and weight [O, C/groups, kh, kw]');
  const [n, o, h, w] = x.shape;
  const [wo, cg, kh, kw] = weight.shape as number[];
  if (o !== wo) throw shapeError('convTranspose2d', [x, weight], `input has ${o} channels, the weight's first dimension is ${wo}`);
  if (!outputPadding.every((p, i) => Number.isInteger(p) && p >= 0 && p < Math.max(stride[i], dilation[i]))) {
    throw shapeError('convTranspose2d', [x, weight], `outputPadding ${JSON.stringify(outputPadding)} must be smaller than the stride or dilation`);
  }
  if (typeof h !== 'number' || typeof w !== 'number') throw shapeError('convTranspose2d', [x, weight], 'needs a concrete spatial size');
  const H = (h - 1) * stride[0] - pads[0] - pads[2] + dilation[0] * (kh - 1) + 1 + outputPadding[0];
  const W = (w - 1) * stride[1] - pads[1] - pads[3] + dilation[1] * (kw - 1) + 1 + outputPadding[1];
  if (H < 1 || W < 1) throw shapeError('convTranspose2d', [x, weight], `the output would be ${H}×${W}`);
  return x.graph.addNode('convTranspose2d', [x, weight], { stride, pads, dilation, groups, outputPadding: [outputPadding[0], outputPadding[1]] }, [
    { dtype: x.dtype, shape: [n, cg * groups, H, W] },
  ])[0];
}
