// The seam between graph builders and whatever executes graphs.
//
// Models (src/models) build a Graph and ask the registered Runtime to compile it; the Node
// platform registers one backed by the ONNX lowering and onnxruntime-node (src/platform/node),
// a browser platform can register one on onnxruntime-web. Models never import a runtime directly.

import { LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import type { Tensor } from '../core/tensor.js';
import type { Graph } from './graph.js';

/** Where to run: ONNX Runtime execution providers. */
export type Device = 'cpu' | 'cuda' | 'coreml' | 'dml' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'coreml', 'dml', 'webgpu'];

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * Session settings. Each is a switch between the simple reference path and an optimisation; the
 * models choose their measured best where the caller does not (UNET_COMPILE_DEFAULTS,
 * VAE_COMPILE_DEFAULTS; numbers in docs/benchmarks.md), and the Node platform's
 * LATENTLAB_COMPILE_OPTIONS environment variable (JSON) overrides both for a whole process.
 */
export interface CompileOptions {
  device?: Device;
  /** Intra-op threads; default: ONNX Runtime's choice (the physical cores). */
  threads?: number;
  /**
   * Graph optimisations ONNX Runtime applies at session creation. 'basic' (the runtime's default):
   * constant folding and redundancy removal, ~0.1 s, weights memory-mapped in place. 'extended':
   * plus fusions (SiLU → QuickGelu, …), as fast to create, ~2% faster for SD 1.5's UNet. 'all':
   * plus NCHWc convolution kernels, ~13% faster for the VAE, ~5% for the UNet, whose session then
   * takes ~5 s to create (conv weights reordered into anonymous memory, same peak RSS).
   */
  optimizationLevel?: OptimizationLevel;
  /**
   * MatMul/Gemm weight prepacking: a packed copy of each linear weight replaces the mapped one
   * (same RSS), ~2% faster UNet, +1 s session creation for SD 1.5's UNet. Runtime default false.
   */
  prepacking?: boolean;
  /**
   * A folder where ONNX Runtime's optimised model is saved on first use and loaded from next time
   * (Node platform): level 'all' then starts in ~0.1 s instead of ~5 s for SD 1.5's UNet, and
   * fp16-variant weights are saved folded to float32. Costs a full copy of the weights per model,
   * input shape, level, machine and ORT version (3.4 GB for the UNet). Default: no cache.
   */
  optimizedModelCache?: string;
  /** 'fused' (default): com.microsoft.MultiHeadAttention; 'plain': the MatMul/Softmax/MatMul reference path. */
  attention?: 'fused' | 'plain';
  /** Write ONNX Runtime's per-op profile (JSON) with this file prefix. */
  profileFilePrefix?: string;
  /**
   * Weights (checkpoint keys) to feed as graph inputs of the same name instead of reading them in
   * place, so a host-side optimizer can update them between runs (`run({ ...inputs, [key]: w })`);
   * every other weight stays memory-mapped in its .safetensors file. Fed as float32 whatever the
   * file's dtype. Default: none.
   */
  trainable?: readonly string[];
  /**
   * ONNX Runtime's CPU memory arena (default true): activations come from a pool that keeps what
   * it grew to. false frees them to the system after each run — lower steady-state RSS for large
   * backward graphs, at the cost of fresh allocations each run (docs/benchmarks.md#gradients).
   */
  memoryArena?: boolean;
  /**
   * 'fp32' (default), or 'int8': the large convs and linears run on per-channel int8 weights in
   * ONNX's QDQ form (onnx/int8.ts) — convs with static activation ranges from `calibration`, linears
   * quantising their input at each run; attention, norms and the small first/last layers stay
   * float32. Weights are quantised once and kept on disk (platform: beside optimizedModelCache).
   * Speed and measured error: docs/benchmarks.md#int8.
   */
  precision?: 'fp32' | 'int8';
  /**
   * 'float32' (default), or 'float16': the graph computes in float16 on float16 weights
   * (graph/compute-dtype.ts; inputs and outputs stay float32, norms, softmax and the
   * weight-free prefix such as the timestep embedding stay float32), so an fp16 checkpoint is not
   * expanded to float32 in memory. For devices with float16 arithmetic (WebGPU with shader-f16);
   * onnxruntime's CPU EP (Node, WebAssembly) runs it by casting around kernels it lacks in fp16,
   * with no memory saved (docs/platforms.md#float16-compute). Not with precision 'int8' or trainable.
   */
  computeDtype?: 'float32' | 'float16';
  /**
   * precision 'int8': inputs (feeds of the graph) to measure the static ops' activation ranges on —
   * a few typical calls. Without them the convs stay float32. The ranges are cached with the weights.
   */
  calibration?: readonly Readonly<Record<string, Tensor>>[];
}

/**
 * Defaults for sessions that run a backward (grad()): the arena off. Measured at 512² on SD 1.5,
 * three runs each: the UNet's backward to the text embeddings 7.4 s and 10.6 GB peak RSS without the
 * arena against 12.4 s and 13.0 GB with it; the VAE's blue-loss step 8.5 GB against 18.6 GB at the
 * same 30 s — the arena keeps the forward's and the backward's peaks both (docs/benchmarks.md).
 */
export const GRADIENT_COMPILE_DEFAULTS: CompileOptions = { memoryArena: false };

export interface CompiledGraph {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Time spent creating the session, ms (for benchmarks). */
  readonly createMs: number;
  run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  /** Ends ONNX Runtime profiling (if enabled) and returns the profile file's path. */
  endProfiling?(): string | undefined;
  release(): Promise<void>;
}

export interface Runtime {
  compile(graph: Graph, weights: ReadonlyMap<string, WeightData>, options?: CompileOptions): Promise<CompiledGraph>;
}

let current: Runtime | undefined;

export function setRuntime(r: Runtime): void {
  current = r;
}

export function runtime(): Runtime {
  if (!current) {
    throw new LatentlabError('PLATFORM_MISSING', 'no graph runtime is registered', {
      hint: "import from 'latentlab' (the Node entry point registers ONNX Runtime) instead of importing internal modules directly",
    });
  }
  return current;
}
