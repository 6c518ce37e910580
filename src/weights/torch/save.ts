// torch.save's zip format, writing side (the inverse of checkpoint.ts): enough of it for the
// textual-inversion files people share — a diffusers `learned_embeds.bin` ({token: tensor}) and
// an AUTOMATIC1111 `.pt` ({"string_to_token", "string_to_param", "name", "step", …}).
//
//   archive/data.pkl     pickle protocol 2 of the object; each tensor is
//                        torch._utils._rebuild_tensor_v2(persid ("storage", torch.FloatStorage, key,
//                        "cpu", numel), 0, size, stride, False, collections.OrderedDict())
//   archive/byteorder    "little"
//   archive/data/<key>   the raw float32 storage, stored (uncompressed) at a 64-byte-aligned offset
//   archive/version      "3"
//
// The pickle holds only what the reader's allow-list accepts; no code is referenced.

import { concatBytes, crc32 } from '../../core/bytes.js';
import { LatentlabError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';

/** What can be saved: nested string-keyed dicts of strings, integers, None and float32 tensors. */
export type SaveValue = string | number | null | Tensor<'float32'> | { readonly [key: string]: SaveValue };

const enc = new TextEncoder();
const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

class PickleWriter {
  readonly bytes: number[] = [0x80, 2]; // PROTO 2
  readonly storages: Uint8Array[] = [];

  op(...b: number[]): void {
    for (const x of b) this.bytes.push(x);
  }

  str(s: string): void {
    const b = enc.encode(s);
    this.op(0x58, ...u32(b.length), ...b); // BINUNICODE
  }

  int(n: number): void {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new LatentlabError('TORCH_SAVE', `cannot save ${n}: only 32-bit integers`);
    if (n >= 0 && n < 256) this.op(0x4b, n); // BININT1
    else this.op(0x4a, ...u32(n >>> 0)); // BININT
  }

  global(module: string, name: string): void {
    this.op(0x63, ...enc.encode(`${module}\n${name}\n`)); // GLOBAL
  }

  tuple(items: () => void): void {
    this.op(0x28); // MARK
    items();
    this.op(0x74); // TUPLE
  }

  value(v: SaveValue): void {
    if (v === null) this.op(0x4e); // NONE
    else if (typeof v === 'string') this.str(v);
    else if (typeof v === 'number') this.int(v);
    else if (isTensor(v)) this.tensor(v);
    else {
      this.op(0x7d); // EMPTY_DICT
      const entries = Object.entries(v);
      if (entries.length === 0) return;
      this.op(0x28); // MARK
      for (const [k, x] of entries) {
        this.str(k);
        this.value(x);
      }
      this.op(0x75); // SETITEMS
    }
  }

  tensor(t: Tensor<'float32'>): void {
    if (t.dtype !== 'float32') throw new LatentlabError('TORCH_SAVE', `cannot save a ${t.dtype} tensor: only float32`);
    const key = String(this.storages.length);
    this.storages.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.tuple(() => {
      this.tuple(() => {
        this.str('storage');
        this.global('torch', 'FloatStorage');
        this.str(key);
        this.str('cpu');
        this.int(t.size);
      });
      this.op(0x51); // BINPERSID
      this.int(0);
      this.tuple(() => t.shape.forEach((d) => this.int(d)));
      this.tuple(() => strides.forEach((s) => this.int(s)));
      this.op(0x89); // NEWFALSE: requires_grad
      this.global('collections', 'OrderedDict');
      this.op(0x29, 0x52); // EMPTY_TUPLE, REDUCE: OrderedDict()
    });
    this.op(0x52); // REDUCE
  }
}

function isTensor(v: unknown): v is Tensor<'float32'> {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v && 'data' in v;
}

/** The bytes torch.save(obj) writes for `obj` (zip format; stored entries, data aligned to 64 bytes). */
export function torchSave(obj: SaveValue): Uint8Array {
  const p = new PickleWriter();
  p.value(obj);
  p.op(0x2e); // STOP
  const entries: [string, Uint8Array][] = [
    ['archive/data.pkl', Uint8Array.from(p.bytes)],
    ['archive/byteorder', enc.encode('little')],
    ...p.storages.map((s, i) => [`archive/data/${i}`, s] as [string, Uint8Array]),
    ['archive/version', enc.encode('3\n')],
  ];
  return storedZip(entries);
}

/** A zip of stored entries; each entry's data starts at a multiple of 64 (padding in the local extra field, as torch does). */
function storedZip(entries: readonly [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: number[] = [];
  let at = 0;
  for (const [name, data] of entries) {
    const n = enc.encode(name);
    const crc = crc32(data);
    const headerEnd = at + 30 + n.length + 4;
    const pad = (64 - (headerEnd % 64)) % 64;
    const extra = [0x46, 0x42, ...u16(pad), ...new Array<number>(pad).fill(0x5a)]; // "FB" padding field
    const common = [...u16(20), ...u16(0), ...u16(0), 0, 0, 0, 0x21, ...u32(crc), ...u32(data.length), ...u32(data.length), ...u16(n.length)];
    parts.push(Uint8Array.from([...u32(0x04034b50), ...common, ...u16(extra.length), ...n, ...extra]), data);
    central.push(...u32(0x02014b50), ...u16(20), ...common, ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(at), ...n);
    at += 30 + n.length + extra.length + data.length;
  }
  const end = [...u32(0x06054b50), 0, 0, 0, 0, ...u16(entries.length), ...u16(entries.length), ...u32(central.length), ...u32(at), 0, 0];
  return concatBytes([...parts, Uint8Array.from(central), Uint8Array.from(end)]);
}

/** An AUTOMATIC1111 embedding (.pt) as its textual_inversion.py saves one: vectors [n, H] under string_to_param["*"]. */
export function a1111EmbeddingBytes(name: string, vectors: Tensor<'float32'>, o: { step?: number; checkpoint?: string; checkpointName?: string } = {}): Uint8Array {
  return torchSave({
    string_to_token: { '*': 265 },
    string_to_param: { '*': vectors },
    name,
    step: o.step ?? null,
    sd_checkpoint: o.checkpoint ?? null,
    sd_checkpoint_name: o.checkpointName ?? null,
  });
}
