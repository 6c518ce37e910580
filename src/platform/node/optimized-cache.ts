// An on-disk cache of ONNX Runtime's optimised models (CompileOptions.optimizedModelCache).
//
// Level 'all' makes SD 1.5's UNet ~5% faster than the default, but creating that session takes
// ~5 s (ORT reorders 2.4 GB of conv weights into its NCHWc layout), and an fp16-variant folder
// pays ~3 s to fold its Casts to float32 at every start. ONNX Runtime can save the model as it
// stands after optimisation; reloaded at level 'disabled', its weights are memory-mapped from the
// saved file and the session is ready in ~0.1 s (docs/benchmarks.md). The price is disk space —
// a full copy of the weights per model, input shape, level, machine and ORT version (3.4 GB for
// SD 1.5's UNet) — so the cache is opt-in; delete the folder at any time.
//
// Layout: <cache>/<graph name>-<sha256 prefix>/{model.onnx, model.data}. An entry is written into a
// temporary folder and renamed into place, so a crash or a concurrent writer never leaves half of one.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { cpuFlags } from './system.js';

export interface CacheEntry {
  /** The entry's folder (may not exist yet). */
  folder: string;
  /** model.onnx inside it: what to load when the entry exists. */
  modelPath: string;
  exists: boolean;
}

/** The CPU's vector extensions: a level-'all' model holds layouts for this vector width. */
function cpuSignature(): string {
  const vector = (cpuFlags() ?? []).filter((f) => /^(avx|fma|amx|sse4)/.test(f)).sort().join(' ');
  return vector ? `${cpus()[0]?.model ?? ''} ${vector}` : cpus()[0]?.model ?? '';
}

/**
 * The entry for a model: keyed by its bytes (graph, shapes, external-data locations), the weights
 * folder, each weights file's identity (path, size, mtime: a rewritten checkpoint gets a new entry),
 * the level, the device, the CPU and the ORT version.
 */
export function cacheEntry(cacheDir: string, graphName: string, model: Uint8Array, weightsFolder: string | undefined, weightFiles: readonly string[], level: string, device: string): CacheEntry {
  const h = createHash('sha256');
  h.update(model);
  const files = [...weightFiles].sort().map((f) => {
    const st = statSync(f);
    return `${f}:${st.size}:${st.mtimeMs}`;
  });
  h.update(JSON.stringify({ weightsFolder, files, level, device, cpu: cpuSignature(), ort: ort.env.versions.common ?? ort.env.versions.node }));
  const folder = path.join(path.resolve(cacheDir), `${graphName}-${h.digest('hex').slice(0, 20)}`);
  const modelPath = path.join(folder, 'model.onnx');
  return { folder, modelPath, exists: existsSync(modelPath) && existsSync(path.join(folder, 'model.data')) };
}

/** Session options that make ORT write the optimised model (weights ≥ 1 kB into model.data) to a temporary folder. */
export function saveOptions(entry: CacheEntry): { tmp: string; optimizedModelFilePath: string; session: Record<string, string> } {
  const tmp = `${entry.folder}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  return {
    tmp,
    optimizedModelFilePath: path.join(tmp, 'model.onnx'),
    session: { optimized_model_external_initializers_file_name: 'model.data', optimized_model_external_initializers_min_size_in_bytes: '1024' },
  };
}

/** Moves a written entry into place; if another process got there first, keeps theirs. */
export function commitEntry(tmp: string, entry: CacheEntry): void {
  try {
    renameSync(tmp, entry.folder);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function discardEntry(tmp: string): void {
  rmSync(tmp, { recursive: true, force: true });
}
