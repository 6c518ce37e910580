// Shared pieces of the op builders: shape errors and scalar operands.

import { fmtShape, LatentlabError } from '../../core/errors.js';
import { Tensor } from '../../core/tensor.js';
import type { Value } from '../graph.js';

/** A shape-inference failure: names the op, the module path being built and every input shape. */
export function shapeError(op: string, inputs: readonly Value[], detail: string): LatentlabError {
  const g = inputs[0]?.graph;
  const where = g?.scope ? ` at "${g.scope}"` : '';
  const shapes = inputs.map((v) => `${v.name ? `${v.name} ` : ''}${v.dtype}${fmtShape(v.shape)}`).join(', ');
  return new LatentlabError('GRAPH_SHAPE', `${op}${where}: ${detail} (inputs: ${shapes})`, { key: g?.scope || undefined });
}

export type Operand = Value | number;

/** Turns a JS number into a scalar constant of `like`'s dtype (rounded to float32 like torch). */
export function operand(x: Operand, like: Value): Value {
  if (typeof x !== 'number') return x;
  const g = like.graph;
  switch (like.dtype) {
    case 'float32':
      return g.constant(Tensor.float32([], [x]));
    case 'int64':
      return g.constant(Tensor.int64([], [x]));
    default:
      throw shapeError('constant', [like], `a number operand needs a float32 or int64 partner, not ${like.dtype}`);
  }
}

/** The first Value among operands (the one that fixes the graph and dtype). */
export function firstValue(op: string, xs: readonly Operand[]): Value {
  const v = xs.find((x): x is Value => typeof x !== 'number');
  if (!v) throw new LatentlabError('GRAPH_SHAPE', `${op}: at least one operand must be a graph value, got only numbers`);
  return v;
}
