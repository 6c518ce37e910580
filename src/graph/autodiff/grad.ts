// Reverse-mode automatic differentiation on a latentlab Graph.
//
//   const loss = op.reduceMean(op.abs(op.sub(blue, 0.9)), [0, 1, 2, 3], false);   // a scalar
//   const [dLatents] = grad(loss, [latents]);                                     // same graph
//   g.output('loss', loss); g.output('grad', dLatents);
//
// grad() appends the backward nodes to the graph that holds the forward, so one ONNX Runtime
// session computes the values and the gradients and frees each activation after its last use.
// It walks the nodes in reverse build order (a reverse topological order), asks each op's vjp
// (op-specs.ts) for the gradients of the inputs that lie on a path from `wrt` to the loss, and
// sums the contributions of values used more than once. Backward nodes are scoped
// "grad/<forward scope>", so profiles and errors say which module's backward they belong to.
// Gradients need concrete shapes (build the graph with concrete sizes); only float values are
// differentiable — ids, masks and comparisons never carry a gradient.

import { isFloat } from '../../core/dtype.js';
import { fmtShape, LatentlabError } from '../../core/errors.js';
import { isStatic } from '../dims.js';
import type { Node, NodeOf, Value } from '../graph.js';
import type { OpName } from '../op-types.js';
import { opSpec } from '../op-specs.js';
import * as op from '../ops/index.js';
import type { Vjp } from './common.js';

export interface GradOptions {
  /** d loss / d loss; default 1 (a cotangent of the loss's shape turns grad into a general vjp). */
  seed?: Value;
}

function describe(v: Value): string {
  return v.name ? `"${v.name}"` : `value ${v}`;
}

/**
 * d loss / d w for each w in `wrt` (graph inputs, weights or intermediate values), as new values
 * of the same graph. `loss` must be a float value with one element (or pass `seed`, a cotangent
 * of loss's shape, for a vector-Jacobian product).
 */
export function grad(loss: Value, wrt: readonly Value[], options: GradOptions = {}): Value[] {
  const g = loss.graph;
  const seed = options.seed ?? checkScalarLoss(loss);
  if (seed.graph !== g || fmtShape(seed.shape) !== fmtShape(loss.shape)) {
    throw new LatentlabError('GRAD_SEED', `grad: the seed ${seed} must be a value of the loss's graph with the loss's shape ${fmtShape(loss.shape)}`);
  }
  for (const w of wrt) {
    if (w.graph !== g) throw new LatentlabError('GRAD_INPUT', `grad: ${describe(w)} belongs to another graph than the loss`);
    if (!isFloat(w.dtype)) {
      throw new LatentlabError('GRAD_INPUT', `grad: ${describe(w)} has dtype ${w.dtype}, which has no gradient`, {
        key: w.name,
        hint: 'token ids, masks and indices are not differentiable; differentiate with respect to the float value they select (e.g. the embedding table or the embeddings)',
      });
    }
  }

  // Forward sweep: which values depend (differentiably) on a wrt value.
  const depends = new Set<Value>(wrt);
  const forward = g.nodes.slice(); // the backward appends to g.nodes; walk only the forward
  for (const n of forward) {
    if (n.inputs.some((v) => depends.has(v))) for (const o of n.outputs) if (isFloat(o.dtype)) depends.add(o);
  }
  if (!depends.has(loss)) {
    const names = wrt.map(describe).join(', ');
    throw new LatentlabError('GRAD_UNUSED', `grad: the loss ${loss} does not depend on ${names} through differentiable ops`, {
      hint: 'check that the loss is built from these values (and not only from their integer or boolean derivatives)',
    });
  }

  // Backward sweep.
  const grads = new Map<Value, Value>([[loss, seed]]);
  const accumulate = (v: Value, d: Value) => {
    const prev = grads.get(v);
    grads.set(v, prev ? op.add(prev, d) : d);
  };
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    const outGrads = n.outputs.map((o) => grads.get(o));
    if (outGrads.every((d) => d === undefined)) continue;
    const wants = n.inputs.map((v) => depends.has(v));
    if (!wants.some(Boolean)) continue;
    requireStatic(n);
    const rule = opSpec(n.op).vjp as Vjp<OpName>;
    const inGrads = g.scoped(`grad/${n.scope}`, () => rule(n as NodeOf<OpName>, outGrads, wants));
    n.inputs.forEach((v, j) => {
      const d = inGrads[j];
      if (wants[j] && d) accumulate(v, d);
    });
  }

  return wrt.map((w) => {
    const d = grads.get(w);
    if (!d) {
      throw new LatentlabError('GRAD_UNUSED', `grad: the loss does not depend on ${describe(w)}`, {
        key: w.name,
        hint: 'differentiate only with respect to values the loss is computed from',
      });
    }
    return d;
  });
}

/** A loss has one element; its seed is 1. */
function checkScalarLoss(loss: Value): Value {
  const ok = isFloat(loss.dtype) && isStatic(loss.shape) && loss.shape.every((d) => d === 1);
  if (!ok) {
    throw new LatentlabError('GRAD_LOSS', `grad: the loss must be one float number, got ${loss.dtype}${fmtShape(loss.shape)}`, {
      hint: 'reduce it first (e.g. op.reduceMean(x, allAxes, false)), or pass a seed of its shape for a vector-Jacobian product',
    });
  }
  return op.fill(loss.graph, loss.shape as number[], 1, loss.dtype);
}

function requireStatic(n: Node): void {
  const bad = [...n.inputs, ...n.outputs].find((v) => !isStatic(v.shape));
  if (bad) {
    throw new LatentlabError('GRAD_SYMBOLIC', `grad: ${n.op} at "${n.scope}" has the symbolic shape ${fmtShape(bad.shape)}`, {
      hint: 'build the graph with concrete sizes (e.g. batch: 1) before differentiating it',
    });
  }
}
