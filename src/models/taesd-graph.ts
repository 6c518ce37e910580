// diffusers' EncoderTiny / DecoderTiny (models/autoencoders/vae.py, 0.27) as graphs. Both are one
// `nn.Sequential` called `layers`, so the checkpoint keys are `encoder.layers.<k>.…` with k counting
// every module in order — activations and upsamplers too, which hold no weights but take an index.
//
//   AutoencoderTinyBlock(C):  y = ReLU(conv3(ReLU(conv2(ReLU(conv1(x))))) + x)     [B, C, h, w] → same
//     (keys `<k>.conv.0`, `<k>.conv.2`, `<k>.conv.4`; `fuse` is the last ReLU; the skip is the identity)
//
//   encode: x' = (x + 1)/2 (TAESD works on [0, 1] images)            x [B, 3, H, W] → [B, 4, H/8, W/8]
//           level 0: conv3×3(3→C) · level i ≥ 1: conv3×3 stride 2 (no bias), ⌈h/2⌉
//           then num_encoder_blocks[i] blocks; finally conv3×3(C→4)
//   decode: z' = 3·tanh(z/3) (a soft clamp to ±3)                     z [B, 4, h, w] → [B, 3, 8h, 8w]
//           conv3×3(4→C) → ReLU; per level: blocks, then (not the last level) nearest ×2 and a
//           conv3×3 without bias; the last level's conv maps C→3 with bias; output y·2 − 1
//
// No GroupNorm, no attention: 3×3 convs and ReLUs only, ~1.2 M parameters per half at C = 64, which
// is why decoding costs ≈ 1% of AutoencoderKL's.

import type { Dim } from '../graph/dims.js';
import { Graph, Module, Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { conv2d, withTiling } from '../nn/layers.js';
import type { AutoencoderTinyConfig } from './taesd-config.js';

export interface TinyGraphOptions {
  batch: Dim;
  /** Image size for the encoder, latent size for the decoder. */
  height: number;
  width: number;
  /**
   * Seamless tiling: every conv pads circularly (nn/layers.ts withConvPaddingMode), so the output
   * wraps around left↔right and top↔bottom, as AUTOMATIC1111's `tiling`.
   */
  tiling?: boolean;
}

/** nn.ReLU, as the Clip op with bounds [0, +∞). */
const relu = (x: Value): Value => op.clamp(x, 0, Infinity);

/** A module path's layer counter: `next()` is the index of the next module of the Sequential. */
class Sequential {
  private k = 0;
  constructor(private readonly m: Module) {}
  next(): Module {
    return this.m.child('layers').child(this.k++);
  }
  /** A weightless module (ReLU, Upsample) still takes an index. */
  skip(): void {
    this.k++;
  }
}

function tinyBlock(m: Module, x: Value, channels: number, origin: string): Value {
  const conv = m.child('conv');
  const c = (i: number, h: Value) => conv2d(conv.child(i), h, channels, channels, 3, { padding: 1, origin });
  const h = c(4, relu(c(2, relu(c(0, x)))));
  return m.build(() => relu(op.add(h, x))); // fuse(conv(x) + skip(x)), skip = identity
}

/** EncoderTiny on an image in [−1, 1]: [B, in, H, W] → latents [B, L, H/8, W/8]. */
export function encoderTiny(root: Module, x: Value, c: AutoencoderTinyConfig): Value {
  const enc = root.child('encoder');
  const seq = new Sequential(enc);
  const C = c.encoder_block_out_channels[0];
  let h = enc.build(() => op.div(op.add(x, 1), 2)); // [0, 1] images inside TAESD
  c.num_encoder_blocks.forEach((blocks, i) => {
    const origin = `encoder_block_out_channels[${i}] = ${C}`;
    h = i === 0
      ? conv2d(seq.next(), h, c.in_channels, C, 3, { padding: 1, origin: `in_channels, ${origin}` }) // [B, C, H, W]
      : conv2d(seq.next(), h, C, C, 3, { padding: 1, stride: 2, bias: false, origin }); // [B, C, ⌈h/2⌉, ⌈w/2⌉]
    for (let b = 0; b < blocks; b++) h = tinyBlock(seq.next(), h, C, `${origin}, num_encoder_blocks[${i}] = ${blocks}`);
  });
  return conv2d(seq.next(), h, C, c.latent_channels, 3, { padding: 1, origin: `latent_channels = ${c.latent_channels}` }); // [B, L, H/8, W/8]
}

/** DecoderTiny on TAESD latents: [B, L, h, w] → image [B, out, 8h, 8w], about [−1, 1], not clamped. */
export function decoderTiny(root: Module, z: Value, c: AutoencoderTinyConfig): Value {
  const dec = root.child('decoder');
  const seq = new Sequential(dec);
  const C = c.decoder_block_out_channels[0];
  const n = c.num_decoder_blocks.length;
  let h = dec.build(() => op.mul(op.tanh(op.div(z, 3)), 3)); // [B, L, h, w] in (−3, 3); fixed, whatever latent_magnitude says
  h = relu(conv2d(seq.next(), h, c.latent_channels, C, 3, { padding: 1, origin: `latent_channels = ${c.latent_channels}` }));
  seq.skip(); // the ReLU
  c.num_decoder_blocks.forEach((blocks, i) => {
    const origin = `decoder_block_out_channels[${i}] = ${C}`;
    for (let b = 0; b < blocks; b++) h = tinyBlock(seq.next(), h, C, `${origin}, num_decoder_blocks[${i}] = ${blocks}`);
    const last = i === n - 1;
    if (!last) {
      h = dec.build(() => op.resizeNearest(h, { scale: c.upsampling_scaling_factor })); // [B, C, 2h, 2w]
      seq.skip(); // the Upsample
    }
    h = conv2d(seq.next(), h, C, last ? c.out_channels : C, 3, { padding: 1, bias: last, origin: last ? `out_channels = ${c.out_channels}` : origin });
  });
  return dec.build(() => op.sub(op.mul(h, 2), 1)); // [B, out, 8h, 8w]
}

/** Encoder graph: input `sample` [B, in, H, W] in [−1, 1]; output `latents` [B, L, H/8, W/8]. */
export function buildTinyEncoderGraph(c: AutoencoderTinyConfig, o: TinyGraphOptions): Graph {
  const g = new Graph('taesd_encoder');
  const x = g.input('sample', 'float32', [o.batch, c.in_channels, o.height, o.width]);
  g.output('latents', withTiling(o.tiling, () => encoderTiny(new Module(g), x, c)));
  return g;
}

/** Decoder graph: input `z` [B, L, h, w]; output `sample` [B, out, 8h, 8w]. */
export function buildTinyDecoderGraph(c: AutoencoderTinyConfig, o: TinyGraphOptions): Graph {
  const g = new Graph('taesd_decoder');
  const z = g.input('z', 'float32', [o.batch, c.latent_channels, o.height, o.width]);
  g.output('sample', withTiling(o.tiling, () => decoderTiny(new Module(g), z, c)));
  return g;
}

/** Both halves at the smallest size, never compiled: declares every weight the checkpoint must hold. */
export function buildTinyProbeGraph(c: AutoencoderTinyConfig): Graph {
  const g = new Graph('taesd');
  const root = new Module(g);
  const f = tinyScaleFactor(c);
  encoderTiny(root, g.input('sample', 'float32', [1, c.in_channels, f, f]), c);
  decoderTiny(root, g.input('z', 'float32', [1, c.latent_channels, 1, 1]), c);
  return g;
}

/** Image side / latent side, as the pipelines compute it: 2^(len(block_out_channels) − 1). */
export function tinyScaleFactor(c: AutoencoderTinyConfig): number {
  return 2 ** (c.block_out_channels.length - 1);
}
