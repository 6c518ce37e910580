// LoRA as a low-rank branch in the graph (Hu et al. 2021; kohya-ss's networks/lora.py applies it the
// same way, unmerged): a layer with weight W gets
//
//   y = x·Wᵀ + b + s·((x·Aᵀ)·Bᵀ)          A = lora_down [r, in], B = lora_up [out, r], s = weight·α/r
//
// and a conv layer (LoCon) runs A as a conv with the layer's own kernel, stride and padding and B as a
// 1×1 conv. W stays where it is in the checkpoint and A, B where they are in the LoRA file (graph
// weights under `<module>.lora.<i>.down` / `.up`): no merged copy of W is made. Several LoRAs on
// one module are several branches.
//
// The plan is in effect while a graph is built (`withLoraPlan`), so the model builders stay unaware of
// LoRA: nn.linear / nn.conv2d look their module path up here.

import type { Value } from '../graph/graph.js';
import type { Module } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import type { Conv2dOptions } from '../graph/ops/index.js';

/** One LoRA on one module: the factor shapes as stored and the scale s = weight · α / r. */
export interface LoraBranch {
  readonly downShape: readonly number[];
  readonly upShape: readonly number[];
  readonly scale: number;
}

/** Module path ("down_blocks.0.attentions.0.proj_in") → its branches, in order. */
export type LoraPlan = ReadonlyMap<string, readonly LoraBranch[]>;

let current: LoraPlan | undefined;

/** Builds with `plan` in effect (graph building is synchronous, so the plan cannot leak). */
export function withLoraPlan<T>(plan: LoraPlan | undefined, build: () => T): T {
  const before = current;
  current = plan;
  try {
    return build();
  } finally {
    current = before;
  }
}

/** The graph-weight keys of branch i of a module. */
export function loraKeys(modulePath: string, i: number): { down: string; up: string } {
  return { down: `${modulePath}.lora.${i}.down`, up: `${modulePath}.lora.${i}.up` };
}

/** y + Σ s·up(down(x)) for a linear module (nothing when no LoRA targets it). */
export function addLinearLora(m: Module, x: Value, y: Value): Value {
  const branches = current?.get(m.path);
  if (!branches) return y;
  let out = y;
  branches.forEach((b, i) => {
    const k = loraKeys(m.path, i);
    const down = m.graph.weight(k.down, b.downShape); // [r, in]
    const up = m.graph.weight(k.up, b.upShape); // [out, r]
    out = op.add(out, op.mul(op.linear(op.linear(x, down), up), b.scale)); // [..., out]
  });
  return out;
}

/** y + Σ s·up(down(x)) for a conv module: down with the layer's stride/padding, up 1×1. */
export function addConvLora(m: Module, x: Value, y: Value, options: Conv2dOptions): Value {
  const branches = current?.get(m.path);
  if (!branches) return y;
  let out = y;
  branches.forEach((b, i) => {
    const k = loraKeys(m.path, i);
    const down = m.graph.weight(k.down, b.downShape); // [r, in, k, k]
    const up = m.graph.weight(k.up, b.upShape); // [out, r, 1, 1]
    const h = op.conv2d(x, down, undefined, { stride: options.stride, padding: options.padding, dilation: options.dilation }); // [B, r, h', w']
    out = op.add(out, op.mul(op.conv2d(h, up), b.scale)); // [B, out, h', w']
  });
  return out;
}
