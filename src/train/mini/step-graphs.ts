// The three training steps of latentlab-mini, each ONE graph: forward, loss, and ∂loss/∂θ for the
// trained weights (trainer.ts feeds them as inputs). Shapes are fixed per batch size.
//
// VAE (LDM's autoencoder objective without the perceptual/GAN terms):
//   mean, logvar = encode(x);  z = mean + exp(½·logvar)·ε           ε ~ N(0, I), an input
//   loss = mean((decode(z) − x)²) + β · mean(½(mean² + exp(logvar) − 1 − logvar))
//
// Diffusion (diffusers' train_text_to_image.py, text encoder trained too):
//   z₀ = s · (mean + std·ε)                   the frozen VAE's posterior sample, s = scaling_factor
//   z_t = √ᾱ_t · z₀ + √(1 − ᾱ_t) · n          n ~ N(0, I); the two coefficients per item are inputs
//   loss = mean((unet(z_t, t, text_encoder(ids)) − n)²)
//
// Classifier:  loss = cross_entropy(classifier(x), label)

import { Graph, Module, Value } from '../../graph/graph.js';
import * as op from '../../graph/ops/index.js';
import { buildCLIPTextGraph, type CLIPTextConfig } from '../../models/clip-text-graph.js';
import { crossEntropy, garmentClassifier, type GarmentClassifierConfig } from '../../models/garment-classifier.js';
import type { UNet2DConditionConfig } from '../../models/unet-config.js';
import { buildUNetGraph } from '../../models/unet-graph.js';
import type { AutoencoderKLConfig } from '../../models/vae-config.js';
import { vaeDecoder, vaeEncoder } from '../../models/vae-graph.js';
import { addWeightGradients } from '../trainer.js';

const mean = (v: Value) => op.reduceMean(v, v.shape.map((_, i) => i), false);
const mse = (a: Value, b: Value) => {
  const d = op.sub(a, b);
  return mean(op.mul(d, d));
};

/** The posterior sample mean + std·ε of the encoder's moments. */
function posteriorSample(moments: Value, L: number, eps: Value): { mean: Value; logvar: Value; z: Value } {
  const [mu, raw] = op.split(moments, [L, L], 1);
  const logvar = op.clamp(raw, -30, 20);
  return { mean: mu, logvar, z: op.add(mu, op.mul(op.exp(op.mul(logvar, 0.5)), eps)) };
}

/** Inputs sample [B, 3, S, S], eps [B, L, S/f, S/f]; outputs loss, reconstruction (mse), kl, grad.*. */
export function vaeStepGraph(c: AutoencoderKLConfig, batch: number, klWeight: number): Graph {
  const g = new Graph('vae_step');
  const S = c.sample_size;
  const f = 2 ** (c.block_out_channels.length - 1);
  const x = g.input('sample', 'float32', [batch, c.in_channels, S, S]);
  const eps = g.input('eps', 'float32', [batch, c.latent_channels, S / f, S / f]);
  const root = new Module(g);
  const post = posteriorSample(vaeEncoder(root, x, c), c.latent_channels, eps);
  const rec = mse(vaeDecoder(root, post.z, c), x);
  const klTerms = op.sub(op.add(op.mul(post.mean, post.mean), op.exp(post.logvar)), op.add(post.logvar, 1));
  const kl = op.mul(mean(klTerms), 0.5);
  g.output('reconstruction', rec);
  g.output('kl', kl);
  addWeightGradients(g, op.add(rec, op.mul(kl, klWeight)), [...g.weights.keys()]);
  return g;
}

/**
 * Inputs input_ids [B, 77], sample [B, 3, S, S] (images), eps and noise [B, L, h, w], timestep [B],
 * sqrt_alpha_prod and sqrt_one_minus_alpha_prod [B, 1, 1, 1]. The VAE is frozen (no gradient);
 * every text-encoder and UNet weight is trained.
 */
export function diffusionStepGraph(text: CLIPTextConfig, unet: UNet2DConditionConfig, vae: AutoencoderKLConfig, batch: number): Graph {
  const g = new Graph('diffusion_step');
  const seqLen = text.max_position_embeddings;
  buildCLIPTextGraph(text, { batch, seqLen, input: 'ids', hiddenStates: false, graph: g });
  const ehs = g.outputs.find((o) => o.name === 'last_hidden_state')!.value; // [B, 77, H]
  const S = vae.sample_size;
  const f = 2 ** (vae.block_out_channels.length - 1);
  const [h, w] = [S / f, S / f];
  const x = g.input('pixels', 'float32', [batch, vae.in_channels, S, S]);
  const eps = g.input('eps', 'float32', [batch, vae.latent_channels, h, w]);
  const noise = g.input('noise', 'float32', [batch, vae.latent_channels, h, w]);
  const a = g.input('sqrt_alpha_prod', 'float32', [batch, 1, 1, 1]);
  const b = g.input('sqrt_one_minus_alpha_prod', 'float32', [batch, 1, 1, 1]);
  const before = new Set(g.weights.keys());
  const z0 = op.mul(posteriorSample(vaeEncoder(new Module(g), x, vae), vae.latent_channels, eps).z, vae.scaling_factor);
  const frozen = [...g.weights.keys()].filter((k) => !before.has(k));
  const zt = op.add(op.mul(a, z0), op.mul(b, noise));
  buildUNetGraph(unet, { batch, height: h, width: w, seqLen, into: { graph: g, encoderHiddenStates: ehs, sample: zt } });
  const pred = g.outputs.find((o) => o.name === 'out')!.value;
  // Only the loss and the gradients are outputs (the builders' own outputs are dropped).
  g.outputs.length = 0;
  const trained = [...g.weights.keys()].filter((k) => !frozen.includes(k));
  addWeightGradients(g, mse(pred, noise), trained);
  return g;
}

/** The keys diffusionStepGraph trains (text encoder + UNet), i.e. all but the VAE encoder's. */
export function diffusionTrainedKeys(g: Graph): string[] {
  return g.outputs.filter((o) => o.name.startsWith('grad.')).map((o) => o.name.slice('grad.'.length));
}

/** Inputs sample [B, 3, S, S] and onehot [B, classes]; outputs loss, grad.*. */
export function classifierStepGraph(c: GarmentClassifierConfig, batch: number): Graph {
  const g = new Graph('classifier_step');
  const x = g.input('sample', 'float32', [batch, c.in_channels, c.sample_size, c.sample_size]);
  const onehot = g.input('onehot', 'float32', [batch, c.num_classes]);
  const { logits } = garmentClassifier(new Module(g), x, c);
  addWeightGradients(g, crossEntropy(logits, onehot), [...g.weights.keys()]);
  return g;
}
