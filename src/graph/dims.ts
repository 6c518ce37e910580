// Dimensions of graph values: a number, or a symbolic name ("batch", "height").
//
// Symbols let one graph serve many sizes. Shape inference treats two symbols as equal only when
// they are the same string; ops whose output size is arithmetic in a symbolic input (a strided
// convolution, ×2 upsampling) produce a canonical expression string such as "(h+-1)/2+1", so the
// same computation on the same symbol gives the same dimension and skip connections still match.

import { fmtShape, LatentlabError } from '../core/errors.js';

export type Dim = number | string;
export type Shape = readonly Dim[];

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function staticShape(shape: Shape, what: string): number[] {
  if (!isStatic(shape)) {
    throw new LatentlabError('GRAPH_SYMBOLIC', `${what} needs a concrete shape, got ${fmtShape(shape)}`, {
      hint: 'build this graph with concrete sizes for the symbolic dimensions',
    });
  }
  return [...shape];
}

/** Product of dims; a symbol makes the product symbolic. */
export function dimProduct(dims: Shape): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  if (syms.length === 0) return n;
  return [...(n === 1 ? [] : [String(n)]), ...syms].join('*');
}

/** floor((d + add) / div) + plus, symbolically when d is a symbol. */
export function dimAffine(d: Dim, add: number, div: number, plus: number): Dim {
  if (typeof d === 'number') return Math.floor((d + add) / div) + plus;
  const inner = add === 0 ? d : `(${d}+${add})`;
  const divided = div === 1 ? inner : `${inner}/${div}`;
  return plus === 0 ? divided : `${divided}+${plus}`;
}

export function dimScale(d: Dim, factor: number): Dim {
  return typeof d === 'number' ? d * factor : factor === 1 ? d : `${factor}*${d}`;
}

export function dimEq(a: Dim, b: Dim): boolean {
  return a === b;
}

/** Numpy broadcasting of two shapes; null when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] | null {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)];
    const y = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else return null;
  }
  return out;
}

/** Normalises a possibly negative axis for a rank; null when out of range. */
export function normAxis(axis: number, rank: number): number | null {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : null;
}
