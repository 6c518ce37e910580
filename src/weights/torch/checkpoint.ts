// Reading a torch.save file (.bin, .pt, .ckpt) without running any of it — torch/serialization.py's
// `_load` (zip, torch ≥ 1.6) and `_legacy_load` (the older stream format), with the pickle read by
// our interpreter and an allow-list of globals (../pickle/).
//
// The zip layout (the folder name is the file's stem when it was saved, and varies):
//   <folder>/data.pkl        the pickle: dicts, lists, numbers and _rebuild_tensor_v2 calls
//   <folder>/data/<key>      one storage's raw little-endian bytes, stored uncompressed
//   <folder>/byteorder       "little" (absent in older files: little)
//   <folder>/version, .format_version, .storage_alignment, ...
//
//   const ckpt = await TorchCheckpoint.open('model.ckpt')
//   ckpt.root                         // Map { 'state_dict' => Map { key => TorchTensorRef, ... }, 'global_step' => 840000 }
//   await ckpt.read(ref)              // one tensor into memory, when it is needed there

import { dtypeSize, viewAs } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import { ByteSource, bytesSource, fileSource } from '../byte-source.js';
import { unpickle } from '../pickle/machine.js';
import type { PickleValue } from '../pickle/values.js';
import { ZipArchive, ZipEntry } from '../zip.js';
import { readLegacy } from './legacy.js';
import { MAX_PICKLE_BYTES, storageId, torchError, TorchStorage, TorchTensorRef, torchGlobals } from './rebuild.js';

/** Bytes in memory, e.g. a browser upload: `name` stands in for the path in errors and references. */
export interface InMemoryFile {
  name: string;
  bytes: Uint8Array;
}

export class TorchCheckpoint {
  /** Use `TorchCheckpoint.open`. */
  constructor(
    readonly source: ByteSource,
    readonly format: 'zip' | 'legacy',
    /** The unpickled object: plain data (values.ts) with TorchTensorRef where tensors were. */
    readonly root: PickleValue,
    /** The zip archive's entries (zip format only), for tools that want to look inside. */
    readonly archive?: ZipArchive,
  ) {}

  get file(): string {
    return this.source.name;
  }

  static async open(file: string | InMemoryFile): Promise<TorchCheckpoint> {
    return TorchCheckpoint.fromSource(typeof file === 'string' ? await fileSource(file) : bytesSource(file.name, file.bytes));
  }

  static async fromSource(source: ByteSource): Promise<TorchCheckpoint> {
    if (source.size === 0) throw torchError(source, 'the file is empty', 'TORCH_EMPTY');
    const head = await source.read(0, Math.min(4, source.size));
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return openZip(source);
    if (head[0] === 0x80) {
      const { root } = await readLegacy(source);
      return new TorchCheckpoint(source, 'legacy', root);
    }
    throw torchError(source, 'not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save stream)', 'TORCH_NOT_A_CHECKPOINT');
  }

  /** Reads a tensor's bytes into a host Tensor. */
  async read(ref: TorchTensorRef): Promise<Tensor> {
    const bytes = await this.source.read(ref.offset, ref.length);
    return new Tensor(ref.dtype, ref.shape, viewAs(ref.dtype, bytes.byteOffset % 8 === 0 ? bytes : bytes.slice()));
  }
}

async function openZip(source: ByteSource): Promise<TorchCheckpoint> {
  const archive = await ZipArchive.open(source);
  const first = archive.entries[0]?.name ?? '';
  const folder = first.includes('/') ? first.slice(0, first.indexOf('/')) : '';
  const pkl = archive.get(`${folder}/data.pkl`);
  if (!folder || !pkl) throw torchError(source, `a zip archive without <folder>/data.pkl (first entry ${JSON.stringify(first)}), so not written by torch.save`);
  const byteorder = archive.get(`${folder}/byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await archive.read(byteorder, 16));
    if (order !== 'little') throw torchError(source, `byte order ${JSON.stringify(order)}; only little-endian files are read`, 'TORCH_UNSUPPORTED');
  }
  const storages = new Map<string, TorchStorage>();
  const pickle = await archive.read(pkl, MAX_PICKLE_BYTES);
  const needed = new Map<TorchStorage, ZipEntry>();
  const { value } = unpickle(pickle, {
    file: source.name,
    globals: torchGlobals(source.name),
    persistentLoad: (pid) => {
      const { dtype, key, numel } = storageId(source, pid, 5);
      let s = storages.get(key);
      if (s) {
        if (s.dtype !== dtype || s.numel !== numel) throw torchError(source, `storage ${key} is described twice, differently`);
        return s;
      }
      const entry = archive.get(`${folder}/data/${key}`);
      if (!entry) throw torchError(source, `the storage ${JSON.stringify(key)} has no entry ${folder}/data/${key}`);
      s = new TorchStorage(key, dtype, numel);
      if (entry.size !== numel * dtypeSize(dtype)) {
        throw torchError(source, `the entry of storage ${JSON.stringify(key)} has ${entry.size} bytes; ${numel} ${dtype} elements need ${numel * dtypeSize(dtype)}`);
      }
      storages.set(key, s);
      needed.set(s, entry);
      return s;
    },
  });
  // Where each storage's bytes begin: one small read of its local header (no data is read).
  for (const [s, entry] of needed) s.dataOffset = await archive.dataOffset(entry);
  return new TorchCheckpoint(source, 'zip', value, archive);
}

export type { TorchTensorRef };
