// Plain-loop float64 references for the compute ops and normalisations: conv2d, linear, matmul,
// attention, softmax, layer norm, group norm, reductions. Written from PyTorch's definitions
// (torch.nn.functional.conv2d, nn.Linear, torch.matmul, nn.LayerNorm, nn.GroupNorm, diffusers'
// attention processor), never from the ONNX lowering.

import { broadcastShape, nd, Nd, numel, ravel, unravel } from './reference.js';

export interface ConvParams {
  stride: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** x [N, C, H, W], w [O, C/groups, kh, kw], b [O] → [N, O, oh, ow]. */
export function conv2d(x: Nd, w: Nd, b: Nd | undefined, p: ConvParams): Nd {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const [sh, sw] = p.stride;
  const [pt, pl, pb, pr] = p.pads;
  const [dh, dw] = p.dilation;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const og = o / p.groups; // output channels per group
  if (c !== cg * p.groups) throw new Error('reference conv2d: channel mismatch');
  return nd([n, o, oh, ow], (i) => {
    const [bi, oc, y, xx] = unravel(i, [n, o, oh, ow]);
    const g = Math.floor(oc / og);
    let acc = b ? b.data[oc] : 0;
    for (let ci = 0; ci < cg; ci++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = y * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = xx * sw - pl + kx * dw;
          if (ix < 0 || ix >= wd) continue;
          acc += x.data[ravel([bi, g * cg + ci, iy, ix], x.shape)] * w.data[ravel([oc, ci, ky, kx], w.shape)];
        }
      }
    }
    return acc;
  });
}

/** torch.matmul for rank ≥ 2 with broadcast batch dims. */
export function matmul(a: Nd, b: Nd): Nd {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, m, n];
  const batchIndex = (x: Nd, idx: readonly number[]) => {
    const xb = x.shape.slice(0, -2);
    const off = idx.length - xb.length;
    return ravel(xb.map((d, j) => (d === 1 ? 0 : idx[j + off])), xb);
  };
  return nd(shape, (i) => {
    const idx = unravel(i, shape);
    const bIdx = idx.slice(0, -2);
    const [r, col] = idx.slice(-2);
    const ao = batchIndex(a, bIdx) * m * k;
    const bo = batchIndex(b, bIdx) * k * n;
    let acc = 0;
    for (let j = 0; j < k; j++) acc += a.data[ao + r * k + j] * b.data[bo + j * n + col];
    return acc;
  });
}

/** nn.Linear: x [..., in] · weight[out, in]ᵀ + bias. */
export function linear(x: Nd, w: Nd, b?: Nd): Nd {
  const [out, inF] = w.shape;
  const shape = [...x.shape.slice(0, -1), out];
  return nd(shape, (i) => {
    const row = Math.floor(i / out);
    const o = i % out;
    let acc = b ? b.data[o] : 0;
    for (let j = 0; j < inF; j++) acc += x.data[row * inF + j] * w.data[o * inF + j];
    return acc;
  });
}

/** Softmax along `axis` (max-subtracted, as every library does). */
export function softmax(x: Nd, axis: number): Nd {
  const out = nd(x.shape);
  forEachLine(x.shape, axis, (idx) => {
    const vals = idx.map((j) => x.data[j]);
    const mx = Math.max(...vals);
    const ex = vals.map((v) => Math.exp(v - mx));
    const s = ex.reduce((a, v) => a + v, 0);
    idx.forEach((j, t) => (out.data[j] = ex[t] / s));
  });
  return out;
}

/** Calls f with the flat indices of every 1-D line of `shape` along `axis`. */
function forEachLine(shape: readonly number[], axis: number, f: (flat: number[]) => void): void {
  const n = shape[axis];
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  for (let a = 0; a < outer; a++) {
    for (let c = 0; c < inner; c++) f(Array.from({ length: n }, (_, t) => (a * n + t) * inner + c));
  }
}

/** Normalises each group of flat indices to zero mean, unit (biased) variance. */
function normalise(x: Nd, out: Nd, idx: readonly number[], eps: number): void {
  const mean = idx.reduce((s, j) => s + x.data[j], 0) / idx.length;
  const variance = idx.reduce((s, j) => s + (x.data[j] - mean) ** 2, 0) / idx.length;
  for (const j of idx) out.data[j] = (x.data[j] - mean) / Math.sqrt(variance + eps);
}

export function layerNorm(x: Nd, w: Nd, b: Nd, eps: number): Nd {
  const out = nd(x.shape);
  const c = x.shape[x.shape.length - 1];
  forEachLine(x.shape, x.shape.length - 1, (idx) => normalise(x, out, idx, eps));
  for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i] * w.data[i % c] + b.data[i % c];
  return out;
}

/** nn.GroupNorm on [N, C, ...spatial]. */
export function groupNorm(x: Nd, w: Nd, b: Nd, groups: number, eps: number): Nd {
  const out = nd(x.shape);
  const [n, c] = x.shape;
  const spatial = numel(x.shape.slice(2));
  const per = (c / groups) * spatial; // elements in one group of one sample (contiguous)
  for (let s = 0; s < n * groups; s++) normalise(x, out, Array.from({ length: per }, (_, t) => s * per + t), eps);
  for (let i = 0; i < out.data.length; i++) {
    const ch = Math.floor(i / spatial) % c;
    out.data[i] = out.data[i] * w.data[ch] + b.data[ch];
  }
  return out;
}

export function reduce(x: Nd, axes: readonly number[], keepdims: boolean, mean: boolean): Nd {
  const set = new Set(axes.map((a) => (a < 0 ? a + x.shape.length : a)));
  const kept = x.shape.map((d, a) => (set.has(a) ? 1 : d));
  const out = nd(kept);
  const count = numel(x.shape) / numel(kept);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((d, a) => (set.has(a) ? 0 : d));
    out.data[ravel(idx, kept)] += x.data[i] / (mean ? count : 1);
  }
  return keepdims ? out : { shape: x.shape.filter((_, a) => !set.has(a)), data: out.data };
}

/**
 * Multi-head attention on un-split q [B, Sq, H·d], k [B, Sk, H·d], v [B, Sk, H·dv]:
 * per head softmax(scale · q·kᵀ, causal-masked) · v → [B, Sq, H·dv].
 */
export function attention(q: Nd, k: Nd, v: Nd, heads: number, scale: number, causal: boolean): Nd {
  const [bs, sq, cq] = q.shape;
  const sk = k.shape[1];
  const cv = v.shape[2];
  const d = cq / heads;
  const dv = cv / heads;
  const out = nd([bs, sq, cv]);
  for (let b = 0; b < bs; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < sq; i++) {
        const scores = Array.from({ length: sk }, (_, j) => {
          if (causal && j > i) return -Infinity;
          let s = 0;
          for (let t = 0; t < d; t++) s += q.data[(b * sq + i) * cq + h * d + t] * k.data[(b * sk + j) * cq + h * d + t];
          return s * scale;
        });
        const mx = Math.max(...scores);
        const ex = scores.map((s) => Math.exp(s - mx));
        const z = ex.reduce((a, e) => a + e, 0);
        for (let t = 0; t < dv; t++) {
          let acc = 0;
          for (let j = 0; j < sk; j++) acc += (ex[j] / z) * v.data[(b * sk + j) * cv + h * dv + t];
          out.data[(b * sq + i) * cv + h * dv + t] = acc;
        }
      }
    }
  }
  return out;
}
