// Ops that move data without arithmetic: reshape, transpose, concat, split, slice, pad (constant and circular),
// nearest-neighbour resize, gather (embedding lookup) and cast.

import { DType, DTYPES, isFloat } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import { LatentlabError } from '../../core/errors.js';
import { broadcastShapes, Dim, dimProduct, dimScale, normAxis, Shape } from '../dims.js';
import type { Graph, Value } from '../graph.js';
import { shapeError } from './common.js';

/** torch.reshape. One dimension may be -1; symbolic dims must be carried over by name. */
export function reshape(x: Value, shape: Shape): Value {
  const fill = shape.filter((d) => d === -1).length;
  if (fill > 1) throw shapeError('reshape', [x], `target ${JSON.stringify(shape)} has more than one -1`);
  if (shape.some((d) => typeof d === 'number' && (d < -1 || !Number.isInteger(d)))) throw shapeError('reshape', [x], `bad target ${JSON.stringify(shape)}`);
  const numbersOf = (s: Shape) => s.filter((d): d is number => typeof d === 'number' && d !== -1).reduce((a, b) => a * b, 1);
  const symbolsOf = (s: Shape) => s.filter((d): d is string => typeof d === 'string').sort().join(',');
  if (symbolsOf(x.shape) !== symbolsOf(shape)) {
    throw shapeError('reshape', [x], `target ${JSON.stringify(shape)} must keep the input's symbolic dimensions (${symbolsOf(x.shape) || 'none'})`);
  }
  const have = numbersOf(x.shape);
  const want = numbersOf(shape);
  let out: Dim[] = [...shape];
  if (fill === 1) {
    if (want === 0 || have % want !== 0) throw shapeError('reshape', [x], `cannot infer -1 in ${JSON.stringify(shape)}`);
    out = shape.map((d) => (d === -1 ? have / want : d));
  } else if (have !== want) {
    throw shapeError('reshape', [x], `target ${JSON.stringify(shape)} has ${dimProduct(shape)} elements, input has ${dimProduct(x.shape)}`);
  }
  return x.graph.addNode('reshape', [x], { shape: out }, [{ dtype: x.dtype, shape: out }])[0];
}

export function transpose(x: Value, perm: readonly number[]): Value {
  const ok = perm.length === x.rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!ok) throw shapeError('transpose', [x], `perm ${JSON.stringify(perm)} is not a permutation of 0..${x.rank - 1}`);
  return x.graph.addNode('transpose', [x], { perm: [...perm] }, [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }])[0];
}

export function concat(xs: readonly Value[], axis: number): Value {
  if (xs.length === 0) throw shapeError('concat', xs, 'needs at least one input');
  const [first] = xs;
  const a = normAxis(axis, first.rank);
  if (a === null) throw shapeError('concat', xs, `axis ${axis} is out of range`);
  for (const v of xs) {
    const same = v.rank === first.rank && v.dtype === first.dtype && v.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!same) throw shapeError('concat', xs, `all inputs must match except along axis ${a}`);
  }
  const shape = [...first.shape];
  const along = xs.map((v) => v.shape[a]);
  shape[a] = along.every((d) => typeof d === 'number') ? (along as number[]).reduce((s, d) => s + d, 0) : along.join('+');
  return first.graph.addNode('concat', xs, { axis: a }, [{ dtype: first.dtype, shape }])[0];
}

/** Splits `axis` into pieces of the given sizes (torch.split with a list). */
export function split(x: Value, sizes: readonly number[], axis: number): Value[] {
  const a = normAxis(axis, x.rank);
  if (a === null) throw shapeError('split', [x], `axis ${axis} is out of range`);
  const total = sizes.reduce((s, d) => s + d, 0);
  if (x.shape[a] !== total || sizes.some((d) => !Number.isInteger(d) || d < 0)) {
    throw shapeError('split', [x], `sizes ${JSON.stringify(sizes)} must add up to dimension ${a} (${x.shape[a]})`);
  }
  return x.graph.addNode('split', [x], { axis: a, sizes: [...sizes] }, sizes.map((d) => ({ dtype: x.dtype, shape: x.shape.map((s, i) => (i === a ? d : s)) })));
}

/** x[..., start:end:step, ...] along one axis (Python slice semantics, negative indices allowed). */
export function slice(x: Value, axis: number, start: number, end: number, step = 1): Value {
  const a = normAxis(axis, x.rank);
  if (a === null) throw shapeError('slice', [x], `axis ${axis} is out of range`);
  const n = x.shape[a];
  if (typeof n !== 'number') throw shapeError('slice', [x], `axis ${a} is symbolic (${n}); slicing needs a concrete size`);
  if (!Number.isInteger(step) || step < 1) throw shapeError('slice', [x], `step must be a positive integer, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = clampIdx(end);
  const len = Math.max(0, Math.ceil((e - s) / step));
  return x.graph.addNode('slice', [x], { axis: a, start: s, end: e, step }, [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? len : d)) }])[0];
}

/** Constant padding: pads[i] = [before, after] for axis i (missing trailing axes: no padding). */
export function pad(x: Value, pads: readonly (readonly [number, number])[], value = 0): Value {
  if (!isFloat(x.dtype) && !Number.isInteger(value)) throw shapeError('pad', [x], `a ${x.dtype} tensor cannot be padded with ${value}`);
  return addPad(x, pads, value, 'constant');
}

/**
 * Circular padding, torch's F.pad(x, …, mode="circular"): the `before` entries of axis i repeat
 * its last ones and the `after` entries its first ones, as if the axis were a ring
 * ([a b c d], [1, 2] → [d a b c d a b]). Seamless tiling pads every 3×3 conv's input this way.
 * Like torch, each pad must fit the axis once (pad ≤ size), and padded axes need concrete sizes.
 */
export function padCircular(x: Value, pads: readonly (readonly [number, number])[]): Value {
  return addPad(x, pads, 0, 'circular');
}

function addPad(x: Value, pads: readonly (readonly [number, number])[], value: number, mode: 'constant' | 'circular'): Value {
  if (pads.length > x.rank || pads.flat().some((p) => !Number.isInteger(p) || p < 0)) {
    throw shapeError('pad', [x], `pads ${JSON.stringify(pads)} must be non-negative [before, after] pairs, at most one per axis`);
  }
  if (mode === 'circular') {
    pads.forEach(([before, after], i) => {
      if (before === 0 && after === 0) return;
      const n = x.shape[i];
      if (typeof n !== 'number') throw shapeError('pad', [x], `circular padding of axis ${i} needs a concrete size, got ${n}`);
      if (before > n || after > n) throw shapeError('pad', [x], `circular pads [${before}, ${after}] of axis ${i} exceed its size ${n}`);
    });
  }
  const full = x.shape.map((_, i) => pads[i] ?? [0, 0]);
  const shape = x.shape.map((d, i) => {
    const extra = full[i][0] + full[i][1];
    if (extra === 0) return d;
    return typeof d === 'number' ? d + extra : `(${d}+${extra})`;
  });
  return x.graph.addNode('pad', [x], { pads: full, value, mode }, [{ dtype: x.dtype, shape }])[0];
}

/**
 * Nearest-neighbour upsampling of the last two axes of [N, C, H, W], as torch's
 * F.interpolate(mode="nearest"): either ×scale, or to an explicit [h, w] where
 * src = min(floor(dst · float32(in/out)), in − 1).
 */
export function resizeNearest(x: Value, to: { scale: number } | { size: readonly [number, number] }): Value {
  if (x.rank !== 4) throw shapeError('resizeNearest', [x], 'input must be [N, C, H, W]');
  let hw: [Dim, Dim];
  if ('scale' in to) {
    if (!Number.isInteger(to.scale) || to.scale < 1) throw shapeError('resizeNearest', [x], `scale must be a positive integer, got ${to.scale}`);
    hw = [dimScale(x.shape[2], to.scale), dimScale(x.shape[3], to.scale)];
  } else {
    if (typeof x.shape[2] !== 'number' || typeof x.shape[3] !== 'number') throw shapeError('resizeNearest', [x], 'an explicit output size needs a concrete input size');
    if (!to.size.every((d) => Number.isInteger(d) && d >= 1)) throw shapeError('resizeNearest', [x], `bad size ${JSON.stringify(to.size)}`);
    hw = [to.size[0], to.size[1]];
  }
  const attrs = 'scale' in to ? { scale: to.scale } : { size: [to.size[0], to.size[1]] as const };
  return x.graph.addNode('resizeNearest', [x], attrs, [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...hw] }])[0];
}

/** PyTorch's nearest source index: min(floor(dst · float32(in/out)), in − 1). */
export function torchNearestIndices(inSize: number, outSize: number): Tensor<'int64'> {
  const scale = Math.fround(inSize / outSize);
  return Tensor.int64([outSize], Array.from({ length: outSize }, (_, d) => Math.min(Math.floor(Math.fround(d * scale)), inSize - 1)));
}

/** Embedding lookup: table [V, ...rest], ids int64/int32 of any shape → [...ids, ...rest]. */
export function gather(table: Value, ids: Value): Value {
  if (ids.dtype !== 'int64' && ids.dtype !== 'int32') throw shapeError('gather', [table, ids], `ids must be int64 or int32, got ${ids.dtype}`);
  if (table.rank < 1) throw shapeError('gather', [table, ids], 'table must have rank >= 1');
  return table.graph.addNode('gather', [table, ids], {}, [{ dtype: table.dtype, shape: [...ids.shape, ...table.shape.slice(1)] }])[0];
}

export function cast(x: Value, to: DType): Value {
  if (!DTYPES.includes(to)) throw shapeError('cast', [x], `unknown target dtype ${JSON.stringify(to)}; expected one of ${DTYPES.join(', ')}`);
  if (x.dtype === to) return x;
  return x.graph.addNode('cast', [x], { to }, [{ dtype: to, shape: x.shape }])[0];
}

/** numpy/torch broadcast_to: x's dims of size 1 (and missing leading dims) repeated to `shape`. */
export function expand(x: Value, shape: Shape): Value {
  const out = broadcastShapes(x.shape, shape);
  if (!out || out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw shapeError('expand', [x], `cannot broadcast to ${JSON.stringify(shape)}`);
  }
  // Already that shape: no node (like cast to the same dtype). ONNX Runtime 1.30 also rejects some
  // graphs with a same-shape Expand after a Reshape at levels ≥ basic ("is not a graph input").
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return x.graph.addNode('expand', [x], { shape: [...shape] }, [{ dtype: x.dtype, shape }])[0];
}

/**
 * The transpose of gather (an embedding's gradient): a zero table [rows, ...rest] with
 * updates [...ids, ...rest] added at rows ids (repeated ids accumulate).
 */
export function scatterAddRows(ids: Value, updates: Value, rows: number): Value {
  if (ids.dtype !== 'int64' && ids.dtype !== 'int32') throw shapeError('scatterAddRows', [ids, updates], `ids must be int64 or int32, got ${ids.dtype}`);
  const lead = updates.shape.slice(0, ids.rank);
  if (updates.rank < ids.rank || lead.some((d, i) => d !== ids.shape[i])) throw shapeError('scatterAddRows', [ids, updates], "updates must start with the ids' shape");
  if (!Number.isInteger(rows) || rows < 1) throw shapeError('scatterAddRows', [ids, updates], `rows must be a positive integer, got ${rows}`);
  return updates.graph.addNode('scatterAddRows', [ids, updates], { rows }, [{ dtype: updates.dtype, shape: [rows, ...updates.shape.slice(ids.rank)] }])[0];
}

/** A tensor of `shape` filled with `value` in `graph` (no inputs). */
export function fill(graph: Graph, shape: readonly number[], value: number, dtype: DType = 'float32'): Value {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new LatentlabError('GRAPH_SHAPE', `fill: bad shape ${JSON.stringify(shape)}`);
  return graph.addNode('fill', [], { shape: [...shape], value, dtype }, [{ dtype, shape }])[0];
}
