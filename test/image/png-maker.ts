// Hand-made PNG files for tests: any bit depth / colour type, extra chunks where we want them.
// Uses node:zlib for the image data; the code under test never does.
import { deflateSync } from 'node:zlib';

import { concatBytes as concat, crc32 } from '../../src/image/png-text.js';

export { concat };

export function chunk(type: string, data: Uint8Array | number[]): Uint8Array {
  const body = Uint8Array.from(data);
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out, 4, 8 + body.length));
  return out;
}

export interface PngSpec {
  width: number;
  height: number;
  bitDepth: 1 | 8 | 16;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Unfiltered scanlines, one per row, as the PNG stores them (16-bit samples big-endian). */
  rows: (Uint8Array | number[])[];
  /** Chunks placed between IHDR and IDAT (PLTE, tRNS, iCCP, text, ...). */
  before?: Uint8Array[];
}

export function makePng(spec: PngSpec): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, spec.width);
  v.setUint32(4, spec.height);
  ihdr[8] = spec.bitDepth;
  ihdr[9] = spec.colorType;
  const raw = concat(spec.rows.map((r) => concat([Uint8Array.of(0), Uint8Array.from(r)]))); // filter type 0 per row
  return concat([
    Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10),
    chunk('IHDR', ihdr), ...(spec.before ?? []), chunk('IDAT', deflateSync(raw)), chunk('IEND', []),
  ]);
}

/** 16-bit samples as big-endian bytes. */
export function be16(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((x, i) => new DataView(out.buffer).setUint16(2 * i, x));
  return out;
}

/** The chunk types of a PNG, in order. */
export function chunkTypes(png: Uint8Array): string[] {
  const types: string[] = [];
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at < png.length; at += 12 + v.getUint32(at)) types.push(String.fromCharCode(...png.subarray(at + 4, at + 8)));
  return types;
}
