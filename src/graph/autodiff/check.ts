// Gradient checking: compares grad()'s analytic gradients with central finite differences.
//
// The checked function f (any graph built from latentlab ops) is reduced to the scalar
// L = Σ f(x) ⊙ R with a fixed random cotangent R, accumulated in float64 (Cast → Mul → ReduceSum),
// so the difference quotient (L(x + ε·e_j) − L(x − ε·e_j)) / 2ε is not drowned in float32
// rounding of the sum. Coordinates j are drawn at random (seeded) from each tensor checked; weights
// are checked by feeding them as inputs (CompileOptions.trainable), one compiled session for all runs.

import { LatentlabError } from '../../core/errors.js';
import { isExternal, WeightData } from '../../core/external.js';
import { Generator } from '../../core/random.js';
import { Tensor } from '../../core/tensor.js';
import { Graph, Module, Value } from '../graph.js';
import { CompileOptions, runtime } from '../runtime.js';
import * as op from '../ops/index.js';
import { grad } from './grad.js';

export interface GradCheckSpec {
  /** Graph inputs by name (float32 tensors are perturbed if named in `wrt`). */
  inputs: Readonly<Record<string, Tensor>>;
  /** Weight data by checkpoint key (in memory or in a file), for weights the graph declares. */
  weights?: ReadonlyMap<string, WeightData>;
  /** Input names and weight keys to check. */
  wrt: readonly string[];
  /**
   * f: either built on fresh graph inputs named like `inputs` (weights declared inside with
   * Module/graph.weight as usual), or an existing graph (a model builder's) and the name of its output.
   */
  build: ((g: Graph, inputs: Readonly<Record<string, Value>>) => Value) | { graph: Graph; output: string };
}

export interface GradCheckOptions {
  /** Coordinates sampled per checked tensor (default 12). */
  coordinates?: number;
  /** Finite-difference step (default 1e-2: the float32 forward's rounding dominates below that). */
  epsilon?: number;
  seed?: number;
  compile?: CompileOptions;
}

export interface GradCheckEntry {
  name: string;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradCheckReport {
  entries: GradCheckEntry[];
  /** max |analytic − numeric| / max(|analytic|, |numeric|) over each tensor's sampled coordinates, per name. */
  relError: Record<string, number>;
  /** The largest relError. */
  maxRelError: number;
}

/** Runs the check; the caller asserts on `maxRelError` (or inspects `entries`). */
export async function checkGradients(spec: GradCheckSpec, options: GradCheckOptions = {}): Promise<GradCheckReport> {
  const { coordinates = 12, epsilon = 1e-2, seed = 0 } = options;
  const { g, y, inputs } = checkedFunction(spec);
  const gen = new Generator(seed);
  const r = g.constant(toFloat64(gen.randn(y.shape as number[]))); // R, the fixed cotangent
  const loss = op.reduceSum(op.mul(op.cast(y, 'float64'), r), y.shape.map((_, i) => i), false);
  const wrtValues = spec.wrt.map((name) => inputs[name] ?? g.weights.get(name)?.value ?? missing(name));
  const grads = grad(loss, wrtValues);
  g.output('loss', loss);
  grads.forEach((d, i) => g.output(`grad_${i}`, d));

  const weights = new Map(spec.weights ?? []);
  const trainable = spec.wrt.filter((name) => !(name in spec.inputs));
  const feeds: Record<string, Tensor> = { ...spec.inputs };
  for (const key of trainable) feeds[key] = weightTensor(weights, key);
  const compiled = await runtime().compile(g, weights, { ...options.compile, trainable });
  try {
    const base = await compiled.run(feeds);
    const entries: GradCheckEntry[] = [];
    const relError: Record<string, number> = {};
    for (const [i, name] of spec.wrt.entries()) {
      const analytic = base[`grad_${i}`].toFloat32();
      const x = feeds[name].toFloat32();
      let worst = 0;
      let scale = 0;
      const picked: GradCheckEntry[] = [];
      for (const j of pick(gen, x.data.length, coordinates)) {
        const at = async (delta: number) => {
          const moved = x.clone();
          moved.data[j] += delta;
          const out = await compiled.run({ ...feeds, [name]: moved }, ['loss']);
          return Number(out.loss.data[0]);
        };
        // The step actually taken in float32 (x + ε is rounded).
        const up = Math.fround(x.data[j] + epsilon) - x.data[j];
        const down = x.data[j] - Math.fround(x.data[j] - epsilon);
        const numeric = ((await at(up)) - (await at(-down))) / (up + down);
        picked.push({ name, index: j, analytic: analytic.data[j], numeric });
        scale = Math.max(scale, Math.abs(analytic.data[j]), Math.abs(numeric));
      }
      for (const e of picked) worst = Math.max(worst, Math.abs(e.analytic - e.numeric) / (scale || 1));
      relError[name] = worst;
      entries.push(...picked);
    }
    return { entries, relError, maxRelError: Math.max(0, ...Object.values(relError)) };
  } finally {
    await compiled.release();
  }
}

/** The graph, f's output and the graph inputs by name. */
function checkedFunction(spec: GradCheckSpec): { g: Graph; y: Value; inputs: Record<string, Value> } {
  const { build } = spec;
  if (typeof build === 'function') {
    const g = new Graph('grad-check');
    const inputs = Object.fromEntries(Object.entries(spec.inputs).map(([name, t]) => [name, g.input(name, t.dtype, t.shape)]));
    return { g, y: new Module(g).build(() => build(g, inputs)), inputs };
  }
  const out = build.graph.outputs.find((o) => o.name === build.output);
  if (!out) throw new LatentlabError('GRAD_INPUT', `checkGradients: the graph has no output "${build.output}"`, { hint: `outputs: ${build.graph.outputs.map((o) => o.name).join(', ')}` });
  const inputs = Object.fromEntries(build.graph.inputs.map((v) => [v.name!, v]));
  return { g: build.graph, y: out.value, inputs };
}

function toFloat64(t: Tensor<'float32'>): Tensor<'float64'> {
  return new Tensor('float64', t.shape, Float64Array.from(t.data));
}

function missing(name: string): never {
  throw new LatentlabError('GRAD_INPUT', `checkGradients: "${name}" is neither an input nor a weight the builder declared`);
}

/** A checked weight is perturbed in memory, so its data must be a host tensor. */
function weightTensor(weights: ReadonlyMap<string, WeightData>, key: string): Tensor<'float32'> {
  const data = weights.get(key);
  if (!data || isExternal(data)) {
    throw new LatentlabError('GRAD_INPUT', `checkGradients: weight "${key}" needs its values in memory, got ${data ? 'a file reference' : 'nothing'}`, {
      key,
      hint: 'pass weights.set(key, await readWeight(ref)) for each checked weight',
    });
  }
  return data.toFloat32();
}

/** `count` distinct indices in [0, n) (all of them when n ≤ count), seeded. */
function pick(gen: Generator, n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const chosen = new Set<number>();
  const u = gen.rand([count * 4]).data;
  for (const v of u) {
    chosen.add(Math.min(n - 1, Math.floor(v * n)));
    if (chosen.size === count) break;
  }
  return [...chosen];
}
