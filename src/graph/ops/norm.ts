// Normalisations and reductions: softmax, layer norm, group norm, mean and sum.

import type { Dim } from '../dims.js';
import { normAxis } from '../dims.js';
import type { Value } from '../graph.js';
import { shapeError } from './common.js';

/** ONNX Softmax, LayerNormalization and InstanceNormalization only have float kernels. */
function checkFloat(op: string, inputs: readonly Value[]): void {
  const x = inputs[0];
  if (x.dtype !== 'float32' && x.dtype !== 'float16' && x.dtype !== 'float64') throw shapeError(op, inputs, `needs a float input, got ${x.dtype}`);
}

/** softmax along `axis`. */
export function softmax(x: Value, axis = -1): Value {
  checkFloat('softmax', [x]);
  const a = normAxis(axis, x.rank);
  if (a === null) throw shapeError('softmax', [x], `axis ${axis} is out of range`);
  return x.graph.addNode('softmax', [x], { axis: a }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** torch.nn.LayerNorm over the last dimension: (x − mean) / sqrt(var + eps) · weight + bias. */
export function layerNorm(x: Value, weight: Value, bias: Value, eps: number): Value {
  checkFloat('layerNorm', [x, weight, bias]);
  if (x.rank < 1) throw shapeError('layerNorm', [x, weight, bias], 'input must have rank >= 1');
  const c = x.shape[x.rank - 1];
  if (weight.rank !== 1 || bias.rank !== 1 || weight.shape[0] !== c || bias.shape[0] !== c) {
    throw shapeError('layerNorm', [x, weight, bias], `weight and bias must be [${c}] (the last dimension of the input)`);
  }
  return x.graph.addNode('layerNorm', [x, weight, bias], { eps }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/**
 * torch.nn.GroupNorm on [N, C, ...]: channels split into `groups`, each normalised over its
 * channels and all spatial positions, then a per-channel affine.
 */
export function groupNorm(x: Value, weight: Value, bias: Value, groups: number, eps: number): Value {
  const inputs = [x, weight, bias];
  checkFloat('groupNorm', inputs);
  if (x.rank < 3) throw shapeError('groupNorm', inputs, 'input must be [N, C, ...spatial]');
  const c = x.shape[1];
  if (typeof c !== 'number' || !Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw shapeError('groupNorm', inputs, `${c} channels cannot be split into ${groups} groups`);
  }
  if (weight.rank !== 1 || bias.rank !== 1 || weight.shape[0] !== c || bias.shape[0] !== c) {
    throw shapeError('groupNorm', inputs, `weight and bias must be [${c}]`);
  }
  return x.graph.addNode('groupNorm', inputs, { groups, eps }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

function reduce(op: 'reduceMean' | 'reduceSum', x: Value, axes: readonly number[], keepdims: boolean): Value {
  const norm = axes.map((a) => normAxis(a, x.rank));
  if (norm.some((a) => a === null) || new Set(norm).size !== norm.length) throw shapeError(op, [x], `bad axes ${JSON.stringify(axes)}`);
  const set = new Set(norm as number[]);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!set.has(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return x.graph.addNode(op, [x], { axes: [...set].sort((a, b) => a - b), keepdims }, [{ dtype: x.dtype, shape }])[0];
}

export const reduceMean = (x: Value, axes: readonly number[], keepdims = true): Value => reduce('reduceMean', x, axes, keepdims);
export const reduceSum = (x: Value, axes: readonly number[], keepdims = true): Value => reduce('reduceSum', x, axes, keepdims);
