// What a lowering rule sees: the emitter, the attention implementation and the ONNX names of the
// graph values. Shared by lower-ops.ts and lower-attention.ts (kept apart so neither imports the other).

import type { NodeOf, Value } from '../graph/graph.js';
import type { OpName } from '../graph/op-types.js';
import type { Emitter } from './emitter.js';
import type { Int8Lowering, Int8Target } from './int8.js';

export interface LoweringContext {
  e: Emitter;
  attention: 'fused' | 'plain';
  name(v: Value): string;
  /** The int8 target whose weight is `v` (precision 'int8'), or undefined: lower in float32. */
  int8Target(v: Value): Int8Target | undefined;
  int8?: Int8Lowering;
  /** Calibration mode: each int8 target records the ONNX names of its float input and output here. */
  calibration?: { key: string; input: string; output: string }[];
}

/** Lowers one node of op K; returns the ONNX names of its outputs, in order. */
export type Lowering<K extends OpName> = (ctx: LoweringContext, node: NodeOf<K>) => string[];
