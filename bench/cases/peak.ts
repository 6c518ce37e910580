// The peak probe: how many GFLOP/s this machine gives ONNX Runtime on its best-case kernel, so
// every other result can be read as a fraction of what is reachable here, measured in the same run.
//
// A chain of three 3×3 convolutions 320→320 on 2×320×64×64 — SD 1.5's most common big op —
// compiled at optimisation level 'all' (NCHWc convolution kernels; ~200–230 GFLOP/s on the
// 2-core AVX-512 machines of ../shared/anchors/onnxruntime-facts.md against a 231 GFLOP/s FMA
// loop). The chain makes the input feed negligible, and only one output element is copied back.

import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { BenchCase, graphCase, noise, oneElement } from '../lib/case.js';

const DEPTH = 3;
const [N, C, H, W] = [2, 320, 64, 64];

export const peakProbe: BenchCase = graphCase(
  { name: 'peak', what: `peak probe: ${DEPTH}× conv 3×3, level all`, shape: `${N}×${C}×${H}×${W} → ${C}`, runs: 12 },
  () => {
    const g = new Graph('peak-probe');
    const weights = new Map();
    let h = g.input('x', 'float32', [N, C, H, W]);
    for (let i = 0; i < DEPTH; i++) {
      const key = `convs.${i}`;
      // std 1/√fan_in keeps activations O(1) along the chain (no denormals).
      weights.set(`${key}.weight`, noise([C, C, 3, 3], 1 / Math.sqrt(C * 9), 10 + i));
      weights.set(`${key}.bias`, noise([C], 0.1, 20 + i));
      h = op.conv2d(h, g.weight(`${key}.weight`, [C, C, 3, 3]), g.weight(`${key}.bias`, [C]), { padding: 1 });
    }
    g.output('y', oneElement(h));
    return { graph: g, weights, feeds: { x: noise([N, C, H, W], 1, 1) }, options: { optimizationLevel: 'all' } };
  },
);
