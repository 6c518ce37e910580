// The CLIP text transformer as a graph (Hugging Face transformers CLIPTextModel, the text tower
// of OpenAI's CLIP), with the checkpoint's module names (`text_model.encoder.layers.0.self_attn.q_proj`).
//
//   x = token_embedding[ids] + position_embedding[0..S-1]             [B, S, H]
//       (with textual-inversion tokens the table is concat(checkpoint table, added rows): the
//        checkpoint's rows stay in the file, the few new ones come in as a graph input)
//   per layer:  x = x + out_proj(causal_attention(layer_norm1(x)))
//               x = x + fc2(act(fc1(layer_norm2(x))))                  act: quick_gelu (SD 1.x) / gelu (SD 2.x)
//   last_hidden_state = final_layer_norm(x)

import { LatentlabError } from '../core/errors.js';
import type { Dim } from '../graph/dims.js';
import { Graph, Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { activation, ACTIVATIONS, layerNorm, linear } from '../nn/layers.js';
import type { ConfigReader } from './config-reader.js';

export interface CLIPTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: (typeof ACTIVATIONS)[number];
  layer_norm_eps: number;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
}

/** Reads a transformers CLIPTextConfig (defaults: transformers' CLIPTextConfig). */
export function parseCLIPTextConfig(r: ConfigReader): CLIPTextConfig {
  const c: CLIPTextConfig = {
    vocab_size: r.int('vocab_size', 49408, 1),
    hidden_size: r.int('hidden_size', 512, 1),
    intermediate_size: r.int('intermediate_size', 2048, 1),
    num_hidden_layers: r.int('num_hidden_layers', 12, 1),
    num_attention_heads: r.int('num_attention_heads', 8, 1),
    max_position_embeddings: r.int('max_position_embeddings', 77, 1),
    hidden_act: r.string('hidden_act', ACTIVATIONS, 'quick_gelu'),
    layer_norm_eps: r.number('layer_norm_eps', 1e-5),
    bos_token_id: r.int('bos_token_id', 49406),
    eos_token_id: r.int('eos_token_id', 49407),
    pad_token_id: r.int('pad_token_id', 1),
  };
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new LatentlabError('CONFIG_FIELD', `${r.file}: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`, {
      file: r.file, key: 'num_attention_heads', hint: 'check the config: each attention head gets hidden_size / num_attention_heads channels',
    });
  }
  return c;
}

export interface CLIPTextGraphOptions {
  batch: Dim;
  seqLen: number;
  /** 'ids': input_ids [B, S] int64; 'embeds': inputs_embeds [B, S, H] (token + position embeddings, the notebook's get_output_embeds). */
  input: 'ids' | 'embeds';
  /** Also output hidden_states.0 … hidden_states.L (for inspection). */
  hiddenStates: boolean;
  /**
   * diffusers' clip_skip: last_hidden_state = final_layer_norm(hidden_states[-(clipSkip + 1)]);
   * the last clipSkip layers are not built. Default 0.
   */
  clipSkip?: number;
  /** Rows appended to the token table (textual inversion): input `added_token_embeddings` [n, H]. Default 0. */
  addedTokens?: number;
  /**
   * How ids ≥ V reach the added rows. 'concat' (default): gather from concat(table, added), [V + n, H].
   * 'select': where(ids < V, table[min(ids, V − 1)], added[max(ids − V, 0)]) — no [V + n, H]
   * tensor, and the gradient w.r.t. the added rows is an [n, H] scatter instead of a [V + n, H]
   * one (what training a token needs; docs/textual-inversion-training.md).
   */
  addedLookup?: 'concat' | 'select';
  /** Build into this graph (e.g. a training step that puts the UNet on the output) instead of a new one. */
  graph?: Graph;
}

/** Token rows for ids [B, S] from the checkpoint's table [V, H] and the added rows [n, H] (ids V.. are the added tokens). */
function lookupWithAdded(table: Value, added: Value, ids: Value, V: number, how: 'concat' | 'select'): Value {
  if (how === 'concat') return op.gather(op.concat([table, added], 0), ids); // [V + n, H] → [B, S, H]
  const stored = op.less(ids, V); // [B, S] bool
  const fromTable = op.gather(table, op.where(stored, ids, V - 1)); // [B, S, H]
  const fromAdded = op.gather(added, op.where(stored, 0, op.sub(ids, V))); // [B, S, H]
  return op.where(op.reshape(stored, [...ids.shape, 1]), fromTable, fromAdded);
}

export function buildCLIPTextGraph(c: CLIPTextConfig, o: CLIPTextGraphOptions): Graph {
  const g = o.graph ?? new Graph('text_encoder');
  const H = c.hidden_size;
  const tm = new Module(g, 'text_model');
  const emb = tm.child('embeddings');
  let x: Value;
  if (o.input === 'ids') {
    const ids = g.input('input_ids', 'int64', [o.batch, o.seqLen]);
    const tokens = emb.child('token_embedding');
    const table = tokens.weight('weight', [c.vocab_size, H], 'vocab_size, hidden_size'); // [V, H]
    const added = o.addedTokens ? g.input('added_token_embeddings', 'float32', [o.addedTokens, H]) : undefined; // [n, H]
    const tok = tokens.build(() => (added ? lookupWithAdded(table, added, ids, c.vocab_size, o.addedLookup ?? 'concat') : op.gather(table, ids))); // [B, S, H]
    const posTable = emb.child('position_embedding').weight('weight', [c.max_position_embeddings, H], 'max_position_embeddings, hidden_size');
    const pos = emb.build(() => op.slice(posTable, 0, 0, o.seqLen)); // [S, H], positions 0..S-1
    x = emb.build(() => op.add(tok, pos));
  } else {
    x = g.input('inputs_embeds', 'float32', [o.batch, o.seqLen, H]);
  }
  const hidden: Value[] = [x];
  const heads = c.num_attention_heads;
  const origin = 'hidden_size, intermediate_size';
  const layers = c.num_hidden_layers - (o.clipSkip ?? 0);
  for (let i = 0; i < layers; i++) {
    const layer = tm.child('encoder').child('layers').child(i);
    const attn = layer.child('self_attn');
    const h = layerNorm(layer.child('layer_norm1'), x, H, c.layer_norm_eps, origin);
    const q = linear(attn.child('q_proj'), h, H, H, { origin });
    const k = linear(attn.child('k_proj'), h, H, H, { origin });
    const v = linear(attn.child('v_proj'), h, H, H, { origin });
    const a = attn.build(() => op.attention(q, k, v, { heads, causal: true })); // [B, S, H]
    x = layer.build(() => op.add(x, linear(attn.child('out_proj'), a, H, H, { origin })));
    const m = layerNorm(layer.child('layer_norm2'), x, H, c.layer_norm_eps, origin);
    const f = activation(c.hidden_act, linear(layer.child('mlp').child('fc1'), m, H, c.intermediate_size, { origin }));
    x = layer.build(() => op.add(x, linear(layer.child('mlp').child('fc2'), f, c.intermediate_size, H, { origin })));
    hidden.push(x);
  }
  g.output('last_hidden_state', layerNorm(tm.child('final_layer_norm'), x, H, c.layer_norm_eps, origin));
  if (o.hiddenStates) hidden.forEach((v, i) => g.output(`hidden_states.${i}`, v));
  return g;
}
