// interpolate = torch's F.interpolate(align_corners=False) on [B, C, h, w], against values worked by
// hand from torch's formulas (core/interpolate.ts): bilinear and bicubic (A = −0.75) upscaling of a
// 2×2 ramp, nearest / nearest-exact index choice, and antialiased bilinear downscaling.
import { describe, expect, it } from 'vitest';

import { interpolate, interpolationTaps } from '../../src/core/interpolate.js';
import { Tensor } from '../../src/core/tensor.js';

const t = (h: number, w: number, values: number[]) => new Tensor('float32', [1, 1, h, w], Float32Array.from(values));
const values = (x: Tensor<'float32'>) => Array.from(x.data);

describe('interpolate (F.interpolate, align_corners=False)', () => {
  it('bilinear 2×2 → 4×4: source x = (o + ½)/2 − ½ clamped at 0, the edge repeated', () => {
    // Row [0, 1] → [0, 0.25, 0.75, 1]; columns likewise with step 2 (torch gives the same table).
    const out = interpolate(t(2, 2, [0, 1, 2, 3]), { size: [4, 4], mode: 'bilinear' });
    expect(out.shape).toEqual([1, 1, 4, 4]);
    expect(values(out)).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  it('bicubic 2×2 → 4×4 with Keys\' A = −0.75 and clamped indices (torch: 0.6836, 1.0156, 1.5625, 1.8945 on the first row)', () => {
    // At o = 0: x = −0.25, t = 0.75, weights cubic(1.75), cubic(0.75), cubic(0.25), cubic(1.25) =
    // −0.03515625, 0.26171875, 0.87890625, −0.10546875 on indices −2…1 → 0, 0, 0, 1.
    const out = interpolate(t(2, 2, [1, 2, 3, 4]), { size: [4, 4], mode: 'bicubic' });
    const row = (v: number) => [v - 0.10546875, v + 0.2265625, v + 0.7734375, v + 1.10546875];
    const expected = [-0.10546875, 0.2265625, 0.7734375, 1.10546875].flatMap((dy) => row(1 + 2 * dy));
    values(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    expect(out.data[0]).toBeCloseTo(0.68359375, 7);
  });

  it('nearest takes ⌊o·s⌋, nearest-exact ⌊(o + ½)·s⌋', () => {
    expect(values(interpolate(t(1, 2, [5, 7]), { size: [1, 4], mode: 'nearest' }))).toEqual([5, 5, 7, 7]);
    expect(values(interpolate(t(1, 3, [1, 2, 3]), { size: [1, 2], mode: 'nearest' }))).toEqual([1, 2]);
    expect(values(interpolate(t(1, 3, [1, 2, 3]), { size: [1, 2], mode: 'nearest-exact' }))).toEqual([1, 3]);
  });

  it('antialiased bilinear: upscaling equals plain bilinear; 4 → 2 averages with a stretched triangle (torch: 0.7143, 2.2857)', () => {
    const x = t(2, 3, [0, 1, 4, 2, 8, 3]);
    expect(values(interpolate(x, { size: [5, 7], mode: 'bilinear', antialias: true }))).toEqual(values(interpolate(x, { size: [5, 7], mode: 'bilinear' })));
    // o = 0: centre 1, taps 0…2 with weights 0.75, 0.75, 0.25 normalised → (0·3 + 1·3 + 2·1) / 7.
    const down = interpolate(t(1, 4, [0, 1, 2, 3]), { size: [1, 2], mode: 'bilinear', antialias: true });
    expect(down.data[0]).toBeCloseTo(5 / 7, 6);
    expect(down.data[1]).toBeCloseTo(16 / 7, 6);
  });

  it('antialiased bicubic uses A = −0.5 with in-range taps renormalised', () => {
    const taps = interpolationTaps(2, 4, 'bicubic', true);
    for (const tap of taps) expect(tap.weight.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // o = 1: centre 0.75, taps 0 and 1 at distances −0.25 and 0.75 (the others are out of range).
    const cubic = (x: number) => 1.5 * x ** 3 - 2.5 * x ** 2 + 1;
    expect(taps[1].index).toEqual([0, 1]);
    expect(taps[1].weight[0]).toBeCloseTo(cubic(0.25) / (cubic(0.25) + cubic(0.75)), 12);
  });

  it('works per batch item and channel, and refuses a non-4D tensor', () => {
    const x = new Tensor('float32', [2, 2, 1, 2], Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]));
    expect(values(interpolate(x, { size: [1, 4], mode: 'nearest' }))).toEqual([0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21, 30, 30, 31, 31]);
    expect(() => interpolate(new Tensor('float32', [2, 2]), { size: [1, 1], mode: 'nearest' })).toThrow(/\[B, C, h, w\]/);
  });
});
