// The legacy torch.save stream (torch < 1.6, and `_use_new_zipfile_serialization=False`), as
// torch/serialization.py `_legacy_load` reads it — five pickles, then the raw storages:
//
//   pickle  0x1950a86a20f9469cfc6c       the magic number
//   pickle  1001                         the protocol version
//   pickle  {little_endian: True, ...}   sys info
//   pickle  the object                   persistent ids ('storage', type, key, location, numel, view)
//   pickle  [key, key, ...]              the order in which the storages follow
//   per key: int64 little-endian numel, then numel × element-size bytes
//
// The pickles sit at the start; they are read through a window that grows until they fit (at most
// MAX_LEGACY_PICKLES bytes: a real file's pickles take kilobytes, its storages the rest).

import { dtypeSize } from '../../core/dtype.js';
import { LatentlabError } from '../../core/errors.js';
import type { ByteSource } from '../byte-source.js';
import { unpickle } from '../pickle/machine.js';
import { PYTHON_GLOBALS } from '../pickle/globals.js';
import type { PickleValue } from '../pickle/values.js';
import { describe, isTuple } from '../pickle/values.js';
import { storageId, torchError, TorchStorage, torchGlobals } from './rebuild.js';

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL = 1001;
const MAX_LEGACY_PICKLES = 256 << 20;

export async function readLegacy(source: ByteSource): Promise<{ root: PickleValue }> {
  for (let window = Math.min(source.size, 1 << 20); ; window = Math.min(source.size, window * 4)) {
    const bytes = await source.read(0, window);
    try {
      return await parse(source, bytes);
    } catch (e) {
      // Cut off by the window, not by the file: read more and start again.
      const cut = e instanceof LatentlabError && e.code === 'PICKLE_TRUNCATED' && window < source.size;
      if (!cut) throw e;
      if (window >= MAX_LEGACY_PICKLES) throw torchError(source, `the pickles are larger than ${MAX_LEGACY_PICKLES} bytes`, 'TORCH_LIMIT');
    }
  }
}

async function parse(source: ByteSource, bytes: Uint8Array): Promise<{ root: PickleValue }> {
  const plain = { file: source.name, globals: PYTHON_GLOBALS };
  const magic = unpickle(bytes, plain);
  if (magic.value !== MAGIC) throw torchError(source, 'a pickle that is not a torch.save file (no magic number)', 'TORCH_NOT_A_CHECKPOINT');
  const protocol = unpickle(bytes, plain, magic.end);
  if (protocol.value !== PROTOCOL) throw torchError(source, `legacy protocol ${describe(protocol.value)}; only ${PROTOCOL} exists`, 'TORCH_UNSUPPORTED');
  const info = unpickle(bytes, plain, protocol.end);
  if (!(info.value instanceof Map) || info.value.get('little_endian') !== true) {
    throw torchError(source, 'written on a big-endian machine (or without sys info); only little-endian files are read', 'TORCH_UNSUPPORTED');
  }
  const storages = new Map<string, TorchStorage>();
  const main = unpickle(bytes, {
    file: source.name,
    globals: torchGlobals(source.name),
    persistentLoad: (pid) => {
      if (isTuple(pid) && pid[0] === 'module') throw torchError(source, 'a pickled nn.Module (its class source is inside); save its state_dict() instead', 'TORCH_UNSUPPORTED');
      const { dtype, key, numel, rest } = storageId(source, pid, 6);
      let root = storages.get(key);
      if (!root) storages.set(key, (root = new TorchStorage(key, dtype, numel)));
      if (root.dtype !== dtype || root.numel !== numel) throw torchError(source, `storage ${key} is described twice, differently`);
      const view = rest[0];
      if (view === null) return root;
      // A view: (view_key, offset, size) inside the root storage.
      if (!isTuple(view) || view.length !== 3) throw torchError(source, 'bad storage view metadata');
      const [viewKey, offset, size] = view;
      if (typeof viewKey !== 'string') throw torchError(source, 'a storage view without a key');
      if (typeof offset !== 'number' || typeof size !== 'number' || offset < 0 || size < 0 || offset + size > numel) throw torchError(source, 'a storage view outside its storage');
      return new TorchStorage(`${key}:${viewKey}`, dtype, size, root, offset);
    },
  }, info.end);
  const keys = unpickle(bytes, plain, main.end);
  if (!Array.isArray(keys.value) || keys.value.some((k) => typeof k !== 'string')) throw torchError(source, 'the storage key list is damaged');
  let pos = keys.end;
  const placed = new Set<string>();
  for (const key of keys.value as string[]) {
    const s = storages.get(key);
    if (!s || placed.has(key)) throw torchError(source, `the storage list names ${JSON.stringify(key)}, which the object does not use (or twice)`);
    const head = await source.read(pos, 8).catch(() => {
      throw torchError(source, `the file ends before storage ${JSON.stringify(key)}`, 'TORCH_TRUNCATED');
    });
    const numel = new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, true);
    if (numel !== BigInt(s.numel)) throw torchError(source, `storage ${JSON.stringify(key)} holds ${numel} elements; the pickle says ${s.numel}`);
    s.dataOffset = pos + 8;
    pos = s.dataOffset + s.numel * dtypeSize(s.dtype);
    if (pos > source.size) throw torchError(source, `storage ${JSON.stringify(key)} runs past the end of the file`, 'TORCH_TRUNCATED');
    placed.add(key);
  }
  for (const key of storages.keys()) if (!placed.has(key)) throw torchError(source, `storage ${JSON.stringify(key)} has no data`, 'TORCH_TRUNCATED');
  return { root: main.value };
}
