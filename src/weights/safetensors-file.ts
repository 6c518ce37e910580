// Opening a .safetensors file through the platform's FileSystem: reads the header only;
// tensors are read on demand (`read`) or referenced in place (`ref`) for ONNX Runtime.

import { LatentlabError } from '../core/errors.js';
import type { ExternalTensor } from '../core/external.js';
import { fileSystem } from '../core/io.js';
import type { Tensor } from '../core/tensor.js';
import { externalRef, headerLength, parseSafetensorsHeader, SafetensorsEntry, SafetensorsHeader, tensorFromBytes } from './safetensors.js';

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const fs = fileSystem();
    const st = await fs.stat(path);
    if (!st?.isFile) throw new LatentlabError('IO_NOT_FOUND', `${path}: no such file`, { file: path });
    const n = headerLength(await fs.readBytes(path, 0, Math.min(8, st.size)), st.size, path);
    const header = parseSafetensorsHeader(await fs.readBytes(path, 8, n), st.size, path);
    return new SafetensorsFile(path, st.size, header);
  }

  get keys(): string[] {
    return [...this.header.entries.keys()];
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  has(key: string): boolean {
    return this.header.entries.has(key);
  }

  entry(key: string): SafetensorsEntry {
    const e = this.header.entries.get(key);
    if (!e) throw new LatentlabError('SAFETENSORS_MISSING_KEY', `${this.path}: no tensor named "${key}"`, { file: this.path, key });
    return e;
  }

  /** An external-data reference (no bytes read). */
  ref(key: string): ExternalTensor {
    return externalRef(this.path, this.entry(key));
  }

  /** Reads one tensor into memory. */
  async read(key: string): Promise<Tensor> {
    const e = this.entry(key);
    return tensorFromBytes(e, await fileSystem().readBytes(this.path, e.begin, e.end - e.begin));
  }

  /** Reads every tensor (for small files: fixtures, embeddings). */
  async readAll(): Promise<Map<string, Tensor>> {
    const bytes = await fileSystem().readBytes(this.path);
    const out = new Map<string, Tensor>();
    for (const e of this.header.entries.values()) out.set(e.key, tensorFromBytes(e, bytes.subarray(e.begin, e.end)));
    return out;
  }
}
