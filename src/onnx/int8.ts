// int8 lowering (CompileOptions.precision 'int8'): which ops are quantised, and how they are spelled
// in ONNX's QDQ form — QuantizeLinear/DequantizeLinear around the float op, which ONNX Runtime's CPU
// provider fuses into integer kernels at optimisation level ≥ extended.
//
//   conv2d, static:   x ─Q(sx,zx)─DQ─┐
//                     Wq ──DQ(axis 0)─┴─ Conv(+b) ─Q(sy,zy)─DQ─ y       → QLinearConv (U8S8, VNNI)
//   linear, dynamic:  x ─DynamicQuantizeLinear─ MatMulInteger(Wqᵀ [in, out]) ─Cast─·(sx·s_w)─ + b
//                                                                       → DynamicQuantizeMatMul
//   linear, static:   as conv, around MatMul on DQ(Wqᵀ, axis 1)         → QLinearMatMul
//
// Weights are symmetric per output channel (core/quantize.ts), made once and kept on disk by the
// platform (platform/node/int8-cache.ts); linears keep theirs transposed to [in, out] so MatMul needs
// no Transpose. Activations of static ops use ranges measured on calibration inputs (the calibration
// model: the fp32 graph plus ReduceMin/ReduceMax of each target's input and output). What stays fp32,
// and why: attention (softmax inside MultiHeadAttention), the norms, the elementwise ops, and every
// conv/linear too small to pay for the quantise/dequantise around it (`int8Targets`): conv_in (4
// input channels), conv_out (4 outputs), the time-embedding linears (one row per batch item), and
// LoRA factors (kept exact; they are small).

import { activationParams, type ActivationRange } from '../core/quantize.js';
import { Tensor } from '../core/tensor.js';
import type { WeightData } from '../core/external.js';
import type { Graph, NodeOf } from '../graph/graph.js';
import type { Emitter } from './emitter.js';

export type Int8Family = 'conv2d' | 'linear';
export type Int8Activations = 'static' | 'dynamic';

/** A quantised op: the node's weight (checkpoint key) and how its activations are quantised. */
export interface Int8Target {
  key: string;
  family: Int8Family;
  activations: Int8Activations;
  /** The weight's shape as declared (linears: [out, in]). */
  shape: readonly number[];
}

/**
 * The measured choice per op family (docs/benchmarks.md#int8): convs static (QLinearConv; ONNX
 * Runtime has no fast dynamic conv), linears dynamic (no calibration needed; see the table there).
 */
export const INT8_ACTIVATIONS: Readonly<Record<Int8Family, Int8Activations>> = { conv2d: 'static', linear: 'dynamic' };

/** Smallest reduction length / output width / rows worth quantising. */
const MIN_SIZE = 64;
const LORA_FACTOR = /\.lora\.\d+\.(down|up)$/;

/** The convs and linears of `graph` to run in int8, with their weight keys (each weight once). */
export function int8Targets(graph: Graph, activations: Readonly<Record<Int8Family, Int8Activations>> = INT8_ACTIVATIONS, exclude: ReadonlySet<string> = new Set()): Int8Target[] {
  const keyOf = new Map([...graph.weights.values()].map((d) => [d.value, d.key]));
  const targets = new Map<string, Int8Target>();
  for (const node of graph.nodes) {
    if (node.op !== 'conv2d' && node.op !== 'linear') continue;
    const key = keyOf.get(node.inputs[1]);
    if (key === undefined || exclude.has(key) || LORA_FACTOR.test(key)) continue;
    const shape = node.inputs[1].shape as number[];
    if (node.op === 'conv2d') {
      const n = node as NodeOf<'conv2d'>;
      if (n.attrs.groups !== 1 || shape[0] < MIN_SIZE || shape[1] * shape[2] * shape[3] < MIN_SIZE) continue;
    } else {
      const x = node.inputs[0].shape;
      const rows = x.slice(0, -1).reduce<number>((a, d) => a * (typeof d === 'number' ? d : MIN_SIZE), 1);
      if (shape[0] < MIN_SIZE || shape[1] < MIN_SIZE || rows < MIN_SIZE) continue;
    }
    targets.set(key, { key, family: node.op, activations: activations[node.op], shape });
  }
  return [...targets.values()];
}

/** A target's int8 weight and per-channel scales (linears: transposed to [in, out]). */
export interface Int8Weight {
  q: WeightData;
  scales: WeightData;
}

/** What lowerToOnnx needs to emit the QDQ form. */
export interface Int8Lowering {
  targets: ReadonlyMap<string, Int8Target>;
  weights: ReadonlyMap<string, Int8Weight>;
  /** Calibrated ranges of each static target's input and output. */
  ranges: ReadonlyMap<string, { input: ActivationRange; output: ActivationRange }>;
}

/** The initializer names of a target's int8 weight, scales and zero points. */
export const int8Names = (key: string) => ({ q: `${key}.int8`, scales: `${key}.int8_scales`, zeros: `${key}.int8_zeros` });

/** DequantizeLinear of the target's int8 weight (declared as initializers by the caller). */
export function dequantizedWeight(e: Emitter, t: Int8Target): string {
  const n = int8Names(t.key);
  return e.op('DequantizeLinear', [n.q, n.scales, n.zeros], { axis: t.family === 'linear' ? 1 : 0 });
}

/** Q → DQ of x with asymmetric uint8 parameters for `range` (ONNX Runtime folds the pair into the integer op). */
export function quantDequant(e: Emitter, x: string, range: ActivationRange): string {
  const { scale, zeroPoint } = activationParams(range);
  const s = e.float(scale);
  const zp = e.constant(new Tensor('uint8', [], Uint8Array.of(zeroPoint)), 'zp');
  return e.op('DequantizeLinear', [e.op('QuantizeLinear', [x, s, zp]), s, zp]);
}

/**
 * x [rows, in] · W → [rows, out] with x quantised to uint8 on its own range at each run:
 * DynamicQuantizeLinear → MatMulInteger (on the int8 [in, out] weight) → Cast → · (sx · s_w).
 * ONNX Runtime fuses the four into com.microsoft.DynamicQuantizeMatMul (U8S8, VNNI). Measured ~2.5×
 * faster than the same maths in QDQ form (DQ → MatMul, fused to MatMulIntegerToFloat): the table in
 * docs/benchmarks.md#int8.
 */
export function dynamicMatMul(e: Emitter, x: string, t: Int8Target): string {
  const n = int8Names(t.key);
  const [q, s, zp] = e.node('DynamicQuantizeLinear', [x], {}, 3);
  const acc = e.op('MatMulInteger', [q, n.q, zp, n.zeros]); // int32 [rows, out]
  return e.op('Mul', [e.op('Cast', [acc], { to: 1 }), e.op('Mul', [s, n.scales])]);
}

/** The calibration outputs of a target: ReduceMin/ReduceMax of its input and output. */
export const calibrationOutputs = (i: number) => ({ inMin: `calib.${i}.in_min`, inMax: `calib.${i}.in_max`, outMin: `calib.${i}.out_min`, outMax: `calib.${i}.out_max` });

export function reduceAll(e: Emitter, x: string, op: 'ReduceMin' | 'ReduceMax'): string {
  return e.op(op, [x], { keepdims: 0 });
}
