// AutoencoderTiny (TAESD), mirroring diffusers' AutoencoderTiny (0.27): a drop-in VAE for Stable
// Diffusion that decodes at ≈ 1% of AutoencoderKL's cost, for fast final images and live previews.
//
//   const taesd = await AutoencoderTiny.fromPretrained('path/to/taesd')
//   const { latents } = await taesd.encode(image)        // image [B, 3, H, W] in [−1, 1] → [B, 4, H/8, W/8]
//   const { sample } = await taesd.decode(latents)       // → [B, 3, H, W], raw (about −1 … 1)
//
// Unlike AutoencoderKL, encode returns latents directly: no distribution, no random draw. TAESD's
// latents already sit on the UNet's scale (its scaling_factor is 1.0), so the pipelines' usual
// `latents / scaling_factor` leaves them unchanged. scaleLatents / unscaleLatents map latents to
// [0, 1] and back, which `forward` uses to store them as bytes (TAESD's own image format for latents).

import { fmtShape, LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { map, roundHalfEven } from '../core/tensor-math.js';
import { bindGraphWeights, FromPretrainedOptions, loadComponent, SessionCache, withDefaults } from './pretrained.js';
import { AutoencoderTinyConfig, parseAutoencoderTinyConfig } from './taesd-config.js';
import { buildTinyDecoderGraph, buildTinyEncoderGraph, buildTinyProbeGraph, tinyScaleFactor } from './taesd-graph.js';
import { VAE_COMPILE_DEFAULTS } from './autoencoder-kl.js';

/** diffusers' AutoencoderTinyOutput. */
export interface AutoencoderTinyOutput {
  /** [B, L, H/8, W/8], deterministic. */
  latents: Tensor<'float32'>;
}

/** What encode / decode may vary per call. */
export interface TinyRunOptions {
  /** Seamless tiling: circular padding in every conv (a session of its own per size). */
  tiling?: boolean;
}

export class AutoencoderTiny {
  private constructor(
    readonly config: AutoencoderTinyConfig,
    readonly folder: string,
    private readonly encoderSessions: SessionCache,
    private readonly decoderSessions: SessionCache,
  ) {}

  /**
   * Loads an AutoencoderTiny folder (config.json + diffusion_pytorch_model.safetensors, e.g.
   * madebyollin/taesd for SD 1.x / 2.x), or `path/vae` of a pipeline that ships one. Like the
   * other VAE, its sessions use level 'all' unless the caller chooses (3×3 convs dominate).
   */
  static async fromPretrained(path: string, options: FromPretrainedOptions = {}): Promise<AutoencoderTiny> {
    const { folder, config: reader, weights } = await loadComponent(path, 'vae', options);
    const config = parseAutoencoderTinyConfig(reader);
    const bound = bindGraphWeights(buildTinyProbeGraph(config), weights, 'vae');
    const compile = withDefaults(VAE_COMPILE_DEFAULTS, options);
    return new AutoencoderTiny(config, folder, new SessionCache(bound, compile), new SessionCache(bound, compile));
  }

  /** 1.0 for TAESD; the pipelines still divide by it before decoding and multiply after encoding. */
  get scalingFactor(): number {
    return this.config.scaling_factor;
  }

  /** Image side / latent side (8), diffusers' pipeline `vae_scale_factor`. */
  get vaeScaleFactor(): number {
    return tinyScaleFactor(this.config);
  }

  /** image [B, in_channels, H, W] in [−1, 1], H and W multiples of 8 → latents [B, L, H/8, W/8]. */
  async encode(image: Tensor, options: TinyRunOptions = {}): Promise<AutoencoderTinyOutput> {
    const x = this.checkInput('encode', 'image', image, this.config.in_channels);
    const [, , H, W] = x.shape;
    const f = this.vaeScaleFactor;
    if (H % f !== 0 || W % f !== 0) {
      throw new LatentlabError('MODEL_INPUT', `taesd.encode: image size ${H}×${W} (height×width) is not a multiple of ${f} on both sides`, {
        key: 'image', hint: `resize or crop the image so that both sides are multiples of ${f} (the encoder halves the size ${Math.log2(f)} times)`,
      });
    }
    const tiling = options.tiling ?? false;
    const r = await this.encoderSessions.run(`${H}x${W}:${tiling}`, () => buildTinyEncoderGraph(this.config, { batch: 'batch', height: H, width: W, tiling }), { sample: x });
    return { latents: r.latents as Tensor<'float32'> };
  }

  /** latents [B, L, h, w] (UNet scale: TAESD's scaling factor is 1) → image [B, out_channels, 8h, 8w], raw. */
  async decode(latents: Tensor, options: TinyRunOptions = {}): Promise<{ sample: Tensor<'float32'> }> {
    const z = this.checkInput('decode', 'latents', latents, this.config.latent_channels);
    const [, , h, w] = z.shape;
    const tiling = options.tiling ?? false;
    const r = await this.decoderSessions.run(`${h}x${w}:${tiling}`, () => buildTinyDecoderGraph(this.config, { batch: 'batch', height: h, width: w, tiling }), { z });
    return { sample: r.sample as Tensor<'float32'> };
  }

  /** raw latents → [0, 1]: clamp(z / (2·latent_magnitude) + latent_shift, 0, 1), float32 like torch. */
  scaleLatents(latents: Tensor<'float32'>): Tensor<'float32'> {
    const m2 = Math.fround(2 * this.config.latent_magnitude);
    const shift = Math.fround(this.config.latent_shift);
    return map(latents, (z) => Math.min(Math.max(Math.fround(Math.fround(z / m2) + shift), 0), 1));
  }

  /** [0, 1] → raw latents: (v − latent_shift) · 2·latent_magnitude. */
  unscaleLatents(scaled: Tensor<'float32'>): Tensor<'float32'> {
    const m2 = Math.fround(2 * this.config.latent_magnitude);
    const shift = Math.fround(this.config.latent_shift);
    return map(scaled, (v) => Math.fround(Math.fround(v - shift) * m2));
  }

  /**
   * diffusers' `forward`: encode, store the latents as bytes (round(scale_latents · 255), half to
   * even like torch.round) and decode what the bytes give back. `quantized` is the uint8 tensor.
   */
  async forward(image: Tensor): Promise<{ sample: Tensor<'float32'>; quantized: Tensor<'uint8'> }> {
    const { latents } = await this.encode(image);
    const scaled = this.scaleLatents(latents);
    const quantized = new Tensor('uint8', scaled.shape, Uint8Array.from(scaled.data, (v) => roundHalfEven(Math.fround(v * 255))));
    const restored = this.unscaleLatents(new Tensor('float32', scaled.shape, Float32Array.from(quantized.data, (q) => Math.fround(q / 255))));
    return { sample: (await this.decode(restored)).sample, quantized };
  }

  private checkInput(method: string, arg: string, t: Tensor, channels: number): Tensor<'float32'> {
    if (t.rank !== 4 || t.shape[1] !== channels || t.shape.some((d) => d < 1)) {
      throw new LatentlabError('MODEL_INPUT', `taesd.${method}: ${arg} has shape ${fmtShape(t.shape)}; expected [batch, ${channels}, height, width]`, {
        key: arg, hint: t.rank === 3 ? 'add a batch dimension (reshape to [1, ...])' : 'pass an NCHW tensor',
      });
    }
    if (t.dtype === 'float32') return t as Tensor<'float32'>;
    if (t.dtype === 'float16' || t.dtype === 'float64' || t.dtype === 'bfloat16') return t.toFloat32();
    throw new LatentlabError('MODEL_INPUT', `taesd.${method}: ${arg} has dtype ${t.dtype}; expected a float tensor`, { key: arg });
  }

  async release(): Promise<void> {
    await this.encoderSessions.release();
    await this.decoderSessions.release();
  }
}
