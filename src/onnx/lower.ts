// Lowering a latentlab Graph to an ONNX ModelProto.
//
// Weights become initializers whose data stays in the checkpoint file (ONNX external data with
// location/offset/length pointing into the .safetensors), so ONNX Runtime maps them in place.
// float16 / bfloat16 weights get a Cast to float32 after them, which ONNX Runtime folds once at
// session creation (optimisation level ≥ basic) — the CPU then computes in float32.
// Each latentlab op maps to one or a few ONNX ops (lower-ops.ts, lower-attention.ts).

import { LatentlabError } from '../core/errors.js';
import { isExternal, WeightData } from '../core/external.js';
import { fmtShape } from '../core/errors.js';
import type { Graph, Value } from '../graph/graph.js';
import { Emitter, valueInfo } from './emitter.js';
import type { OpName } from '../graph/op-types.js';
import { LOWERINGS } from './lower-ops.js';
import type { Lowering, LoweringContext } from './lowering.js';
import { IR_VERSION, ModelProto, MS_DOMAIN, OPSET } from './schema.js';

export type AttentionImpl = 'fused' | 'plain';

export interface LowerOptions {
  /** Data for every weight the graph declares, by checkpoint key. */
  weights: ReadonlyMap<string, WeightData>;
  /** The external-data `location` to write for a weights file (see platform/node/runtime.ts). */
  location: (file: string) => string;
  /** `fused`: com.microsoft.MultiHeadAttention (default); `plain`: MatMul/Softmax/MatMul reference path. */
  attention?: AttentionImpl;
  /** Weight keys that become graph inputs (fed each run) instead of initializers; they need no data. */
  trainable?: readonly string[];
}

export function lowerToOnnx(graph: Graph, options: LowerOptions): Uint8Array {
  const e = new Emitter();
  const names = new Map<Value, string>();
  const ctx: LoweringContext = { e, attention: options.attention ?? 'fused', name: (v) => nameOf(v) };

  function nameOf(v: Value): string {
    const n = names.get(v);
    if (n === undefined) throw new LatentlabError('ONNX_LOWERING', `graph ${graph.name}: value ${v} is used before it is defined`);
    return n;
  }

  for (const v of graph.inputs) names.set(v, v.name!);

  const trainable = new Set(options.trainable ?? []);
  for (const key of trainable) {
    if (!graph.weights.has(key)) {
      throw new LatentlabError('ONNX_LOWERING', `graph ${graph.name}: trainable weight "${key}" is not a weight of this graph`, { key, hint: 'name checkpoint keys the graph declares' });
    }
    if (graph.inputs.some((v) => v.name === key)) throw new LatentlabError('ONNX_LOWERING', `graph ${graph.name}: trainable weight "${key}" clashes with an input of the same name`, { key });
  }
  const weightInputs: object[] = [];

  for (const decl of graph.weights.values()) {
    if (trainable.has(decl.key)) {
      names.set(decl.value, decl.key);
      weightInputs.push(valueInfo(decl.key, decl.dtype, decl.shape));
      continue;
    }
    const data = options.weights.get(decl.key);
    if (!data) {
      throw new LatentlabError('ONNX_LOWERING', `graph ${graph.name}: no data for weight "${decl.key}"`, { key: decl.key, hint: 'bind the checkpoint weights before compiling' });
    }
    if (fmtShape(data.shape) !== fmtShape(decl.shape)) {
      throw new LatentlabError('WEIGHTS_SHAPE', `weight "${decl.key}": the graph expects ${fmtShape(decl.shape)}, the data is ${fmtShape(data.shape)}`, { key: decl.key });
    }
    if (isExternal(data)) e.external(decl.key, data, options.location(data.file));
    else e.inline(decl.key, data);
    if (data.dtype === decl.dtype) {
      names.set(decl.value, decl.key);
    } else if (decl.dtype === 'float32' && (data.dtype === 'float16' || data.dtype === 'bfloat16' || data.dtype === 'float64')) {
      e.scope = decl.key;
      names.set(decl.value, e.op('Cast', [decl.key], { to: 1 }));
    } else {
      throw new LatentlabError('WEIGHTS_DTYPE', `weight "${decl.key}" is ${data.dtype}; the graph needs ${decl.dtype}`, { key: decl.key });
    }
  }

  for (const [v, t] of graph.constants) names.set(v, e.constant(t));

  for (const node of graph.nodes) {
    // The table is exhaustive by type; TypeScript cannot pair LOWERINGS[op] with node's own K.
    const lower = LOWERINGS[node.op] as Lowering<OpName>;
    e.scope = node.scope;
    const outs = lower(ctx, node);
    node.outputs.forEach((v, i) => names.set(v, outs[i]));
  }

  // Graph outputs get their public names through Identity (a value may be an output twice).
  e.scope = 'outputs';
  const outputs = graph.outputs.map(({ name, value }) => {
    e.nodes.push({ input: [nameOf(value)], output: [name], name: `outputs/${name}`, op_type: 'Identity', attribute: [] });
    return valueInfo(name, value.dtype, value.shape);
  });

  const usesMs = e.nodes.some((n) => n.domain === MS_DOMAIN);
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'latentlab',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: OPSET }, ...(usesMs ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
    graph: {
      name: graph.name,
      node: e.nodes,
      initializer: e.initializers,
      input: [...graph.inputs.map((v) => valueInfo(v.name!, v.dtype, v.shape)), ...weightInputs],
      output: outputs,
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new LatentlabError('ONNX_LOWERING', `internal error: the ONNX model does not verify: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
