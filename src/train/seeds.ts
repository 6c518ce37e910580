// Reproducible randomness for training runs, so that the same seed gives the same result bit for
// bit and a resumed run continues exactly where an uninterrupted one would be: nothing random is
// carried from step to step. Each draw comes from a torch-compatible Generator seeded by
// (run seed, stream, index) — the epoch for the data order, the micro-batch for the per-example
// choices and the noise — so step k's randomness needs only k.

import { Generator } from '../core/random.js';

/** murmur3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A generator for draw `index` of `stream` in the run seeded with `seed`. */
export function streamGenerator(seed: number | bigint, stream: number, index: number): Generator {
  const s = BigInt(seed);
  let h = fmix32(Number(s & 0xffffffffn) ^ 0x9e3779b9);
  h = fmix32(h ^ Number((s >> 32n) & 0xffffffffn));
  h = fmix32(h ^ Math.imul(stream + 1, 0x27d4eb2f));
  h = fmix32(h ^ (index >>> 0));
  h = fmix32(h ^ Math.floor(index / 2 ** 32));
  return new Generator(h);
}

/** A uniform integer in [0, n) from the generator (a float32 uniform scaled: n ≤ 2^24). */
export function randomIndex(g: Generator, n: number): number {
  return Math.min(n - 1, Math.floor(g.rand([1]).data[0] * n));
}

/** A seeded permutation of 0..n−1 (Fisher–Yates), like a DataLoader's shuffle for one epoch. */
export function permutation(g: Generator, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = g.random() % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
