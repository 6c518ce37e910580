// Shape inference fails at build time, before ONNX Runtime sees anything: every op rejects a bad
// input with a GRAPH_SHAPE LatentlabError whose message names the op, the module path being
// built (here "down_blocks.0.resnets.1") and the shapes of the inputs.

import { describe, expect, it } from 'vitest';

import type { DType } from '../../src/core/dtype.js';
import { fmtShape, LatentlabError } from '../../src/core/errors.js';
import type { Shape } from '../../src/graph/dims.js';
import { Graph, Module, Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';

const SCOPE = 'down_blocks.0.resnets.1';

type Input = (shape: Shape, dtype?: DType) => Value;

/** [op name as it appears in the message, what is wrong, builder] */
const cases: [string, string, (x: Input) => unknown][] = [
  ['add', 'shapes do not broadcast', (x) => op.add(x([2, 3]), x([4]))],
  ['sub', 'shapes do not broadcast', (x) => op.sub(x([2, 3]), x([3, 2]))],
  ['mul', 'different dtypes', (x) => op.mul(x([2]), x([2], 'int64'))],
  ['div', 'shapes do not broadcast', (x) => op.div(x([5]), x([6]))],
  ['pow', 'shapes do not broadcast', (x) => op.pow(x([2, 2]), x([3]))],
  ['add', 'bool operands', (x) => op.add(x([2], 'bool'), x([2], 'bool'))],
  ['less', 'shapes do not broadcast', (x) => op.less(x([2]), x([3]))],
  ['greater', 'different dtypes', (x) => op.greater(x([2]), x([2], 'int32'))],
  ['equal', 'shapes do not broadcast', (x) => op.equal(x([4, 2]), x([4, 3]))],
  ...(['sqrt', 'exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'silu', 'gelu', 'quickGelu'] as const).map(
    (name): [string, string, (x: Input) => unknown] => [name, 'integer input', (x) => op[name](x([3, 1], 'int64'))],
  ),
  ['neg', 'bool input', (x) => op.neg(x([3], 'bool'))],
  ['abs', 'unsigned input', (x) => op.abs(x([3], 'uint8'))],
  ['where', 'float condition', (x) => op.where(x([2]), x([2]), x([2]))],
  ['where', 'shapes do not broadcast', (x) => op.where(x([2, 1], 'bool'), x([3]), x([4]))],
  ['clamp', 'min > max', (x) => op.clamp(x([2]), 1, 0)],
  ['clamp', 'integer input', (x) => op.clamp(x([2], 'int64'), 0, 1)],
  ['linear', 'in_features mismatch', (x) => op.linear(x([2, 7]), x([4, 8]))],
  ['linear', 'bias of the wrong size', (x) => op.linear(x([2, 8]), x([4, 8]), x([8]))],
  ['linear', 'weight of rank 3', (x) => op.linear(x([2, 8]), x([1, 4, 8]))],
  ['matmul', 'inner dimensions differ', (x) => op.matmul(x([2, 3, 4]), x([5, 6]))],
  ['matmul', 'batch dimensions do not broadcast', (x) => op.matmul(x([2, 3, 4]), x([3, 4, 6]))],
  ['matmul', 'rank 1 operand', (x) => op.matmul(x([4]), x([4, 2]))],
  ['conv2d', 'channel mismatch', (x) => op.conv2d(x([1, 3, 8, 8]), x([4, 4, 3, 3]))],
  ['conv2d', 'kernel larger than the padded input', (x) => op.conv2d(x([1, 3, 2, 2]), x([4, 3, 3, 3]))],
  ['conv2d', 'out_channels not divisible by groups', (x) => op.conv2d(x([1, 4, 8, 8]), x([3, 2, 3, 3]), undefined, { groups: 2 })],
  ['conv2d', 'bias of the wrong size', (x) => op.conv2d(x([1, 3, 8, 8]), x([4, 3, 3, 3]), x([3]))],
  ['conv2d', 'input of rank 3', (x) => op.conv2d(x([3, 8, 8]), x([4, 3, 3, 3]))],
  ['conv2d', 'zero stride', (x) => op.conv2d(x([1, 3, 8, 8]), x([4, 3, 3, 3]), undefined, { stride: 0 })],
  ['attention', 'width not divisible into heads', (x) => op.attention(x([1, 4, 10]), x([1, 4, 10]), x([1, 4, 10]), { heads: 4 })],
  ['attention', 'batch sizes differ', (x) => op.attention(x([2, 4, 8]), x([1, 4, 8]), x([1, 4, 8]), { heads: 2 })],
  ['attention', 'key and value lengths differ', (x) => op.attention(x([1, 4, 8]), x([1, 5, 8]), x([1, 6, 8]), { heads: 2 })],
  ['attention', 'causal with Sq ≠ Sk', (x) => op.attention(x([1, 4, 8]), x([1, 5, 8]), x([1, 5, 8]), { heads: 2, causal: true })],
  ['softmax', 'axis out of range', (x) => op.softmax(x([2, 3]), 2)],
  ['softmax', 'integer input', (x) => op.softmax(x([2, 3], 'int64'))],
  ['layerNorm', 'weight of the wrong size', (x) => op.layerNorm(x([2, 5, 16]), x([8]), x([16]), 1e-5)],
  ['groupNorm', 'channels not divisible by groups', (x) => op.groupNorm(x([1, 6, 4, 4]), x([6]), x([6]), 4, 1e-6)],
  ['groupNorm', 'input of rank 2', (x) => op.groupNorm(x([2, 6]), x([6]), x([6]), 2, 1e-6)],
  ['reduceMean', 'axis out of range', (x) => op.reduceMean(x([2, 3]), [2])],
  ['reduceSum', 'repeated axis', (x) => op.reduceSum(x([2, 3]), [1, -1])],
  ['reshape', 'element count differs', (x) => op.reshape(x([2, 3, 4]), [5, 5])],
  ['reshape', 'two -1', (x) => op.reshape(x([2, 3, 4]), [-1, -1])],
  ['reshape', 'a symbolic dimension is dropped', (x) => op.reshape(x(['batch', 3, 4]), [-1, 12])],
  ['transpose', 'not a permutation', (x) => op.transpose(x([2, 3, 4]), [0, 0, 1])],
  ['concat', 'other dims differ', (x) => op.concat([x([2, 3]), x([2, 4])], 0)],
  ['concat', 'axis out of range', (x) => op.concat([x([2, 3]), x([2, 3])], 2)],
  ['split', 'sizes do not add up', (x) => op.split(x([2, 6]), [2, 3], 1)],
  ['slice', 'zero step', (x) => op.slice(x([2, 6]), 1, 0, 4, 0)],
  ['slice', 'axis out of range', (x) => op.slice(x([2, 6]), -3, 0, 1)],
  ['pad', 'negative pad', (x) => op.pad(x([2, 6]), [[0, 0], [-1, 0]])],
  ['pad', 'more pairs than axes', (x) => op.pad(x([6]), [[0, 0], [1, 1]])],
  ['pad', 'circular pad larger than the axis', (x) => op.padCircular(x([2, 3]), [[0, 0], [0, 4]])],
  ['pad', 'circular pad of a symbolic axis', (x) => op.padCircular(x(['batch', 3]), [[1, 0]])],
  ['resizeNearest', 'input of rank 3', (x) => op.resizeNearest(x([3, 8, 8]), { scale: 2 })],
  ['resizeNearest', 'non-integer scale', (x) => op.resizeNearest(x([1, 3, 8, 8]), { scale: 1.5 })],
  ['gather', 'float ids', (x) => op.gather(x([10, 4]), x([3]))],
  ['cast', 'unknown dtype', (x) => op.cast(x([3]), 'float8' as DType)],
];

describe('shape errors name the op, the module path and the input shapes', () => {
  for (const [name, what, build] of cases) {
    it(`${name}: ${what}`, () => {
      const g = new Graph('bad');
      const inputs: Value[] = [];
      const x: Input = (shape, dtype = 'float32') => {
        const v = g.input(`x${inputs.length}`, dtype, shape);
        inputs.push(v);
        return v;
      };
      let error: unknown;
      try {
        new Module(g, SCOPE).build(() => build(x));
      } catch (e) {
        error = e;
      }
      expect(error, 'expected a LatentlabError').toBeInstanceOf(LatentlabError);
      const err = error as LatentlabError;
      expect(err.code).toBe('GRAPH_SHAPE');
      expect(err.message.startsWith(`${name} at "${SCOPE}": `), err.message).toBe(true);
      expect(err.key).toBe(SCOPE);
      for (const v of inputs) expect(err.message, err.message).toContain(`${v.name} ${v.dtype}${fmtShape(v.shape)}`);
      expect(g.nodes, 'nothing was added to the graph').toHaveLength(0);
    });
  }
});
