// Data-movement ops through the real pipeline, compared exactly with plain loops: reshape,
// transpose, concat, split, slice, pad, nearest resize (×k and explicit sizes with PyTorch's
// float32 index formula), gather (embedding lookup) and cast.

import { describe, expect, it } from 'vitest';

import { f32ToF16 } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { evaluate, expectExact, randn, reportErrors } from './harness.js';
import * as ref from './reference.js';

reportErrors('shape');

const x = randn(1, [2, 3, 4, 5]);
const X = ref.fromTensor(x);

describe('reshape and transpose', () => {
  for (const target of [[6, 20], [2, -1, 5], [-1], [2, 3, 2, 2, 5], [120, 1]]) {
    it(`reshape [2,3,4,5] → ${JSON.stringify(target)}`, async () => {
      const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.reshape(v.x, target));
      const known = target.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
      expectExact('reshape', `${target}`, y, { shape: target.map((d) => (d === -1 ? 120 / known : d)), data: X.data });
    });
  }
  for (const perm of [[0, 2, 1, 3], [3, 2, 1, 0], [1, 0, 3, 2], [0, 1, 2, 3]]) {
    it(`transpose ${JSON.stringify(perm)}`, async () => {
      const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.transpose(v.x, perm));
      expectExact('transpose', `${perm}`, y, ref.transpose(X, perm));
    });
  }
});

describe('concat and split', () => {
  it('concat three inputs along axis 1 and along axis -1', async () => {
    const a = randn(2, [2, 1, 3]);
    const b = randn(3, [2, 4, 3]);
    const c = randn(4, [2, 2, 3]);
    const [y1, y2] = await evaluate({ feeds: { a, b, c } }, ({ x: v }) => [op.concat([v.a, v.b, v.c], 1), op.concat([v.b, v.b], -1)]);
    const [A, B, C] = [a, b, c].map(ref.fromTensor);
    expectExact('concat', 'axis 1', y1, ref.concat([A, B, C], 1));
    expectExact('concat', 'axis -1', y2, ref.concat([B, B], 2));
  });
  it('split into unequal pieces along axis 2 and -1', async () => {
    const outs = await evaluate({ feeds: { x } }, ({ x: v }) => [...op.split(v.x, [1, 3], 2), ...op.split(v.x, [2, 2, 1], -1)]);
    const expected = [ref.sliceAxis(X, 2, 0, 1, 1), ref.sliceAxis(X, 2, 1, 4, 1), ...[[0, 2], [2, 4], [4, 5]].map(([s, e]) => ref.sliceAxis(X, 3, s, e, 1))];
    outs.forEach((y, i) => expectExact('split', `piece ${i}`, y, expected[i]));
  });
});

describe('slice', () => {
  const cases: [number, number, number, number][] = [
    // axis, start, end, step
    [3, 1, 4, 1],
    [3, -3, -1, 1],
    [3, 0, 5, 2],
    [2, 1, 100, 2],
    [-1, -4, 5, 3],
    [1, -100, 2, 1],
    [0, 1, 2, 1],
  ];
  for (const [axis, start, end, step] of cases) {
    it(`axis ${axis} [${start}:${end}:${step}]`, async () => {
      const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.slice(v.x, axis, start, end, step));
      const a = axis < 0 ? axis + 4 : axis;
      const n = X.shape[a];
      expectExact('slice', `${axis} ${start}:${end}:${step}`, y, ref.sliceAxis(X, a, ref.pyIndex(start, n), ref.pyIndex(end, n), step));
    });
  }
});

describe('pad', () => {
  const cases: [string, [number, number][], number][] = [
    ['last two axes, asymmetric', [[0, 0], [0, 0], [1, 2], [0, 3]], 0],
    ['leading axes only (trailing omitted), value 1.5', [[1, 0], [0, 2]], 1.5],
    ['every axis', [[1, 1], [1, 1], [1, 1], [1, 1]], -2],
  ];
  for (const [name, pads, value] of cases) {
    it(name, async () => {
      const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.pad(v.x, pads, value));
      expectExact('pad', name, y, ref.padConstant(X, pads, value));
    });
  }
});

describe('padCircular (torch F.pad mode="circular", ONNX Pad mode "wrap")', () => {
  const cases: [string, [number, number][]][] = [
    ['last two axes, asymmetric', [[0, 0], [0, 0], [1, 2], [3, 0]]],
    ['a pad as large as the axis', [[0, 0], [0, 0], [4, 4], [5, 5]]],
    ['a leading axis', [[1, 1]]],
  ];
  for (const [name, pads] of cases) {
    it(name, async () => {
      const [y] = await evaluate({ feeds: { x } }, ({ x: v }) => op.padCircular(v.x, pads));
      expectExact('pad', `circular ${name}`, y, ref.padCircular(X, pads));
    });
  }

  it('wraps as torch does on a small example: [a b c d] with [1, 2] → [d a b c d a b]', async () => {
    const row = Tensor.float32([1, 4], [1, 2, 3, 4]);
    const [y] = await evaluate({ feeds: { row } }, ({ x: v }) => op.padCircular(v.row, [[0, 0], [1, 2]]));
    expect([...y.data]).toEqual([4, 1, 2, 3, 4, 1, 2]);
  });
});

describe('pad on integer and bool tensors (the pad value takes the input type)', () => {
  it('int64 ids padded with -1, a bool mask padded with true', async () => {
    const ids = Tensor.int64([2, 3], [5, 6, 7, 8, 9, 10]);
    const mask = new Tensor('bool', [3], Uint8Array.of(0, 1, 0));
    const [p1, p2] = await evaluate({ feeds: { ids, mask } }, ({ x: v }) => [op.pad(v.ids, [[0, 0], [1, 2]], -1), op.pad(v.mask, [[2, 1]], 1)]);
    expect(p1.dtype).toBe('int64');
    expect(p2.dtype).toBe('bool');
    expectExact('pad', 'int64', p1, ref.padConstant(ref.fromTensor(ids), [[0, 0], [1, 2]], -1));
    expectExact('pad', 'bool', p2, ref.padConstant(ref.fromTensor(mask), [[2, 1]], 1));
  });
});

describe('resizeNearest', () => {
  const img = randn(5, [2, 3, 4, 5]);
  for (const scale of [2, 3]) {
    it(`×${scale}`, async () => {
      const [y] = await evaluate({ feeds: { img } }, ({ x: v }) => op.resizeNearest(v.img, { scale }));
      expectExact('resizeNearest', `×${scale}`, y, ref.resizeNearest(ref.fromTensor(img), 4 * scale, 5 * scale));
    });
  }

  // [in, out] for H and W. 26 → 22 is a downscale where float32 matters: 11 · float32(26/22) is
  // 12.99999… so PyTorch reads row 12, not the exact 13.
  const sizes: [[number, number], [number, number]][] = [
    [[2, 3], [3, 5]],
    [[5, 9], [2, 3]],
    [[3, 5], [5, 9]],
    [[26, 22], [4, 4]],
    [[7, 3], [5, 8]],
  ];
  for (const [[ih, oh], [iw, ow]] of sizes) {
    it(`explicit size ${ih}×${iw} → ${oh}×${ow}`, async () => {
      const t = randn(6 + ih, [1, 2, ih, iw]);
      const [y] = await evaluate({ feeds: { t } }, ({ x: v }) => op.resizeNearest(v.t, { size: [oh, ow] }));
      expectExact('resizeNearest', `${ih}x${iw}→${oh}x${ow}`, y, ref.resizeNearest(ref.fromTensor(t), oh, ow));
    });
  }

  it('index formula matches PyTorch on the documented ratios', () => {
    const idx = (i: number, o: number) => Array.from({ length: o }, (_, d) => ref.torchNearestSource(d, i, o));
    // Values from torch.nn.functional.interpolate(torch.arange(in.)[None,None,None], size=(1,out)).
    expect(idx(2, 3)).toEqual([0, 0, 1]);
    expect(idx(3, 5)).toEqual([0, 0, 1, 1, 2]);
    expect(idx(5, 9)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4]);
    expect(idx(26, 22)[11]).toBe(12);
  });
});

describe('gather (embedding lookup)', () => {
  const table = randn(7, [10, 4]);
  const idList = [3, 3, 0, 9, 1, 3, 9, 2];
  for (const dtype of ['int64', 'int32'] as const) {
    it(`${dtype} ids [2, 4] with repeats`, async () => {
      const ids = dtype === 'int64' ? Tensor.int64([2, 4], idList) : new Tensor('int32', [2, 4], Int32Array.from(idList));
      const weights = new Map([['embed.weight', table]]);
      const [y] = await evaluate({ feeds: { ids }, weights }, ({ x: v, w }) => op.gather(w('embed.weight'), v.ids));
      expectExact('gather', dtype, y, ref.gather(ref.fromTensor(table), idList, [2, 4]));
    });
  }
  it('from a 3-D table given as a graph input', async () => {
    const t3 = randn(8, [5, 2, 3]);
    const ids = Tensor.int64([3], [4, 0, 4]);
    const [y] = await evaluate({ feeds: { t3, ids } }, ({ x: v }) => op.gather(v.t3, v.ids));
    expectExact('gather', '3-D table', y, ref.gather(ref.fromTensor(t3), [4, 0, 4], [3]));
  });
});

describe('cast', () => {
  const vals = Tensor.float32([6], [-2.7, -0.5, 0, 0.49, 1.5, 3.99]);
  const V = ref.fromTensor(vals);
  it('float32 → int32 and int64 truncate toward zero', async () => {
    const [i32, i64] = await evaluate({ feeds: { vals } }, ({ x: v }) => [op.cast(v.vals, 'int32'), op.cast(v.vals, 'int64')]);
    expect(i32.dtype).toBe('int32');
    expect(i64.dtype).toBe('int64');
    expectExact('cast', 'to int32', i32, ref.map(V, Math.trunc));
    expectExact('cast', 'to int64', i64, ref.map(V, Math.trunc));
  });
  it('float32 → float16 rounds like torch .half(); int64 and bool → float32', async () => {
    const r = randn(9, [16], 100);
    const ids = Tensor.int64([3], [7, -3, 123456]);
    const [h, f, b] = await evaluate({ feeds: { r, ids } }, ({ x: v }) => [op.cast(v.r, 'float16'), op.cast(v.ids, 'float32'), op.cast(op.greater(v.r, 0), 'float32')]);
    expect(h.dtype).toBe('float16');
    expect(Array.from(h.data as Uint16Array)).toEqual(Array.from(r.data, f32ToF16));
    expectExact('cast', 'int64 → float32', f, ref.nd([3], (i) => [7, -3, 123456][i]));
    expectExact('cast', 'bool → float32', b, ref.map(ref.fromTensor(r), (v) => Number(v > 0)));
  });
  it('to the same dtype is the identity (no node)', () => {
    const g = new Graph('cast');
    const v = g.input('v', 'float32', [3]);
    expect(op.cast(v, 'float32')).toBe(v);
    expect(g.nodes).toHaveLength(0);
  });
});
