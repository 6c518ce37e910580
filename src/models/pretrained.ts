// What every `X.fromPretrained` shares: finding the component folder, reading its config.json,
// opening its safetensors, checking them against the graph the config implies, and compiling
// graphs on demand (one ONNX Runtime session per input-shape key, kept and reused).

import { LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import type { Tensor } from '../core/tensor.js';
import { fileSystem } from '../core/io.js';
import type { Graph } from '../graph/graph.js';
import { CompiledGraph, CompileOptions, GRADIENT_COMPILE_DEFAULTS, runtime } from '../graph/runtime.js';
import { bindWeights, COMMON_IGNORED_KEYS, openWeights, readConfigFile, type WeightSource } from '../weights/index.js';
import { ConfigReader } from './config-reader.js';

export interface FromPretrainedOptions extends CompileOptions {
  /** Component folder inside a pipeline folder ("unet", "vae", "text_encoder"); found automatically when omitted. */
  subfolder?: string;
  /** Weight variant, e.g. "fp16" (`diffusion_pytorch_model.fp16.safetensors`); computed in float32 on the CPU. */
  variant?: string;
}

/**
 * What a model is built from: its config and a weight source. A diffusers folder gives
 * config.json + its .safetensors; a single-file checkpoint an inferred config + one renamed
 * component of the file (../weights/single-file/). `folder` is where it came from, for messages.
 */
export interface LoadedComponent {
  folder: string;
  config: ConfigReader;
  weights: WeightSource;
}

/**
 * Finds the component: `path/subfolder` when a subfolder is given; otherwise `path` itself when
 * it holds a config.json (a model folder), else `path/defaultSubfolder` (a pipeline folder).
 */
export async function loadComponent(path: string, defaultSubfolder: string, options: FromPretrainedOptions = {}): Promise<LoadedComponent> {
  const fs = fileSystem();
  const isDir = async (p: string) => (await fs.stat(p))?.isDirectory ?? false;
  const hasConfig = async (p: string) => (await fs.stat(fs.join(p, 'config.json')))?.isFile ?? false;
  if (!(await isDir(path))) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${path}: no such folder`, { file: path, hint: 'pass a diffusers pipeline folder (with model_index.json) or a model folder (with config.json)' });
  }
  let folder: string;
  if (options.subfolder !== undefined) folder = fs.join(path, options.subfolder);
  else if (await hasConfig(path)) folder = path;
  else folder = fs.join(path, defaultSubfolder);
  if (!(await hasConfig(folder))) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${folder}: no config.json, so this is not a diffusers ${defaultSubfolder} folder`, {
      file: folder,
      hint: `pass a diffusers pipeline folder (which has a "${defaultSubfolder}/" folder with config.json and .safetensors weights) or the ${defaultSubfolder} folder itself`,
    });
  }
  const configFile = fs.join(folder, 'config.json');
  const config = new ConfigReader(await readConfigFile(configFile), configFile);
  const weights = await openWeights(folder, { variant: options.variant, stem: defaultSubfolder === 'text_encoder' || defaultSubfolder === 'classifier' ? 'model' : 'diffusion_pytorch_model' });
  return { folder, config, weights };
}

/** Checks the checkpoint against the weights `graph` declares; returns the in-place references. */
export function bindGraphWeights(graph: Graph, weights: WeightSource, component: string): Map<string, WeightData> {
  const expected = [...graph.weights.values()].map((w) => ({ key: w.key, shape: w.shape, origin: w.origin }));
  return bindWeights(expected, weights, { component, ignore: (k) => COMMON_IGNORED_KEYS.has(k) });
}

/**
 * A model's own compile defaults under the caller's options: a key the caller sets (not undefined)
 * wins. Each model picks the session settings measured fastest for it on a CPU (docs/benchmarks.md);
 * LATENTLAB_COMPILE_OPTIONS (platform/node/runtime.ts) overrides both, e.g. for the reference path.
 */
export function withDefaults(defaults: CompileOptions, options: CompileOptions): CompileOptions {
  const set = Object.entries(options).filter(([, v]) => v !== undefined);
  return { ...defaults, ...Object.fromEntries(set) };
}

/**
 * Compiles graphs on demand and keeps the sessions: one per key (typically the input shape).
 * At most `maxSessions` stay alive (each holds ONNX Runtime's activation arena); the least
 * recently used is released first.
 *
 * Several calls may share a cache (a server keeps a model's sessions between requests and may run
 * two at once). `run` leases its session for the duration of the run, and a session is freed only
 * when no run holds it: one evicted, or dropped by `release()`, while another call is inside it
 * is freed when that call returns, never under it.
 */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<CompiledGraph>>();
  /** Runs inside each session now, and the sessions to free once their last run returns. */
  private readonly users = new Map<Promise<CompiledGraph>, number>();
  private readonly retired = new Set<Promise<CompiledGraph>>();

  constructor(
    /** The model's bound weights (in-place references), by checkpoint key. */
    readonly weights: ReadonlyMap<string, WeightData>,
    readonly options: CompileOptions,
    private readonly maxSessions = 2,
  ) {}

  /**
   * A cache for graphs of one's own on the same weights (models' compileGraph): the same options
   * with GRADIENT_COMPILE_DEFAULTS over them, since such graphs usually run a backward.
   */
  forCustomGraphs(): SessionCache {
    return new SessionCache(this.weights, { ...this.options, ...GRADIENT_COMPILE_DEFAULTS });
  }

  /**
   * The session for `key`, compiling `build()` (with `overrides` over the cache's options) the first
   * time. `extraWeights` adds another model's weights for a graph that spans both (classifier
   * guidance: the VAE's decoder and a classifier); a key in both is an error. The caller holds it
   * unleased: use `run` where another call may evict it meanwhile.
   */
  async get(key: string, build: () => Graph, overrides: CompileOptions = {}, extraWeights?: ReadonlyMap<string, WeightData>): Promise<CompiledGraph> {
    return this.entry(key, build, overrides, extraWeights);
  }

  /** Runs the session for `key` on `feeds`, holding it so that no eviction frees it meanwhile. */
  async run(key: string, build: () => Graph, feeds: Readonly<Record<string, Tensor>>, overrides: CompileOptions = {}): Promise<Record<string, Tensor>> {
    const entry = this.entry(key, build, overrides);
    this.users.set(entry, (this.users.get(entry) ?? 0) + 1);
    try {
      return await (await entry).run(feeds);
    } finally {
      const left = this.users.get(entry)! - 1;
      if (left > 0) this.users.set(entry, left);
      else {
        this.users.delete(entry);
        if (this.retired.delete(entry)) await freeSession(entry);
      }
    }
  }

  /** Sessions alive now, and how many runs hold one (for tests of the leasing). */
  get stats(): { sessions: number; running: number; retired: number } {
    return { sessions: this.sessions.size, running: [...this.users.values()].reduce((a, b) => a + b, 0), retired: this.retired.size };
  }

  private entry(key: string, build: () => Graph, overrides: CompileOptions, extraWeights?: ReadonlyMap<string, WeightData>): Promise<CompiledGraph> {
    let s = this.sessions.get(key);
    if (s) {
      this.sessions.delete(key); // re-insert: Map order is recency order
      this.sessions.set(key, s);
      return s;
    }
    s = runtime().compile(build(), extraWeights ? mergeWeights(this.weights, extraWeights) : this.weights, { ...this.options, ...overrides });
    this.sessions.set(key, s);
    s.catch(() => this.sessions.delete(key));
    while (this.sessions.size > this.maxSessions) {
      const [oldKey, old] = this.sessions.entries().next().value as [string, Promise<CompiledGraph>];
      this.sessions.delete(oldKey);
      void this.retire(old).catch(() => undefined);
    }
    return s;
  }

  /** Frees a session now, or when its last run returns. */
  private async retire(s: Promise<CompiledGraph>): Promise<void> {
    if (this.users.has(s)) this.retired.add(s);
    else await freeSession(s);
  }

  /** Drops every session; those inside a run are freed when it returns. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await this.retire(s);
  }
}

async function freeSession(s: Promise<CompiledGraph>): Promise<void> {
  let compiled: CompiledGraph;
  try {
    compiled = await s;
  } catch {
    return; // it never compiled: nothing to free
  }
  await compiled.release();
}

function mergeWeights(a: ReadonlyMap<string, WeightData>, b: ReadonlyMap<string, WeightData>): Map<string, WeightData> {
  const clash = [...b.keys()].find((k) => a.has(k));
  if (clash) {
    throw new LatentlabError('GRAPH_WEIGHTS', `the extra weights share the key "${clash}" with the model's own`, {
      key: clash, hint: 'a graph spanning two models needs distinct checkpoint keys in each',
    });
  }
  return new Map([...a, ...b]);
}
