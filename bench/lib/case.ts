// What a benchmark case is, and the helper that turns a graph into one.
//
// A case prepares a workload once (build, load, compile — reported as createMs) and then runs it
// many times. Op micro-benchmarks are single graphs (`graphCase`); model benchmarks (text
// encoder, UNet, VAE, a whole txt2img) implement `prepare` themselves and report their own FLOPs,
// so they plug into the same runner and table.

import '../../src/platform/node/index.js';

import type { WeightData } from '../../src/core/external.js';
import { Tensor } from '../../src/core/tensor.js';
import { graphFlops } from '../../src/graph/flops.js';
import type { Graph, Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { CompileOptions, runtime } from '../../src/graph/runtime.js';

export interface Prepared {
  /**
   * One timed unit of work. If it returns a number, that is the run's time in ms (for cases that
   * time something else than the call, e.g. a child process's own start-up clock).
   */
  run(): Promise<void | number>;
  /** FLOPs of one run (2 × multiply-adds, as graph/flops.ts counts them); 0 for memory-bound work. */
  flops: number;
  /** Time to get ready to run (session creation for a graph), ms. */
  createMs: number;
  release(): Promise<void>;
  /** Peak RSS to report instead of this process's (a case that measures a child process), over the last `timedRuns` runs. */
  peakRssMb?(timedRuns: number): number;
  /** Ends ONNX Runtime profiling (when prepared with profileFilePrefix) and returns the file. */
  endProfiling?(): string | undefined;
}

export interface BenchCase {
  /** Unique id for --only (kebab-case). */
  name: string;
  /** What is measured, for the table. */
  what: string;
  /** The shapes involved, for the table. */
  shape: string;
  /** Timed runs unless --runs says otherwise (default 5). */
  runs?: number;
  /** Untimed runs first unless --warmup says otherwise (default 1: the first run grows the arena). */
  warmup?: number;
  /** Measure in a fresh process when other cases run too (model cases: their peak RSS must be their own). */
  isolate?: boolean;
  /** Untimed one-off work before prepare, outside the RSS window (writing the random model folder). */
  setup?(): Promise<void>;
  /** `options`: extra compile options for its sessions (bench/profile.ts passes profileFilePrefix). */
  prepare(options?: CompileOptions): Promise<Prepared>;
}

export interface GraphWorkload {
  graph: Graph;
  weights?: ReadonlyMap<string, WeightData>;
  feeds: Record<string, Tensor>;
  options?: CompileOptions;
}

/** A case that compiles one graph and times `CompiledGraph.run`. */
export function graphCase(meta: Omit<BenchCase, 'prepare'>, build: () => GraphWorkload): BenchCase {
  return {
    ...meta,
    async prepare() {
      const { graph, weights = new Map(), feeds, options } = build();
      const flops = graphFlops(graph);
      const compiled = await runtime().compile(graph, weights, options);
      return {
        flops,
        createMs: compiled.createMs,
        run: async () => {
          await compiled.run(feeds);
        },
        release: () => compiled.release(),
      };
    },
  };
}

/**
 * One element of `v`, as the graph's output: ONNX Runtime copies every output into a new JS
 * buffer (~0.5 ms/MB), which would be timed with the op. The whole of `v` is still computed.
 */
export function oneElement(v: Value): Value {
  return op.slice(op.reshape(v, [-1]), 0, 0, 1);
}

/**
 * A float32 tensor of uniform noise with standard deviation `std` (xorshift32, seeded). Values
 * do not change the speed, but their scale does: convolutions chained with std = 1/√fan_in keep
 * activations O(1), far from the denormals that slow a CPU down.
 */
export function noise(shape: readonly number[], std = 1, seed = 1): Tensor<'float32'> {
  const t = new Tensor('float32', shape);
  const half = std * Math.sqrt(3); // uniform on [−a, a] has std a/√3
  let s = seed >>> 0 || 1;
  for (let i = 0; i < t.data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    t.data[i] = ((s >>> 0) / 2 ** 32 * 2 - 1) * half;
  }
  return t;
}
