// PNG text chunks on raw bytes: write `tEXt` / `iTXt`, read `tEXt` / `zTXt` / `iTXt`.
//
// This is how AUTOMATIC1111 stores its `parameters` string and how image viewers find it. We
// write like PIL's `PngInfo.add_text` (which A1111 uses): `tEXt` when the text is latin-1
// (every character ≤ U+00FF), otherwise an uncompressed `iTXt` (UTF-8) with empty language tag and
// translated keyword. Text chunks go right after IHDR, which the PNG spec allows (any place
// between IHDR and IEND) and which lets a reader find them without skipping the image data.
//
// Chunk layout (PNG spec §5.3): length (4 bytes, big-endian, of the data only), type (4 ASCII
// letters), data, CRC-32 of type + data. Compressed chunks (zTXt, compressed iTXt) need zlib's
// inflate, which a pure module cannot import: pass `inflate` (the Node platform passes
// node:zlib's inflateSync); without it their `text` is null.

import { concatBytes, crc32 } from '../core/bytes.js';
import { check, fmtValue, LatentlabError } from '../core/errors.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

export interface PngChunk {
  type: string;
  /** Offset of the chunk's length field in the file. */
  offset: number;
  /** Length of the chunk's data. */
  length: number;
}

export interface PngTextChunk {
  type: 'tEXt' | 'zTXt' | 'iTXt';
  keyword: string;
  /** null for a compressed chunk when no `inflate` was given. */
  text: string | null;
  compressed: boolean;
  /** iTXt only. */
  languageTag?: string;
  translatedKeyword?: string;
}

export interface ReadTextOptions {
  /** zlib inflate (RFC 1950 stream → bytes), for zTXt and compressed iTXt. */
  inflate?: (data: Uint8Array) => Uint8Array;
  /** A file name for error messages. */
  source?: string;
}

// CRC-32 and concatBytes live in core (zip entries use the same CRC); re-exported for this module's users.
export { concatBytes, crc32 } from '../core/bytes.js';

// ---- chunk walking -------------------------------------------------------------------------

function invalid(source: string | undefined, what: string): LatentlabError {
  return new LatentlabError('PNG_INVALID', `${source ?? 'PNG data'}: ${what}`, {
    file: source, hint: 'the file is not a complete PNG; re-export it, or check that the download/copy finished',
  });
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Every chunk of a PNG, in file order. Checks the signature, the lengths, IHDR first and IEND last. */
export function listPngChunks(png: Uint8Array, source?: string): PngChunk[] {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw invalid(source, 'does not start with the PNG signature');
  const chunks: PngChunk[] = [];
  let at = 8;
  while (at < png.length) {
    if (at + 12 > png.length) throw invalid(source, `truncated chunk header at byte ${at}`);
    const length = u32(png, at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw invalid(source, `bad chunk type ${fmtValue(type)} at byte ${at}`);
    if (at + 12 + length > png.length) throw invalid(source, `chunk ${type} at byte ${at} needs ${length} data bytes but the file ends first (truncated)`);
    chunks.push({ type, offset: at, length });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw invalid(source, 'the first chunk is not IHDR');
  if (chunks[chunks.length - 1].type !== 'IEND') throw invalid(source, 'no IEND chunk (the file is truncated)');
  return chunks;
}

function checkCrc(png: Uint8Array, c: PngChunk, source?: string): void {
  const stored = u32(png, c.offset + 8 + c.length);
  if (crc32(png, c.offset + 4, c.offset + 8 + c.length) !== stored) throw invalid(source, `chunk ${c.type} at byte ${c.offset} has a bad CRC`);
}

// ---- latin-1 and UTF-8 ---------------------------------------------------------------------

/** True when every character fits in one latin-1 byte (what PIL tries before falling back to iTXt). */
export function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

// TextDecoder('latin1') is windows-1252 in the WHATWG encoding standard, so decode by hand.
function latin1Decode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function latin1Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

function utf8Decode(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

// ---- writing -------------------------------------------------------------------------------

function checkKeyword(keyword: string): void {
  // PNG spec §11.3.4.2: 1–79 printable latin-1 characters, no leading, trailing or double spaces.
  const ok = typeof keyword === 'string' && keyword.length >= 1 && keyword.length <= 79
    && /^[\x20-\x7e\xa1-\xff]+$/.test(keyword) && !/^ | $| {2}/.test(keyword);
  check(ok, 'PNG_TEXT_KEYWORD', () => `PNG text keyword ${fmtValue(keyword)} is not valid`, {
    key: String(keyword), hint: 'use 1–79 printable latin-1 characters without leading, trailing or double spaces (e.g. "parameters")',
  });
}

function textChunk(keyword: string, text: string): Uint8Array {
  checkKeyword(keyword);
  check(typeof text === 'string' && !text.includes('\0'), 'PNG_TEXT_VALUE',
    () => `PNG text for ${fmtValue(keyword)} must be a string without NUL characters, got ${fmtValue(text)}`, { key: keyword });
  const key = latin1Encode(keyword);
  let type: string;
  let data: Uint8Array;
  if (isLatin1(text)) {
    type = 'tEXt'; // keyword NUL text
    const body = latin1Encode(text);
    data = new Uint8Array(key.length + 1 + body.length);
    data.set(key);
    data.set(body, key.length + 1);
  } else {
    type = 'iTXt'; // keyword NUL, compression flag 0, method 0, language "" NUL, translated keyword "" NUL, UTF-8 text
    const body = utf8.encode(text);
    data = new Uint8Array(key.length + 5 + body.length);
    data.set(key);
    data.set(body, key.length + 5);
  }
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(latin1Encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk, 4, 8 + data.length));
  return chunk;
}

/**
 * A copy of `png` with one text chunk per entry inserted after IHDR. Text chunks already in the
 * file with one of these keywords are removed, so writing twice does not leave two `parameters`.
 */
export function insertPngText(png: Uint8Array, text: Readonly<Record<string, string>>, source?: string): Uint8Array {
  const chunks = listPngChunks(png, source);
  const keys = new Set(Object.keys(text));
  const added = Object.entries(text).map(([k, v]) => textChunk(k, v));
  const kept = chunks.filter((c) => !(isTextType(c.type) && keys.has(chunkKeyword(png, c))));
  const ihdrEnd = chunks[0].offset + 12 + chunks[0].length;
  return concatBytes([png.subarray(0, ihdrEnd), ...added, ...kept.slice(1).map((c) => png.subarray(c.offset, c.offset + 12 + c.length))]);
}

// ---- reading -------------------------------------------------------------------------------

function isTextType(type: string): type is PngTextChunk['type'] {
  return type === 'tEXt' || type === 'zTXt' || type === 'iTXt';
}

function chunkKeyword(png: Uint8Array, c: PngChunk): string {
  const data = png.subarray(c.offset + 8, c.offset + 8 + c.length);
  const nul = data.indexOf(0);
  return latin1Decode(data.subarray(0, nul < 0 ? data.length : nul));
}

/** Every text chunk of a PNG, in file order. Throws PNG_INVALID on a broken file or text chunk. */
export function readPngTextChunks(png: Uint8Array, options: ReadTextOptions = {}): PngTextChunk[] {
  const { source } = options;
  // A corrupt compressed stream is a broken file, not a crash in zlib.
  const inflate = options.inflate && ((bytes: Uint8Array, c: PngChunk): Uint8Array => {
    try {
      return options.inflate!(bytes);
    } catch (e) {
      throw invalid(source, `${c.type} chunk at byte ${c.offset}: its compressed text does not inflate (${(e as Error).message})`);
    }
  });
  const out: PngTextChunk[] = [];
  for (const c of listPngChunks(png, source)) {
    if (!isTextType(c.type)) continue;
    checkCrc(png, c, source);
    const data = png.subarray(c.offset + 8, c.offset + 8 + c.length);
    const nul = data.indexOf(0);
    if (nul < 1) throw invalid(source, `${c.type} chunk at byte ${c.offset} has no keyword`);
    const keyword = latin1Decode(data.subarray(0, nul));
    const rest = data.subarray(nul + 1);
    if (c.type === 'tEXt') {
      out.push({ type: 'tEXt', keyword, text: latin1Decode(rest), compressed: false });
    } else if (c.type === 'zTXt') {
      out.push({ type: 'zTXt', keyword, text: inflate ? latin1Decode(inflate(rest.subarray(1), c)) : null, compressed: true });
    } else {
      const compressed = rest[0] === 1;
      const langEnd = rest.indexOf(0, 2);
      const tkeyEnd = langEnd < 0 ? -1 : rest.indexOf(0, langEnd + 1);
      if (rest.length < 2 || tkeyEnd < 0) throw invalid(source, `iTXt chunk ${fmtValue(keyword)} at byte ${c.offset} is malformed`);
      const body = rest.subarray(tkeyEnd + 1);
      const text = !compressed ? utf8Decode(body) : inflate ? utf8Decode(inflate(body, c)) : null;
      out.push({
        type: 'iTXt', keyword, compressed, text,
        languageTag: latin1Decode(rest.subarray(2, langEnd)),
        translatedKeyword: utf8Decode(rest.subarray(langEnd + 1, tkeyEnd)),
      });
    }
  }
  return out;
}

/** keyword → text of every readable text chunk; a later chunk wins, as in PIL's `image.text`. */
export function pngText(png: Uint8Array, options: ReadTextOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of readPngTextChunks(png, options)) if (c.text !== null) out[c.keyword] = c.text;
  return out;
}
