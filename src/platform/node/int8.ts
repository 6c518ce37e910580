// precision 'int8' on the Node platform: the quantised weights, made once and kept on disk, and the
// calibrated activation ranges of the static ops (onnx/int8.ts says what is quantised and how).
//
// Quantised weights live in one safetensors file per model, `<cache>/int8-<hash>.safetensors`
// (`<key>.q` int8, linears transposed to [in, out]; `<key>.scales` float32 per output channel),
// beside the optimised-model cache (CompileOptions.optimizedModelCache, else $LATENTLAB_CACHE, else
// ~/.cache/latentlab).
// The hash covers the format version, the weight bits (int8WeightBits), every target's key, shape and
// family, and each weights file's identity (path, size, mtime; bytes for in-memory weights): a
// rewritten checkpoint gets a new file.
// ONNX Runtime maps the file in place like the checkpoint itself. Calibrated ranges are a small JSON
// next to it, keyed also by the calibration model and the inputs it ran on.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { arch, homedir } from 'node:os';
import * as path from 'node:path';

import { isExternal, type WeightData } from '../../core/external.js';
import { quantizePerChannel, type ActivationRange, widen } from '../../core/quantize.js';
import { Tensor } from '../../core/tensor.js';
import type { CompileOptions } from '../../graph/runtime.js';
import type { Int8Target, Int8Weight } from '../../onnx/int8.js';
import { readWeightData, WeightSet, writeSafetensors } from '../../weights/index.js';
import { cpuFlags } from './system.js';

/** Bump when the stored layout or the quantisation rule changes: old files are then ignored. */
const FORMAT = 'int8-v1';

/**
 * 8-bit weights where the CPU's int8 dot products do not saturate (x86 with AVX-512 VNNI or AVX-VNNI,
 * and ARM's SDOT/UDOT), 7-bit ("reduce range") on other x86 CPUs: their u8s8 kernels use VPMADDUBSW,
 * whose int16 pair sums overflow with 8-bit weights — measured on a Zen 2 host, a conv's relative
 * error went from 1.2e-2 to 1.8e-1 (docs/benchmarks.md#int8).
 */
export function int8WeightBits(): 7 | 8 {
  if (arch() !== 'x64') return 8;
  const flags = cpuFlags(); // unknown x86 (flags unreadable): 7, the safe choice — a bit of precision, never an overflow
  return flags?.includes('avx512_vnni') || flags?.includes('avx_vnni') ? 8 : 7;
}

/** CompileOptions.optimizedModelCache, else $LATENTLAB_CACHE, else ~/.cache/latentlab. */
export function int8CacheDir(options: CompileOptions): string {
  return path.resolve(options.optimizedModelCache ?? process.env.LATENTLAB_CACHE ?? path.join(homedir(), '.cache', 'latentlab'));
}

function identity(w: WeightData): string {
  if (isExternal(w)) {
    const st = statSync(w.file);
    return `${path.resolve(w.file)}:${st.size}:${st.mtimeMs}:${w.offset}:${w.dtype}`;
  }
  return createHash('sha256').update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)).digest('hex');
}

/** The int8 weights of `targets` (quantised now, or found on disk), as references into the cache file. */
export async function int8Weights(targets: readonly Int8Target[], weights: ReadonlyMap<string, WeightData>, cacheDir: string): Promise<{ weights: Map<string, Int8Weight>; file?: string }> {
  if (targets.length === 0) return { weights: new Map() };
  const bits = int8WeightBits();
  const h = createHash('sha256').update(FORMAT).update(`bits ${bits}`);
  for (const t of targets) h.update(JSON.stringify([t.key, t.family, t.shape, identity(weights.get(t.key)!)]));
  const file = path.join(cacheDir, `int8-${h.digest('hex').slice(0, 20)}.safetensors`);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    const tensors = new Map<string, Tensor>();
    for (const t of targets) {
      const w = (await readWeightData(weights.get(t.key)!)).toFloat32();
      const { q, scales } = quantizePerChannel(w.data, w.shape, bits);
      tensors.set(`${t.key}.q`, t.family === 'linear' ? transposed(q, w.shape[0], w.shape[1]) : new Tensor('int8', [...w.shape], q));
      tensors.set(`${t.key}.scales`, new Tensor('float32', [scales.length], scales));
    }
    await writeSafetensors(file, tensors, { format: FORMAT }); // temp file + rename: never half a file
  }
  const set = await WeightSet.open([file]);
  return { weights: new Map(targets.map((t) => [t.key, { q: set.ref(`${t.key}.q`), scales: set.ref(`${t.key}.scales`) }])), file };
}

/** [out, in] int8 → [in, out]. */
function transposed(q: Int8Array, out: number, inF: number): Tensor<'int8'> {
  const t = new Tensor('int8', [inF, out]);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) t.data[i * out + o] = q[o * inF + i];
  return t;
}

export type Ranges = Map<string, { input: ActivationRange; output: ActivationRange }>;

/** Where the ranges measured for this calibration model, weights and inputs are kept. */
export function calibrationFile(cacheDir: string, model: Uint8Array, weightIds: readonly string[], feeds: readonly Readonly<Record<string, Tensor>>[]): string {
  const h = createHash('sha256').update(FORMAT).update(model).update(JSON.stringify(weightIds));
  for (const f of feeds) {
    for (const [k, t] of Object.entries(f).sort(([a], [b]) => a.localeCompare(b))) {
      h.update(`${k}:${t.dtype}:${t.shape.join('x')}`).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return path.join(cacheDir, `calibration-${h.digest('hex').slice(0, 20)}.json`);
}

export function readRanges(file: string): Ranges | undefined {
  if (!existsSync(file)) return undefined;
  return new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, { input: ActivationRange; output: ActivationRange }>));
}

export function writeRanges(file: string, ranges: Ranges): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(Object.fromEntries(ranges)));
  renameSync(tmp, file);
}

/** Folds one calibration run's outputs (calib.<i>.{in,out}_{min,max} for keys[i]) into `ranges`. */
export function addRun(ranges: Ranges, keys: readonly string[], out: Record<string, Tensor>): void {
  keys.forEach((key, i) => {
    const v = (name: string) => Number((out[`calib.${i}.${name}`] as Tensor<'float32'>).data[0]);
    const r = ranges.get(key);
    ranges.set(key, { input: widen(r?.input, { min: v('in_min'), max: v('in_max') }), output: widen(r?.output, { min: v('out_min'), max: v('out_max') }) });
  });
}

export { identity as weightIdentity };
