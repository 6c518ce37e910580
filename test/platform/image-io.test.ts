// Image files through sharp: decoding as diffusers' load_image would, PNG round trips with text,
// atomic writes, and clear errors for files that are missing or are not images.
import '../../src/platform/node/index.js';

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { formatA1111Parameters, parseA1111Parameters } from '../../src/image/a1111.js';
import { pngText } from '../../src/image/png-text.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { decodeImage, encodePng, readImage, readPngText, resizeImage, writePng } from '../../src/platform/node/image.js';
import { fixturePath, loadTensors } from '../helpers/fixtures.js';
import { be16, chunk, chunkTypes, makePng } from '../image/png-maker.js';
import { expectCode, useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('image');

function randomImage(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { width, height, data };
}

const rgbOf = async (png: Uint8Array) => Array.from((await decodeImage(png)).data);

describe('encodePng / decodeImage', () => {
  it('round-trips pixels exactly (odd sizes too)', async () => {
    for (const [w, h] of [[1, 1], [7, 3], [64, 96]]) {
      const image = randomImage(w, h, w * h);
      const back = await decodeImage(await encodePng(image));
      expect([back.width, back.height]).toEqual([w, h]);
      expect(Buffer.from(back.data).equals(Buffer.from(image.data))).toBe(true);
    }
  });

  it('reads the fixture PNGs as the bytes diffusers saved / loaded', async () => {
    for (const [model, name] of [['tiny-sd15', 'sd15_pndm_img2img_64x64'], ['tiny-sd2', 'sd2_euler_img2img_64x64']]) {
      const t = await loadTensors('reference', model, 'img2img', `${name}.safetensors`);
      const input = await readImage(fixturePath('reference', model, 'img2img', `${name}_input.png`));
      expect(Buffer.from(input.data).equals(Buffer.from(t.get('input_image_uint8')!.data as Uint8Array))).toBe(true);
      const output = await readImage(fixturePath('reference', model, 'img2img', `${name}.png`));
      expect(Buffer.from(output.data).equals(Buffer.from(t.get('image_uint8')!.data as Uint8Array))).toBe(true);
    }
  });

  it('puts text chunks after IHDR, readable back and by sharp', async () => {
    const png = await encodePng(randomImage(4, 4), { text: { parameters: 'a cat\nSteps: 5, Sampler: Euler, Seed: 1', Software: 'latentlab' } });
    expect(chunkTypes(png).slice(0, 3)).toEqual(['IHDR', 'tEXt', 'tEXt']);
    expect(pngText(png)).toEqual({ parameters: 'a cat\nSteps: 5, Sampler: Euler, Seed: 1', Software: 'latentlab' });
    const meta = await sharp(png).metadata();
    expect(meta.comments).toEqual([{ keyword: 'parameters', text: 'a cat\nSteps: 5, Sampler: Euler, Seed: 1' }, { keyword: 'Software', text: 'latentlab' }]);
    expect(await rgbOf(png)).toEqual(Array.from(randomImage(4, 4).data));
  });
});

describe('decodeImage follows PIL convert("RGB")', () => {
  it('drops alpha without compositing (a fully transparent pixel keeps its colour)', async () => {
    const rgba = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 6, rows: [[200, 10, 20, 0, 30, 40, 50, 128]] });
    expect(await rgbOf(rgba)).toEqual([200, 10, 20, 30, 40, 50]);
    const greyAlpha = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[77, 0, 200, 255]] });
    expect(await rgbOf(greyAlpha)).toEqual([77, 77, 77, 200, 200, 200]);
  });

  it('replicates grey (8-bit and 1-bit) and looks palettes up (tRNS ignored)', async () => {
    expect(await rgbOf(makePng({ width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[0, 128, 255]] }))).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
    expect(await rgbOf(makePng({ width: 4, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000]] }))).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0]);
    const palette = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 3, rows: [[1, 0]], before: [chunk('PLTE', [10, 20, 30, 40, 50, 60]), chunk('tRNS', [0, 255])] });
    expect(await rgbOf(palette)).toEqual([40, 50, 60, 10, 20, 30]);
  });

  it('keeps the high byte of 16-bit samples (grey and RGB)', async () => {
    const values = [0x0005, 0x012c, 0x9c40, 0xff14, 0x80ff, 0xffff];
    const grey16 = makePng({ width: 6, height: 1, bitDepth: 16, colorType: 0, rows: [be16(values)] });
    expect(await rgbOf(grey16)).toEqual(values.flatMap((v) => [v >> 8, v >> 8, v >> 8]));
    const rgb16 = makePng({ width: 2, height: 1, bitDepth: 16, colorType: 2, rows: [be16(values)] });
    expect(await rgbOf(rgb16)).toEqual(values.map((v) => v >> 8));
    const rgba16 = makePng({ width: 1, height: 1, bitDepth: 16, colorType: 6, rows: [be16([0xff14, 0x80ff, 0x0005, 0])] });
    expect(await rgbOf(rgba16)).toEqual([0xff, 0x80, 0x00]);
  });

  it('ignores gAMA (values as stored, like PIL)', async () => {
    const gamma = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 2, rows: [[0, 50, 100, 150, 200, 250]], before: [chunk('gAMA', [0, 0, 0x3a, 0x98])] });
    expect(await rgbOf(gamma)).toEqual([0, 50, 100, 150, 200, 250]);
  });

  it('ignores embedded ICC profiles (values as stored, like PIL)', async () => {
    const image = randomImage(4, 2);
    const p3 = new Uint8Array(await sharp(Buffer.from(image.data), { raw: { width: 4, height: 2, channels: 3 } }).withIccProfile('p3').png().toBuffer());
    expect(chunkTypes(p3)).toContain('iCCP');
    const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    expect(await rgbOf(p3)).toEqual(Array.from(stored));
  });

  it('applies EXIF orientation, as diffusers.utils.load_image does', async () => {
    const jpeg = await sharp(Buffer.from(randomImage(8, 4).data), { raw: { width: 8, height: 4, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const im = await decodeImage(new Uint8Array(jpeg));
    expect([im.width, im.height]).toEqual([4, 8]);
  });
});

describe('image files', () => {
  it('writePng writes atomically with text; readPngText and readImage read it back', async () => {
    const params = { prompt: 'ein Hündchen, 🐶 子犬', negativePrompt: 'blurry', steps: 20, sampler: 'Euler a', cfgScale: 7.5, seed: 42, width: 16, height: 8, model: 'tiny-sd15' };
    const path = join(tmp(), 'out.png');
    const image = randomImage(16, 8);
    await writePng(path, image, { text: { parameters: formatA1111Parameters(params) } });
    expect(readdirSync(tmp()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const text = await readPngText(path);
    expect(parseA1111Parameters(text.parameters)).toEqual(params);
    expect(chunkTypes(new Uint8Array(readFileSync(path)))[1]).toBe('iTXt'); // not latin-1 → iTXt
    expect(Buffer.from((await readImage(path)).data).equals(Buffer.from(image.data))).toBe(true);
  });

  it('writePng into a missing folder fails with IO_NO_FOLDER and leaves nothing', async () => {
    const path = join(tmp(), 'missing', 'out.png');
    await expectCode(writePng(path, randomImage(2, 2)), 'IO_NO_FOLDER');
    expect(existsSync(path)).toBe(false);
  });

  it('readImage: IO_NOT_FOUND for a missing file', async () => {
    const e = await expectCode(readImage(join(tmp(), 'nope.png')), 'IO_NOT_FOUND');
    expect(e.message).toContain('nope.png');
  });

  it('readImage: IMAGE_DECODE naming the file for random bytes, a truncated PNG, a text file, an empty file', async () => {
    const good = await encodePng(randomImage(32, 32));
    const jpeg = await sharp(Buffer.from(randomImage(64, 64).data), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const files: [string, Uint8Array | string][] = [
      ['random.png', randomImage(50, 10, 7).data],
      ['truncated.png', good.subarray(0, Math.floor(good.length / 2))],
      ['truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.6))],
      ['notes.txt', 'this is not an image\n'],
      ['empty.jpg', new Uint8Array(0)],
    ];
    for (const [name, bytes] of files) {
      const path = join(tmp(), name);
      writeFileSync(path, bytes);
      const e = await expectCode(readImage(path), 'IMAGE_DECODE');
      expect(e.message).toContain(path);
      expect(e.file).toBe(path);
      expect(e.hint).toMatch(/PNG/);
    }
  });

  it('readPngText: PNG_INVALID for a file that is not a PNG', async () => {
    const path = join(tmp(), 'notes2.txt');
    writeFileSync(path, 'hello');
    const e = await expectCode(readPngText(path), 'PNG_INVALID');
    expect(e.message).toContain(path);
  });
});

describe('resizeImage', () => {
  it('resizes with Lanczos to the exact size; a flat image stays flat', async () => {
    const flat = { width: 10, height: 6, data: new Uint8Array(10 * 6 * 3).fill(77) };
    const out = await resizeImage(flat, 24, 16);
    expect([out.width, out.height, out.data.length]).toEqual([24, 16, 24 * 16 * 3]);
    expect(out.data.every((v) => v === 77)).toBe(true);
    await expectCode(resizeImage(flat, 0, 8), 'IMAGE_SIZE');
  });
});
