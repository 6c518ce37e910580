// dot, norm, cosine similarity, Euclidean distance and the pairwise matrix (src/core/similarity.ts).
import { describe, expect, it } from 'vitest';

import { cosineSimilarity, dot, euclideanDistance, norm, pairwiseMatrix } from '../../src/core/similarity.js';
import { Tensor } from '../../src/core/tensor.js';

describe('similarity measures', () => {
  const a = Tensor.float32([2, 2], [1, 2, 3, 4]);
  const b = [4, 3, 2, 1];

  it('computes dot, norm, cosine and distance of small vectors', () => {
    expect(dot(a, b)).toBe(20);
    expect(norm([3, 4])).toBe(5);
    expect(cosineSimilarity(a, b)).toBeCloseTo(20 / 30, 12);
    expect(euclideanDistance(a, b)).toBeCloseTo(Math.sqrt(9 + 1 + 1 + 9), 12);
    expect(cosineSimilarity([1, 0], [0, 2])).toBe(0);
    expect(cosineSimilarity([1, 1], [-3, -3])).toBeCloseTo(-1, 12);
    expect(Number.isNaN(cosineSimilarity([0, 0], [1, 2]))).toBe(true);
  });

  it('satisfies |a − b|² = |a|² + |b|² − 2·a·b', () => {
    const x = Array.from({ length: 77 }, (_, i) => Math.sin(i));
    const y = Array.from({ length: 77 }, (_, i) => Math.cos(3 * i));
    expect(euclideanDistance(x, y) ** 2).toBeCloseTo(norm(x) ** 2 + norm(y) ** 2 - 2 * dot(x, y), 10);
  });

  it('treats a tensor as the vector of all its elements and accepts float16', () => {
    const h = new Tensor('float16', [4], Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400])); // 1, 2, 3, 4
    expect(dot(h, b)).toBe(20);
  });

  it('builds a symmetric pairwise matrix', () => {
    const m = pairwiseMatrix([[1, 0], [0, 1], [1, 1]], cosineSimilarity);
    expect(m.length).toBe(3);
    expect(m[0][0]).toBeCloseTo(1, 12);
    expect(m[0][1]).toBe(0);
    expect(m[2][0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(m[0][2]).toBe(m[2][0]);
  });

  it('rejects vectors of different lengths, integer tensors and empty lists', () => {
    expect(() => dot([1, 2], [1, 2, 3])).toThrow(/2 and 3 elements/);
    expect(() => cosineSimilarity(Tensor.int64([2], [1, 2]), [1, 2])).toThrow(/expected a float tensor/);
    expect(() => pairwiseMatrix([], dot)).toThrow(/non-empty/);
    expect(() => euclideanDistance([], [])).toThrow(expect.objectContaining({ code: 'TENSOR_SHAPE_MISMATCH' }));
  });
});
