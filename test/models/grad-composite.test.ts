// Composite gradient checks: grad() through real blocks and whole networks of tiny-sd15 (their
// checkpoint weights), against central finite differences — with respect to inputs and weights.
// The per-op rules are checked one by one in test/graph/grad-ops.test.ts; this shows they compose.

import { afterAll, describe, expect, it } from 'vitest';

import type { WeightData } from '../../src/core/external.js';
import type { Tensor } from '../../src/core/tensor.js';
import { checkGradients, GradCheckSpec } from '../../src/graph/autodiff/check.js';
import { Module } from '../../src/graph/graph.js';
import { resnetBlock } from '../../src/nn/resnet.js';
import { transformer2d } from '../../src/nn/transformer-2d.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { buildCLIPTextGraph } from '../../src/models/clip-text-graph.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { buildVaeDecoderGraph } from '../../src/models/vae-graph.js';
import { readWeight } from '../../src/weights/read-weight.js';
import { randn } from '../graph/harness.js';
import { fixturePath } from '../helpers/fixtures.js';

const MODEL = fixturePath('pipelines', 'tiny-sd15');
const results: [string, Record<string, number>][] = [];
afterAll(() => {
  console.log('composite gradient checks (max relative error per checked tensor):');
  for (const [name, errs] of results) console.log(`  ${name}: ${Object.entries(errs).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
});

/** The model's weight references, with the checked weights read into memory (they are perturbed). */
async function withInMemory(weights: ReadonlyMap<string, WeightData>, keys: readonly string[]): Promise<Map<string, WeightData>> {
  const out = new Map(weights);
  for (const k of keys) out.set(k, await readWeight(weights.get(k)!));
  return out;
}

async function check(name: string, spec: GradCheckSpec, tol: number): Promise<void> {
  const report = await checkGradients(spec, { coordinates: 8, seed: 3 });
  results.push([name, report.relError]);
  expect(report.maxRelError, JSON.stringify(report.relError)).toBeLessThan(tol);
}

describe('blocks of the tiny UNet', () => {
  it('ResnetBlock2D with a time embedding and a 1×1 shortcut (down_blocks.2.resnets.0, 32 → 64)', async () => {
    const unet = await UNet2DConditionModel.fromPretrained(MODEL, { subfolder: 'unet' });
    const p = 'down_blocks.2.resnets.0';
    const wrt = [`${p}.conv1.weight`, `${p}.norm1.weight`, `${p}.time_emb_proj.weight`, `${p}.conv_shortcut.weight`, `${p}.norm2.bias`];
    await check('ResnetBlock2D', {
      inputs: { x: randn(1, [1, 32, 4, 4]), temb: randn(2, [1, 128]) },
      weights: await withInMemory(unet.weightData, wrt),
      wrt: ['x', 'temb', ...wrt],
      build: (g, { x, temb }) => resnetBlock(new Module(g, p), x, temb, { inChannels: 32, outChannels: 64, groups: 32, eps: 1e-5, tembChannels: 128 }),
    }, 5e-3);
    await unet.release();
  });

  it('Transformer2DModel with self- and cross-attention (down_blocks.0.attentions.0)', async () => {
    const unet = await UNet2DConditionModel.fromPretrained(MODEL, { subfolder: 'unet' });
    const p = 'down_blocks.0.attentions.0';
    const b = `${p}.transformer_blocks.0`;
    const wrt = [`${b}.attn1.to_q.weight`, `${b}.attn2.to_k.weight`, `${b}.attn2.to_v.weight`, `${b}.ff.net.0.proj.weight`, `${b}.norm3.weight`, `${p}.proj_in.weight`];
    await check('Transformer2DModel', {
      inputs: { x: randn(3, [1, 32, 4, 4]), context: randn(4, [1, 7, 32]) },
      weights: await withInMemory(unet.weightData, wrt),
      wrt: ['x', 'context', ...wrt],
      build: (g, { x, context }) => transformer2d(new Module(g, p), x, context, { channels: 32, heads: 8, headDim: 4, crossDim: 32, depth: 1, groups: 32, linearProjection: false }),
    }, 5e-3);
    await unet.release();
  });
});

describe('whole tiny networks', () => {
  // Whole networks are checked at 1e-2: a difference quotient of float32 forwards through ~40 layers
  // is only that good (ε = 1e-2 measured best; 3e-3 and 1e-3 are worse, rounding dominates), and
  // 16×16 latents, because at 8×8 the 1×1 bottom level normalises groups of two values, which no
  // finite step resolves. The exact check of the same gradients is test/train (torch's, ≤ 1e-4).
  // The UNet's quotients depend on the CPU's kernels: time_embedding.linear_1.weight measured 1.5e-2
  // on a Zen 2 host (AVX2 MLAS) and under 1e-2 on Zen 4 (AVX-512), so the UNet is held at 2e-2 —
  // a wrong gradient is off by O(1), not by a percent.
  it('UNet2DConditionModel: d/d sample, encoder_hidden_states and weights', async () => {
    const unet = await UNet2DConditionModel.fromPretrained(MODEL, { subfolder: 'unet' });
    const wrt = ['conv_in.weight', 'time_embedding.linear_1.weight', 'mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight', 'up_blocks.1.resnets.2.conv2.weight', 'conv_out.bias'];
    const inputs: Record<string, Tensor> = { sample: randn(5, [1, 4, 16, 16]), timestep: randn(6, [1], 0, 500), encoder_hidden_states: randn(7, [1, 5, 32]) };
    await check('UNet', {
      inputs,
      weights: await withInMemory(unet.weightData, wrt),
      wrt: ['sample', 'encoder_hidden_states', ...wrt],
      build: { graph: buildUNetGraph(unet.config, { batch: 1, height: 16, width: 16, seqLen: 5 }), output: 'out' },
    }, 2e-2);
    await unet.release();
  });

  it('VAE decoder: d/d z and weights', async () => {
    const vae = await AutoencoderKL.fromPretrained(MODEL, { subfolder: 'vae' });
    const wrt = ['post_quant_conv.weight', 'decoder.mid_block.attentions.0.to_q.weight', 'decoder.up_blocks.1.upsamplers.0.conv.weight', 'decoder.conv_norm_out.weight'];
    await check('VAE decoder', {
      inputs: { z: randn(8, [1, 4, 4, 4]) },
      weights: await withInMemory(vae.weightData, wrt),
      wrt: ['z', ...wrt],
      build: { graph: buildVaeDecoderGraph(vae.config, { batch: 1, height: 4, width: 4 }), output: 'sample' },
    }, 1e-2);
    await vae.release();
  });

  it('CLIP text encoder: d/d inputs_embeds and weights', async () => {
    const text = await CLIPTextModel.fromPretrained(MODEL, { subfolder: 'text_encoder' });
    const wrt = ['text_model.encoder.layers.0.self_attn.q_proj.weight', 'text_model.encoder.layers.1.mlp.fc1.weight', 'text_model.final_layer_norm.weight'];
    await check('CLIP text encoder', {
      inputs: { inputs_embeds: randn(9, [1, 6, 32]) },
      weights: await withInMemory(text.weightData, wrt),
      wrt: ['inputs_embeds', ...wrt],
      build: { graph: buildCLIPTextGraph(text.config, { batch: 1, seqLen: 6, input: 'embeds', hiddenStates: false }), output: 'last_hidden_state' },
    }, 1e-2);
    await text.release();
  });
});
