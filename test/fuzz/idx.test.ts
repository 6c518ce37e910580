// The IDX reader on mutated and truncated files (plain and gzip): a result whose shape accounts for
// every byte, or a DATA_FORMAT error — never another exception. Bounded and seeded.
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import { LatentlabError, parseIdx } from '../../src/node.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { idxBytes } from '../train/mini/synthetic-data.js';

describe('fuzzing the IDX reader', () => {
  it('2000 mutated inputs: typed errors or consistent results', () => {
    const random = mulberry32(5);
    const base = idxBytes([3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => i));
    const refused: Record<string, number> = {};
    let accepted = 0;
    for (let n = 0; n < 2000; n++) {
      let bytes = base.slice(0, Math.floor(random() * (base.length + 8)));
      if (bytes.length < base.length && random() < 0.5) bytes = base.slice();
      const flips = Math.floor(random() * 4);
      for (let f = 0; f < flips && bytes.length > 0; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      if (random() < 0.3) bytes = gzipSync(bytes).subarray(0, random() < 0.5 ? undefined : Math.floor(random() * 40));
      try {
        const a = parseIdx(bytes, `case-${n}`);
        expect(a.data.length).toBe(a.shape.reduce((x, y) => x * y, 1));
        accepted++;
      } catch (e) {
        expect(e, `case ${n}`).toBeInstanceOf(LatentlabError);
        refused[(e as LatentlabError).code] = (refused[(e as LatentlabError).code] ?? 0) + 1;
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(Object.keys(refused)).toEqual(['DATA_FORMAT']);
  });
});
