// PNG text chunks on bytes: tEXt for latin-1, iTXt for the rest, CRCs, reading zTXt / compressed iTXt.
import { deflateSync, inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { crc32, insertPngText, listPngChunks, pngText, readPngTextChunks } from '../../src/image/png-text.js';
import { expectCode } from '../weights/tmp.js';
import { chunk, chunkTypes, concat, makePng } from './png-maker.js';

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const utf8 = (s: string) => new TextEncoder().encode(s);
const inflate = (d: Uint8Array) => new Uint8Array(inflateSync(d));
const tiny = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 2, rows: [[10, 20, 30]] });

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(latin1('123456789'))).toBe(0xcbf43926);
    expect(crc32(latin1('IEND'))).toBe(0xae426082);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('insertPngText / readPngTextChunks', () => {
  it('writes latin-1 text as tEXt right after IHDR, with a valid CRC', () => {
    const png = insertPngText(tiny, { parameters: 'a café, Steps: 20', Software: 'latentlab' });
    expect(chunkTypes(png)).toEqual(['IHDR', 'tEXt', 'tEXt', 'IDAT', 'IEND']);
    const chunks = readPngTextChunks(png);
    expect(chunks.map((c) => [c.type, c.keyword, c.text])).toEqual([['tEXt', 'parameters', 'a café, Steps: 20'], ['tEXt', 'Software', 'latentlab']]);
    // é is the single byte 0xE9 (latin-1), not UTF-8's two bytes.
    const c = listPngChunks(png)[1];
    expect(Array.from(png.subarray(c.offset + 8, c.offset + 8 + c.length))).toEqual(Array.from(concat([latin1('parameters'), Uint8Array.of(0), latin1('a café, Steps: 20')])));
  });

  it('writes non-latin-1 text (emoji, CJK) as uncompressed UTF-8 iTXt, as PIL does', () => {
    const text = '猫 on the moon 🐱🌙\nNegative prompt: ぼやけた';
    const png = insertPngText(tiny, { parameters: text });
    const [c] = readPngTextChunks(png);
    expect(c).toEqual({ type: 'iTXt', keyword: 'parameters', text, compressed: false, languageTag: '', translatedKeyword: '' });
    const raw = listPngChunks(png)[1];
    // keyword NUL, flag 0, method 0, "" NUL, "" NUL, UTF-8 text
    expect(Array.from(png.subarray(raw.offset + 8, raw.offset + 8 + raw.length)))
      .toEqual(Array.from(concat([latin1('parameters'), Uint8Array.of(0, 0, 0, 0, 0), utf8(text)])));
  });

  it('replaces an existing chunk with the same keyword and keeps the others', () => {
    const once = insertPngText(tiny, { parameters: 'old', Author: 'me' });
    const twice = insertPngText(once, { parameters: 'new ✓' });
    expect(pngText(twice)).toEqual({ parameters: 'new ✓', Author: 'me' });
    expect(chunkTypes(twice)).toEqual(['IHDR', 'iTXt', 'tEXt', 'IDAT', 'IEND']);
  });

  it('reads zTXt and compressed iTXt when given inflate, and marks them unread without it', () => {
    const z = chunk('zTXt', concat([latin1('Comment'), Uint8Array.of(0, 0), deflateSync(latin1('squeezed ü'))]));
    const it8 = chunk('iTXt', concat([latin1('parameters'), Uint8Array.of(0, 1, 0), latin1('ja'), Uint8Array.of(0), utf8('パラメータ'), Uint8Array.of(0), deflateSync(utf8('月の猫 🐱'))]));
    const png = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 2, rows: [[1, 2, 3]], before: [z, it8] });
    expect(pngText(png, { inflate })).toEqual({ Comment: 'squeezed ü', parameters: '月の猫 🐱' });
    const chunks = readPngTextChunks(png, { inflate });
    expect(chunks[1]).toMatchObject({ compressed: true, languageTag: 'ja', translatedKeyword: 'パラメータ' });
    expect(readPngTextChunks(png).map((c) => c.text)).toEqual([null, null]);
    expect(pngText(png)).toEqual({});
  });

  it('rejects broken files with PNG_INVALID', async () => {
    await expectCode(() => pngText(latin1('GIF89a....')), 'PNG_INVALID');
    await expectCode(() => pngText(tiny.subarray(0, tiny.length - 20), { source: 'cut.png' }), 'PNG_INVALID');
    const withText = insertPngText(tiny, { parameters: 'x' });
    const bad = withText.slice();
    bad[listPngChunks(withText)[1].offset + 10] ^= 0xff; // flip a byte inside the tEXt data
    const e = await expectCode(() => pngText(bad, { source: 'bad.png' }), 'PNG_INVALID');
    expect(e.message).toMatch(/bad\.png.*tEXt.*CRC/);
    const zbad = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 2, rows: [[1, 2, 3]], before: [chunk('zTXt', concat([latin1('k'), Uint8Array.of(0, 0, 1, 2, 3)]))] });
    await expectCode(() => pngText(zbad, { inflate }), 'PNG_INVALID');
  });

  it('refuses keywords and text the format cannot hold', async () => {
    for (const key of ['', ' lead', 'trail ', 'two  spaces', 'k'.repeat(80), 'ключ', 'a\nb']) {
      await expectCode(() => insertPngText(tiny, { [key]: 'x' }), 'PNG_TEXT_KEYWORD');
    }
    await expectCode(() => insertPngText(tiny, { parameters: 'nul\0inside' }), 'PNG_TEXT_VALUE');
  });
});
