// The op-test harness: build a small graph, run it through the real pipeline (graph →
// lowerToOnnx → onnxruntime-node via the registered Runtime), and compare with a float64
// reference. Every comparison is recorded per op family so each test file can print the max
// errors it saw (the numbers quoted in reports).

import '../../src/platform/node/index.js';

import { afterAll, expect } from 'vitest';

import { Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import { Graph, Module, Value } from '../../src/graph/graph.js';
import { CompileOptions, runtime } from '../../src/graph/runtime.js';
import { diff } from '../helpers/compare.js';
import type { Nd } from './reference.js';

/** Seeded N(0, 1) float32 tensor (PyTorch's CPU generator: same numbers as torch.randn). */
export function randn(seed: number, shape: readonly number[], scale = 1, shift = 0): Tensor<'float32'> {
  const t = new Generator(seed).randn(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i] * scale + shift;
  return t;
}

/** Seeded uniform float32 in [lo, hi). */
export function uniform(seed: number, shape: readonly number[], lo: number, hi: number): Tensor<'float32'> {
  const t = new Generator(seed).rand(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = lo + (hi - lo) * t.data[i];
  return t;
}

export interface BuildContext {
  g: Graph;
  /** The graph input created for each feed, by feed name. */
  x: Record<string, Value>;
  /** Declares the weight `key` with the shape of its inline tensor. */
  w(key: string): Value;
}

export interface EvalSpec {
  feeds?: Record<string, Tensor>;
  weights?: ReadonlyMap<string, Tensor>;
  options?: CompileOptions;
  /** Module path to build under (default: the root). */
  scope?: string;
}

/** Builds a graph whose inputs are the feeds, compiles it, runs it once and returns its outputs in order. */
export async function evaluate(spec: EvalSpec, build: (c: BuildContext) => Value | Value[]): Promise<Tensor[]> {
  const g = new Graph('op-test');
  const feeds = spec.feeds ?? {};
  const weights = spec.weights ?? new Map<string, Tensor>();
  const x = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, g.input(name, t.dtype, t.shape)]));
  const w = (key: string) => {
    const t = weights.get(key);
    if (!t) throw new Error(`test bug: no inline tensor for weight ${key}`);
    return g.weight(key, t.shape, { dtype: t.dtype });
  };
  const built = new Module(g, spec.scope ?? '').build(() => build({ g, x, w }));
  const outs = Array.isArray(built) ? built : [built];
  outs.forEach((v, i) => g.output(`out${i}`, v));
  const compiled = await runtime().compile(g, weights, spec.options);
  try {
    const result = await compiled.run(feeds);
    return outs.map((_, i) => result[`out${i}`]);
  } finally {
    await compiled.release();
  }
}

export interface Tolerance {
  /** Max |actual − ref|. */
  abs?: number;
  /** Max |actual − ref| / max|ref|. Passing either bound passes. */
  rel?: number;
}

const worst = new Map<string, { abs: number; rel: number }>();

/** Asserts `actual` matches the float64 reference within `tol`, recording the error under `family`. */
export function expectNear(family: string, label: string, actual: Tensor, ref: Nd, tol: Tolerance = { abs: 1e-5, rel: 1e-5 }): void {
  expect([...actual.shape], `${label}: shape`).toEqual([...ref.shape]);
  const a = actual.toFloat32().data;
  const d = diff(a, ref.data);
  const w = worst.get(family) ?? { abs: 0, rel: 0 };
  worst.set(family, { abs: Math.max(w.abs, d.maxAbs), rel: Math.max(w.rel, d.maxRel) });
  const ok = (tol.abs !== undefined && d.maxAbs <= tol.abs) || (tol.rel !== undefined && d.maxRel <= tol.rel);
  if (!ok) {
    expect.fail(
      `${label}: max abs error ${d.maxAbs.toExponential(3)} (rel ${d.maxRel.toExponential(3)} of max|ref| ${d.refScale.toPrecision(4)}) ` +
        `at flat index ${d.at}: got ${a[d.at]}, expected ${ref.data[d.at]}; tolerance ${JSON.stringify(tol)}`,
    );
  }
}

/** Exact equality (integer and boolean outputs, pure data movement). */
export function expectExact(family: string, label: string, actual: Tensor, ref: Nd): void {
  expectNear(family, label, actual, ref, { abs: 0 });
}

/** Prints the max errors seen per op family when the file's tests are done. */
export function reportErrors(title: string): void {
  afterAll(() => {
    const rows = [...worst.entries()].map(([f, e]) => `  ${f.padEnd(22)} abs ${e.abs.toExponential(2)}  rel ${e.rel.toExponential(2)}`);
    console.log(`${title}: max errors vs float64 reference\n${rows.join('\n')}`);
  });
}
