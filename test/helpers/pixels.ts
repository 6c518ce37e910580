// How far two 8-bit images are apart, in levels: the tolerance the browser tests state (≤ 1 level
// off on ≤ 0.5% of the values) is about rounding near .5 after a float32 difference, not drift.
export interface PixelDifference {
  /** Largest |a − b| over all values, in levels (0..255). */
  maxLevels: number;
  /** Share of the values that differ at all. */
  fractionOff: number;
}

/** An 8-bit RGB image, or its copy out of a page (plain arrays cross page.evaluate). */
export interface Pixels {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

export function pixelDifference(a: Pixels, b: Pixels): PixelDifference {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`image sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let max = 0;
  let off = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > 0) off++;
    if (d > max) max = d;
  }
  return { maxLevels: max, fractionOff: off / a.data.length };
}
