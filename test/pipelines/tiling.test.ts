// txt2img with `tiling: true` (AUTOMATIC1111's seamless tiling) on tiny-sd15. What makes an image
// tile is that it is a picture on a torus: nothing marks where it was cut. Two checks:
//
// 1. Rolling the starting latents by (8, 8) latent pixels gives the same picture rolled by (64, 64)
//    pixels (a deterministic scheduler; 8 = the UNet's three stride-2 downsamplers). If the edges
//    were special — zero padding anywhere in the UNet or the decoder — the rolled run would see
//    them at another place and differ, as the untiled run shows. This cannot pass by accident: it
//    holds only when every conv wraps.
// 2. The seam: the step from the last column to the first (and the last row to the first) is as
//    large as a step between neighbours inside the picture.

import { describe, expect, it } from 'vitest';

import { Generator } from '../../src/core/random.js';
import type { RgbImage } from '../../src/image/index.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { fixturePath } from '../helpers/fixtures.js';
import { roll, rollImage } from '../helpers/roll.js';

const [H, W] = [128, 192];

function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/** Mean |step| across the seam (last column → first; last row → first) over the mean |step| between interior neighbours. */
function seamRatio(img: RgbImage): { columns: number; rows: number } {
  const px = (i: number, j: number, c: number) => img.data[(i * img.width + j) * 3 + c];
  const step = (pairs: (readonly [number, number, number, number])[]) => {
    let s = 0;
    for (const [i1, j1, i2, j2] of pairs) for (let c = 0; c < 3; c++) s += Math.abs(px(i1, j1, c) - px(i2, j2, c));
    return s / pairs.length;
  };
  const rowsOf = Array.from({ length: img.height }, (_, i) => i);
  const colsOf = Array.from({ length: img.width }, (_, j) => j);
  const interiorCols = step(rowsOf.flatMap((i) => colsOf.slice(0, -1).map((j) => [i, j, i, j + 1] as const)));
  const interiorRows = step(colsOf.flatMap((j) => rowsOf.slice(0, -1).map((i) => [i, j, i + 1, j] as const)));
  return {
    columns: step(rowsOf.map((i) => [i, img.width - 1, i, 0] as const)) / interiorCols,
    rows: step(colsOf.map((j) => [img.height - 1, j, 0, j] as const)) / interiorRows,
  };
}

describe('txt2img with tiling (tiny-sd15)', () => {
  it('makes a picture on a torus: rolled latents give the rolled picture, and the seams are ordinary steps', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { releaseSessions: false });
    const latents = new Generator().manualSeed(5).randn([1, 4, H / 8, W / 8]);
    const generate = async (tiling: boolean, start = latents) =>
      (await pipe.call({ prompt: 'a seamless brick wall', height: H, width: W, numInferenceSteps: 3, guidanceScale: 5, latents: start, tiling })).images[0];

    const report: string[] = [];
    const results: Record<string, { rolled: number; seams: { columns: number; rows: number } }> = {};
    for (const tiling of [true, false]) {
      const image = await generate(tiling);
      const fromRolled = await generate(tiling, roll(latents, 8, 8));
      const rolled = meanAbsDiff(fromRolled, rollImage(image, 64, 64));
      const seams = seamRatio(image);
      results[String(tiling)] = { rolled, seams };
      report.push(`tiling ${tiling}: |rolled run − rolled image| mean ${rolled.toFixed(3)} (of 255); seam/interior step: columns ${seams.columns.toFixed(2)}, rows ${seams.rows.toFixed(2)}`);
    }
    console.log(report.join('\n'));
    const [tiled, plain] = [results.true, results.false];
    expect(tiled.rolled, 'the tiled picture commutes with the roll (float rounding only)').toBeLessThan(0.05);
    expect(plain.rolled, 'the untiled one does not').toBeGreaterThan(20 * Math.max(tiled.rolled, 0.05));
    // On this random model the untiled seams are only ~1.2–1.5× an interior step (its pictures are
    // busy everywhere), so the ratio is the weaker check; the roll above is the decisive one.
    for (const axis of ['columns', 'rows'] as const) {
      expect(tiled.seams[axis], `tiled seam across ${axis}`).toBeLessThan(1.15);
      expect(tiled.seams[axis], `tiled seam across ${axis}`).toBeGreaterThan(0.85);
    }
    await pipe.release();
  });
});
