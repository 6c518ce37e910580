// Shared checks for the txt2img / img2img fixtures (README §9–§10, tolerances §13).
import { expect } from 'vitest';

import type { Tensor } from '../../src/core/tensor.js';
import type { RgbImage } from '../../src/image/index.js';
import { diff } from '../helpers/compare.js';

export const LATENT_REL = 1e-4;

/** Per-step latents: max |a − b| relative to max |ref| of that step; returns the worst ratio. */
export function checkStepLatents(label: string, steps: Tensor<'float32'>[], ref: Tensor): number {
  const n = ref.shape[0];
  expect(steps.length, `${label}: number of steps`).toBe(n);
  const per = ref.size / n;
  const r = ref.toFloat32().data;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const d = diff(steps[i].data, r.subarray(i * per, (i + 1) * per));
    worst = Math.max(worst, d.maxRel);
    if (d.maxRel > LATENT_REL) expect.fail(`${label}: step ${i} latents differ by ${d.maxRel.toExponential(3)} of max|ref| (tolerance ${LATENT_REL})`);
  }
  return worst;
}

/** uint8 images: at most 1 level off, on at most 0.5% of the values. Returns the fraction that differ. */
export function checkImages(label: string, images: RgbImage[], ref: Tensor): number {
  const [b, h, w] = ref.shape;
  expect(images.length, `${label}: images`).toBe(b);
  const r = ref.data as Uint8Array;
  let off = 0;
  let worst = 0;
  images.forEach((img, i) => {
    expect([img.height, img.width], `${label}: image ${i} size`).toEqual([h, w]);
    for (let k = 0; k < h * w * 3; k++) {
      const d = Math.abs(img.data[k] - r[i * h * w * 3 + k]);
      if (d > 0) off++;
      worst = Math.max(worst, d);
    }
  });
  const frac = off / r.length;
  if (worst > 1 || frac > 0.005) expect.fail(`${label}: uint8 images differ by up to ${worst} levels on ${(frac * 100).toFixed(3)}% of values (allowed: 1 level on 0.5%)`);
  return frac;
}
