// Elementwise ops: numpy-broadcast binary arithmetic, unary maths, activations, comparisons,
// where and clamp. Shapes: out = broadcast(a, b); unary ops keep the shape.

import type { DType } from '../../core/dtype.js';
import { broadcastShapes } from '../dims.js';
import type { Value } from '../graph.js';
import type { OpAttrs } from '../op-types.js';
import { firstValue, Operand, operand, shapeError } from './common.js';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow';
export type CompareOp = 'less' | 'greater' | 'equal';

function binary(op: BinaryOp | CompareOp, a: Operand, b: Operand, outDtype?: DType): Value {
  const like = firstValue(op, [a, b]);
  const x = operand(a, like);
  const y = operand(b, like);
  if (x.dtype !== y.dtype) throw shapeError(op, [x, y], `operands have different dtypes (${x.dtype}, ${y.dtype}); cast one first`);
  // ONNX Add/Less/... have no bool kernels (only Equal does); fail here, with the module path, not in ONNX Runtime.
  if (x.dtype === 'bool' && op !== 'equal') throw shapeError(op, [x, y], 'needs numeric operands, got bool; cast them first');
  const shape = broadcastShapes(x.shape, y.shape);
  if (!shape) throw shapeError(op, [x, y], 'shapes do not broadcast');
  return like.graph.addNode(op, [x, y], {}, [{ dtype: outDtype ?? x.dtype, shape }])[0];
}

export const add = (a: Operand, b: Operand): Value => binary('add', a, b);
export const sub = (a: Operand, b: Operand): Value => binary('sub', a, b);
export const mul = (a: Operand, b: Operand): Value => binary('mul', a, b);
export const div = (a: Operand, b: Operand): Value => binary('div', a, b);
export const pow = (a: Operand, b: Operand): Value => binary('pow', a, b);
export const less = (a: Operand, b: Operand): Value => binary('less', a, b, 'bool');
export const greater = (a: Operand, b: Operand): Value => binary('greater', a, b, 'bool');
export const equal = (a: Operand, b: Operand): Value => binary('equal', a, b, 'bool');

export type UnaryOp = 'neg' | 'abs' | 'sqrt' | 'exp' | 'log' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'erf' | 'silu' | 'quickGelu' | 'gelu';

const FLOATS: readonly DType[] = ['float32', 'float16', 'float64'];
/** neg and abs also take signed integers (ONNX Neg has no unsigned or bool kernels). */
const SIGNED: readonly DType[] = [...FLOATS, 'int32', 'int64'];

function unary<K extends UnaryOp>(op: K, x: Value, attrs: OpAttrs[K] = {} as OpAttrs[K]): Value {
  const allowed = op === 'neg' || op === 'abs' ? SIGNED : FLOATS;
  if (!allowed.includes(x.dtype)) throw shapeError(op, [x], `needs a ${op === 'neg' || op === 'abs' ? 'signed numeric' : 'float'} input, got ${x.dtype}`);
  return x.graph.addNode(op, [x], attrs, [{ dtype: x.dtype, shape: x.shape }])[0];
}

export const neg = (x: Value): Value => unary('neg', x);
export const abs = (x: Value): Value => unary('abs', x);
export const sqrt = (x: Value): Value => unary('sqrt', x);
export const exp = (x: Value): Value => unary('exp', x);
export const log = (x: Value): Value => unary('log', x);
export const sin = (x: Value): Value => unary('sin', x);
export const cos = (x: Value): Value => unary('cos', x);
export const tanh = (x: Value): Value => unary('tanh', x);
export const sigmoid = (x: Value): Value => unary('sigmoid', x);
export const erf = (x: Value): Value => unary('erf', x);
/** SiLU / swish: x·σ(x). */
export const silu = (x: Value): Value => unary('silu', x);
/** CLIP's quick_gelu: x·σ(1.702·x). */
export const quickGelu = (x: Value): Value => unary('quickGelu', x);
/** GELU: exact 0.5·x·(1 + erf(x/√2)), or the tanh approximation. */
export const gelu = (x: Value, approximate: 'none' | 'tanh' = 'none'): Value => unary('gelu', x, { approximate });

/** `cond ? a : b`, broadcast over all three. */
export function where(cond: Value, a: Operand, b: Operand): Value {
  const like = firstValue('where', [a, b]);
  const x = operand(a, like);
  const y = operand(b, like);
  if (cond.dtype !== 'bool') throw shapeError('where', [cond, x, y], `condition must be bool, got ${cond.dtype}`);
  if (x.dtype !== y.dtype) throw shapeError('where', [cond, x, y], 'branches have different dtypes');
  const xy = broadcastShapes(x.shape, y.shape);
  const shape = xy && broadcastShapes(cond.shape, xy);
  if (!shape) throw shapeError('where', [cond, x, y], 'shapes do not broadcast');
  return like.graph.addNode('where', [cond, x, y], {}, [{ dtype: x.dtype, shape }])[0];
}

/** torch.clamp(x, min, max) on a float tensor. */
export function clamp(x: Value, min: number, max: number): Value {
  if (!FLOATS.includes(x.dtype)) throw shapeError('clamp', [x], `needs a float input, got ${x.dtype}`);
  if (!(min <= max)) throw shapeError('clamp', [x], `min ${min} must be <= max ${max}`);
  return x.graph.addNode('clamp', [x], { min, max }, [{ dtype: x.dtype, shape: x.shape }])[0];
}
