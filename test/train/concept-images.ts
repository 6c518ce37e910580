// Training pictures made in the test (no network, no fixture files): a few 64×64 PNGs of one
// "concept" — a coloured disc on a striped background, drawn differently per picture.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodePng, type RgbImage } from '../../src/node.js';

export function conceptImage(k: number, size = 64): RgbImage {
  const data = new Uint8Array(size * size * 3);
  const [cx, cy, r] = [size / 2 + 6 * Math.cos(k), size / 2 + 6 * Math.sin(k), size / 4 + k];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
      const stripe = Math.floor((x + y + 3 * k) / 6) % 2 === 0;
      const rgb = inside ? [230, 60 + 20 * k, 40] : stripe ? [30, 40, 160] : [200, 210, 230];
      data.set(rgb, (y * size + x) * 3);
    }
  }
  return { width: size, height: size, data };
}

/** Writes `count` concept pictures into `dir` (concept-0.png, …). */
export async function writeConceptImages(dir: string, count = 3): Promise<string[]> {
  const files: string[] = [];
  for (let k = 0; k < count; k++) {
    const file = join(dir, `concept-${k}.png`);
    writeFileSync(file, await encodePng(conceptImage(k)));
    files.push(file);
  }
  return files;
}
