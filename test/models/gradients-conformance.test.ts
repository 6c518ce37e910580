// reference/tiny-sd15/gradients.* (README §11): torch.autograd's gradients for loss-guided
// sampling (the blue loss through the VAE decoder) and for one textual-inversion step (through the
// UNet and the text encoder to the new token's embedding), tolerance 1e-4 relative to max|ref|.
// Runs on both compile paths (npm run test:reference / test:optimized).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { grad } from '../../src/graph/autodiff/grad.js';
import { Graph, Module } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { buildCLIPTextGraph } from '../../src/models/clip-text-graph.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { vaeDecoder } from '../../src/models/vae-graph.js';
import { readWeight } from '../../src/weights/read-weight.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const MODEL = fixturePath('pipelines', 'tiny-sd15');
const meta = readJson('reference', 'tiny-sd15', 'gradients.json');
let T: Map<string, Tensor>;
const t = (name: string) => T.get(name)!.toFloat32();
const errors: [string, number][] = [];

/** Max |a − ref| / max|ref|, recorded for the summary. */
function relErr(label: string, actual: Tensor, ref: Tensor): number {
  const d = diff(actual.toFloat32().data, ref.toFloat32().data);
  errors.push([label, d.maxRel]);
  return d.maxRel;
}

beforeAll(async () => {
  T = await loadTensors('reference', 'tiny-sd15', 'gradients.safetensors');
});
afterAll(() => {
  console.log('gradient fixtures, max error relative to max|ref|:');
  for (const [l, e] of errors) console.log(`  ${l.padEnd(28)} ${e.toExponential(2)}`);
});

describe('blue loss: d mean(|decoded[:, 2] − 0.9|) / d latents through the VAE decoder', () => {
  it('matches torch.autograd', async () => {
    const vae = await AutoencoderKL.fromPretrained(MODEL, { subfolder: 'vae' });
    const L = t('blue.latents');
    const session = await vae.compileGraph('blue', () => {
      const g = new Graph('blue_loss');
      const latents = g.input('latents', 'float32', L.shape);
      const decoded = vaeDecoder(new Module(g), op.div(latents, meta.scaling_factor), vae.config); // [1, 3, 64, 64]
      const loss = op.reduceMean(op.abs(op.sub(op.slice(decoded, 1, 2, 3), meta.blue_target)), [0, 1, 2, 3], false);
      const [dLatents] = grad(loss, [latents]);
      g.output('decoded', decoded);
      g.output('loss', loss);
      g.output('grad', dLatents);
      return g;
    });
    const r = await session.run({ latents: L });
    await vae.release();
    expect(diff(r.decoded.toFloat32().data, t('blue.decoded').data).maxAbs).toBeLessThan(1e-4);
    expect(relErr('blue.loss', r.loss.reshape([1]), t('blue.loss'))).toBeLessThan(1e-5);
    expect(relErr('blue.grad', r.grad, t('blue.grad'))).toBeLessThan(1e-4);
  });
});

describe('textual inversion step: d mse(unet(noisy, t, text(<cat-toy>)), noise) / d embedding', () => {
  it('matches torch.autograd, chained through two sessions', async () => {
    const text = await CLIPTextModel.fromPretrained(MODEL, { subfolder: 'text_encoder' });
    const unet = await UNet2DConditionModel.fromPretrained(MODEL, { subfolder: 'unet' });
    const H = text.config.hidden_size;
    const ids = T.get('ti.input_ids')!.data as BigInt64Array; // [1, 77]; 49408 = <cat-toy>
    const newId = text.config.vocab_size;
    const S = ids.length;

    // inputs_embeds = extended token table [ids] + position table [0..S): the notebook's get_output_embeds input.
    const table = await readWeight(text.weightData.get('text_model.embeddings.token_embedding.weight')!);
    const positions = await readWeight(text.weightData.get('text_model.embeddings.position_embedding.weight')!);
    const e = t('ti.embedding');
    const embeds = new Tensor('float32', [1, S, H]);
    for (let p = 0; p < S; p++) {
      const id = Number(ids[p]);
      const row = id === newId ? e.data : table.data.subarray(id * H, (id + 1) * H);
      for (let j = 0; j < H; j++) embeds.data[p * H + j] = Math.fround(row[j] + positions.data[p * H + j]);
    }

    // 1. UNet: loss = mean((pred − noise)²) and d loss / d encoder_hidden_states.
    const [, c, h, w] = t('ti.latents').shape;
    const unetSession = await unet.compileGraph('ti', () => {
      const g = buildUNetGraph(unet.config, { batch: 1, height: h, width: w, seqLen: S });
      const noise = g.input('noise', 'float32', [1, c, h, w]);
      const err = op.sub(g.outputs[0].value, noise);
      const loss = op.reduceMean(op.mul(err, err), [0, 1, 2, 3], false);
      const ehs = g.inputs.find((v) => v.name === 'encoder_hidden_states')!;
      g.output('loss', loss);
      g.output('d_ehs', grad(loss, [ehs])[0]);
      return g;
    });
    // 2. Text encoder: the vector-Jacobian product with that gradient, back to the input embeddings.
    const textSession = await text.compileGraph('ti-vjp', () => {
      const g = buildCLIPTextGraph(text.config, { batch: 1, seqLen: S, input: 'embeds', hiddenStates: false });
      const cot = g.input('d_ehs', 'float32', [1, S, H]);
      const loss = op.reduceSum(op.mul(g.outputs[0].value, cot), [0, 1, 2], false);
      g.output('d_embeds', grad(loss, [g.inputs[0]])[0]);
      return g;
    });

    const ehs = await text.getOutputEmbeds(embeds);
    expect(diff(ehs.data, t('ti.encoder_hidden_states').data).maxAbs).toBeLessThan(2e-5);
    const u = await unetSession.run({ sample: t('ti.noisy_latents'), timestep: t('ti.timestep'), encoder_hidden_states: ehs, noise: t('ti.noise') });
    const d = await textSession.run({ inputs_embeds: embeds, d_ehs: u.d_ehs });
    // 3. The embedding reaches the loss only at the positions holding its id: sum their gradients.
    const dE = new Tensor('float32', [H]);
    for (let p = 0; p < S; p++) if (Number(ids[p]) === newId) for (let j = 0; j < H; j++) dE.data[j] += Number(d.d_embeds.data[p * H + j]);
    await Promise.all([text.release(), unet.release()]);

    expect(relErr('ti.loss', u.loss.reshape([1]), t('ti.loss'))).toBeLessThan(1e-5);
    expect(relErr('ti.grad_embedding', dE, t('ti.grad_embedding'))).toBeLessThan(1e-4);
  });
});
