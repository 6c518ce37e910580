// diffusers' UNet2DConditionModel.forward (models/unets/unet_2d_condition.py, 0.27) as a graph, with
// the checkpoint's module names (`down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k`):
//
//   emb = time_embedding(time_proj(timestep))                     [B, C0] → [B, 4·C0]
//   x = conv_in(sample)                                           [B, in, h, w] → [B, C0, h, w]
//   skips = [x]; per down block: x, s = down_block(x, emb, ehs); skips += s
//   x = mid_block(x, emb, ehs)
//   per up block: x = up_block(x, skips.pop(layers + 1), emb, ehs, upsample_size)
//   out = conv_out(silu(conv_norm_out(x)))                        [B, out, h, w]
//
// Inputs: `sample` [B, in, h, w], `timestep` [B] float32 (already broadcast and converted on the
// host), `encoder_hidden_states` [B, S, cross_attention_dim], and for LCM-distilled UNets
// `timestep_cond` [B, time_cond_proj_dim] (the guidance embedding). Output `out`, plus the `debug.*`
// intermediates the conformance fixture stores when asked for.

import type { Dim } from '../graph/dims.js';
import { Graph, Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { conv2d, groupNorm, withTiling } from '../nn/layers.js';
import { timestepEmbedding, timestepFeatures } from '../nn/timestep-embedding.js';
import { downBlock, midBlock, upBlock, type BlockAttention } from '../nn/unet-blocks.js';
import type { UNet2DConditionConfig } from './unet-config.js';

export interface UNetGraphOptions {
  batch: Dim;
  height: number;
  width: number;
  /** Length S of encoder_hidden_states (77 for CLIP prompts). */
  seqLen: number;
  /**
   * Give the graph the input `timestep_cond` [B, time_cond_proj_dim] (LCM-distilled UNets' guidance
   * embedding, added to the timestep features through time_embedding.cond_proj). Without it such a
   * UNet runs as diffusers does when timestep_cond is None: the cond_proj is left out.
   */
  timestepCond?: boolean;
  /** Also output the `debug.*` intermediates (names as in the fixture: debug.conv_in, debug.down_blocks.0, …). */
  debug?: boolean;
  /**
   * Seamless tiling: every conv pads circularly (nn/layers.ts withConvPaddingMode), so the output
   * wraps around left↔right and top↔bottom, as AUTOMATIC1111's `tiling`.
   */
  tiling?: boolean;
  /**
   * Build into an existing graph with encoder_hidden_states computed there (a textual-inversion step
   * puts the UNet on the text encoder's output) instead of a new graph with that input; `sample`
   * likewise replaces the `sample` input (a training step noises latents inside the graph).
   */
  into?: { graph: Graph; encoderHiddenStates: Value; sample?: Value };
}

/** The names of the debug outputs, in graph order, for a config. */
export function unetDebugNames(c: UNet2DConditionConfig): string[] {
  const n = c.block_out_channels.length;
  const blocks = (kind: string) => Array.from({ length: n }, (_, i) => `debug.${kind}.${i}`);
  return ['debug.time_proj', 'debug.time_embedding', 'debug.conv_in', ...blocks('down_blocks'), 'debug.mid_block', ...blocks('up_blocks'), 'debug.conv_norm_out'];
}

export function buildUNetGraph(c: UNet2DConditionConfig, o: UNetGraphOptions): Graph {
  return withTiling(o.tiling, () => buildUNet(c, o));
}

function buildUNet(c: UNet2DConditionConfig, o: UNetGraphOptions): Graph {
  const g = o.into?.graph ?? new Graph('unet');
  const root = new Module(g);
  const debug = (name: string, v: Value) => {
    if (o.debug) g.output(`debug.${name}`, v);
  };
  const C = c.block_out_channels;
  const n = C.length;
  const sample = o.into?.sample ?? g.input('sample', 'float32', [o.batch, c.in_channels, o.height, o.width]); // [B, in, h, w]
  const timestep = g.input('timestep', 'float32', [o.batch]);
  const ehs = o.into?.encoderHiddenStates ?? g.input('encoder_hidden_states', 'float32', [o.batch, o.seqLen, c.cross_attention_dim[0]]);

  // 1. time: sinusoidal features [B, C0] → time_embedding [B, temb].
  const temb = c.time_embedding_dim;
  const tProj = timestepFeatures(root.child('time_proj'), timestep, { dim: C[0], flipSinToCos: c.flip_sin_to_cos, freqShift: c.freq_shift });
  debug('time_proj', tProj);
  const condDim = c.time_cond_proj_dim;
  const cond = o.timestepCond && condDim !== null ? { value: g.input('timestep_cond', 'float32', [o.batch, condDim]), dim: condDim } : undefined;
  const emb = timestepEmbedding(root.child('time_embedding'), tProj, C[0], temb, op.silu, `block_out_channels[0] = ${C[0]}, time_embedding_dim = ${temb}, time_cond_proj_dim = ${condDim}`, cond);
  debug('time_embedding', emb);
  const ctx = { temb: emb, context: ehs };

  // 2. conv_in: [B, in, h, w] → [B, C0, h, w].
  const x0 = c.center_input_sample ? root.build(() => op.sub(op.mul(sample, 2), 1)) : sample;
  let x = conv2d(root.child('conv_in'), x0, c.in_channels, C[0], c.conv_in_kernel, { padding: (c.conv_in_kernel - 1) / 2, origin: `in_channels = ${c.in_channels}, block_out_channels[0] = ${C[0]}` });
  debug('conv_in', x);

  // 3. down blocks: every block but the last halves h and w (rounding up).
  const skips: Value[] = [x];
  const attention = (i: number): BlockAttention => ({
    heads: c.num_attention_heads[i], crossDim: c.cross_attention_dim[i], depth: c.transformer_layers_per_block[i], linearProjection: c.use_linear_projection,
  });
  const common = { tembChannels: temb, groups: c.norm_num_groups, eps: c.norm_eps };
  for (let i = 0; i < n; i++) {
    const r = downBlock(root.child('down_blocks').child(i), x, ctx, {
      ...common, inChannels: i === 0 ? C[0] : C[i - 1], outChannels: C[i], layers: c.layers_per_block[i],
      attention: c.down_block_types[i] === 'CrossAttnDownBlock2D' ? attention(i) : undefined,
      downsample: i < n - 1 ? (c.downsample_padding === 1 ? 'symmetric' : 'right-bottom') : undefined,
      origin: blockOrigin(c, i, 'down'),
    });
    x = r.out;
    skips.push(...r.skips);
    debug(`down_blocks.${i}`, x);
  }

  // 4. mid block at the lowest resolution, with the last entry of the per-block lists.
  x = midBlock(root.child('mid_block'), x, ctx, {
    ...common, inChannels: C[n - 1], outChannels: C[n - 1], layers: 1, attention: attention(n - 1),
    outputScaleFactor: c.mid_block_scale_factor, origin: blockOrigin(c, n - 1, 'mid'),
  });
  debug('mid_block', x);

  // 5. up blocks: the per-block lists reversed. diffusers' forward_upsample_size: when a latent side
  // is not divisible by 2^(number of upsamplers), ×2 would not give back the skips' sizes (the
  // stride-2 convs round up), so EVERY upsampler resizes to the size of the next skip tensor.
  const upsamplers = n - 1;
  const explicitSizes = o.height % 2 ** upsamplers !== 0 || o.width % 2 ** upsamplers !== 0;
  for (let i = 0; i < n; i++) {
    const level = n - 1 - i; // the down block this up block mirrors
    const layers = c.layers_per_block[level] + 1;
    const mine = skips.splice(skips.length - layers, layers);
    const isFinal = i === n - 1;
    const next = skips[skips.length - 1];
    x = upBlock(root.child('up_blocks').child(i), x, mine, ctx, {
      ...common, inChannels: C[Math.max(level - 1, 0)], outChannels: C[level], prevOutputChannels: C[Math.min(level + 1, n - 1)], layers,
      attention: c.up_block_types[i] === 'CrossAttnUpBlock2D' ? attention(level) : undefined,
      upsample: !isFinal,
      upsampleSize: !isFinal && explicitSizes ? [next.shape[2] as number, next.shape[3] as number] : undefined,
      origin: blockOrigin(c, level, 'up'),
    });
    debug(`up_blocks.${i}`, x);
  }

  // 6. conv_norm_out → silu → conv_out: [B, C0, h, w] → [B, out, h, w].
  const normed = groupNorm(root.child('conv_norm_out'), x, C[0], c.norm_num_groups, c.norm_eps, `block_out_channels[0] = ${C[0]}`);
  debug('conv_norm_out', normed);
  const out = conv2d(root.child('conv_out'), root.build(() => op.silu(normed)), C[0], c.out_channels, c.conv_out_kernel, {
    padding: (c.conv_out_kernel - 1) / 2, origin: `block_out_channels[0] = ${C[0]}, out_channels = ${c.out_channels}`,
  });
  g.output('out', out);
  return g;
}

/** "block_out_channels[2] = 64, …": the config fields that decide a block's weight shapes (for loading errors). */
function blockOrigin(c: UNet2DConditionConfig, level: number, kind: 'down' | 'mid' | 'up'): string {
  const parts = [`block_out_channels[${level}] = ${c.block_out_channels[level]}`];
  if (kind === 'up' && level > 0) parts.push(`block_out_channels[${level - 1}] = ${c.block_out_channels[level - 1]} (skip)`);
  const types = kind === 'down' ? c.down_block_types[level] : kind === 'up' ? c.up_block_types[c.block_out_channels.length - 1 - level] : 'CrossAttn';
  if (types.startsWith('CrossAttn')) parts.push(`cross_attention_dim = ${c.cross_attention_dim[level]}`, `use_linear_projection = ${c.use_linear_projection}`);
  parts.push(`time_embedding_dim = ${c.time_embedding_dim}`);
  return parts.join(', ');
}
