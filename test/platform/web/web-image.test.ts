// PNG without sharp (platform/web/image.ts): what it writes, sharp reads back pixel for pixel with
// the same A1111 text chunk; what sharp writes (RGB, grey, RGBA, 16-bit), it decodes as the Node
// platform does.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { createRgbImage, decodeImage as nodeDecode } from '../../../src/node.js';
import { decodeImage, encodePng, readPngText } from '../../../src/platform/web/image.js';

function gradient(width: number, height: number) {
  const img = createRgbImage(width, height);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 256;
  return img;
}

describe('PNG in JavaScript (web platform)', () => {
  it('writes a PNG that sharp decodes to the same pixels, with its text chunk', async () => {
    const img = gradient(13, 7);
    const png = encodePng(img, { text: { parameters: 'a red lighthouse\nSteps: 4, Seed: 42' } });
    expect((await nodeDecode(png)).data).toEqual(img.data);
    expect(readPngText(png)).toEqual({ parameters: 'a red lighthouse\nSteps: 4, Seed: 42' });
    expect((await decodeImage(png)).data).toEqual(img.data);
  });

  it.each([
    ['grey', 1, 'uchar'], ['grey + alpha', 2, 'uchar'], ['RGBA', 4, 'uchar'], ['16-bit RGB', 3, 'ushort'],
  ] as const)('decodes %s as the Node platform does', async (_, channels, depth) => {
    const [w, h] = [9, 5];
    const raw = depth === 'ushort' ? new Uint16Array(w * h * channels) : new Uint8Array(w * h * channels);
    for (let i = 0; i < raw.length; i++) raw[i] = depth === 'ushort' ? (i * 4099) % 65536 : (i * 53) % 256;
    const png = new Uint8Array(await sharp(Buffer.from(raw.buffer), { raw: { width: w, height: h, channels } })
      .toColourspace(depth === 'ushort' ? 'rgb16' : channels <= 2 ? 'b-w' : 'srgb').png().toBuffer());
    expect((await decodeImage(png)).data).toEqual((await nodeDecode(png)).data);
  });
});
