// diffusers' Attention module (models/attention_processor.py, 0.27) with the default processor:
//   q = to_q(x), k = to_k(context), v = to_v(context)        x [B, S, queryDim], context [B, T, crossDim]
//   out = to_out.0(softmax(scale · q·kᵀ) · v)                 per head, scale = headDim^-0.5
// Self-attention when `context` is omitted. q/k/v carry no bias in the UNet and a bias in the VAE.

import type { Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { linear } from './layers.js';

export interface AttentionConfig {
  queryDim: number;
  /** Width of the context (cross-attention); default queryDim (self-attention). */
  crossDim?: number;
  heads: number;
  headDim: number;
  /** Bias on to_q/to_k/to_v (diffusers `bias`). */
  qkvBias?: boolean;
  origin?: string;
}

export function attentionBlock(m: Module, x: Value, context: Value | undefined, cfg: AttentionConfig): Value {
  const inner = cfg.heads * cfg.headDim;
  const kvIn = context ? (cfg.crossDim ?? cfg.queryDim) : cfg.queryDim;
  const ctx = context ?? x;
  const opts = { bias: cfg.qkvBias ?? false, origin: cfg.origin };
  const q = linear(m.child('to_q'), x, cfg.queryDim, inner, opts); // [B, S, inner]
  const k = linear(m.child('to_k'), ctx, kvIn, inner, opts); // [B, T, inner]
  const v = linear(m.child('to_v'), ctx, kvIn, inner, opts); // [B, T, inner]
  const a = m.build(() => op.attention(q, k, v, { heads: cfg.heads, scale: cfg.headDim ** -0.5 })); // [B, S, inner]
  return linear(m.child('to_out').child(0), a, inner, cfg.queryDim, { origin: cfg.origin });
}
