// Model benchmarks on the random-weight SD 1.5 pipeline (bench/lib/sd15.ts): one network call per
// timed run, with the graph the model class builds (same builder, same symbolic batch, same
// compile options), fed with noise of a realistic scale. FLOPs come from a twin of the graph
// built with concrete shapes (graphFlops cannot count symbolic ones).
//
// Names carry the workload, so other sizes need no code: `unet-768-b1`, `vae-decode-96`,
// `text-encoder-b4`; a `-fp16` suffix loads the fp16-variant files (Casts folded at creation).

import type { WeightData } from '../../src/core/external.js';
import { Tensor } from '../../src/core/tensor.js';
import { graphFlops } from '../../src/graph/flops.js';
import type { Graph } from '../../src/graph/graph.js';
import { CompileOptions, runtime } from '../../src/graph/runtime.js';
import { buildCLIPTextGraph, parseCLIPTextConfig } from '../../src/models/clip-text-graph.js';
import { VAE_COMPILE_DEFAULTS } from '../../src/models/autoencoder-kl.js';
import { bindGraphWeights, loadComponent, withDefaults } from '../../src/models/pretrained.js';
import { UNET_COMPILE_DEFAULTS } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { parseAutoencoderTinyConfig } from '../../src/models/taesd-config.js';
import { buildTinyDecoderGraph, buildTinyEncoderGraph, buildTinyProbeGraph } from '../../src/models/taesd-graph.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph, buildVaeProbeGraph } from '../../src/models/vae-graph.js';
import { BenchCase, noise, Prepared } from '../lib/case.js';
import { ensureSd15 } from '../lib/sd15.js';
import { ensureTaesd } from '../lib/taesd.js';
import { settings } from '../lib/settings.js';

export interface Workload {
  /** The graph as the model class compiles it. */
  graph: Graph;
  /** The model class's own compile defaults (--compile goes over them, as fromPretrained options do). */
  defaults: CompileOptions;
  /** FLOPs of one call (from a concrete-shape twin where the class uses a symbolic batch). */
  flops: number;
  weights: ReadonlyMap<string, WeightData>;
  feeds: Record<string, Tensor>;
}

type Component = 'text_encoder' | 'unet' | 'vae';

export async function load(component: Component, variant: string | undefined) {
  const folder = await ensureSd15();
  return loadComponent(folder, component, { subfolder: component, variant });
}

async function textEncoder(batch: number, variant?: string): Promise<Workload> {
  const { config, weights } = await load('text_encoder', variant);
  const c = parseCLIPTextConfig(config);
  const opts = { seqLen: c.max_position_embeddings, input: 'ids', hiddenStates: false } as const;
  const graph = buildCLIPTextGraph(c, { batch: 'batch', ...opts });
  const ids = Tensor.int64([batch, opts.seqLen], Array.from({ length: batch * opts.seqLen }, (_, i) => (i * 7919) % c.vocab_size));
  const flops = graphFlops(buildCLIPTextGraph(c, { batch, ...opts }));
  return { graph, defaults: {}, flops, weights: bindGraphWeights(graph, weights, 'text_encoder'), feeds: { input_ids: ids } };
}

/** The UNet at `size`², optionally with precision 'int8' (calibrated on its own feeds at four timesteps). */
async function unet(size: number, batch: number, variant?: string, int8 = false): Promise<Workload> {
  const { config, weights } = await load('unet', variant);
  const c = parseUNet2DConditionConfig(config);
  const h = size / 8;
  const graph = buildUNetGraph(c, { batch, height: h, width: h, seqLen: 77 });
  const feeds = {
    sample: noise([batch, c.in_channels, h, h], 1, 1),
    timestep: Tensor.float32([batch], Array<number>(batch).fill(500)),
    encoder_hidden_states: noise([batch, 77, c.cross_attention_dim[0]], 1, 2),
  };
  const calibration = [999, 759, 499, 259].map((t) => ({ ...feeds, timestep: Tensor.float32([batch], Array<number>(batch).fill(t)) }));
  const defaults = int8 ? { ...UNET_COMPILE_DEFAULTS, precision: 'int8' as const, calibration } : UNET_COMPILE_DEFAULTS;
  return { graph, defaults, flops: graphFlops(graph), weights: bindGraphWeights(graph, weights, 'unet'), feeds };
}

async function vae(part: 'decode' | 'encode', size: number, variant?: string): Promise<Workload> {
  const { config, weights } = await load('vae', variant);
  const c = parseAutoencoderKLConfig(config);
  const bound = bindGraphWeights(buildVaeProbeGraph(c), weights, 'vae');
  const side = part === 'decode' ? size / 8 : size;
  const build = part === 'decode' ? buildVaeDecoderGraph : buildVaeEncoderGraph;
  const graph = build(c, { batch: 'batch', height: side, width: side });
  const feeds: Record<string, Tensor> = part === 'decode'
    ? { z: noise([1, c.latent_channels, side, side], 1, 3) } // latents / scaling_factor are O(1)…O(5)
    : { sample: noise([1, c.in_channels, side, side], 0.5, 4) }; // pixels in [−1, 1]
  return { graph, defaults: VAE_COMPILE_DEFAULTS, flops: graphFlops(build(c, { batch: 1, height: side, width: side })), weights: bound, feeds };
}

/** TAESD's decode or encode at `size`² (AutoencoderTiny compiles with the VAE's defaults). */
async function taesd(part: 'decode' | 'encode', size: number): Promise<Workload> {
  const { config, weights } = await loadComponent(await ensureTaesd(), 'vae');
  const c = parseAutoencoderTinyConfig(config);
  const side = part === 'decode' ? size / 8 : size;
  const build = part === 'decode' ? buildTinyDecoderGraph : buildTinyEncoderGraph;
  const feeds: Record<string, Tensor> = part === 'decode'
    ? { z: noise([1, c.latent_channels, side, side], 1, 3) } // UNet-scale latents: TAESD's scaling factor is 1
    : { sample: noise([1, c.in_channels, side, side], 0.5, 4) };
  const bound = bindGraphWeights(buildTinyProbeGraph(c), weights, 'vae');
  return { graph: build(c, { batch: 'batch', height: side, width: side }), defaults: VAE_COMPILE_DEFAULTS, flops: graphFlops(build(c, { batch: 1, height: side, width: side })), weights: bound, feeds };
}

/** Compiles with the model's defaults under --compile, runs `feeds`, and fails on NaN/Inf (which would distort speed). */
export async function prepareWorkload(make: () => Promise<Workload>, extra: CompileOptions = {}): Promise<Prepared> {
  const w = await make();
  // createMs: lowering to ONNX + session creation, what a model's first call adds (opening the
  // checkpoint and building the graph are a few ms more, plus one-off module loading in a fresh process).
  const t0 = performance.now();
  const compiled = await runtime().compile(w.graph, w.weights, withDefaults(w.defaults, { ...settings.compile, ...extra }));
  const createMs = performance.now() - t0;
  let checked = false;
  return {
    flops: w.flops,
    createMs,
    run: async () => {
      const out = await compiled.run(w.feeds);
      if (checked) return;
      checked = true;
      for (const [name, t] of Object.entries(out)) {
        const bad = (t.data as Float32Array).findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new Error(`${w.graph.name}: output ${name}[${bad}] is ${t.data[bad]}; the random weights' scale is wrong`);
      }
    },
    release: () => compiled.release(),
    endProfiling: () => compiled.endProfiling?.(),
  };
}

const PATTERNS: { re: RegExp; make: (m: RegExpMatchArray, variant?: string) => Omit<BenchCase, 'name'> }[] = [
  {
    re: /^text-encoder-b(\d+)$/,
    make: ([, b], v) => ({ what: 'CLIP text encoder', shape: `${b}×77 tokens`, prepare: (o) => prepareWorkload(() => textEncoder(+b, v), o) }),
  },
  {
    re: /^unet-(\d+)-b(\d+)-int8$/,
    make: ([n, s, b], v) => ({
      what: 'UNet call, precision int8', shape: `${b}×4×${+s / 8}² (${s}px), ctx ${b}×77×768`, runs: 3,
      prepare: (o) => prepareWorkload(() => unet(side(n, s), +b, v, true), o),
    }),
  },
  {
    re: /^unet-(\d+)-b(\d+)$/,
    make: ([n, s, b], v) => ({ what: 'UNet call', shape: `${b}×4×${+s / 8}² (${s}px), ctx ${b}×77×768`, runs: 3, prepare: (o) => prepareWorkload(() => unet(side(n, s), +b, v), o) }),
  },
  {
    re: /^vae-(decode|encode)-(\d+)$/,
    make: ([n, part, s], v) => ({
      what: `VAE ${part}`, shape: part === 'decode' ? `1×4×${+s / 8}² → ${s}²` : `1×3×${s}² → ${+s / 8}²`, runs: 3,
      prepare: (o) => prepareWorkload(() => vae(part as 'decode' | 'encode', side(n, s), v), o),
    }),
  },
  {
    re: /^taesd-(decode|encode)-(\d+)$/,
    make: ([n, part, s]) => ({
      what: `TAESD ${part}`, shape: part === 'decode' ? `1×4×${+s / 8}² → ${s}²` : `1×3×${s}² → ${+s / 8}²`,
      prepare: (o) => prepareWorkload(() => taesd(part as 'decode' | 'encode', side(n, s)), o),
    }),
  },
];

/** The case a model-benchmark name describes, or undefined. */
export function modelCase(name: string): BenchCase | undefined {
  const variant = name.endsWith('-fp16') ? 'fp16' : undefined;
  const base = variant ? name.slice(0, -'-fp16'.length) : name;
  for (const p of PATTERNS) {
    const m = base.match(p.re);
    if (!m) continue;
    const c = p.make(m, variant);
    const setup = base.startsWith('taesd-') ? ensureTaesd : ensureSd15;
    return { name, ...c, what: variant ? `${c.what} (fp16 file)` : c.what, isolate: true, setup: async () => void (await setup()) };
  }
  return undefined;
}

/** An image side from a case name: a multiple of 8 (the VAE's factor), at least 64. */
export function side(name: string, s: string): number {
  const n = Number(s);
  if (n % 8 !== 0 || n < 64) throw new Error(`${name}: the image size must be a multiple of 8, at least 64; got ${s}`);
  return n;
}

export const MODEL_CASE_NAMES = ['text-encoder-b2', 'unet-512-b2', 'unet-512-b1', 'unet-256-b2', 'vae-decode-512', 'vae-encode-512', 'taesd-decode-512', 'taesd-encode-512'];
export const modelCases: BenchCase[] = MODEL_CASE_NAMES.map((n) => modelCase(n)!);
