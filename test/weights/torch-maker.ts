// Hand-made pickles, zip archives and torch.save files for the reader's tests and the fuzz suite
// (no Python needed): a pickle assembler with the opcodes by name, a stored-zip writer (optionally
// zip64), and the two torch.save layouts built from them.
import { concatBytes, crc32 } from '../../src/core/bytes.js';
import { strides } from '../../src/core/tensor.js';

const enc = new TextEncoder();

/** A pickle program, opcode by opcode: `new Pickle().proto(2).emptyDict().str('a').int(1).setitem().stop().bytes()`. */
export class Pickle {
  private readonly parts: number[] = [];

  op(code: number, ...args: (number[] | Uint8Array)[]): this {
    this.parts.push(code);
    for (const a of args) this.raw(a);
    return this;
  }

  /** Bytes as they are (a loop, not a spread: generated programs can be long). */
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]);
    return this;
  }

  proto(v = 2): this { return this.op(0x80, [v]); }
  stop(): this { return this.op(0x2e); }
  mark(): this { return this.op(0x28); }
  none(): this { return this.op(0x4e); }
  bool(v: boolean): this { return this.op(v ? 0x88 : 0x89); }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, [n]);
    if (n >= 0 && n < 65536) return this.op(0x4d, le(n, 2));
    return this.op(0x4a, le(n >>> 0, 4));
  }
  long1(n: bigint): this {
    const b: number[] = [];
    let x = n;
    do {
      b.push(Number(x & 0xffn));
      x >>= 8n;
    } while (!(x === 0n && (b[b.length - 1] & 0x80) === 0) && !(x === -1n && (b[b.length - 1] & 0x80) !== 0));
    return this.op(0x8a, [b.length], b);
  }
  float(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    return this.op(0x47, b);
  }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op(0x58, le(b.length, 4), b);
  }
  bytesValue(b: Uint8Array): this { return this.op(0x42, le(b.length, 4), b); }
  global(module: string, name: string): this { return this.op(0x63, enc.encode(`${module}\n${name}\n`)); }
  emptyDict(): this { return this.op(0x7d); }
  emptyList(): this { return this.op(0x5d); }
  emptyTuple(): this { return this.op(0x29); }
  tuple(): this { return this.op(0x74); }
  tuple1(): this { return this.op(0x85); }
  tuple2(): this { return this.op(0x86); }
  setitem(): this { return this.op(0x73); }
  setitems(): this { return this.op(0x75); }
  append(): this { return this.op(0x61); }
  appends(): this { return this.op(0x65); }
  reduce(): this { return this.op(0x52); }
  binput(i: number): this { return this.op(0x71, [i]); }
  binget(i: number): this { return this.op(0x68, [i]); }
  binpersid(): this { return this.op(0x51); }
  build(): this { return this.op(0x62); }

  /** `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`. */
  tensor(storageType: string, key: string, numel: number, shape: number[], offset = 0): this {
    return this.rebuild(storageType, key, numel, shape, offset, false);
  }

  /** The same with the legacy format's 6-field persistent id (view metadata None). */
  legacyTensor(storageType: string, key: string, numel: number, shape: number[]): this {
    return this.rebuild(storageType, key, numel, shape, 0, true);
  }

  private rebuild(storageType: string, key: string, numel: number, shape: number[], offset: number, legacy: boolean): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel);
    if (legacy) this.none();
    this.tuple().binpersid().int(offset).mark();
    for (const d of shape) this.int(d);
    this.tuple().mark();
    for (const s of strides(shape)) this.int(s);
    return this.tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }

  get length(): number {
    return this.parts.length;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function le(n: number, size: number): number[] {
  const out: number[] = [];
  let x = BigInt(n);
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Write this method number (the data stays as given). */
  method?: number;
  /** Lie in the central directory about the size. */
  claimedSize?: number;
}

/** A zip archive with stored entries (torch's layout); `zip64` writes zip64 records for every entry. */
export function makeZip(inputs: readonly ZipInput[], o: { zip64?: boolean; localOffsets?: (offsets: number[]) => number[] } = {}): Uint8Array {
  const chunks = new Pickle(); // used here as a plain byte builder
  const offsets: number[] = [];
  for (const e of inputs) {
    const name = enc.encode(e.name);
    offsets.push(chunks.length);
    chunks.raw([...le(0x04034b50, 4), ...le(20, 2), ...le(0, 2), ...le(e.method ?? 0, 2), 0, 0, 0, 0, ...le(crc32(e.data), 4),
      ...le(e.data.length, 4), ...le(e.data.length, 4), ...le(name.length, 2), ...le(0, 2)]).raw(name).raw(e.data);
  }
  const cdStart = chunks.length;
  const central = o.localOffsets ? o.localOffsets(offsets) : offsets;
  inputs.forEach((e, i) => {
    const name = enc.encode(e.name);
    const size = e.claimedSize ?? e.data.length;
    const extra = o.zip64 ? [...le(1, 2), ...le(24, 2), ...le(size, 8), ...le(size, 8), ...le(central[i], 8)] : [];
    const small = (n: number) => (o.zip64 ? le(0xffffffff, 4) : le(n, 4));
    chunks.raw([...le(0x02014b50, 4), ...le(45, 2), ...le(45, 2), ...le(0, 2), ...le(e.method ?? 0, 2), 0, 0, 0, 0, ...le(crc32(e.data), 4),
      ...small(size), ...small(size), ...le(name.length, 2), ...le(extra.length, 2), ...le(0, 2), ...le(0, 2), ...le(0, 2), ...le(0, 4),
      ...small(central[i])]).raw(name).raw(extra);
  });
  const cdSize = chunks.length - cdStart;
  if (o.zip64) {
    const recAt = chunks.length;
    chunks.raw([...le(0x06064b50, 4), ...le(44, 8), ...le(45, 2), ...le(45, 2), ...le(0, 4), ...le(0, 4), ...le(inputs.length, 8), ...le(inputs.length, 8),
      ...le(cdSize, 8), ...le(cdStart, 8)]);
    chunks.raw([...le(0x07064b50, 4), ...le(0, 4), ...le(recAt, 8), ...le(1, 4)]);
    chunks.raw([...le(0x06054b50, 4), 0, 0, 0, 0, ...le(0xffff, 2), ...le(0xffff, 2), ...le(0xffffffff, 4), ...le(0xffffffff, 4), 0, 0]);
  } else {
    chunks.raw([...le(0x06054b50, 4), 0, 0, 0, 0, ...le(inputs.length, 2), ...le(inputs.length, 2), ...le(cdSize, 4), ...le(cdStart, 4), 0, 0]);
  }
  return chunks.bytes();
}

/** A torch.save zip: folder/data.pkl, folder/data/<key> for each storage, folder/version. */
export function torchZip(folder: string, pickle: Uint8Array, storages: Record<string, Uint8Array>, o: { zip64?: boolean } = {}): Uint8Array {
  return makeZip([
    { name: `${folder}/data.pkl`, data: pickle },
    { name: `${folder}/byteorder`, data: enc.encode('little') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${folder}/data/${k}`, data })),
    { name: `${folder}/version`, data: enc.encode('3\n') },
  ], o);
}

/** The legacy torch.save stream: magic, protocol, sys info, the object, the storage keys, then the storages. */
export function torchLegacy(object: (p: Pickle) => Pickle, storages: Record<string, { numel: number; data: Uint8Array }>): Uint8Array {
  const magic = new Pickle().proto(2).long1(0x1950a86a20f9469cfc6cn).stop().bytes();
  const protocol = new Pickle().proto(2).int(1001).stop().bytes();
  const info = new Pickle().proto(2).emptyDict().str('protocol_version').int(1001).setitem().str('little_endian').bool(true).setitem().stop().bytes();
  const main = object(new Pickle().proto(2)).stop().bytes();
  const keys = new Pickle().proto(2).mark();
  for (const k of Object.keys(storages)) keys.str(k);
  const parts = [magic, protocol, info, main, keys.op(0x6c).stop().bytes()];
  for (const s of Object.values(storages)) parts.push(Uint8Array.from(le(s.numel, 8)), s.data);
  return concatBytes(parts);
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
