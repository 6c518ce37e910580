// "A new op without a vjp, a lowering or a FLOP rule does not compile": the three tables are
// mapped types over OpName. The @ts-expect-error lines are checked by `tsc --noEmit` (npm test's
// first step): if a table type stopped being exhaustive, the expected error would vanish and tsc
// would fail on the unused directive. At run time, every op name has all three rules.

import { describe, expect, it } from 'vitest';

import type { Vjp } from '../../src/graph/autodiff/common.js';
import { OP_NAMES, opSpec } from '../../src/graph/op-specs.js';
import type { OpName } from '../../src/graph/op-types.js';
import { LOWERINGS } from '../../src/onnx/lower-ops.js';
import type { Lowering } from '../../src/onnx/lowering.js';

const noLowering: Lowering<OpName> = () => [];
const noVjp: Vjp<OpName> = () => [];

// @ts-expect-error — a lowering table without every op is a type error
export const partialLowerings: { readonly [K in OpName]: Lowering<K> } = { add: noLowering };
// @ts-expect-error — a vjp table without every op is a type error
export const partialVjps: { readonly [K in OpName]: Vjp<K> } = { add: noVjp, mul: noVjp };

describe('the op table', () => {
  it('every op has a lowering, a FLOP rule and a vjp', () => {
    expect(OP_NAMES.length).toBeGreaterThan(40);
    for (const name of OP_NAMES) {
      expect(typeof LOWERINGS[name], name).toBe('function');
      expect(typeof opSpec(name).flops, name).toBe('function');
      expect(typeof opSpec(name).vjp, name).toBe('function');
    }
    expect(Object.keys(LOWERINGS).sort()).toEqual([...OP_NAMES].sort());
  });
});
