// The Node runtime: lowers a Graph to ONNX and runs it on onnxruntime-node.
//
// The ModelProto is built in memory and handed to ONNX Runtime as a buffer; its initializers point
// into the checkpoint's .safetensors files (external data), which ONNX Runtime memory-maps.
// ONNX Runtime ≥ 1.24 refuses external-data paths that leave the model folder — including symlinks
// out of it, which is exactly the Hugging Face cache layout (snapshots/<rev>/unet/x.safetensors →
// ../../blobs/<sha>). So we resolve every file with realpath, point the session's
// `model_external_initializers_file_folder_path` at their deepest common folder, and write each
// location relative to it (measured in ../shared/anchors/onnxruntime-facts.md §1b).

import { readdirSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import type { DType } from '../../core/dtype.js';
import { LatentlabError } from '../../core/errors.js';
import { isExternal, WeightData } from '../../core/external.js';
import { warn } from '../../core/log.js';
import { Tensor } from '../../core/tensor.js';
import type { Graph } from '../../graph/graph.js';
import { CompiledGraph, CompileOptions, Device, DEVICES, Runtime } from '../../graph/runtime.js';
import { INT8_ACTIVATIONS, type Int8Lowering, int8Targets } from '../../onnx/int8.js';
import { lowerForCalibration, lowerToOnnx } from '../../onnx/lower.js';
import { addRun, calibrationFile, int8CacheDir, int8Weights, type Ranges, readRanges, weightIdentity, writeRanges } from './int8.js';
import { cacheEntry, commitEntry, discardEntry, saveOptions } from './optimized-cache.js';
import { ortLogLevel, ThreadSession, type WireTensor } from './ort-thread.js';
import { nodeSystemResources } from './system.js';

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  uint8: 'uint8',
  int8: 'int8',
  bool: 'bool',
};

const ENABLE_HINT: Record<Device, string> = {
  cpu: 'the CPU provider is bundled with onnxruntime-node; reinstall it (npm ci)',
  cuda:
    'the CUDA provider is not in the npm package: install its binaries with ' +
    '`node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12` ' +
    '(needs CUDA 12 and cuDNN 9 on the machine; see the README), or use --device cpu',
  coreml: 'CoreML is only available in onnxruntime-node on macOS; use --device cpu elsewhere',
  dml: 'DirectML is only available in onnxruntime-node on Windows; use --device cpu elsewhere',
  webgpu: 'WebGPU needs a GPU adapter that onnxruntime-node can use; use --device cpu on machines without one',
};

function commonFolder(files: readonly string[]): string {
  let parts = path.dirname(files[0]).split(path.sep);
  for (const f of files.slice(1)) {
    const other = path.dirname(f).split(path.sep);
    let i = 0;
    while (i < parts.length && i < other.length && parts[i] === other[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}

/** realpath of a weights file (a Hugging Face snapshot entry resolves into blobs/); a clear error when it is gone. */
function resolveWeightsFile(file: string, key: string): string {
  try {
    return realpathSync(file);
  } catch (e) {
    throw new LatentlabError('IO_NOT_FOUND', `weights file ${file} (holding "${key}") does not exist or is a broken link`, {
      file, key, cause: e, hint: 'the file was moved or deleted after it was opened; open the model folder again (or re-download it)',
    });
  }
}

/**
 * The profile ONNX Runtime wrote for `prefix`. The native call returns its name but
 * onnxruntime-node's JS wrapper drops it; ORT names it <prefix>_<date>_<time>.json.
 */
function newestProfile(prefix: string): string | undefined {
  const dir = path.dirname(path.resolve(prefix));
  const base = `${path.basename(prefix)}_`;
  const files = readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json')).map((f) => path.join(dir, f));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

function toWire(name: string, t: Tensor): WireTensor {
  const type = ORT_TYPES[t.dtype];
  if (!type) throw new LatentlabError('RUNTIME_DTYPE', `input "${name}": dtype ${t.dtype} cannot be passed to ONNX Runtime`);
  return { type, data: t.data as ort.Tensor.DataType, dims: t.shape };
}

function fromWire(t: WireTensor): Tensor {
  const dtype = (Object.keys(ORT_TYPES) as DType[]).find((d) => ORT_TYPES[d] === t.type);
  if (!dtype) throw new LatentlabError('RUNTIME_DTYPE', `ONNX Runtime returned an output of unsupported type ${t.type}`);
  return new Tensor(dtype, t.dims as number[], t.data as never);
}

/** What OrtCompiledGraph needs of a session: one in the ONNX Runtime thread, or (profiling) one here. */
interface SessionHandle {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, WireTensor>, outputs?: readonly string[]): Promise<Record<string, WireTensor>>;
  release(): Promise<void>;
  endProfiling?(): void;
}

/**
 * A session on this thread. Only for profiling: CompiledGraph.endProfiling is synchronous, which a
 * session in the ONNX Runtime thread (ort-thread.ts) cannot be.
 */
class LocalSession implements SessionHandle {
  constructor(private readonly s: ort.InferenceSession) {}
  get inputNames(): readonly string[] {
    return this.s.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.s.outputNames;
  }
  async run(feeds: Record<string, WireTensor>, outputs?: readonly string[]): Promise<Record<string, WireTensor>> {
    const tensors = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.type, t.data as never, t.dims as number[])]));
    const r = outputs ? await this.s.run(tensors, outputs as string[]) : await this.s.run(tensors);
    return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, { type: t.type, data: t.data, dims: t.dims }]));
  }
  release(): Promise<void> {
    return this.s.release();
  }
  endProfiling(): void {
    this.s.endProfiling();
  }
}

class OrtCompiledGraph implements CompiledGraph {
  constructor(
    private readonly session: SessionHandle,
    readonly createMs: number,
    private readonly graphName: string,
    private readonly profilePrefix?: string,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const wire: Record<string, WireTensor> = {};
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new LatentlabError('RUNTIME_INPUT', `${this.graphName}: missing input "${name}"; expected ${this.inputNames.join(', ')}`);
      wire[name] = toWire(name, t);
    }
    let result: Record<string, WireTensor>;
    try {
      result = await this.session.run(wire, outputs);
    } catch (e) {
      throw new LatentlabError('RUNTIME_RUN', `${this.graphName}: ONNX Runtime failed: ${(e as Error).message}`, { cause: e });
    }
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = fromWire(t);
    return out;
  }

  endProfiling(): string | undefined {
    this.session.endProfiling?.();
    return this.profilePrefix === undefined ? undefined : newestProfile(this.profilePrefix);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

// The in-process sessions (profiling) log like the thread's: ONNX Runtime's own lines only with --debug.
ort.env.logLevel = ortLogLevel();

const FORCED_KEYS = ['threads', 'optimizationLevel', 'prepacking', 'attention', 'profileFilePrefix', 'optimizedModelCache', 'memoryArena', 'precision'] as const;

/**
 * LATENTLAB_COMPILE_OPTIONS: a JSON object of compile options that wins over everything else
 * (the models' own defaults and the caller's options), for every session of the process. It lets
 * the whole test suite run on the reference path ('{"optimizationLevel":"basic","prepacking":false}')
 * or with every optimisation on, without a code change. Read at each compile; checked at the boundary.
 */
export function forcedCompileOptions(raw = process.env.LATENTLAB_COMPILE_OPTIONS): CompileOptions {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new LatentlabError('CONFIG_ENV', `LATENTLAB_COMPILE_OPTIONS is not JSON: ${(e as Error).message}`, { cause: e, hint: `e.g. LATENTLAB_COMPILE_OPTIONS='{"optimizationLevel":"basic","prepacking":false}'` });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LatentlabError('CONFIG_ENV', `LATENTLAB_COMPILE_OPTIONS must be a JSON object, got ${raw}`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(FORCED_KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new LatentlabError('CONFIG_ENV', `LATENTLAB_COMPILE_OPTIONS: unknown option(s) ${unknown.join(', ')}`, { hint: `known: ${FORCED_KEYS.join(', ')}` });
  }
  return parsed as CompileOptions;
}

const cappedWarnings = new Set<number>();

/**
 * More intra-op threads than cores only adds contention (and ONNX Runtime allocates a stack and
 * per-thread buffers for each: `threads: 100000` climbs in memory for minutes), so a larger number is
 * capped at the cores, with a warning — once per number per process.
 */
export function capThreads(threads: number | undefined, cores = nodeSystemResources.cores()): number | undefined {
  if (threads === undefined || threads <= cores) return threads;
  if (!cappedWarnings.has(threads)) {
    cappedWarnings.add(threads);
    warn(`${threads} threads asked for, but this machine has ${cores} cores; using ${cores}`);
  }
  return cores;
}

export const nodeRuntime: Runtime = {
  async compile(graph: Graph, weights: ReadonlyMap<string, WeightData>, given: CompileOptions = {}): Promise<CompiledGraph> {
    const options = { ...given, ...forcedCompileOptions() };
    options.threads = capThreads(options.threads);
    const device = options.device ?? 'cpu';
    if (!DEVICES.includes(device)) {
      throw new LatentlabError('DEVICE_UNKNOWN', `device ${JSON.stringify(device)} is not one of ${DEVICES.join(', ')}`, { hint: 'use --device cpu' });
    }
    if (options.precision !== undefined && options.precision !== 'fp32' && options.precision !== 'int8') {
      throw new LatentlabError('COMPILE_OPTION', `precision ${JSON.stringify(options.precision)} is not "fp32" or "int8"`, { key: 'precision', hint: 'use --precision fp32 (default) or int8' });
    }
    const real = new Map<string, string>();
    const trainable = new Set(options.trainable ?? []);
    for (const [key, w] of weights) if (!trainable.has(key) && isExternal(w) && !real.has(w.file)) real.set(w.file, resolveWeightsFile(w.file, key));
    const files = { real, device, options };
    const int8 = options.precision === 'int8' ? await prepareInt8(graph, weights, files) : undefined;
    if (int8?.file) real.set(int8.file, realpathSync(int8.file));
    const { folder, location } = weightsFolder(real);
    const model = lowerToOnnx(graph, { weights, attention: options.attention, trainable: options.trainable, computeDtype: options.computeDtype, location, int8: int8?.lowering });
    return createSession(model, graph.name, folder, [...real.values()], options, device);
  },
};

function weightsFolder(real: ReadonlyMap<string, string>): { folder?: string; location: (file: string) => string } {
  const folder = real.size > 0 ? commonFolder([...real.values()]) : undefined;
  return { folder, location: (file) => path.relative(folder!, real.get(file)!).split(path.sep).join('/') };
}

/**
 * precision 'int8': the targets (onnx/int8.ts), their quantised weights (cached on disk), and —
 * given calibration inputs — the static ops' ranges, measured by running the float32 model with
 * min/max outputs on them (cached too). Without calibration inputs the static ops stay float32.
 */
async function prepareInt8(graph: Graph, weights: ReadonlyMap<string, WeightData>, f: { real: ReadonlyMap<string, string>; device: Device; options: CompileOptions }): Promise<{ lowering: Int8Lowering; file?: string }> {
  const cacheDir = int8CacheDir(f.options);
  const feeds = f.options.calibration ?? [];
  const trainable = new Set(f.options.trainable ?? []);
  const targets = int8Targets(graph, INT8_ACTIVATIONS, trainable).filter((t) => t.activations === 'dynamic' || feeds.length > 0);
  let ranges: Ranges = new Map();
  const statics = new Map(targets.filter((t) => t.activations === 'static').map((t) => [t.key, t]));
  if (statics.size > 0) {
    const { folder, location } = weightsFolder(f.real);
    const calib = lowerForCalibration(graph, { weights, attention: f.options.attention, trainable: f.options.trainable, location }, statics);
    const file = calibrationFile(cacheDir, calib.model, [...statics.keys()].map((k) => weightIdentity(weights.get(k)!)), feeds);
    ranges = readRanges(file) ?? new Map();
    if (ranges.size === 0) {
      const plain: CompileOptions = { threads: f.options.threads, attention: f.options.attention, optimizationLevel: 'basic', trainable: f.options.trainable };
      const session = await createSession(calib.model, `${graph.name} (int8 calibration)`, folder, [...f.real.values()], plain, f.device);
      try {
        for (const feed of feeds) addRun(ranges, calib.keys, await session.run(feed));
      } finally {
        await session.release();
      }
      writeRanges(file, ranges);
    }
  }
  const q = await int8Weights(targets, weights, cacheDir);
  return { lowering: { targets: new Map(targets.map((t) => [t.key, t])), weights: q.weights, ranges }, file: q.file };
}

/** An ONNX Runtime session for `model` (bytes), its external data under `folder`. */
async function createSession(model: Uint8Array, name: string, folder: string | undefined, weightFiles: readonly string[], options: CompileOptions, device: Device): Promise<OrtCompiledGraph> {
    const session: Record<string, string | Record<string, string>> = {
      disable_prepacking: options.prepacking ? '0' : '1',
      intra_op: { allow_spinning: '0' },
    };
    let source: Uint8Array | string = model;
    let level = options.optimizationLevel ?? 'basic';
    let saving: ReturnType<typeof saveOptions> | undefined;
    const entry = options.optimizedModelCache ? cacheEntry(options.optimizedModelCache, name, model, folder, [...weightFiles], level, device) : undefined;
    if (entry?.exists) {
      source = entry.modelPath; // already optimised, its weights next to it (mapped in place)
      level = 'disabled';
    } else {
      if (folder) session.model_external_initializers_file_folder_path = folder;
      if (entry) {
        saving = saveOptions(entry);
        Object.assign(session, saving.session);
      }
    }
    const start = performance.now();
    let s: SessionHandle;
    try {
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        executionProviders: [device],
        graphOptimizationLevel: level,
        ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
        ...(options.memoryArena === false ? { enableCpuMemArena: false } : {}),
        ...(options.profileFilePrefix !== undefined ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix } : {}),
        // ORT warns that a level-'all' model is hardware specific: the cache key holds the CPU.
        ...(saving ? { optimizedModelFilePath: saving.optimizedModelFilePath, logSeverityLevel: 3 as const } : {}),
        extra: { session },
      };
      s = options.profileFilePrefix !== undefined
        ? new LocalSession(await ort.InferenceSession.create(source as never, sessionOptions))
        : await ThreadSession.create(source, sessionOptions);
      if (saving) commitEntry(saving.tmp, entry!);
    } catch (e) {
      if (saving) discardEntry(saving.tmp);
      const msg = (e as Error).message;
      if (device !== 'cpu' && /backend|provider|shared library|adapter/i.test(msg)) {
        throw new LatentlabError('DEVICE_UNAVAILABLE', `device "${device}" is not available here: ${msg}`, { hint: ENABLE_HINT[device], cause: e });
      }
      throw new LatentlabError('RUNTIME_CREATE', `${name}: ONNX Runtime could not create a session: ${msg}`, { cause: e });
    }
    return new OrtCompiledGraph(s, performance.now() - start, name, options.profileFilePrefix);
}
