// Fresh weights for training from scratch, as PyTorch's modules initialise themselves (torch 1.13
// reset_parameters), so a latentlab network starts where a diffusers one would:
//
//   Linear / Conv2d weight   kaiming_uniform(a = √5)  = U(−1/√fan_in, 1/√fan_in), fan_in = in · k · k
//   their bias               U(−1/√fan_in, 1/√fan_in)  (fan_in of the weight beside it)
//   GroupNorm / LayerNorm    weight 1, bias 0
//   CLIP embeddings          N(0, 0.02²) for tokens, N(0, 0.01²) for positions (CLIPPreTrainedModel._init_weights)
//
// Each tensor draws from its own generator seeded by (seed, key), so adding a layer does not
// change the others' values.

import { Generator, keySeed } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { Graph } from '../graph/graph.js';

const isNorm = (key: string) => /(norm[^.]*|ln_\w+)\.(weight|bias)$/.test(key);

/** One weight's initial values; `fanIn` is the weight matrix's for a bias (0: not a bias). */
export function initialWeight(key: string, shape: readonly number[], seed: number, biasFanIn = 0): Tensor<'float32'> {
  const t = new Tensor('float32', shape);
  const g = new Generator(keySeed(seed, key));
  if (isNorm(key)) {
    if (key.endsWith('.weight')) t.data.fill(1);
    return t;
  }
  if (key.endsWith('token_embedding.weight') || key.endsWith('position_embedding.weight')) {
    const std = key.endsWith('token_embedding.weight') ? 0.02 : 0.01;
    const n = g.randn([t.data.length]).data;
    for (let i = 0; i < n.length; i++) t.data[i] = n[i] * std;
    return t;
  }
  const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : biasFanIn;
  if (fanIn === 0) return t;
  const bound = 1 / Math.sqrt(fanIn);
  const u = g.rand([t.data.length]).data;
  for (let i = 0; i < u.length; i++) t.data[i] = (2 * u[i] - 1) * bound;
  return t;
}

/** Initial values of every weight `graph` declares (biases get their weight's fan-in). */
export function initialWeights(graph: Graph, seed: number): Map<string, Tensor<'float32'>> {
  const decls = [...graph.weights.values()];
  const shapes = new Map(decls.map((w) => [w.key, w.shape as readonly number[]]));
  const out = new Map<string, Tensor<'float32'>>();
  for (const w of decls) {
    const sibling = w.key.endsWith('.bias') ? shapes.get(`${w.key.slice(0, -'.bias'.length)}.weight`) : undefined;
    const fan = sibling && sibling.length > 1 ? sibling.slice(1).reduce((a, b) => a * b, 1) : 0;
    out.set(w.key, initialWeight(w.key, w.shape as readonly number[], seed, fan));
  }
  return out;
}
