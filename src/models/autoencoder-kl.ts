// AutoencoderKL: the VAE of Stable Diffusion, mirroring diffusers' AutoencoderKL (0.27) and the
// way the deep-dive notebook uses it:
//
//   const vae = await AutoencoderKL.fromPretrained('path/to/pipeline', { subfolder: 'vae' })
//   const { latentDist } = await vae.encode(image)               // image [B, 3, H, W] in [−1, 1]
//   const latents = scale(latentDist.sample(generator), vae.scalingFactor)   // [B, 4, H/8, W/8]
//   const { sample } = await vae.decode(scale(latents, 1 / vae.scalingFactor))   // [B, 3, H, W], raw
//
// encode and decode use separate graphs and sessions (a text-to-image run only decodes), each
// compiled on first use for an image / latent size and kept for the next call of that size.

import type { WeightData } from '../core/external.js';
import type { Graph } from '../graph/graph.js';
import { fmtShape, LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { CompiledGraph, CompileOptions } from '../graph/runtime.js';
import { bindGraphWeights, FromPretrainedOptions, type LoadedComponent, loadComponent, SessionCache, withDefaults } from './pretrained.js';
import { openVaeFile } from '../weights/single-file/vae-file.js';
import { ConfigReader } from './config-reader.js';
import { AutoencoderKLConfig, parseAutoencoderKLConfig } from './vae-config.js';
import { DiagonalGaussianDistribution } from './vae-distribution.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph, buildVaeProbeGraph, vaeIntermediateNames, vaeScaleFactor } from './vae-graph.js';

export { DiagonalGaussianDistribution } from './vae-distribution.js';

export interface VaeRunOptions {
  /**
   * Also return the output of every top-level module (encoder: `encoder.conv_in`,
   * `encoder.down_blocks.i`, `encoder.mid_block`, `encoder.conv_out`, `quant_conv`; decoder:
   * `post_quant_conv`, `decoder.conv_in`, `decoder.mid_block`, `decoder.up_blocks.i`,
   * `decoder.conv_out`), keyed by module path. Compiles a separate session.
   */
  intermediates?: boolean;
  /** Seamless tiling: circular padding in every conv but the encoder's explicit zero pad (a session of its own). */
  tiling?: boolean;
}

/** diffusers' AutoencoderKLOutput. */
export interface AutoencoderKLOutput {
  latentDist: DiagonalGaussianDistribution;
  intermediates?: Record<string, Tensor<'float32'>>;
}

/** diffusers' DecoderOutput. */
export interface DecoderOutput {
  /** [B, out_channels, H, W], raw (not clamped; the image processor maps [−1, 1] to pixels). */
  sample: Tensor<'float32'>;
  intermediates?: Record<string, Tensor<'float32'>>;
}

/**
 * The VAE's session settings unless the caller chooses: level 'all'. Nearly all of its FLOPs are
 * 3×3 convolutions at full image size, which ORT's NCHWc kernels (level 'all') run ~13% faster:
 * decode at 512² 12.35 s against 13.97 s at 'basic' (2.51 TFLOP, 89% of the conv peak), encode
 * 5.65 s against 6.31 s; sessions take ~0.2 s more to create and the same memory.
 */
export const VAE_COMPILE_DEFAULTS: CompileOptions = { optimizationLevel: 'all' };

export class AutoencoderKL {
  private constructor(
    readonly config: AutoencoderKLConfig,
    readonly folder: string,
    private readonly encoderSessions: SessionCache,
    private readonly decoderSessions: SessionCache,
    private readonly custom = decoderSessions.forCustomGraphs(),
  ) {}

  /**
   * Loads `path/vae` of a pipeline folder, or a VAE folder itself (`subfolder` to choose another).
   * Every weight of the checkpoint is checked against the config before anything is compiled.
   */
  static async fromPretrained(path: string, options: FromPretrainedOptions = {}): Promise<AutoencoderKL> {
    return AutoencoderKL.fromComponent(await loadComponent(path, 'vae', options), options);
  }

  /** From a config and a weight source (a folder's, or a single-file checkpoint's VAE part). */
  static fromComponent({ folder, config: reader, weights }: LoadedComponent, options: CompileOptions = {}): AutoencoderKL {
    const config = parseAutoencoderKLConfig(reader);
    const bound = bindGraphWeights(buildVaeProbeGraph(config), weights, 'vae');
    const compile = withDefaults(VAE_COMPILE_DEFAULTS, options);
    return new AutoencoderKL(config, folder, new SessionCache(bound, compile), new SessionCache(bound, compile));
  }

  /**
   * A VAE in one file, as people download them to swap a checkpoint's VAE: LDM layout (with or without
   * `first_stage_model.`) or diffusers layout, .safetensors or .ckpt; the config from the shapes.
   */
  static async fromSingleFile(file: string, options: CompileOptions & { scalingFactor?: number } = {}): Promise<AutoencoderKL> {
    const { scalingFactor, ...compile } = options;
    const { config, weights } = await openVaeFile(file, { scalingFactor });
    return AutoencoderKL.fromComponent({ folder: file, config: new ConfigReader(config, `${file} (VAE config inferred from the weights)`), weights }, compile);
  }

  /** Latents the UNet sees are `scalingFactor · latentDist.sample()`; decode takes `latents / scalingFactor`. */
  get scalingFactor(): number {
    return this.config.scaling_factor;
  }

  /** Image side / latent side (8 for Stable Diffusion): diffusers' pipeline `vae_scale_factor`. */
  get vaeScaleFactor(): number {
    return vaeScaleFactor(this.config);
  }

  /** image [B, in_channels, H, W] in [−1, 1], H and W multiples of vaeScaleFactor → the posterior over latents [B, L, H/8, W/8]. */
  async encode(image: Tensor, options: VaeRunOptions = {}): Promise<AutoencoderKLOutput> {
    const x = this.checkInput('encode', 'image', image, this.config.in_channels);
    const [, , H, W] = x.shape;
    const f = this.vaeScaleFactor;
    if (H % f !== 0 || W % f !== 0) {
      const near = (d: number) => (d < f ? `${f}` : d % f === 0 ? `${d}` : `${Math.floor(d / f) * f} or ${Math.ceil(d / f) * f}`);
      throw new LatentlabError('MODEL_INPUT', `vae.encode: image size ${H}×${W} (height×width) is not a multiple of ${f} on both sides`, {
        key: 'image',
        hint: `resize or crop the image to a height of ${near(H)} and a width of ${near(W)}: the encoder halves the size ${Math.log2(f)} times, so both sides must be multiples of ${f}`,
      });
    }
    const { intermediates = false, tiling = false } = options;
    const r = await this.encoderSessions.run(`${H}x${W}:${intermediates}:${tiling}`, () =>
      buildVaeEncoderGraph(this.config, { batch: 'batch', height: H, width: W, intermediates, tiling }), { sample: x });
    const t = (name: string) => r[name] as Tensor<'float32'>;
    const out: AutoencoderKLOutput = { latentDist: new DiagonalGaussianDistribution(t('mean'), t('logvar'), t('std'), t('var')) };
    if (intermediates) out.intermediates = Object.fromEntries(vaeIntermediateNames(this.config, 'encoder').map((n) => [n, t(n)]));
    return out;
  }

  /** z [B, latent_channels, h, w], UNSCALED (the pipelines pass `latents / scalingFactor`) → image [B, out_channels, f·h, f·w]. */
  async decode(latents: Tensor, options: VaeRunOptions = {}): Promise<DecoderOutput> {
    const z = this.checkInput('decode', 'latents', latents, this.config.latent_channels);
    const [, , h, w] = z.shape;
    const { intermediates = false, tiling = false } = options;
    const r = await this.decoderSessions.run(`${h}x${w}:${intermediates}:${tiling}`, () =>
      buildVaeDecoderGraph(this.config, { batch: 'batch', height: h, width: w, intermediates, tiling }), { z });
    const out: DecoderOutput = { sample: r.sample as Tensor<'float32'> };
    if (intermediates) out.intermediates = Object.fromEntries(vaeIntermediateNames(this.config, 'decoder').map((n) => [n, r[n] as Tensor<'float32'>]));
    return out;
  }

  /** Validates an NCHW float input before any compute; float16/float64 inputs are converted to float32. */
  private checkInput(method: string, arg: string, t: Tensor, channels: number): Tensor<'float32'> {
    const expected = method === 'encode' ? `[batch, ${channels}, height, width]` : `[batch, ${channels}, height/${this.vaeScaleFactor}, width/${this.vaeScaleFactor}]`;
    if (t.rank !== 4 || t.shape[1] !== channels || t.shape.some((d) => d < 1)) {
      const hint = t.rank === 3 ? 'add a batch dimension (reshape to [1, ...])' : `pass a ${expected} tensor (NCHW)`;
      throw new LatentlabError('MODEL_INPUT', `vae.${method}: ${arg} has shape ${fmtShape(t.shape)}; expected ${expected}`, { key: arg, hint });
    }
    if (t.dtype === 'float32') return t as Tensor<'float32'>;
    if (t.dtype === 'float16' || t.dtype === 'float64' || t.dtype === 'bfloat16') return t.toFloat32();
    throw new LatentlabError('MODEL_INPUT', `vae.${method}: ${arg} has dtype ${t.dtype}; expected a float tensor`, {
      key: arg,
      hint: method === 'encode' ? 'convert pixels to floats in [−1, 1] first: x = 2·(u8 / 255) − 1' : 'pass float32 latents',
    });
  }

  /** Releases the ONNX Runtime sessions (the weights stay memory-mapped until garbage-collected). */
  /**
   * Compiles a graph of your own on this model's weights — e.g. the decoder (vaeDecoder) plus a loss and its
   * gradient (grad()) — and keeps the session under `key` for the next call; these sessions run
   * with GRADIENT_COMPILE_DEFAULTS (no memory arena) under the model's options. Weights the graph
   * declares are found by checkpoint key; `options.trainable` feeds chosen ones as inputs (readWeight).
   */
  compileGraph(key: string, build: () => Graph, options: CompileOptions = {}, extraWeights?: ReadonlyMap<string, WeightData>): Promise<CompiledGraph> {
    return this.custom.get(key, build, options, extraWeights);
  }

  /** The checkpoint's tensors this model uses, by key (in-place references into the files). */
  get weightData(): ReadonlyMap<string, WeightData> {
    return this.custom.weights;
  }

  async release(): Promise<void> {
    await this.encoderSessions.release();
    await this.decoderSessions.release();
    await this.custom.release();
  }
}
