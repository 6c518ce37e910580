// Gradient benchmarks on the random SD 1.5 pipeline: a forward plus grad()'s backward in one
// session, as loss guidance and textual inversion run them.
//
//   vae-decode-grad-<px>     the deep dive's blue loss: decode(latents / 0.18215) → mean(|x[:, 2]/2 + 0.5 − 0.9|),
//                            d loss / d latents (the step loss-guided sampling takes every few steps)
//   unet-grad-ehs-<px>-b<n>  UNet forward, mse to a noise target, d loss / d encoder_hidden_states
//                            (what a textual-inversion step needs; no weight gradients)
//   ti-step-<px>-b<n>        one textual-inversion training step: text encoder (the new token's row
//                            as an input) + UNet forward, mse, backward to the row (src/train/ti-step-graph.ts)
//
// Compare with vae-decode-<px> and unet-<px>-b<n> of the same run: the ratio is the backward's cost.

import { grad } from '../../src/graph/autodiff/grad.js';
import { graphFlops } from '../../src/graph/flops.js';
import { Graph, Module, Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { VAE_COMPILE_DEFAULTS } from '../../src/models/autoencoder-kl.js';
import { bindGraphWeights } from '../../src/models/pretrained.js';
import { UNET_COMPILE_DEFAULTS } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { buildCLIPTextGraph, parseCLIPTextConfig } from '../../src/models/clip-text-graph.js';
import { buildTextualInversionStepGraph } from '../../src/train/ti-step-graph.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import { buildVaeProbeGraph, vaeDecoder } from '../../src/models/vae-graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { GRADIENT_COMPILE_DEFAULTS } from '../../src/graph/runtime.js';
import { BenchCase, noise } from '../lib/case.js';
import { ensureSd15 } from '../lib/sd15.js';
import { load, prepareWorkload, side, Workload } from './models.js';

const allAxes = (v: Value) => v.shape.map((_, i) => i);

async function vaeDecodeGrad(size: number, variant?: string): Promise<Workload> {
  const { config, weights } = await load('vae', variant);
  const c = parseAutoencoderKLConfig(config);
  const h = size / 8;
  const graph = new Graph('vae_decode_grad');
  const latents = graph.input('latents', 'float32', [1, c.latent_channels, h, h]);
  const image = vaeDecoder(new Module(graph), op.div(latents, c.scaling_factor), c); // [1, 3, px, px]
  const blue = op.slice(op.add(op.mul(image, 0.5), 0.5), 1, 2, 3);
  const loss = op.reduceMean(op.abs(op.sub(blue, 0.9)), allAxes(blue), false);
  graph.output('grad', grad(loss, [latents])[0]);
  return {
    graph, defaults: { ...VAE_COMPILE_DEFAULTS, ...GRADIENT_COMPILE_DEFAULTS }, flops: graphFlops(graph), weights: bindGraphWeights(buildVaeProbeGraph(c), weights, 'vae'),
    feeds: { latents: noise([1, c.latent_channels, h, h], 0.18215 * 3, 3) },
  };
}

async function unetGradEhs(size: number, batch: number, variant?: string): Promise<Workload> {
  const { config, weights } = await load('unet', variant);
  const c = parseUNet2DConditionConfig(config);
  const h = size / 8;
  const graph = buildUNetGraph(c, { batch, height: h, width: h, seqLen: 77 });
  const target = graph.input('noise', 'float32', [batch, c.in_channels, h, h]);
  const err = op.sub(graph.outputs[0].value, target);
  const loss = op.reduceMean(op.mul(err, err), allAxes(err), false);
  graph.output('grad', grad(loss, [graph.inputs.find((v) => v.name === 'encoder_hidden_states')!])[0]);
  const feeds = {
    sample: noise([batch, c.in_channels, h, h], 1, 1),
    timestep: Tensor.float32([batch], Array<number>(batch).fill(500)),
    encoder_hidden_states: noise([batch, 77, c.cross_attention_dim[0]], 1, 2),
    noise: noise([batch, c.in_channels, h, h], 1, 5),
  };
  return { graph, defaults: { ...UNET_COMPILE_DEFAULTS, ...GRADIENT_COMPILE_DEFAULTS }, flops: graphFlops(graph), weights: bindGraphWeights(graph, weights, 'unet'), feeds };
}

async function tiStep(size: number, batch: number, variant?: string): Promise<Workload> {
  const [u, t] = [await load('unet', variant), await load('text_encoder', variant)];
  const uc = parseUNet2DConditionConfig(u.config);
  const tc = parseCLIPTextConfig(t.config);
  const h = size / 8;
  const graph = buildTextualInversionStepGraph(tc, uc, { batch, height: h, width: h, numVectors: 1 });
  const ids = Array.from({ length: batch * 77 }, (_, i) => (i % 77 === 5 ? tc.vocab_size : i % 77 < 8 ? 320 + i : 49407)); // "… <new> …", padded
  const weights = new Map([...bindGraphWeights(buildCLIPTextGraph(tc, { batch, seqLen: 77, input: 'ids', hiddenStates: false }), t.weights, 'text_encoder'), ...bindGraphWeights(buildUNetGraph(uc, { batch, height: h, width: h, seqLen: 77 }), u.weights, 'unet')]);
  const feeds = {
    input_ids: Tensor.int64([batch, 77], ids),
    added_token_embeddings: noise([1, tc.hidden_size], 0.02, 4),
    sample: noise([batch, uc.in_channels, h, h], 1, 1),
    timestep: Tensor.float32([batch], Array<number>(batch).fill(500)),
    target: noise([batch, uc.in_channels, h, h], 1, 5),
  };
  return { graph, defaults: { ...UNET_COMPILE_DEFAULTS, ...GRADIENT_COMPILE_DEFAULTS }, flops: graphFlops(graph), weights, feeds };
}

const PATTERNS: { re: RegExp; make: (m: RegExpMatchArray) => Omit<BenchCase, 'name'> }[] = [
  {
    re: /^vae-decode-grad-(\d+)$/,
    make: ([n, s]) => ({ what: 'VAE decode + blue-loss gradient', shape: `1×4×${+s / 8}² → ${s}² → d/d latents`, runs: 3, prepare: (o) => prepareWorkload(() => vaeDecodeGrad(side(n, s)), o) }),
  },
  {
    re: /^unet-grad-ehs-(\d+)-b(\d+)$/,
    make: ([n, s, b]) => ({ what: 'UNet + mse gradient to the text embeddings', shape: `${b}×4×${+s / 8}², d/d ${b}×77×768`, runs: 3, prepare: (o) => prepareWorkload(() => unetGradEhs(side(n, s), +b), o) }),
  },
  {
    re: /^ti-step-(\d+)-b(\d+)$/,
    make: ([n, s, b]) => ({ what: 'textual-inversion step: text encoder + UNet, mse, d/d the new row', shape: `${b}×77 ids, ${b}×4×${+s / 8}² → d/d 1×768`, runs: 3, prepare: (o) => prepareWorkload(() => tiStep(side(n, s), +b), o) }),
  },
];

/** The case a gradient-benchmark name describes, or undefined. */
export function gradientCase(name: string): BenchCase | undefined {
  for (const p of PATTERNS) {
    const m = name.match(p.re);
    if (m) return { name, ...p.make(m), isolate: true, setup: async () => void (await ensureSd15()) };
  }
  return undefined;
}

export const GRADIENT_CASE_NAMES = ['vae-decode-grad-512', 'unet-grad-ehs-512-b1', 'ti-step-512-b1', 'ti-step-256-b1'];
export const gradientCases: BenchCase[] = GRADIENT_CASE_NAMES.map((n) => gradientCase(n)!);
