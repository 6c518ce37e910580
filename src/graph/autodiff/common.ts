// What the vector-Jacobian products share: the rule type, reducing a broadcast gradient back to
// an operand's shape, and zeros for outputs no gradient reached.

import { LatentlabError } from '../../core/errors.js';
import type { NodeOf, Value } from '../graph.js';
import { staticShape } from '../dims.js';
import type { OpName } from '../op-types.js';
import * as op from '../ops/index.js';

/**
 * The vjp of op K: given the node, the gradient of the loss w.r.t. each output (undefined where
 * none reached it) and which inputs need one, returns d loss / d input for each input (undefined
 * where not wanted or not differentiable). Rules build the backward with the ordinary ops, so
 * backward nodes are shape-checked, lowered and FLOP-counted like any other.
 */
export type Vjp<K extends OpName> = (node: NodeOf<K>, grads: readonly (Value | undefined)[], wants: readonly boolean[]) => readonly (Value | undefined)[];

/** Rules for a family of ops; graph/op-specs.ts joins the families into one exhaustive table. */
export type VjpTable<Ks extends OpName> = { readonly [K in Ks]: Vjp<K> };

/** A rule for ops whose outputs are never differentiable (comparisons, constants). */
export const noGradient: Vjp<OpName> = (node) => node.inputs.map(() => undefined);

/** The gradient of output i, or zeros when no gradient reached it (e.g. an unused split part). */
export function gradOrZeros(node: { outputs: readonly Value[] }, grads: readonly (Value | undefined)[], i: number): Value {
  const g = grads[i];
  if (g) return g;
  const v = node.outputs[i];
  return op.fill(v.graph, staticShape(v.shape, 'a zero gradient'), 0, v.dtype);
}

/**
 * Sums a gradient g (the broadcast result's shape) down to `shape`: over the leading dims the
 * operand did not have and over the dims where it had size 1 (numpy broadcasting, read backwards).
 */
export function sumToShape(g: Value, shape: readonly (number | string)[]): Value {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? op.reduceSum(g, axes, true) : g;
  return op.reshape(summed, shape);
}

/** Both broadcast operands' gradients from their product rules. */
export function broadcastGrads(node: { inputs: readonly Value[] }, wants: readonly boolean[], rules: readonly ((() => Value) | undefined)[]): (Value | undefined)[] {
  return node.inputs.map((x, i) => (wants[i] && rules[i] ? sumToShape(rules[i](), x.shape) : undefined));
}

export function unsupported(what: string, scope: string, hint: string): LatentlabError {
  return new LatentlabError('GRAD_UNSUPPORTED', `cannot differentiate ${what} (at "${scope}")`, { key: scope || undefined, hint });
}

/** Swaps the last two axes: [..., M, K] → [..., K, M]. */
export function transposeLast(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return op.transpose(x, perm);
}
