// A bounded, seeded slice of the reader fuzz suite (torch-fuzz.ts); the full run is `npm run fuzz`.
import { describe, expect, it } from 'vitest';

import { fuzzTorchReaders } from './torch-fuzz.js';

describe('fuzzing the torch / pickle / zip readers', () => {
  it('600 mutated and generated inputs: typed errors or results, no crash, no hang, nothing run', async () => {
    const report = await fuzzTorchReaders({ cases: 600, seed: 11 });
    console.log(`fuzz: ${report.cases} cases in ${(report.totalMs / 1000).toFixed(1)} s, ${report.accepted} read, refused ${JSON.stringify(report.refused)}, slowest ${report.slowestMs.toFixed(0)} ms`);
    expect(report.crashes).toEqual([]);
    expect(report.executed).toBe(false);
    expect(report.slowestMs).toBeLessThan(10_000);
    expect(report.maxHeapMb).toBeLessThan(1500);
    // The slice reaches both outcomes and the main refusals.
    expect(report.accepted).toBeGreaterThan(0);
    for (const code of ['PICKLE_GLOBAL_REFUSED', 'PICKLE_TRUNCATED', 'ZIP_UNSAFE_NAME', 'ZIP_OVERLAP']) expect(report.refused[code], code).toBeGreaterThan(0);
  });
});
