// diffusers' AutoencoderKL (models/autoencoders/autoencoder_kl.py and vae.py, 0.27) as graphs,
// with the checkpoint's module names (`encoder.down_blocks.0.resnets.1.conv2`, `quant_conv`).
//
//   encode:  moments = quant_conv(encoder(x))                    x [B, 3, H, W] → [B, 2·L, H/f, W/f]
//            mean, logvar = moments.chunk(2, dim=1)              f = 2^(blocks − 1), 8 for SD
//            logvar = clamp(logvar, −30, 20); std = exp(0.5·logvar); var = exp(logvar)
//   decode:  sample = decoder(post_quant_conv(z))                z [B, L, h, w] → [B, 3, f·h, f·w]
//
// Encoder and decoder are separate graphs (separate sessions): a text-to-image run only decodes.
// `intermediates` adds the outputs of the top-level modules as extra graph outputs, named by
// module path ("encoder.down_blocks.1", "decoder.mid_block") — the conformance fixture stores
// the same values as `debug_enc.<path>` / `debug_dec.<path>`.

import type { Dim } from '../graph/dims.js';
import { Graph, Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { conv2d, withTiling } from '../nn/layers.js';
import type { AutoencoderKLConfig } from './vae-config.js';
import { downEncoderBlock, upDecoderBlock, VaeBlockConfig, vaeMidBlock, vaeOutput } from './vae-blocks.js';

export interface VaeGraphOptions {
  batch: Dim;
  /** Image size for the encoder, latent size for the decoder. */
  height: number;
  width: number;
  /** Also output every top-level module's result, named by module path. */
  intermediates?: boolean;
  /**
   * Seamless tiling: every conv pads circularly (nn/layers.ts withConvPaddingMode), so the output
   * wraps around left↔right and top↔bottom, as AUTOMATIC1111's `tiling`.
   */
  tiling?: boolean;
}

/** Image side / latent side: each encoder block but the last halves the size (diffusers' vae_scale_factor). */
export function vaeScaleFactor(c: AutoencoderKLConfig): number {
  return 2 ** (c.block_out_channels.length - 1);
}

/** Names of the posterior outputs of the encoder graph. */
export const POSTERIOR_OUTPUTS = ['mean', 'logvar', 'std', 'var'] as const;

type Tap = (path: string, v: Value) => void;

function blockConfig(c: AutoencoderKLConfig, origin: string): VaeBlockConfig {
  return { groups: c.norm_num_groups, origin: `${origin}, norm_num_groups = ${c.norm_num_groups}` };
}

/** diffusers' Encoder + quant_conv: x [B, in_channels, H, W] → moments [B, 2·L, H/f, W/f]. */
export function vaeEncoder(root: Module, x: Value, c: AutoencoderKLConfig, tap: Tap = () => undefined): Value {
  const enc = root.child('encoder');
  const ch = c.block_out_channels;
  const n = ch.length;
  const L2 = 2 * c.latent_channels; // double_z: mean and logvar
  let h = conv2d(enc.child('conv_in'), x, c.in_channels, ch[0], 3, { padding: 1, origin: `in_channels, block_out_channels[0] = ${ch[0]}` }); // [B, C0, H, W]
  tap('encoder.conv_in', h);
  for (let i = 0; i < n; i++) {
    const cfg = blockConfig(c, `block_out_channels[${i}] = ${ch[i]}, layers_per_block = ${c.layers_per_block}`);
    h = downEncoderBlock(enc.child('down_blocks').child(i), h, i === 0 ? ch[0] : ch[i - 1], ch[i], c.layers_per_block, i < n - 1, cfg); // [B, ch[i], H/2^(i+1), W/2^(i+1)]; the last block keeps the size
    tap(`encoder.down_blocks.${i}`, h);
  }
  const last = blockConfig(c, `block_out_channels[${n - 1}] = ${ch[n - 1]}`);
  h = vaeMidBlock(enc.child('mid_block'), h, ch[n - 1], c.mid_block_add_attention, last); // [B, C_last, H/f, W/f]
  tap('encoder.mid_block', h);
  h = vaeOutput(enc, h, ch[n - 1], L2, blockConfig(c, `block_out_channels[${n - 1}] = ${ch[n - 1]}, latent_channels = ${c.latent_channels}`)); // [B, 2·L, H/f, W/f]
  tap('encoder.conv_out', h);
  const moments = conv2d(root.child('quant_conv'), h, L2, L2, 1, { origin: `latent_channels = ${c.latent_channels}` }); // [B, 2·L, H/f, W/f]
  tap('quant_conv', moments);
  return moments;
}

/** diffusers' post_quant_conv + Decoder: z [B, L, h, w] → [B, out_channels, f·h, f·w]. */
export function vaeDecoder(root: Module, z: Value, c: AutoencoderKLConfig, tap: Tap = () => undefined): Value {
  const dec = root.child('decoder');
  const ch = c.block_out_channels;
  const n = ch.length;
  const L = c.latent_channels;
  let h = conv2d(root.child('post_quant_conv'), z, L, L, 1, { origin: `latent_channels = ${L}` }); // [B, L, h, w]
  tap('post_quant_conv', h);
  h = conv2d(dec.child('conv_in'), h, L, ch[n - 1], 3, { padding: 1, origin: `latent_channels = ${L}, block_out_channels[${n - 1}] = ${ch[n - 1]}` }); // [B, C_last, h, w]
  tap('decoder.conv_in', h);
  h = vaeMidBlock(dec.child('mid_block'), h, ch[n - 1], c.mid_block_add_attention, blockConfig(c, `block_out_channels[${n - 1}] = ${ch[n - 1]}`));
  tap('decoder.mid_block', h);
  // Up blocks run through the widths in reverse; each has one resnet more than an encoder block.
  const reversed = [...ch].reverse();
  let prev = reversed[0];
  for (let i = 0; i < n; i++) {
    const out = reversed[i];
    const cfg = blockConfig(c, `block_out_channels[${n - 1 - i}] = ${out}, layers_per_block = ${c.layers_per_block}`);
    h = upDecoderBlock(dec.child('up_blocks').child(i), h, prev, out, c.layers_per_block + 1, i < n - 1, cfg); // [B, out, 2h, 2w] (last block: same size)
    tap(`decoder.up_blocks.${i}`, h);
    prev = out;
  }
  h = vaeOutput(dec, h, ch[0], c.out_channels, blockConfig(c, `block_out_channels[0] = ${ch[0]}, out_channels = ${c.out_channels}`)); // [B, out_channels, f·h, f·w]
  tap('decoder.conv_out', h);
  return h;
}

/** The posterior's parameters from the moments, as DiagonalGaussianDistribution computes them. */
function posterior(g: Graph, moments: Value, latentChannels: number): Record<(typeof POSTERIOR_OUTPUTS)[number], Value> {
  return g.scoped('latent_dist', () => {
    const [mean, raw] = op.split(moments, [latentChannels, latentChannels], 1); // 2 × [B, L, h, w]
    const logvar = op.clamp(raw, -30, 20);
    return { mean, logvar, std: op.exp(op.mul(logvar, 0.5)), var: op.exp(logvar) };
  });
}

/** Encoder graph: input `sample` [B, in_channels, H, W]; outputs mean, logvar, std, var [B, L, H/f, W/f]. */
export function buildVaeEncoderGraph(c: AutoencoderKLConfig, o: VaeGraphOptions): Graph {
  const g = new Graph('vae_encoder');
  const x = g.input('sample', 'float32', [o.batch, c.in_channels, o.height, o.width]);
  const tap: Tap | undefined = o.intermediates ? (path, v) => g.output(path, v) : undefined;
  const moments = withTiling(o.tiling, () => vaeEncoder(new Module(g), x, c, tap));
  const p = posterior(g, moments, c.latent_channels);
  for (const name of POSTERIOR_OUTPUTS) g.output(name, p[name]);
  return g;
}

/** Decoder graph: input `z` [B, L, h, w] (unscaled latents); output `sample` [B, out_channels, f·h, f·w]. */
export function buildVaeDecoderGraph(c: AutoencoderKLConfig, o: VaeGraphOptions): Graph {
  const g = new Graph('vae_decoder');
  const z = g.input('z', 'float32', [o.batch, c.latent_channels, o.height, o.width]);
  const tap: Tap | undefined = o.intermediates ? (path, v) => g.output(path, v) : undefined;
  g.output('sample', withTiling(o.tiling, () => vaeDecoder(new Module(g), z, c, tap)));
  return g;
}

/**
 * Both halves in one graph at the smallest size, never compiled: it declares every weight the
 * checkpoint must hold, so loading checks the whole file at once (strict, like load_state_dict).
 */
export function buildVaeProbeGraph(c: AutoencoderKLConfig): Graph {
  const g = new Graph('vae');
  const root = new Module(g);
  const f = vaeScaleFactor(c);
  vaeEncoder(root, g.input('sample', 'float32', [1, c.in_channels, f, f]), c);
  vaeDecoder(root, g.input('z', 'float32', [1, c.latent_channels, 1, 1]), c);
  return g;
}

/** The intermediate names an encoder / decoder graph exposes with `intermediates: true`, in order. */
export function vaeIntermediateNames(c: AutoencoderKLConfig, part: 'encoder' | 'decoder'): string[] {
  const blocks = c.block_out_channels.map((_, i) => i);
  return part === 'encoder'
    ? ['encoder.conv_in', ...blocks.map((i) => `encoder.down_blocks.${i}`), 'encoder.mid_block', 'encoder.conv_out', 'quant_conv']
    : ['post_quant_conv', 'decoder.conv_in', 'decoder.mid_block', ...blocks.map((i) => `decoder.up_blocks.${i}`), 'decoder.conv_out'];
}
