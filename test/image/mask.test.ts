// Masks as diffusers' mask processor reads them: PIL's grey conversion, the ≥ 128 binarisation,
// and PIL's GaussianBlur (diffusers' mask_processor.blur), checked byte for byte against Pillow's
// own output (test/fixtures/mask-blur/make.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { blurMask, downsampleMask, maskCondition, toGrayscale } from '../../src/image/mask.js';
import { Tensor } from '../../src/core/tensor.js';

interface BlurCase { mask: string; radius: number; width: number; height: number; input: string; output: string }
const FIXTURE = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mask-blur', 'pil-gaussian-blur.json'), 'utf8')) as { cases: BlurCase[] };
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('image masks', () => {
  it.each(FIXTURE.cases.map((c) => [c.mask, c.radius, c] as const))('blurMask(%s, %s) equals PIL GaussianBlur byte for byte', (_m, radius, c) => {
    const out = blurMask({ width: c.width, height: c.height, data: bytes(c.input) }, radius);
    const expected = bytes(c.output);
    let off = 0;
    for (let i = 0; i < expected.length; i++) if (out.data[i] !== expected[i]) off++;
    expect(off, `${off} of ${expected.length} bytes differ`).toBe(0);
  });

  it('blurMask refuses a negative radius and returns radius 0 unchanged', () => {
    const m = { width: 2, height: 1, data: new Uint8Array([0, 255]) };
    expect(() => blurMask(m, -1)).toThrow(/blur radius is -1/);
    expect([...blurMask(m, 0).data]).toEqual([0, 255]);
  });

  it('converts RGB to grey with PIL\'s luma and binarises at 128', () => {
    const rgb = { width: 3, height: 1, data: new Uint8Array([255, 0, 0, 0, 255, 0, 127, 127, 127]) };
    expect([...toGrayscale(rgb).data]).toEqual([76, 150, 127]); // PIL: Image.new("RGB", …, (255, 0, 0)).convert("L") = 76
    const grey = { width: 4, height: 1, data: new Uint8Array([0, 127, 128, 255]) };
    expect([...maskCondition([grey]).data]).toEqual([0, 0, 1, 1]);
  });

  it('downsamples by taking the top-left pixel of each cell (F.interpolate nearest)', () => {
    const m = Tensor.float32([1, 1, 2, 4], [1, 0, 0, 1, 0, 0, 0, 0]);
    expect([...downsampleMask(m, 2).data]).toEqual([1, 0]);
  });
});
