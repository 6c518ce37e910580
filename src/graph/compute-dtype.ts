// A graph rewritten to compute in float16 (CompileOptions.computeDtype 'float16'), for devices with
// float16 arithmetic (WebGPU with shader-f16, GPUs): the weights stay 16-bit in memory instead of
// the float32 copy ONNX Runtime folds out of the lowering's Cast after each float16 weight.
//
// The rules, node by node in build order (the graph's interface does not change: float32 inputs
// and outputs stay float32, so callers feed and read what they always did):
//
//   - every float32 weight is declared float16 (a float16 file is then used as it is; a float32 one
//     gets a Cast to float16, folded once at session creation: half the memory);
//   - a node runs in float32 when no input depends on a weight — the timestep embedding's
//     sin/cos(t·f) with t up to 999, masks, position ids: diffusers too computes these in float32
//     and casts the result — or when it is a normalisation, softmax or reduction (GroupNorm,
//     LayerNorm, Softmax, ReduceMean/Sum): their sums of squares and exponentials overflow float16's
//     range (65504) or lose its 11 bits; diffusers' fp16 kernels accumulate them in float32 too;
//   - every other node (convolutions, linears, attention, elementwise) runs in float16;
//   - a float value crossing between the two is cast where it is consumed (once per value and
//     type), and each graph output is cast back to its declared type.

import type { DType } from '../core/dtype.js';
import { Graph, type Node, type Value } from './graph.js';
import type { OpName } from './op-types.js';

/** Ops that stay float32 whatever their inputs (see the header). */
const FLOAT32_OPS: ReadonlySet<OpName> = new Set<OpName>(['groupNorm', 'layerNorm', 'softmax', 'reduceMean', 'reduceSum']);

const isFloat = (d: DType) => d === 'float32' || d === 'float16';

/** `graph` computing in float16 (see the header); the graph itself is not changed. */
export function toFloat16Compute(graph: Graph): Graph {
  const g = new Graph(graph.name);
  const mapped = new Map<Value, Value>();
  const weighted = new Set<Value>(); // old values that depend on a weight
  const casts = new Map<Value, Map<DType, Value>>();

  /** The new value of `old`, cast to `dtype` if it is a float of another float type. */
  const as = (old: Value, dtype: DType): Value => {
    const v = mapped.get(old)!;
    if (!isFloat(v.dtype) || v.dtype === dtype) return v;
    const byType = casts.get(v) ?? new Map<DType, Value>();
    casts.set(v, byType);
    let c = byType.get(dtype);
    if (!c) {
      c = g.addNode('cast', [v], { to: dtype }, [{ dtype, shape: v.shape }])[0];
      byType.set(dtype, c);
    }
    return c;
  };

  for (const v of graph.inputs) mapped.set(v, g.input(v.name!, v.dtype, v.shape));
  for (const w of graph.weights.values()) {
    mapped.set(w.value, g.weight(w.key, w.shape, { dtype: w.dtype === 'float32' ? 'float16' : w.dtype, origin: w.origin }));
    weighted.add(w.value);
  }
  for (const [v, t] of graph.constants) mapped.set(v, g.constant(t));

  for (const node of graph.nodes) {
    const usesWeights = node.inputs.some((v) => weighted.has(v));
    const compute: DType = usesWeights && !FLOAT32_OPS.has(node.op) ? 'float16' : 'float32';
    const retype = (d: DType): DType => (d === 'float32' ? compute : d);
    const outs = g.scoped(node.scope, () => {
      // Float inputs arrive in the node's compute type; the others (ids, masks, bools) as they are.
      const inputs = node.inputs.map((v) => (v.dtype === 'float32' ? as(v, compute) : mapped.get(v)!));
      const attrs = node.op === 'cast' || node.op === 'fill' ? retypeAttrs(node, retype) : node.attrs;
      return g.addNode(node.op, inputs, attrs as never, node.outputs.map((o) => ({ dtype: retype(o.dtype), shape: o.shape })));
    });
    node.outputs.forEach((o, i) => {
      mapped.set(o, outs[i]);
      if (usesWeights) weighted.add(o);
    });
  }
  for (const { name, value } of graph.outputs) g.output(name, as(value, value.dtype));
  return g;
}

function retypeAttrs(node: Node, retype: (d: DType) => DType): Node['attrs'] {
  if (node.op === 'cast') return { to: retype(node.attrs.to) };
  if (node.op === 'fill') return { ...node.attrs, dtype: retype(node.attrs.dtype) };
  return node.attrs;
}
