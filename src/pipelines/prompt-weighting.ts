// What a weight does to the text encoder's output, per token (one 77-token chunk at a time).
//
//   a1111 (A1111's default emphasis "Original", modules/sd_emphasis.py):
//       z' = z · m                      every token's H values times its multiplier m
//       z″ = z' · (mean(z) / mean(z'))  then the whole batch rescaled so its mean is what it was
//   comfy (ComfyUI's sd1_clip.py):
//       z' = e + (z − e) · m            interpolate away from e, the empty prompt's output at the
//                                       same position; tokens with m = 1 stay as they are
//
// A1111 takes the means over the whole batch it encodes at once: all the texts of one prompt's
// schedule, for one chunk index. We encode the same groups, so the means are the same. All
// arithmetic is float32 as in torch (multipliers become float32 first, as torch.asarray makes them).

import { Tensor } from '../core/tensor.js';

export type Weighting = 'a1111' | 'comfy';

function mean(data: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  return Math.fround(sum / data.length);
}

/** A1111's emphasis on z [T, 77, H] with multipliers [T][77]. */
export function applyA1111Emphasis(z: Tensor<'float32'>, multipliers: readonly (readonly number[])[]): Tensor<'float32'> {
  const h = z.shape[2];
  const before = mean(z.data);
  const out = new Tensor('float32', z.shape);
  multipliers.flat().forEach((m, tok) => {
    const w = Math.fround(m);
    for (let k = tok * h; k < (tok + 1) * h; k++) out.data[k] = Math.fround(z.data[k] * w);
  });
  const ratio = Math.fround(before / mean(out.data));
  for (let k = 0; k < out.size; k++) out.data[k] = Math.fround(out.data[k] * ratio);
  return out;
}

/** ComfyUI's weighting on z [T, 77, H], toward `empty` [1, 77, H] (the empty prompt's chunk). */
export function applyComfyWeights(z: Tensor<'float32'>, multipliers: readonly (readonly number[])[], empty: Tensor<'float32'>): Tensor<'float32'> {
  const [, len, h] = z.shape;
  const out = new Tensor('float32', z.shape, z.data.slice());
  multipliers.flat().forEach((m, tok) => {
    if (m === 1) return;
    const w = Math.fround(m);
    const pos = (tok % len) * h;
    for (let j = 0; j < h; j++) {
      const e = empty.data[pos + j];
      const k = tok * h + j;
      out.data[k] = Math.fround(Math.fround(Math.fround(z.data[k] - e) * w) + e);
    }
  });
  return out;
}
