// A tiny diffusers-named model for the external-data tests: conv_in (3→4, 3×3) → SiLU → tokens →
// proj_out (4→5). Its bias sizes are chosen so that in a 16-bit file proj_out.weight starts at an
// offset ≡ 2 (mod 4), the case the facts file measured as still zero-copy.

import type { Tensor } from '../../src/core/tensor.js';
import { Graph, Module } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { fromTensor, map, sigmoid, transpose } from '../graph/reference.js';
import * as nn from '../graph/reference-nn.js';

export const WEIGHT_SHAPES: Readonly<Record<string, readonly number[]>> = {
  'conv_in.weight': [4, 3, 3, 3],
  'conv_in.bias': [4],
  'proj_out.weight': [5, 4],
  'proj_out.bias': [5],
};

/** x [2, 3, 6, 6] → y [2, 36, 5]. */
export function buildModel(): Graph {
  const g = new Graph('tiny-unet');
  const root = new Module(g);
  const x = g.input('x', 'float32', [2, 3, 6, 6]);
  const conv = root.child('conv_in');
  const h = conv.build(() => op.conv2d(x, conv.weight('weight', WEIGHT_SHAPES['conv_in.weight']), conv.weight('bias', [4]), { padding: 1 })); // [2, 4, 6, 6]
  const tokens = op.transpose(op.reshape(op.silu(h), [2, 4, 36]), [0, 2, 1]); // [2, 36, 4]
  const proj = root.child('proj_out');
  g.output('y', proj.build(() => op.linear(tokens, proj.weight('weight', [5, 4]), proj.weight('bias', [5])))); // [2, 36, 5]
  return g;
}

/** The same computation as plain float64 loops. */
export function referenceOutput(x: Tensor, weights: ReadonlyMap<string, Tensor>): Float64Array {
  const w = (k: string) => fromTensor(weights.get(k)!);
  const h = nn.conv2d(fromTensor(x), w('conv_in.weight'), w('conv_in.bias'), { stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 });
  const act = map(h, (v) => v * sigmoid(v));
  const tokens = transpose({ shape: [2, 4, 36], data: act.data }, [0, 2, 1]);
  return nn.linear(tokens, w('proj_out.weight'), w('proj_out.bias')).data;
}
