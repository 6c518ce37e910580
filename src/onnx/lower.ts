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
import { Tensor } from '../core/tensor.js';
import type { Graph, Value } from '../graph/graph.js';
import { toFloat16Compute } from '../graph/compute-dtype.js';
import { Emitter, onnxDtype, valueInfo } from './emitter.js';
import type { OpName } from '../graph/op-types.js';
import { calibrationOutputs, type Int8Lowering, int8Names, type Int8Target, reduceAll } from './int8.js';
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
  /** precision 'int8': these convs/linears in QDQ form on their int8 weights (int8.ts). */
  int8?: Int8Lowering;
  /** 'float16': compute in float16 with float16 weights (graph/compute-dtype.ts); default 'float32'. */
  computeDtype?: 'float32' | 'float16';
}

export function lowerToOnnx(graph: Graph, options: LowerOptions): Uint8Array {
  return lower(withComputeDtype(graph, options), options).model;
}

function withComputeDtype(graph: Graph, options: LowerOptions): Graph {
  const dtype = options.computeDtype ?? 'float32';
  if (dtype === 'float32') return graph;
  if (dtype !== 'float16') {
    throw new LatentlabError('COMPILE_OPTIONS', `computeDtype is ${JSON.stringify(dtype)}; expected "float32" or "float16"`, { key: 'computeDtype', hint: 'use "float16" on devices with float16 arithmetic (WebGPU with shader-f16), else leave it unset' });
  }
  const clash = options.int8 ? 'precision "int8"' : options.trainable?.length ? 'trainable weights' : undefined;
  if (clash) {
    throw new LatentlabError('COMPILE_OPTIONS', `graph ${graph.name}: computeDtype "float16" cannot be combined with ${clash}`, { key: 'computeDtype', hint: `leave computeDtype unset (float32) with ${clash}` });
  }
  return toFloat16Compute(graph);
}

/**
 * The float32 model plus, for each int8 target (in graph order), its input's and output's minimum and
 * maximum as scalar outputs `calib.<i>.{in_min,in_max,out_min,out_max}`: run it on calibration inputs
 * to get the ranges static int8 ops quantise with.
 */
export function lowerForCalibration(graph: Graph, options: Omit<LowerOptions, 'int8'>, targets: ReadonlyMap<string, Int8Target>): { model: Uint8Array; keys: string[] } {
  const r = lower(graph, options, targets);
  return { model: r.model, keys: r.calibrated };
}

function lower(graph: Graph, options: LowerOptions, calibrate?: ReadonlyMap<string, Int8Target>): { model: Uint8Array; calibrated: string[] } {
  const e = new Emitter();
  const names = new Map<Value, string>();
  const keyOf = new Map([...graph.weights.values()].map((d) => [d.value, d.key]));
  const targets = options.int8?.targets ?? calibrate;
  const calibration: { key: string; input: string; output: string }[] | undefined = calibrate ? [] : undefined;
  const ctx: LoweringContext = {
    e, attention: options.attention ?? 'fused', name: (v) => nameOf(v), int8: options.int8, calibration,
    int8Target: (v) => {
      const key = keyOf.get(v);
      return key === undefined ? undefined : targets?.get(key);
    },
  };

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
    } else if (decl.dtype === 'float16' && (data.dtype === 'float32' || data.dtype === 'bfloat16' || data.dtype === 'float64')) {
      // computeDtype 'float16' (graph/compute-dtype.ts) on a float32 file: folded to a float16 copy.
      e.scope = decl.key;
      names.set(decl.value, e.op('Cast', [decl.key], { to: onnxDtype('float16') }));
    } else {
      throw new LatentlabError('WEIGHTS_DTYPE', `weight "${decl.key}" is ${data.dtype}; the graph needs ${decl.dtype}`, { key: decl.key });
    }
  }

  if (options.int8) declareInt8Weights(e, options.int8, options.location);
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

  calibration?.forEach(({ input, output }, i) => {
    const o = calibrationOutputs(i);
    for (const [name, x, op] of [[o.inMin, input, 'ReduceMin'], [o.inMax, input, 'ReduceMax'], [o.outMin, output, 'ReduceMin'], [o.outMax, output, 'ReduceMax']] as const) {
      e.nodes.push({ input: [reduceAll(e, x, op)], output: [name], name: `calibration/${name}`, op_type: 'Identity', attribute: [] });
      outputs.push(valueInfo(name, 'float32', []));
    }
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
  return { model: ModelProto.encode(ModelProto.fromObject(model)).finish(), calibrated: calibration?.map((c) => c.key) ?? [] };
}

/** The initializers of the int8 targets: int8 weights, float32 scales (external or inline) and zero points. */
function declareInt8Weights(e: Emitter, int8: Int8Lowering, location: (file: string) => string): void {
  for (const t of int8.targets.values()) {
    const w = int8.weights.get(t.key);
    if (!w) throw new LatentlabError('ONNX_LOWERING', `int8: no quantised weight for "${t.key}"`, { key: t.key });
    const n = int8Names(t.key);
    for (const [name, data] of [[n.q, w.q], [n.scales, w.scales]] as const) {
      if (isExternal(data)) e.external(name, data, location(data.file));
      else e.inline(name, data);
    }
    e.inline(n.zeros, new Tensor('int8', [t.shape[0]]));
  }
}
