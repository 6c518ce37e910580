// torch.roll over the spatial axes, for tensors and images: the test of seamless tiling rolls a
// network's input and expects its output rolled (test/models/tiling.test.ts, test/pipelines/tiling.test.ts).
import { Tensor } from '../../src/core/tensor.js';
import type { RgbImage } from '../../src/image/index.js';

/** x [B, C, H, W] rolled by (dy, dx), as torch.roll(x, (dy, dx), (2, 3)): out[.., i, j] = x[.., i − dy, j − dx]. */
export function roll(x: Tensor<'float32'>, dy: number, dx: number): Tensor<'float32'> {
  const [b, c, h, w] = x.shape;
  const out = new Tensor('float32', x.shape);
  for (let p = 0; p < b * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) out.data[(p * h + ((i + dy) % h)) * w + ((j + dx) % w)] = x.data[(p * h + i) * w + j];
    }
  }
  return out;
}

/** An HWC RGB image rolled by (dy, dx) pixels. */
export function rollImage(img: RgbImage, dy: number, dx: number): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < img.height; i++) {
    for (let j = 0; j < img.width; j++) {
      const from = (i * img.width + j) * 3;
      data.set(img.data.subarray(from, from + 3), (((i + dy) % img.height) * img.width + ((j + dx) % img.width)) * 3);
    }
  }
  return { width: img.width, height: img.height, data };
}
