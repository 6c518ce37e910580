// tensorStats / tensorDifference (src/core/tensor-stats.ts) and the broadcasting add (tensor-math.ts).
import { describe, expect, it } from 'vitest';

import { add } from '../../src/core/tensor-math.js';
import { tensorDifference, tensorStats } from '../../src/core/tensor-stats.js';
import { Tensor } from '../../src/core/tensor.js';

describe('tensorStats', () => {
  it('gives min, max, mean, the unbiased std (torch) and mean |x|', () => {
    const s = tensorStats(Tensor.float32([2, 2], [1, -2, 3, 6]));
    expect(s).toMatchObject({ shape: [2, 2], min: -2, max: 6, mean: 2, absMean: 3 });
    expect(s.std).toBeCloseTo(Math.sqrt((1 + 16 + 1 + 16) / 3), 12); // torch.tensor([1.,-2,3,6]).std() = 3.3665
  });

  it('propagates NaN to mean and std and rejects empty or integer tensors', () => {
    const s = tensorStats(Tensor.float32([3], [1, NaN, 2]));
    expect(Number.isNaN(s.mean) && Number.isNaN(s.std)).toBe(true);
    expect(() => tensorStats(new Tensor('float32', [0]))).toThrow(/no elements/);
    expect(() => tensorStats(Tensor.int64([1], [1]))).toThrow(/expected a float tensor/);
  });
});

describe('tensorDifference', () => {
  it('gives max |a − b|, the mean absolute error and the RMS error', () => {
    const d = tensorDifference(Tensor.float32([4], [0, 1, 2, 3]), Tensor.float32([4], [0, 1, 2, 7]));
    expect(d).toEqual({ maxAbs: 4, meanAbs: 1, rms: 2 });
  });

  it('rejects different shapes', () => {
    expect(() => tensorDifference(Tensor.float32([2], [0, 1]), Tensor.float32([1, 2], [0, 1]))).toThrow(/shapes \[2\] and \[1, 2\] differ/);
  });
});

describe('add with a broadcast trailing shape', () => {
  it('adds [77, H]-style tensors to every batch item, exactly as float32', () => {
    const a = Tensor.float32([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const b = Tensor.float32([2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    const out = add(a, b);
    expect(out.shape).toEqual([2, 2, 3]);
    const expected = a.data.map((v, i) => Math.fround(v + b.data[i % 6]));
    expect(Array.from(out.data)).toEqual(Array.from(expected));
    expect(Array.from(add(b, b).data)).toEqual(Array.from(b.data.map((v) => Math.fround(2 * v))));
  });

  it('refuses shapes that do not line up at the end', () => {
    expect(() => add(Tensor.float32([1, 2, 3], [1, 2, 3, 4, 5, 6]), Tensor.float32([3, 2], [1, 2, 3, 4, 5, 6]))).toThrow(/cannot add \[3, 2\] to \[1, 2, 3\]/);
    expect(() => add(Tensor.float32([3], [1, 2, 3]), Tensor.float32([1, 3], [1, 2, 3]))).toThrow(/must equal the end/);
  });
});
