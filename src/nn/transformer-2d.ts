// diffusers' Transformer2DModel with continuous input (models/transformers/transformer_2d.py, 0.27)
// and its BasicTransformerBlock + GEGLU FeedForward (models/attention.py), as the SD UNet uses them:
//
//   residual = x                                                      x [B, C, h, w]
//   x = norm(x)                          GroupNorm(groups, C, eps 1e-6 — hard-coded, not norm_eps)
//   x = proj_in(x) → flatten, or flatten → proj_in(x)                 [B, h·w, inner]
//   per block:  x = x + attn1(norm1(x))                                self-attention
//               x = x + attn2(norm2(x), context)                       cross-attention on encoder_hidden_states
//               x = x + ff(norm3(x))                                   LayerNorms eps 1e-5
//   x = proj_out(x) → unflatten, or unflatten → proj_out(x)           [B, C, h, w]
//   out = x + residual
//
// proj_in/proj_out are 1×1 Conv2d applied on [B, C, h, w] (SD 1.x) or Linear applied on the
// flattened [B, h·w, C] (`use_linear_projection`, SD 2.x) — the same maths, different weight shapes.

import type { Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { attentionBlock } from './attention.js';
import { conv2d, groupNorm, layerNorm, linear } from './layers.js';

export interface Transformer2DConfig {
  /** Channels of the input feature map. */
  channels: number;
  heads: number;
  /** Head size: diffusers passes channels // heads, so inner = heads · headDim (= channels when divisible). */
  headDim: number;
  /** Width of the context (encoder_hidden_states). */
  crossDim: number;
  /** Number of BasicTransformerBlocks (transformer_layers_per_block). */
  depth: number;
  groups: number;
  linearProjection: boolean;
  origin?: string;
}

/** Transformer2DModel: x [B, C, h, w], context [B, S, crossDim] → [B, C, h, w]. */
export function transformer2d(m: Module, x: Value, context: Value, cfg: Transformer2DConfig): Value {
  const { channels: c, origin } = cfg;
  const inner = cfg.heads * cfg.headDim;
  const [b, , h, w] = x.shape;
  const flatten = (v: Value, width: number) => op.reshape(op.transpose(v, [0, 2, 3, 1]), [b, -1, width]); // [B, h, w, width] → [B, h·w, width]
  const unflatten = (v: Value, width: number) => op.transpose(op.reshape(v, [b, h, w, width]), [0, 3, 1, 2]); // [B, width, h, w]

  const normed = groupNorm(m.child('norm'), x, c, cfg.groups, 1e-6, origin);
  let hs: Value;
  if (cfg.linearProjection) {
    hs = linear(m.child('proj_in'), m.build(() => flatten(normed, c)), c, inner, { origin }); // [B, h·w, inner]
  } else {
    const p = conv2d(m.child('proj_in'), normed, c, inner, 1, { origin }); // [B, inner, h, w]
    hs = m.build(() => flatten(p, inner)); // [B, h·w, inner]
  }
  for (let i = 0; i < cfg.depth; i++) hs = basicTransformerBlock(m.child('transformer_blocks').child(i), hs, context, inner, cfg);
  let out: Value;
  if (cfg.linearProjection) {
    const p = linear(m.child('proj_out'), hs, inner, c, { origin }); // [B, h·w, C]
    out = m.build(() => unflatten(p, c)); // [B, C, h, w]
  } else {
    out = conv2d(m.child('proj_out'), m.build(() => unflatten(hs, inner)), inner, c, 1, { origin }); // [B, C, h, w]
  }
  return m.build(() => op.add(out, x));
}

/** BasicTransformerBlock (norm_type "layer_norm", GEGLU feed-forward): x [B, N, dim] → [B, N, dim]. */
function basicTransformerBlock(m: Module, x: Value, context: Value, dim: number, cfg: Transformer2DConfig): Value {
  const { heads, headDim, origin } = cfg;
  const attn = { queryDim: dim, heads, headDim, origin };
  const n1 = layerNorm(m.child('norm1'), x, dim, 1e-5, origin);
  x = m.build(() => op.add(attentionBlock(m.child('attn1'), n1, undefined, attn), x));
  const n2 = layerNorm(m.child('norm2'), x, dim, 1e-5, origin);
  x = m.build(() => op.add(attentionBlock(m.child('attn2'), n2, context, { ...attn, crossDim: cfg.crossDim }), x));
  const n3 = layerNorm(m.child('norm3'), x, dim, 1e-5, origin);
  return m.build(() => op.add(feedForward(m.child('ff'), n3, dim, origin), x));
}

/**
 * FeedForward with GEGLU (mult 4): net.0.proj Linear(dim, 8·dim) → chunk into (hidden, gate) along
 * the last axis → hidden · gelu(gate) (erf GELU) → net.2 Linear(4·dim, dim). net.1 is Dropout.
 */
function feedForward(m: Module, x: Value, dim: number, origin?: string): Value {
  const inner = 4 * dim;
  const proj = linear(m.child('net').child(0).child('proj'), x, dim, 2 * inner, { origin }); // [B, N, 8·dim]
  const gated = m.build(() => {
    const [hidden, gate] = op.split(proj, [inner, inner], -1); // 2 × [B, N, 4·dim]
    return op.mul(hidden, op.gelu(gate));
  });
  return linear(m.child('net').child(2), gated, inner, dim, { origin });
}
