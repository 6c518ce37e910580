// A cheap live preview of latents, as A1111's "Approx cheap" and ComfyUI's latent previews do: each
// pixel's colour is a fixed linear map of the 4 latent channels at its place (SD 1.x/2.x latents,
// as the UNet sees them), at the latents' own size (1/8 of the image). It costs microseconds, so
// /sdapi/v1/progress and the job events can show a picture every step without running the VAE.

import { encodePng, type RgbImage, type Tensor } from '../node.js';

// rows: latent channel; columns: R, G, B (the widely used SD 1.x factors).
const FACTORS = [
  [0.3512, 0.2297, 0.3227],
  [0.3250, 0.4974, 0.2350],
  [-0.2829, 0.1762, 0.2721],
  [-0.2120, -0.2616, -0.7177],
];

/** Batch item 0 of latents [B, 4, h, w] → an h × w RGB picture. */
export function latentPicture(latents: Tensor<'float32'>): RgbImage {
  const [, c, h, w] = latents.shape;
  const data = new Uint8Array(h * w * 3);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) {
      let v = 0;
      for (let ch = 0; ch < Math.min(c, 4); ch++) v += latents.data[ch * plane + p] * FACTORS[ch][k];
      data[p * 3 + k] = Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);
    }
  }
  return { width: w, height: h, data };
}

/** The preview as a base64 PNG (no data: prefix, as A1111 sends current_image). */
export async function latentPreview(latents: Tensor<'float32'>): Promise<string> {
  return Buffer.from(await encodePng(latentPicture(latents))).toString('base64');
}
