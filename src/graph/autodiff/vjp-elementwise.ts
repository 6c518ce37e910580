// Vector-Jacobian products of the elementwise ops. z = f(x, y) broadcast; g = d loss / d z.
// Each binary rule gives the full-shape product and sumToShape folds it back onto the operand.

import type { Value } from '../graph.js';
import * as op from '../ops/index.js';
import { broadcastGrads, noGradient, Vjp, VjpTable } from './common.js';

type SimpleUnaryOp = 'sqrt' | 'exp' | 'log' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'erf' | 'silu' | 'quickGelu';
export type ElementwiseOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'less' | 'greater' | 'equal' | 'where' | 'clamp' | 'neg' | 'abs' | 'gelu' | SimpleUnaryOp;

/** A unary rule from the local derivative: dx = g · f'(x), given x and z = f(x). */
const unary =
  (dfdx: (x: Value, z: Value) => Value): Vjp<SimpleUnaryOp> =>
  (n, [g], [want]) =>
    [want && g ? op.mul(g, dfdx(n.inputs[0], n.outputs[0])) : undefined];

/** σ'(a·x)-style helper: s·(1 − s). */
const sigmoidSlope = (s: Value) => op.mul(s, op.sub(1, s));

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const ELEMENTWISE_VJPS: VjpTable<ElementwiseOp> = {
  add: (n, [g], w) => broadcastGrads(n, w, [() => g!, () => g!]),
  sub: (n, [g], w) => broadcastGrads(n, w, [() => g!, () => op.neg(g!)]),
  mul: (n, [g], w) => broadcastGrads(n, w, [() => op.mul(g!, n.inputs[1]), () => op.mul(g!, n.inputs[0])]),
  // z = x / y: dx = g / y, dy = −g · z / y
  div: (n, [g], w) => broadcastGrads(n, w, [() => op.div(g!, n.inputs[1]), () => op.neg(op.mul(g!, op.div(n.outputs[0], n.inputs[1])))]),
  // z = x^y: dx = g · y · x^(y−1), dy = g · z · ln x
  pow: (n, [g], w) => {
    const [x, y] = n.inputs;
    return broadcastGrads(n, w, [() => op.mul(g!, op.mul(y, op.pow(x, op.sub(y, 1)))), () => op.mul(g!, op.mul(n.outputs[0], op.log(x)))]);
  },
  less: noGradient,
  greater: noGradient,
  equal: noGradient,
  // The condition is bool (never differentiable); each branch gets g where it was chosen.
  where: (n, [g], w) => {
    const cond = n.inputs[0];
    return broadcastGrads(n, [false, w[1], w[2]], [undefined, () => op.where(cond, g!, 0), () => op.where(cond, 0, g!)]);
  },
  // torch.clamp passes the gradient where min ≤ x ≤ max (the bounds included).
  clamp: (n, [g], [want]) => {
    const [x] = n.inputs;
    const { min, max } = n.attrs;
    if (!want || !g) return [undefined];
    return [op.where(op.less(x, min), 0, op.where(op.greater(x, max), 0, g))];
  },
  neg: (n, [g], [want]) => [want && g ? op.neg(g) : undefined],
  // |x|' = sign(x), and 0 at 0 as torch does.
  abs: (n, [g], [want]) => {
    const [x] = n.inputs;
    if (!want || !g) return [undefined];
    return [op.where(op.greater(x, 0), g, op.where(op.less(x, 0), op.neg(g), 0))];
  },
  sqrt: unary((_x, z) => op.div(0.5, z)),
  exp: unary((_x, z) => z),
  log: (n, [g], [want]) => [want && g ? op.div(g, n.inputs[0]) : undefined], // g / x: one rounding
  sin: unary((x) => op.cos(x)),
  cos: unary((x) => op.neg(op.sin(x))),
  tanh: unary((_x, z) => op.sub(1, op.mul(z, z))),
  sigmoid: unary((_x, z) => sigmoidSlope(z)),
  erf: unary((x) => op.mul(2 / Math.sqrt(Math.PI), op.exp(op.neg(op.mul(x, x))))),
  // silu(x) = x·σ(x): σ + x·σ(1 − σ)
  silu: unary((x) => {
    const s = op.sigmoid(x);
    return op.add(s, op.mul(x, sigmoidSlope(s)));
  }),
  // quick_gelu(x) = x·σ(1.702x): σ + 1.702·x·σ(1 − σ)
  quickGelu: unary((x) => {
    const s = op.sigmoid(op.mul(x, 1.702));
    return op.add(s, op.mul(op.mul(x, 1.702), sigmoidSlope(s)));
  }),
  gelu: (n, [g], [want]) => {
    if (!want || !g) return [undefined];
    const [x] = n.inputs;
    if (n.attrs.approximate === 'none') {
      // gelu = x·Φ(x): Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2, φ(x) = e^(−x²/2)/√(2π)
      const cdf = op.mul(op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1), 0.5);
      const pdf = op.mul(op.exp(op.mul(op.mul(x, x), -0.5)), INV_SQRT_2PI);
      return [op.mul(g, op.add(cdf, op.mul(x, pdf)))];
    }
    // tanh form: 0.5·x·(1 + t), t = tanh(u), u = √(2/π)(x + 0.044715x³):
    // 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
    const x2 = op.mul(x, x);
    const t = op.tanh(op.mul(op.add(x, op.mul(op.mul(x2, x), 0.044715)), SQRT_2_OVER_PI));
    const du = op.mul(op.add(op.mul(x2, 3 * 0.044715), 1), SQRT_2_OVER_PI);
    const d = op.add(op.mul(op.add(t, 1), 0.5), op.mul(op.mul(op.mul(x, 0.5), op.sub(1, op.mul(t, t))), du));
    return [op.mul(g, d)];
  },
};
