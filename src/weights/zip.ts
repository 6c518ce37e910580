// A small, strict zip reader (PKWARE APPNOTE 6.3: end of central directory, central directory,
// local headers, the zip64 records), made for PyTorch checkpoints: torch.save writes a zip whose
// entries are *stored* (not compressed), so a tensor can be used where it lies — an entry's data
// offset is all ONNX Runtime needs — and a 4 GB .ckpt costs no copy.
//
// Why not an npm package: jszip, adm-zip and fflate read the whole archive into memory; yauzl is
// built on Node's fd and streams (this layer reads only through the FileSystem seam, so it also
// runs in a browser) and none hands out stored entries' data offsets as a plain API.
//
// Strict where a lenient reader would let a hostile file through: names are checked (no absolute
// paths, no "..", no backslashes, no NUL, no duplicates), entries may not overlap each other or the
// central directory (the trick of "overlapping" zip bombs), sizes are checked against the file, and
// encrypted or compressed entries are refused with a typed error (torch never writes them; reading
// compressed data is where zip bombs explode, so there is nothing to inflate).

import { crc32 } from '../core/bytes.js';
import { LatentlabError } from '../core/errors.js';
import type { ByteSource } from './byte-source.js';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored (the only method read here). */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  readonly localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
/** A central directory this large would describe millions of entries: not a checkpoint. */
const MAX_CENTRAL_BYTES = 256 << 20;

export function zipError(source: ByteSource, what: string, code = 'ZIP_MALFORMED', hint = 'the file is truncated or corrupt; download it again'): LatentlabError {
  return new LatentlabError(code, `${source.name}: ${what}`, { file: source.name, hint });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ZipArchive {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<ZipEntry, number>();
  /** Local header offsets, sorted: an entry's bytes must end before the next one starts. */
  private readonly starts: number[];

  private constructor(
    readonly source: ByteSource,
    readonly entries: readonly ZipEntry[],
    private readonly centralStart: number,
  ) {
    for (const e of entries) this.byName.set(e.name, e);
    this.starts = entries.map((e) => e.localHeaderOffset).sort((a, b) => a - b);
  }

  /** Reads the end record and the central directory (a few reads at the end of the file). */
  static async open(source: ByteSource): Promise<ZipArchive> {
    const { count, cdOffset, cdSize } = await readEnd(source);
    const cd = await source.read(cdOffset, cdSize);
    const entries = parseCentral(source, cd, count);
    const seen = new Set<string>();
    const starts = new Set<number>();
    for (const e of entries) {
      checkName(source, e.name);
      if (seen.has(e.name)) throw zipError(source, `the entry ${JSON.stringify(e.name)} appears twice`, 'ZIP_UNSAFE_NAME');
      if (starts.has(e.localHeaderOffset)) throw zipError(source, `two entries share the local header at byte ${e.localHeaderOffset} (overlapping entries)`, 'ZIP_OVERLAP');
      if (e.localHeaderOffset + 30 > cdOffset) throw zipError(source, `the entry ${JSON.stringify(e.name)} starts at byte ${e.localHeaderOffset}, inside the central directory`, 'ZIP_OVERLAP');
      seen.add(e.name);
      starts.add(e.localHeaderOffset);
    }
    return new ZipArchive(source, entries, cdOffset);
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * Absolute offset of an entry's first data byte (after its local header), checked: the header
   * matches the central record, and the data ends before the next entry (or the central directory).
   */
  async dataOffset(e: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(e);
    if (known !== undefined) return known;
    const s = this.source;
    if (e.flags & 1) throw zipError(s, `the entry ${JSON.stringify(e.name)} is encrypted`, 'ZIP_UNSUPPORTED', 'save the checkpoint again without encryption');
    if (e.method !== 0) {
      throw zipError(s, `the entry ${JSON.stringify(e.name)} is compressed (method ${e.method}); torch.save writes stored entries`, 'ZIP_UNSUPPORTED',
        're-save the file with torch.save (or convert it to .safetensors); a re-zipped checkpoint cannot be used in place');
    }
    if (e.compressedSize !== e.size) throw zipError(s, `the stored entry ${JSON.stringify(e.name)} has a compressed size ${e.compressedSize} ≠ its size ${e.size}`);
    const h = await s.read(e.localHeaderOffset, Math.min(30, s.size - e.localHeaderOffset));
    if (h.byteLength < 30) throw zipError(s, `the local header of ${JSON.stringify(e.name)} is cut off`, 'ZIP_TRUNCATED');
    const v = view(h);
    if (v.getUint32(0, true) !== SIG_LOCAL) throw zipError(s, `no local header signature at byte ${e.localHeaderOffset} (entry ${JSON.stringify(e.name)})`);
    const nameLen = v.getUint16(26, true);
    const extraLen = v.getUint16(28, true);
    const start = e.localHeaderOffset + 30 + nameLen + extraLen;
    const next = this.nextStart(e.localHeaderOffset);
    if (start + e.size > next) {
      throw zipError(s, `the data of ${JSON.stringify(e.name)} (${e.size} bytes at ${start}) runs into the next entry or the central directory at ${next}`, 'ZIP_OVERLAP');
    }
    const localName = await s.read(e.localHeaderOffset + 30, nameLen);
    if (decodeName(s, localName) !== e.name) throw zipError(s, `the local header of ${JSON.stringify(e.name)} names another file`);
    this.dataOffsets.set(e, start);
    return start;
  }

  /** The first local header after `offset` (binary search), or the central directory's start. */
  private nextStart(offset: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.starts.length ? this.starts[lo] : this.centralStart;
  }

  /** An entry's bytes in memory, CRC-checked; refused above `maxBytes` (for the pickle and small records). */
  async read(e: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    if (e.size > maxBytes) {
      throw zipError(this.source, `the entry ${JSON.stringify(e.name)} claims ${e.size} bytes; at most ${maxBytes} are read into memory`, 'ZIP_LIMIT');
    }
    const bytes = await this.source.read(await this.dataOffset(e), e.size);
    if (crc32(bytes) !== e.crc32) throw zipError(this.source, `the entry ${JSON.stringify(e.name)} fails its CRC-32 check`, 'ZIP_CRC');
    return bytes;
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A u64 field as a safe integer (zip64 sizes), or an error. */
function u64(source: ByteSource, v: DataView, at: number, what: string): number {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw zipError(source, `the ${what} ${n} is impossibly large`, 'ZIP_LIMIT');
  return Number(n);
}

async function readEnd(s: ByteSource): Promise<{ count: number; cdOffset: number; cdSize: number }> {
  if (s.size < 22) throw zipError(s, `${s.size} bytes is too short for a zip archive`, 'ZIP_TRUNCATED');
  // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  const tailLen = Math.min(s.size, 22 + 0xffff);
  const tailStart = s.size - tailLen;
  const tail = await s.read(tailStart, tailLen);
  const v = view(tail);
  let at = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (v.getUint32(i, true) === SIG_EOCD && v.getUint16(i + 20, true) === tailLen - 22 - i) {
      at = i;
      break;
    }
  }
  if (at < 0) throw zipError(s, 'no end-of-central-directory record (not a zip archive, or cut off)', 'ZIP_TRUNCATED');
  if (v.getUint16(at + 4, true) !== 0 || v.getUint16(at + 6, true) !== 0) throw zipError(s, 'multi-disk archives are not supported', 'ZIP_UNSUPPORTED');
  let count = v.getUint16(at + 10, true);
  let cdSize = v.getUint32(at + 12, true);
  let cdOffset = v.getUint32(at + 16, true);
  let endOfCentral = tailStart + at;
  const loc = at - 20;
  if (loc >= 0 && v.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    // zip64: the real counts and offsets are in the zip64 end record the locator points at.
    const recAt = u64(s, v, loc + 8, 'zip64 end record offset');
    if (recAt + 56 > tailStart + loc) throw zipError(s, `the zip64 end record offset ${recAt} is past its locator`);
    const rec = view(await s.read(recAt, 56));
    if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD) throw zipError(s, `no zip64 end record at byte ${recAt}`);
    count = u64(s, rec, 32, 'entry count');
    cdSize = u64(s, rec, 40, 'central directory size');
    cdOffset = u64(s, rec, 48, 'central directory offset');
    endOfCentral = recAt;
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw zipError(s, 'the end record defers to zip64 records that are missing');
  }
  if (cdSize > MAX_CENTRAL_BYTES) throw zipError(s, `the central directory claims ${cdSize} bytes`, 'ZIP_LIMIT');
  if (cdOffset + cdSize !== endOfCentral) {
    throw zipError(s, `the central directory (${cdSize} bytes at ${cdOffset}) does not end where the end record begins (${endOfCentral})`);
  }
  if (count > cdSize / 46) throw zipError(s, `${count} entries cannot fit in a ${cdSize}-byte central directory`);
  return { count, cdOffset, cdSize };
}

function parseCentral(s: ByteSource, cd: Uint8Array, count: number): ZipEntry[] {
  const v = view(cd);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || v.getUint32(p, true) !== SIG_CENTRAL) throw zipError(s, `central directory record ${i} is missing or damaged`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const disk = v.getUint16(p + 34, true);
    let lho = v.getUint32(p + 42, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cd.byteLength) throw zipError(s, `central directory record ${i} runs past the directory`);
    const name = decodeName(s, cd.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information (header id 1): the 64-bit values of the fields that are all ones, in this order.
    let x = p + 46 + nameLen;
    const extraEnd = x + extraLen;
    while (x + 4 <= extraEnd) {
      const id = v.getUint16(x, true);
      const len = v.getUint16(x + 2, true);
      if (x + 4 + len > extraEnd) throw zipError(s, `a damaged extra field in the record of ${JSON.stringify(name)}`);
      if (id === 1) {
        let q = x + 4;
        const next = (what: string) => {
          if (q + 8 > x + 4 + len) throw zipError(s, `the zip64 field of ${JSON.stringify(name)} lacks its ${what}`);
          const n = u64(s, v, q, what);
          q += 8;
          return n;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (lho === 0xffffffff) lho = next('local header offset');
      }
      x += 4 + len;
    }
    if (disk !== 0 && disk !== 0xffff) throw zipError(s, 'multi-disk archives are not supported', 'ZIP_UNSUPPORTED');
    if (lho + 30 > s.size) throw zipError(s, `the entry ${JSON.stringify(name)} starts at byte ${lho}, past the end of the file`, 'ZIP_TRUNCATED');
    entries.push({ name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset: lho });
    p = end;
  }
  return entries;
}

function decodeName(s: ByteSource, bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw zipError(s, 'an entry name is not valid UTF-8', 'ZIP_UNSAFE_NAME');
  }
}

/** Names a careless extractor would turn into writes outside its folder are refused outright. */
function checkName(s: ByteSource, name: string): void {
  const parts = name.split('/');
  const bad = name.length === 0 || name.includes('\0') || name.includes('\\') || name.startsWith('/') || /^[A-Za-z]:/.test(name)
    || parts.some((p) => p === '..' || p === '.');
  if (bad) {
    throw zipError(s, `unsafe entry name ${JSON.stringify(name)} (absolute, "..", "." or a backslash)`, 'ZIP_UNSAFE_NAME',
      'this archive was not written by torch.save; do not use it');
  }
}
