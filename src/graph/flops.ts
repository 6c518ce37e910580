// FLOP count of a graph, from each op's rule in op-specs.ts: 2 × multiply-adds of convolutions,
// linears, matmuls and attention (the convention of ../shared/anchors/performance.md, so
// benchmarks can report GFLOP/s and a fraction of the machine's peak); memory-bound ops count 0.

import { LatentlabError } from '../core/errors.js';
import { isStatic } from './dims.js';
import type { Graph, Node, NodeOf } from './graph.js';
import type { OpName } from './op-types.js';
import { opSpec } from './op-specs.js';

export function nodeFlops(node: Node): number {
  // TypeScript cannot pair opSpec(op) with the node's own K; the table is exhaustive by type.
  return (opSpec(node.op).flops as (n: NodeOf<OpName>) => number)(node);
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
