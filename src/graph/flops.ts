// FLOP count of a graph: 2 × multiply-adds of convolutions, linears, matmuls and attention —
// the same convention as ../shared/anchors/performance.md, so benchmarks can report GFLOP/s and
// a fraction of the machine's peak. Memory-bound ops (norms, adds, softmax) count 0.

import { LatentlabError } from '../core/errors.js';
import { Dim, isStatic } from './dims.js';
import type { Graph, Node } from './graph.js';

function prod(dims: readonly Dim[]): number {
  return dims.reduce<number>((a, d) => a * (d as number), 1);
}

export function nodeFlops(node: Node): number {
  const [a, b] = node.inputs;
  const out = node.outputs[0];
  switch (node.op) {
    case 'linear': // [..., in] × [out, in]ᵀ
      return 2 * prod(out.shape) * (b.shape[1] as number);
    case 'matmul':
      return 2 * prod(out.shape) * (a.shape[a.rank - 1] as number);
    case 'conv2d': {
      const [, cPerGroup, kh, kw] = b.shape as number[];
      return 2 * prod(out.shape) * cPerGroup * kh * kw;
    }
    case 'attention': {
      // scores q·kᵀ: B·heads·Sq·Sk·d, then probs·v: B·heads·Sq·Sk·dv — per head widths sum to C.
      const [batch, sq, c] = a.shape as number[];
      const sk = b.shape[1] as number;
      const cv = node.inputs[2].shape[2] as number;
      return 2 * batch * sq * sk * (c + cv);
    }
    default:
      return 0;
  }
}

/** Total FLOPs of one evaluation; needs concrete shapes on the compute ops. */
export function graphFlops(graph: Graph): number {
  let total = 0;
  for (const node of graph.nodes) {
    const f = nodeFlops(node);
    if (f === 0) continue;
    if (!node.inputs.every((v) => isStatic(v.shape)) || !isStatic(node.outputs[0].shape)) {
      throw new LatentlabError('GRAPH_SYMBOLIC', `graph ${graph.name}: cannot count FLOPs of ${node.op} at "${node.scope}" with symbolic shapes`, {
        hint: 'build the graph with concrete sizes to count its FLOPs',
      });
    }
    total += f;
  }
  return total;
}
