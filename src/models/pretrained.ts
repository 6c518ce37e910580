// What every `X.fromPretrained` shares: finding the component folder, reading its config.json,
// opening its safetensors, checking them against the graph the config implies, and compiling
// graphs on demand (one ONNX Runtime session per input-shape key, kept and reused).

import { LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
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
 */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<CompiledGraph>>();

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
   * guidance: the VAE's decoder and a classifier); a key in both is an error.
   */
  async get(key: string, build: () => Graph, overrides: CompileOptions = {}, extraWeights?: ReadonlyMap<string, WeightData>): Promise<CompiledGraph> {
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
      void old.then((c) => c.release()).catch(() => undefined);
    }
    return s;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).release();
  }
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
