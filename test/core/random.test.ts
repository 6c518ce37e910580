// torch CPU RNG parity (conformance README section 8): every tensor in rng/torch_randn bit-exact.
import { describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { fma32, Generator } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { loadTensors, readJson } from '../helpers/fixtures.js';

const index = readJson('rng', 'torch_randn.json');
const tensors = await loadTensors('rng', 'torch_randn.safetensors');
const seeds: number[] = index.seeds;
const shapeName = (s: number[]) => s.join('x');

/** Number of float32 elements whose bits differ, and the first one. */
function bitMismatches(actual: Tensor, expected: Tensor): { count: number; first: string } {
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  let count = 0;
  let first = '';
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i])) {
      if (count === 0) first = `index ${i}: got ${a[i]}, expected ${e[i]} (diff ${Math.abs(a[i] - e[i]).toExponential(2)})`;
      count++;
    }
  }
  return { count, first };
}

function expectBitExact(label: string, actual: Tensor, expected: Tensor): void {
  expect([...actual.shape], `${label}: shape`).toEqual([...expected.shape]);
  const m = bitMismatches(actual, expected);
  expect(m.count, `${label}: ${m.count} of ${expected.size} values differ; first at ${m.first}`).toBe(0);
}

function ref(name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  return t;
}

describe('Generator (torch CPU parity)', () => {
  it('covers every fixture tensor', () => {
    expect(Object.keys(index.tensors).length).toBe(tensors.size);
  });

  for (const seed of seeds) {
    describe(`seed ${seed}`, () => {
      it('mt19937: first 16 raw outputs', () => {
        const g = new Generator().manualSeed(seed);
        const got = Array.from({ length: 16 }, () => g.random());
        expect(got).toEqual(Array.from(ref(`seed${seed}.mt19937_first16`).data as BigInt64Array, Number));
      });

      for (const shape of index.shapes as number[][]) {
        it(`randn ${shapeName(shape)}`, () => {
          expectBitExact(`seed ${seed} randn ${shapeName(shape)}`, new Generator().manualSeed(seed).randn(shape), ref(`seed${seed}.randn_${shapeName(shape)}`));
        });
      }

      (index.generator_sequences as number[][][]).forEach((seq, q) => {
        it(`successive draws genseq${q}: ${seq.map(shapeName).join(', ')}`, () => {
          const g = new Generator().manualSeed(seed);
          seq.forEach((shape, k) => {
            expectBitExact(`seed ${seed} genseq${q} draw${k}`, g.randn(shape), ref(`seed${seed}.genseq${q}.draw${k}_${shapeName(shape)}`));
          });
        });
      });

      it('rand 2x3x5', () => {
        expectBitExact(`seed ${seed} rand`, new Generator().manualSeed(seed).rand(index.rand_shape), ref(`seed${seed}.rand_${shapeName(index.rand_shape)}`));
      });
    });
  }
});

describe('Generator state', () => {
  it('getState/setState replays the same numbers, including the cached normal', () => {
    const g = new Generator(42);
    g.randn([5]); // leaves a cached second normal
    const snap = g.getState();
    const a = [g.randn([3]), g.randn([20])];
    g.setState(snap);
    const b = [g.randn([3]), g.randn([20])];
    expectBitExact('after setState (small)', b[0], a[0]);
    expectBitExact('after setState (large)', b[1], a[1]);
  });

  it('manualSeed clears the cached normal and returns this', () => {
    const g = new Generator();
    g.manualSeed(7).randn([1]);
    expectBitExact('reseeded', g.manualSeed(7).randn([1]), new Generator(7).randn([1]));
    expect(g.initialSeed()).toBe(7);
    expect(new Generator(2n ** 63n).initialSeed()).toBe(2n ** 63n);
  });

  it('rejects bad seeds and shapes with a LatentlabError', () => {
    expect(() => new Generator(-1)).toThrow(LatentlabError);
    expect(() => new Generator(1.5)).toThrow(/seed 1.5/);
    expect(() => new Generator(0).randn([2, -1])).toThrow(LatentlabError);
  });

  it('an empty shape draws nothing', () => {
    const g = new Generator(3);
    expect(g.randn([0]).size).toBe(0);
    expectBitExact('after empty draw', g.randn([4]), new Generator(3).randn([4]));
  });
});

describe('fma32', () => {
  it('rounds once, even where the double sum lands on a float32 midpoint', () => {
    // a·b = 2^-24 − 2^-70, c = 1 + 2^-23: the exact sum lies just below the midpoint 1 + 3·2^-24, which is
    // where the double sum rounds to; a second rounding would go to the even neighbour 1 + 2^-22.
    const a = Math.fround(2 ** -24 * (1 + 2 ** -23));
    const b = Math.fround(1 - 2 ** -23);
    const c = Math.fround(1 + 2 ** -23);
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22);
    expect(fma32(a, b, c)).toBe(1 + 2 ** -23);
    expect(fma32(a, -b, -c)).toBe(-(1 + 2 ** -23));
    expect(fma32(2, 3, 1)).toBe(7);
  });
});
