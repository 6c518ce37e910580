// PyTorch's `F.interpolate(x, size=(H, W), mode, align_corners=False, antialias)` on host float32
// tensors [B, C, h, w] → [B, C, H, W]: what A1111's hires fix does to the first pass's latents
// ("Latent" = bilinear, "Latent (nearest)" = nearest, …). Every mode is separable: each output
// index o along an axis of `n → m` reads a few input indices with fixed weights, so one table per
// axis (taps) and two passes (rows, then columns) reproduce it. With s = n / m (torch's scale when
// `size` is given):
//
//   nearest        i = min(floor(o·s), n − 1)                              (torch's legacy "nearest")
//   nearest-exact  i = min(floor((o + ½)·s), n − 1)                        (as PIL and OpenCV)
//   bilinear       x = max((o + ½)·s − ½, 0);  i = floor(x), λ = x − i:    (1 − λ)·in[i] + λ·in[min(i + 1, n − 1)]
//   bicubic        x = (o + ½)·s − ½ (not clamped);  i = floor(x), t = x − i;  Keys' cubic with A = −0.75
//                  at i − 1 … i + 2, indices clamped to [0, n − 1] (the edge pixel repeated)
//   antialias      (bilinear / bicubic only) the filter is stretched by max(s, 1) and its taps inside
//                  [0, n) are renormalised to sum to 1; bicubic's A is then −0.5 (PIL's). For
//                  upscaling (s < 1) bilinear-antialiased equals bilinear; bicubic-antialiased does not.
//
// Sums are formed in float64 and rounded to float32 once per pass (torch rounds each product), so
// results may differ from PyTorch in the last bit.

import { check } from './errors.js';
import { Tensor } from './tensor.js';

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'bilinear' | 'bicubic';

export interface InterpolateOptions {
  /** The output [height, width]. */
  size: readonly [number, number];
  mode: InterpolateMode;
  /** torch's antialias flag: bilinear and bicubic only. Default false. */
  antialias?: boolean;
}

/** For each output index: the input indices it reads and their weights. */
type Taps = { index: number[]; weight: number[] }[];

function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** The taps of one axis resized from n to m. */
export function interpolationTaps(n: number, m: number, mode: InterpolateMode, antialias = false): Taps {
  const s = n / m;
  const taps: Taps = [];
  const clampIndex = (i: number) => Math.min(Math.max(i, 0), n - 1);
  for (let o = 0; o < m; o++) {
    if (mode === 'nearest' || mode === 'nearest-exact') {
      const i = Math.min(Math.floor((mode === 'nearest' ? o : o + 0.5) * s), n - 1);
      taps.push({ index: [i], weight: [1] });
    } else if (antialias) {
      // torch's _upsample_*_aa: a filter of support `size/2 · max(s, 1)` centred at (o + ½)·s.
      const support = (mode === 'bilinear' ? 1 : 2) * Math.max(s, 1);
      const invScale = s >= 1 ? 1 / s : 1;
      const center = s * (o + 0.5);
      const lo = Math.max(Math.trunc(center - support + 0.5), 0);
      const hi = Math.min(Math.trunc(center + support + 0.5), n);
      const index: number[] = [];
      const weight: number[] = [];
      let total = 0;
      for (let i = lo; i < hi; i++) {
        const x = (i - center + 0.5) * invScale;
        const w = mode === 'bilinear' ? Math.max(0, 1 - Math.abs(x)) : cubic(x, -0.5);
        index.push(i);
        weight.push(w);
        total += w;
      }
      taps.push({ index, weight: weight.map((w) => (total === 0 ? 0 : w / total)) });
    } else if (mode === 'bilinear') {
      const x = Math.max((o + 0.5) * s - 0.5, 0);
      const i = Math.floor(x);
      const l = x - i;
      taps.push({ index: [clampIndex(i), clampIndex(i + 1)], weight: [1 - l, l] });
    } else {
      const x = (o + 0.5) * s - 0.5;
      const i = Math.floor(x);
      const t = x - i;
      taps.push({
        index: [i - 1, i, i + 1, i + 2].map(clampIndex),
        weight: [cubic(t + 1, -0.75), cubic(t, -0.75), cubic(1 - t, -0.75), cubic(2 - t, -0.75)],
      });
    }
  }
  return taps;
}

/** F.interpolate(x, size, mode, align_corners=False, antialias) for x [B, C, h, w] in float32. */
export function interpolate(x: Tensor<'float32'>, o: InterpolateOptions): Tensor<'float32'> {
  check(x.rank === 4, 'TENSOR_SHAPE', () => `interpolate takes [B, C, h, w]; got a tensor of shape [${x.shape}]`);
  const [b, c, h, w] = x.shape;
  const [H, W] = o.size;
  check(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0, 'TENSOR_SHAPE', () => `interpolate: size must be two positive integers, got [${o.size}]`);
  check(!o.antialias || o.mode === 'bilinear' || o.mode === 'bicubic', 'TENSOR_ARGUMENT', () => `interpolate: antialias applies to bilinear and bicubic only, not ${o.mode}`);
  const rows = interpolationTaps(h, H, o.mode, o.antialias);
  const cols = interpolationTaps(w, W, o.mode, o.antialias);
  const mid = new Float32Array(h * W); // one plane resized along x
  const out = new Tensor('float32', [b, c, H, W]);
  for (let p = 0; p < b * c; p++) {
    const src = x.data.subarray(p * h * w, (p + 1) * h * w);
    for (let y = 0; y < h; y++) {
      for (let ox = 0; ox < W; ox++) {
        const { index, weight } = cols[ox];
        let sum = 0;
        for (let k = 0; k < index.length; k++) sum += weight[k] * src[y * w + index[k]];
        mid[y * W + ox] = sum;
      }
    }
    const dst = out.data.subarray(p * H * W, (p + 1) * H * W);
    for (let oy = 0; oy < H; oy++) {
      const { index, weight } = rows[oy];
      for (let ox = 0; ox < W; ox++) {
        let sum = 0;
        for (let k = 0; k < index.length; k++) sum += weight[k] * mid[index[k] * W + ox];
        dst[oy * W + ox] = sum;
      }
    }
  }
  return out;
}
