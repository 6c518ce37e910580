// training/ (README §20): one training step of each network of tiny-sd15 — the loss and the
// gradient of every parameter against torch.autograd, and AdamW against torch.optim.AdamW —
// computed by grad() on the networks' own graphs with every weight fed as an input (trainable).

import { afterAll, describe, expect, it } from 'vitest';

import type { WeightData } from '../../src/core/external.js';
import type { Tensor } from '../../src/core/tensor.js';
import { grad } from '../../src/graph/autodiff/grad.js';
import { Graph, Module, Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { buildCLIPTextGraph } from '../../src/models/clip-text-graph.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { vaeDecoder, vaeEncoder } from '../../src/models/vae-graph.js';
import { AdamW } from '../../src/train/adamw.js';
import { readWeight } from '../../src/weights/read-weight.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const MODEL = fixturePath('pipelines', 'tiny-sd15');
const summary: string[] = [];
afterAll(() => console.log(`training steps vs torch:\n  ${summary.join('\n  ')}`));

const allAxes = (v: Value) => v.shape.map((_, i) => i);
const mean = (v: Value) => op.reduceMean(v, allAxes(v), false);

/** Adds one `grad.<key>` output per weight of g and returns the keys. */
function outputWeightGrads(g: Graph, loss: Value): string[] {
  const keys = [...g.weights.keys()];
  const grads = grad(loss, keys.map((k) => g.weights.get(k)!.value));
  keys.forEach((k, i) => g.output(`grad.${k}`, grads[i]));
  return keys;
}

/**
 * Each tensor's gradient within `tol` of that tensor's max |g| (README §20); the tensors whose exact
 * gradient is 0 within 1e-7 absolute. Returns the worst relative error.
 */
function compareGrads(r: Record<string, Tensor>, ref: Map<string, Tensor>, keys: readonly string[], zero: readonly string[], tol: number): number {
  let worst = 0;
  for (const k of keys) {
    const d = diff(r[`grad.${k}`].data as Float32Array, ref.get(k)!.toFloat32().data);
    if (zero.includes(k)) expect(d.maxAbs, `${k} (mathematically zero)`).toBeLessThan(1e-7);
    else {
      expect(d.maxRel, k).toBeLessThan(tol);
      worst = Math.max(worst, d.maxRel);
    }
  }
  return worst;
}

async function params(weights: ReadonlyMap<string, WeightData>, keys: readonly string[]): Promise<Map<string, Tensor<'float32'>>> {
  return new Map(await Promise.all(keys.map(async (k) => [k, await readWeight(weights.get(k)!)] as const)));
}

describe('UNet step: mse(unet(add_noise(latents), t, ehs), noise), then AdamW', () => {
  it('loss, 684 gradients, AdamW after one and two steps', async () => {
    const meta = readJson('training', 'unet_step.json');
    const T = await loadTensors('training', 'unet_step.safetensors');
    const refGrads = await loadTensors('training', 'unet_grads.safetensors');
    const refAfter2 = await loadTensors('training', 'unet_adamw2.safetensors');
    const unet = await UNet2DConditionModel.fromPretrained(MODEL, { subfolder: 'unet' });
    const [b, c, h, w] = T.get('latents')!.shape;
    let keys: string[] = [];
    const build = () => {
      const g = buildUNetGraph(unet.config, { batch: b, height: h, width: w, seqLen: 77 });
      const err = op.sub(g.outputs[0].value, g.input('noise', 'float32', [b, c, h, w]));
      const loss = mean(op.mul(err, err));
      g.output('loss', loss);
      keys = outputWeightGrads(g, loss);
      return g;
    };
    const graphKeys = [...buildUNetGraph(unet.config, { batch: b, height: h, width: w, seqLen: 77 }).weights.keys()];
    const session = await unet.compileGraph('train', build, { trainable: graphKeys });
    const p = await params(unet.weightData, graphKeys);
    const batch = { sample: T.get('noisy_latents')!, timestep: T.get('timesteps')!.toFloat32(), encoder_hidden_states: T.get('encoder_hidden_states')!, noise: T.get('noise')! };
    const run = () => session.run({ ...batch, ...Object.fromEntries(p) });

    const r1 = await run();
    expect(keys).toHaveLength(meta.num_tensors);
    const lossErr = diff(r1.loss.data as Float32Array, T.get('loss')!.data as Float32Array).maxRel;
    expect(lossErr).toBeLessThan(1e-5);
    const gradErr = compareGrads(r1, refGrads, keys, meta.gradient_mathematically_zero, 1e-3);

    // AdamW from the stored gradients reproduces torch's first update (elementwise, exact up to rounding).
    const o = meta.optimizer;
    const fromStored = new Map([...p].map(([k, t]) => [k, t.clone()]));
    new AdamW(fromStored, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay }).step(refGrads);
    for (const [name, t] of T) {
      if (!name.startsWith('params_after_1_step.')) continue;
      expect(diff(fromStored.get(name.slice('params_after_1_step.'.length))!.data, t.data as Float32Array).maxAbs, name).toBeLessThan(1e-7);
    }

    // Two steps on our own gradients; the second gradient at the updated weights.
    const adam = new AdamW(p, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay });
    const initial = new Map([...p].map(([k, t]) => [k, t.clone()]));
    adam.step(new Map(keys.map((k) => [k, r1[`grad.${k}`]])));
    const r2 = await run();
    expect(diff(r2.loss.data as Float32Array, T.get('loss_after_1_step')!.data as Float32Array).maxRel).toBeLessThan(1e-5);
    adam.step(new Map(keys.map((k) => [k, r2[`grad.${k}`]])));
    let worstWellConditioned = 0;
    let largestIllConditionedUpdate = 0;
    for (const k of keys) {
      const mine = p.get(k)!.data;
      const ref = refAfter2.get(k)!.data as Float32Array;
      const g0 = refGrads.get(k)!.data as Float32Array;
      const p0 = initial.get(k)!.data;
      for (let i = 0; i < mine.length; i++) {
        // README §20: tight where |g| ≥ 1e-5; elsewhere the update itself is rounding-dominated (|p2 − p0| ≤ 2.1e-3).
        if (Math.abs(g0[i]) >= 1e-5) worstWellConditioned = Math.max(worstWellConditioned, Math.abs(mine[i] - ref[i]));
        else largestIllConditionedUpdate = Math.max(largestIllConditionedUpdate, Math.abs(mine[i] - p0[i]));
      }
    }
    expect(worstWellConditioned).toBeLessThan(1e-4);
    expect(largestIllConditionedUpdate).toBeLessThanOrEqual(2.1e-3);
    await unet.release();
    summary.push(`UNet: loss ${lossErr.toExponential(2)} rel, worst gradient ${gradErr.toExponential(2)} of its tensor's max, AdamW ×2 ${worstWellConditioned.toExponential(2)} abs`);
  }, 120_000);
});

describe('VAE step: mse(decode(mean + std·ε), image) + 1e-6·kl', () => {
  it('loss, kl and 244 gradients', async () => {
    const meta = readJson('training', 'vae_step.json');
    const T = await loadTensors('training', 'vae_step.safetensors');
    const refGrads = await loadTensors('training', 'vae_grads.safetensors');
    const vae = await AutoencoderKL.fromPretrained(MODEL, { subfolder: 'vae' });
    let keys: string[] = [];
    const session = await vae.compileGraph('train', () => {
      const g = new Graph('vae_step');
      const root = new Module(g);
      const image = g.input('image', 'float32', T.get('image')!.shape);
      const eps = g.input('posterior_noise', 'float32', T.get('posterior_noise')!.shape);
      const L = vae.config.latent_channels;
      const [m, raw] = op.split(vaeEncoder(root, image, vae.config), [L, L], 1);
      const logvar = op.clamp(raw, -30, 20);
      const z = op.add(m, op.mul(op.exp(op.mul(logvar, 0.5)), eps));
      const err = op.sub(vaeDecoder(root, z, vae.config), image);
      const mse = mean(op.mul(err, err));
      const kl = op.mul(op.reduceSum(op.sub(op.sub(op.add(op.mul(m, m), op.exp(logvar)), 1), logvar), [1, 2, 3], false), 0.5); // [1]
      const loss = op.add(mse, op.mul(op.reduceMean(kl, [0], false), meta.kl_weight));
      g.output('mse', mse);
      g.output('kl', kl);
      g.output('loss', loss);
      keys = outputWeightGrads(g, loss);
      return g;
    });
    const r = await session.run({ image: T.get('image')!, posterior_noise: T.get('posterior_noise')! });
    await vae.release();
    for (const name of ['mse', 'kl', 'loss']) expect(diff(r[name].data as Float32Array, T.get(name)!.data as Float32Array).maxRel, name).toBeLessThan(1e-5);
    expect(keys).toHaveLength(meta.num_tensors);
    const worst = compareGrads(r, refGrads, keys, meta.gradient_mathematically_zero, 1e-3);
    summary.push(`VAE: worst gradient ${worst.toExponential(2)} of its tensor's max`);
  }, 120_000);
});

describe('text encoder step: mean(last_hidden_state · R)', () => {
  it('every gradient, with the token table non-zero only at the prompt ids', async () => {
    const meta = readJson('training', 'text_encoder_step.json');
    const T = await loadTensors('training', 'text_encoder_step.safetensors');
    const refGrads = await loadTensors('training', 'text_encoder_grads.safetensors');
    const text = await CLIPTextModel.fromPretrained(MODEL, { subfolder: 'text_encoder' });
    const TOKEN = 'text_model.embeddings.token_embedding.weight';
    let keys: string[] = [];
    const session = await text.compileGraph('train', () => {
      const g = buildCLIPTextGraph(text.config, { batch: 2, seqLen: 77, input: 'ids', hiddenStates: false });
      const loss = mean(op.mul(g.outputs[0].value, g.input('R', 'float32', [2, 77, text.config.hidden_size])));
      g.output('loss', loss);
      keys = outputWeightGrads(g, loss);
      return g;
    });
    const r = await session.run({ input_ids: T.get('input_ids')!, R: T.get('R')! });
    await text.release();
    expect(diff(r.loss.data as Float32Array, T.get('loss')!.data as Float32Array).maxRel).toBeLessThan(1e-5);
    const worst = compareGrads(r, refGrads, keys.filter((k) => k !== TOKEN), meta.gradient_mathematically_zero, 1e-4);

    const H = text.config.hidden_size;
    const table = r[`grad.${TOKEN}`].data as Float32Array; // [49408, H], dense
    const rowIds = [...(T.get('token_embedding_grad_row_ids')!.data as BigInt64Array)].map(Number);
    const rows = T.get('token_embedding_grad_rows')!.toFloat32();
    const mine = new Float32Array(rowIds.length * H);
    rowIds.forEach((id, i) => mine.set(table.subarray(id * H, (id + 1) * H), i * H));
    const rowErr = diff(mine, rows.data).maxRel;
    expect(rowErr).toBeLessThan(1e-4);
    let elsewhere = 0;
    for (let id = 0; id < table.length / H; id++) if (!rowIds.includes(id)) for (let j = 0; j < H; j++) elsewhere = Math.max(elsewhere, Math.abs(table[id * H + j]));
    expect(elsewhere).toBe(0);
    summary.push(`text encoder: worst gradient ${worst.toExponential(2)} of its tensor's max, token rows ${rowErr.toExponential(2)}`);
  }, 120_000);
});
