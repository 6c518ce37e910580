// The web runtime: lowers a Graph to ONNX and runs it on onnxruntime-web — WebAssembly (SIMD, and
// threads when the page is cross-origin isolated) or WebGPU where the browser has it.
//
// In Node the weights stay in their .safetensors files and ONNX Runtime maps them. A page cannot
// hand ONNX Runtime a file path, so the model's external data is passed as bytes: every weights
// file a graph uses is read whole through the FileSystem seam (fetch or File) and given as
// `externalData: [{ path, data }]`, `path` being the initializer's `location`. ONNX Runtime copies
// those bytes into the WebAssembly heap, whose 4 GB cap is the hard limit here: an fp32 SD 1.5 UNet
// (3.4 GB) does not fit beside its activations; fp16 files (1.7 GB) are read as they are, but the
// Cast the lowering adds after each one is folded to float32 at session creation, so the heap
// holds both (docs/explorer.md, "Limits") — unless computeDtype is 'float16', where the weights
// stay 16-bit (WebGPU with shader-f16; checked before the session).

import * as ort from 'onnxruntime-web';

import type { DType } from '../../core/dtype.js';
import { LatentlabError } from '../../core/errors.js';
import { fileSystem } from '../../core/io.js';
import { isExternal, type WeightData } from '../../core/external.js';
import { Tensor } from '../../core/tensor.js';
import type { Graph } from '../../graph/graph.js';
import type { CompiledGraph, CompileOptions, Runtime } from '../../graph/runtime.js';
import { lowerToOnnx } from '../../onnx/lower.js';

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32', float16: 'float16', int64: 'int64', int32: 'int32', uint8: 'uint8', bool: 'bool',
};

export type WebExecutionProvider = 'wasm' | 'webgpu';

export interface WebRuntimeSettings {
  /** Where the onnxruntime-web .wasm/.mjs files are served (a URL prefix ending in "/"). Default: next to the bundle. */
  wasmPaths?: string;
  /** WebAssembly threads; 0 = ONNX Runtime's choice. Only used when the page is cross-origin isolated. Fixed at the first session. */
  threads?: number;
}

/** Configures onnxruntime-web before the first session (its settings are fixed from then on). */
export function configureWebRuntime(settings: WebRuntimeSettings): void {
  if (settings.wasmPaths !== undefined) ort.env.wasm.wasmPaths = settings.wasmPaths;
  if (settings.threads !== undefined) ort.env.wasm.numThreads = settings.threads;
}

/**
 * WebAssembly threads this page can use: only a cross-origin isolated page (COOP same-origin +
 * COEP require-corp, which `latentlab explore` sends) has SharedArrayBuffer; otherwise 1.
 */
export function crossOriginThreads(max = 4): number {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  return g.crossOriginIsolated ? Math.max(1, Math.min(max, g.navigator?.hardwareConcurrency ?? 1)) : 1;
}

interface GpuAdapterLike {
  readonly features: { has(name: string): boolean };
  readonly info?: { vendor?: string; architecture?: string };
}

/** The browser's WebGPU adapter, or null (no navigator.gpu, no adapter, or a refusal). */
async function gpuAdapter(): Promise<GpuAdapterLike | null> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator?.gpu;
  try {
    return gpu ? await gpu.requestAdapter() : null;
  } catch {
    return null;
  }
}

/** Does this browser offer WebGPU with an adapter? (Headless Chromium without a GPU does not.) */
export async function webgpuAvailable(): Promise<boolean> {
  return (await gpuAdapter()) !== null;
}

/**
 * computeDtype 'float16' on WebGPU needs float16 in shaders (the adapter feature "shader-f16"):
 * refused here, before a session, where the adapter lacks it (SwiftShader, many integrated GPUs).
 */
async function requireShaderF16(): Promise<void> {
  const adapter = await gpuAdapter();
  if (!adapter) throw new LatentlabError('DEVICE_UNAVAILABLE', 'WebGPU is not available in this browser (no adapter)', { hint: 'use device "cpu" (WebAssembly), or a browser with WebGPU enabled' });
  if (!adapter.features.has('shader-f16')) {
    const name = [adapter.info?.vendor, adapter.info?.architecture].filter(Boolean).join(' ') || 'unnamed';
    throw new LatentlabError('DEVICE_UNSUPPORTED', `computeDtype "float16" on WebGPU needs the adapter feature "shader-f16", which this adapter (${name}) lacks`, {
      key: 'computeDtype', hint: 'leave computeDtype unset (float32) on this device, or use a GPU and browser whose WebGPU offers shader-f16',
    });
  }
}

/** The execution provider a device name means here: 'webgpu' → WebGPU, everything else → wasm. */
function providerFor(options: CompileOptions): WebExecutionProvider {
  const device = options.device ?? 'cpu';
  if (device === 'cpu') return 'wasm';
  if (device === 'webgpu') return 'webgpu';
  throw new LatentlabError('DEVICE_UNKNOWN', `device ${JSON.stringify(device)} does not exist in a browser; expected cpu (WebAssembly) or webgpu`, { hint: 'use device: "cpu" or "webgpu"' });
}

function toOrt(name: string, t: Tensor): ort.Tensor {
  const type = ORT_TYPES[t.dtype];
  if (!type) throw new LatentlabError('RUNTIME_DTYPE', `input "${name}": dtype ${t.dtype} cannot be passed to onnxruntime-web`);
  return new ort.Tensor(type, t.data as never, t.shape as number[]);
}

function fromOrt(name: string, t: ort.Tensor): Tensor {
  const dtype = (Object.keys(ORT_TYPES) as DType[]).find((d) => ORT_TYPES[d] === t.type);
  if (!dtype) throw new LatentlabError('RUNTIME_DTYPE', `onnxruntime-web returned output "${name}" of unsupported type ${t.type}`);
  let data = t.data as ArrayBufferView;
  // onnxruntime-web hands out a Float16Array where the browser has one; latentlab keeps float16 as raw
  // 16-bit patterns (core/dtype.ts), which is the same memory.
  if (dtype === 'float16' && !(data instanceof Uint16Array)) data = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  return new Tensor(dtype, t.dims as number[], data as never);
}

class WebCompiledGraph implements CompiledGraph {
  constructor(private readonly session: ort.InferenceSession, readonly createMs: number, private readonly graphName: string) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new LatentlabError('RUNTIME_INPUT', `${this.graphName}: missing input "${name}"; expected ${this.inputNames.join(', ')}`);
      inputs[name] = toOrt(name, t);
    }
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputs ? await this.session.run(inputs, outputs as string[]) : await this.session.run(inputs);
    } catch (e) {
      throw new LatentlabError('RUNTIME_RUN', `${this.graphName}: onnxruntime-web failed: ${(e as Error).message}`, { cause: e });
    }
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = fromOrt(name, t as ort.Tensor);
      (t as ort.Tensor).dispose();
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Which execution provider created each graph's last session (for the explorer and the tests). */
export const lastProviders = new Map<string, WebExecutionProvider>();

export const webRuntime: Runtime = {
  async compile(graph: Graph, weights: ReadonlyMap<string, WeightData>, options: CompileOptions = {}): Promise<CompiledGraph> {
    const provider = providerFor(options);
    if (provider === 'webgpu' && options.computeDtype === 'float16') await requireShaderF16();
    // One external-data entry per weights file, named by its position: ONNX Runtime matches
    // `location` strings against `path`, and a short name keeps the ModelProto small.
    const locations = new Map<string, string>();
    const trainable = new Set(options.trainable ?? []);
    for (const [key, w] of weights) if (!trainable.has(key) && isExternal(w) && !locations.has(w.file)) locations.set(w.file, `weights-${locations.size}.bin`);
    const model = lowerToOnnx(graph, { weights, attention: options.attention, trainable: options.trainable, computeDtype: options.computeDtype, location: (file) => locations.get(file)! });
    const fs = fileSystem();
    const externalData = await Promise.all([...locations].map(async ([file, path]) => ({ path, data: await fs.readBytes(file) })));
    const start = performance.now();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: options.optimizationLevel ?? 'basic',
        externalData,
        ...(options.memoryArena === false ? { enableCpuMemArena: false } : {}),
      });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (provider === 'webgpu' && /webgpu|adapter|backend/i.test(msg)) {
        throw new LatentlabError('DEVICE_UNAVAILABLE', `WebGPU is not available in this browser: ${msg}`, { hint: 'use device "cpu" (WebAssembly), or a browser with WebGPU enabled', cause: e });
      }
      throw new LatentlabError('RUNTIME_CREATE', `${graph.name}: onnxruntime-web could not create a session: ${msg}`, { cause: e });
    }
    lastProviders.set(graph.name, provider);
    return new WebCompiledGraph(session, performance.now() - start, graph.name);
  },
};
