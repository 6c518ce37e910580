// The weights of one model component, over one or more .safetensors files: what diffusers calls
// the state dict of a checkpoint, whether it is a single `diffusion_pytorch_model.safetensors` or
// shards listed by a `*.safetensors.index.json` (`{"metadata": {...}, "weight_map": {key: shard}}`,
// the format transformers and diffusers write with `save_pretrained(max_shard_size=...)`).
//
// Only headers are read. `ref(key)` gives the in-place reference ONNX Runtime uses as external
// data; `read(key)` loads one tensor into memory.

import { fmtValue, LatentlabError } from '../core/errors.js';
import type { ExternalTensor } from '../core/external.js';
import { fileSystem } from '../core/io.js';
import type { Tensor } from '../core/tensor.js';
import { JsonSyntaxError, parseJson } from './pyjson.js';
import { SafetensorsFile } from './safetensors-file.js';
import type { SafetensorsEntry } from './safetensors.js';
import { closestKey } from './similar.js';
import type { WeightInfo, WeightSource } from './source.js';

/** A header entry plus the file it is in. */
export interface WeightEntry extends SafetensorsEntry {
  readonly file: string;
}

export class WeightSet implements WeightSource {
  private constructor(
    /** The safetensors files, in order (shards in index order). */
    readonly files: readonly SafetensorsFile[],
    private readonly byKey: ReadonlyMap<string, SafetensorsFile>,
    /** The `.safetensors.index.json` the set was opened from, if sharded. */
    readonly index?: string,
  ) {}

  /** The union of the tensors of `paths`; a key in two files is an error. */
  static async open(paths: readonly string[]): Promise<WeightSet> {
    const files: SafetensorsFile[] = [];
    for (const p of paths) files.push(await SafetensorsFile.open(p));
    return new WeightSet(files, unionOf(files));
  }

  /** The shards listed by a `*.safetensors.index.json`, checked against the index both ways. */
  static async openSharded(indexPath: string): Promise<WeightSet> {
    const fs = fileSystem();
    const weightMap = parseIndex(await fs.readText(indexPath), indexPath);
    const folder = fs.dirname(indexPath);
    const shardNames = [...new Set(weightMap.values())];
    const missing: string[] = [];
    for (const name of shardNames) if (!(await fs.stat(fs.join(folder, name)))?.isFile) missing.push(name);
    if (missing.length > 0) {
      throw new LatentlabError('WEIGHTS_SHARD_MISSING', `${indexPath} lists ${missing.length} shard file(s) that are not in ${folder}: ${missing.join(', ')}`, {
        file: indexPath, hint: 'the download is incomplete: download the missing shards (every file the weight_map names)',
      });
    }
    const files: SafetensorsFile[] = [];
    for (const name of shardNames) files.push(await SafetensorsFile.open(fs.join(folder, name)));
    const byKey = unionOf(files);
    checkIndexMatches(weightMap, byKey, folder, indexPath);
    return new WeightSet(files, byKey, indexPath);
  }

  /** Paths of the files the set spans. */
  get paths(): string[] {
    return this.files.map((f) => f.path);
  }

  /** Every tensor name, file by file in header order. */
  get keys(): string[] {
    return [...this.byKey.keys()];
  }

  get size(): number {
    return this.byKey.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  info(key: string): WeightInfo {
    return this.entry(key);
  }

  entry(key: string): WeightEntry {
    const file = this.byKey.get(key);
    if (!file) {
      const near = closestKey(key, this.byKey.keys());
      throw new LatentlabError('WEIGHTS_MISSING', `no tensor named "${key}" in ${this.describe()}${near ? `; did you mean "${near}"?` : ''}`, {
        file: this.files[0]?.path, key,
      });
    }
    return { ...file.entry(key), file: file.path };
  }

  /** The in-place reference for ONNX external data (no bytes read). */
  ref(key: string): ExternalTensor {
    const e = this.entry(key);
    return { kind: 'external', dtype: e.dtype, shape: e.shape, file: e.file, offset: e.begin, length: e.end - e.begin };
  }

  /** Loads one tensor into memory. */
  async read(key: string): Promise<Tensor> {
    this.entry(key); // the helpful error when missing
    return this.byKey.get(key)!.read(key);
  }

  /** "unet/diffusion_pytorch_model.safetensors" or "2 shards of unet/…index.json", for messages. */
  describe(): string {
    if (this.index) return `${this.files.length} shard(s) of ${this.index}`;
    return this.files.length === 1 ? this.files[0].path : `${this.files.length} files (${this.paths.join(', ')})`;
  }
}

function unionOf(files: readonly SafetensorsFile[]): Map<string, SafetensorsFile> {
  const byKey = new Map<string, SafetensorsFile>();
  for (const f of files) {
    for (const key of f.keys) {
      const other = byKey.get(key);
      if (other) {
        throw new LatentlabError('WEIGHTS_DUPLICATE_KEY', `tensor "${key}" is in both ${other.path} and ${f.path}`, {
          file: f.path, key, hint: 'these files are not one checkpoint: keep one copy of each tensor (check the shard list)',
        });
      }
      byKey.set(key, f);
    }
  }
  return byKey;
}

/** `weight_map` of an index file, validated: key -> shard file name (a plain name in the same folder). */
function parseIndex(text: string, indexPath: string): Map<string, string> {
  const bad = (why: string): never => {
    throw new LatentlabError('WEIGHTS_BAD_INDEX', `${indexPath}: ${why}`, {
      file: indexPath, hint: 'the index is corrupt: download it again (it must be {"weight_map": {tensor name: shard file}})',
    });
  };
  let raw: unknown;
  try {
    raw = parseJson(text, { nonFinite: true });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    bad(`not valid JSON (${e.message})`);
  }
  const map = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) bad(`"weight_map" must be an object, found ${fmtValue(map)}`);
  const out = new Map<string, string>();
  for (const [key, shard] of Object.entries(map as Record<string, unknown>)) {
    // ONNX Runtime refuses external data outside the model's folder, and so do we: a shard is a file name.
    if (typeof shard !== 'string' || shard === '' || /[\\/]/.test(shard) || shard === '.' || shard === '..') {
      bad(`"weight_map" maps "${key}" to ${fmtValue(shard)}, expected a file name in the same folder`);
    }
    out.set(key, shard as string);
  }
  return out;
}

function checkIndexMatches(weightMap: ReadonlyMap<string, string>, byKey: ReadonlyMap<string, SafetensorsFile>, folder: string, indexPath: string): void {
  const fs = fileSystem();
  const problems: string[] = [];
  for (const [key, shard] of weightMap) {
    const actual = byKey.get(key);
    if (!actual) problems.push(`"${key}" is mapped to ${shard} but no shard has it`);
    else if (actual.path !== fs.join(folder, shard)) problems.push(`"${key}" is mapped to ${shard} but is in ${fs.basename(actual.path)}`);
  }
  for (const [key, file] of byKey) if (!weightMap.has(key)) problems.push(`"${key}" is in ${fs.basename(file.path)} but not in the weight_map`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).map((p) => `\n  ${p}`).join('');
    throw new LatentlabError('WEIGHTS_BAD_INDEX', `${indexPath} does not match its shards (${problems.length} problem(s)):${shown}${problems.length > 10 ? '\n  …' : ''}`, {
      file: indexPath, hint: 'the index and the shards come from different saves: download the folder again',
    });
  }
}
