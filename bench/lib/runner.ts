// Times one case: prepare once, warm up, wait for a quiet machine, time N runs, release.
// Reports the median (the headline), min and max, GFLOP/s from the median, the peak RSS of this
// case alone, and the CPU share other processes used while it was timed.

import type { BenchCase } from './case.js';
import { OthersCpu, peakRssMb, resetPeakRss, waitForIdle } from './machine.js';

export interface RunOptions {
  runs: number;
  warmup: number;
  /** Seconds to wait at most for other processes to go quiet before timing (0: do not wait). */
  idleWait: number;
}

export interface Result {
  name: string;
  what: string;
  shape: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  createMs: number;
  gflop: number;
  /** GFLOP per second at the median time; null for memory-bound cases (0 FLOPs). */
  gflops: number | null;
  /** GFLOP per second of the fastest run (what the machine can do when nothing interferes). */
  bestGflops: number | null;
  /** gflops / the peak probe's gflops measured in the same process; null without a peak. */
  fractionOfPeak: number | null;
  peakRssMb: number;
  /** Fraction of the machine other processes used while this case was timed (null off Linux). */
  othersCpu: number | null;
  runs: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function measure(c: BenchCase, o: RunOptions): Promise<Result> {
  await c.setup?.();
  resetPeakRss();
  const prepared = await c.prepare();
  try {
    for (let i = 0; i < o.warmup; i++) await prepared.run();
    if (o.idleWait > 0) await waitForIdle(o.idleWait);
    const others = new OthersCpu();
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      const own = await prepared.run();
      times.push(typeof own === 'number' ? own : performance.now() - t0);
    }
    const othersCpu = others.stop() ?? null;
    const medianMs = median(times);
    const gflop = prepared.flops / 1e9;
    return {
      name: c.name,
      what: c.what,
      shape: c.shape,
      medianMs,
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      createMs: prepared.createMs,
      gflop,
      gflops: gflop > 0 ? gflop / (medianMs / 1000) : null,
      bestGflops: gflop > 0 ? gflop / (Math.min(...times) / 1000) : null,
      fractionOfPeak: null,
      peakRssMb: prepared.peakRssMb?.(times.length) ?? peakRssMb(),
      othersCpu,
      runs: times.length,
    };
  } finally {
    await prepared.release();
  }
}
