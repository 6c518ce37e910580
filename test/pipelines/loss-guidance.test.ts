// Loss guidance (pipelines' lossGuidance option, LossGuide): the x̂₀/σ derivation per scheduler
// family, v-prediction, second-order schedulers, img2img and batches, argument checks, and
// classifier guidance with a small hand-made classifier on the decoded image.
// (The blue loss against the notebook's hand-written loop: test/examples/deep-dive.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AutoencoderKL, AutoencoderTiny, blueLoss, DDIMScheduler, DPMSolverMultistepScheduler, Generator, grad, Graph, HeunDiscreteScheduler, KDPM2DiscreteScheduler,
  LMSDiscreteScheduler, LossGuide, Module, ops as op, readImage, type Scheduler, schedulerFromPretrained, StableDiffusionImg2ImgPipeline,
  StableDiffusionPipeline, Tensor, type Value, vaeDecoder,
} from '../../src/node.js';
import { diff } from '../helpers/compare.js';
import { fixturePath } from '../helpers/fixtures.js';

const TINY = fixturePath('pipelines', 'tiny-sd15');
const INPUT_PNG = fixturePath('reference', 'tiny-sd15', 'img2img', 'sd15_pndm_img2img_64x64_input.png');
const SHAPE = [1, 4, 8, 8];
let pipe: StableDiffusionPipeline;
let vae: AutoencoderKL;

beforeAll(async () => {
  pipe = await StableDiffusionPipeline.fromPretrained(TINY, { releaseSessions: false });
  vae = pipe.vae as AutoencoderKL;
});
afterAll(() => pipe.release());

const randn = (seed: number, shape = SHAPE) => new Generator().manualSeed(seed).randn(shape);
const call = (o: Record<string, unknown> = {}) => pipe.call({ prompt: 'a blue lake', seed: 5, numInferenceSteps: 4, guidanceScale: 7.5, ...o });

describe('the noise level of each scheduler family', () => {
  it('σ-schedulers: the σ the input is scaled by (KDPM2: its midpoint); ᾱ-schedulers: √((1 − ᾱ)/ᾱ) on latents scaled by √ᾱ', () => {
    const lms = new LMSDiscreteScheduler();
    lms.setTimesteps(10);
    lms.scaleModelInput(randn(0), lms.timesteps[0]);
    expect(lms.noiseLevel(lms.timesteps[0])).toEqual({ sigma: lms.sigmas[0], sampleScale: 1 });

    const kdpm2 = new KDPM2DiscreteScheduler();
    kdpm2.setTimesteps(5);
    const x = randn(1);
    kdpm2.step(randn(2), kdpm2.timesteps[0], x); // first call done: the next sample sits at the midpoint σ
    expect(kdpm2.noiseLevel(kdpm2.timesteps[1]).sigma).toBe(kdpm2.sigmasInterpol[1]);

    const ddim = new DDIMScheduler();
    ddim.setTimesteps(10);
    const t = ddim.timesteps[3];
    const a = ddim.alphasCumprod[t];
    expect(ddim.noiseLevel(t)).toEqual({ sigma: Math.sqrt((1 - a) / a), sampleScale: Math.sqrt(a) });

    const dpm = new DPMSolverMultistepScheduler();
    dpm.setTimesteps(10);
    const s = dpm.sigmas[0];
    expect(dpm.noiseLevel(dpm.timesteps[0])).toEqual({ sigma: s, sampleScale: 1 / Math.sqrt(s * s + 1) });
    expect(dpm.noiseLevel(dpm.timesteps[0]).sigma).toBeCloseTo(Math.sqrt((1 - dpm.alphasCumprod[dpm.timesteps[0]]) / dpm.alphasCumprod[dpm.timesteps[0]]), 4);
  });
});

/** x_t ← x_t − (1 − ᾱ)·∇_{x_t} loss(decode((x_t − √(1−ᾱ)·ε̂)/√ᾱ)), computed directly on the VP latents. */
async function vpReference(x: Tensor<'float32'>, eps: Tensor<'float32'>, a: number, scale: number): Promise<Tensor<'float32'>> {
  const g = new Graph('vp_reference');
  const xt = g.input('x_t', 'float32', SHAPE);
  const e = g.input('eps', 'float32', SHAPE);
  const x0 = op.div(op.sub(xt, op.mul(e, Math.sqrt(1 - a))), Math.sqrt(a));
  const image = op.add(op.div(vaeDecoder(new Module(g), op.div(x0, vae.scalingFactor), vae.config), 2), 0.5);
  const [d] = grad(op.mul(blueLoss(image), scale), [xt]);
  g.output('grad', d);
  const r = await vae.compileGraph(`vp-reference-${a}`, () => g);
  const { grad: gx } = await r.run({ x_t: x, eps });
  return new Tensor('float32', x.shape, x.data.map((v, i) => v - (1 - a) * Number(gx.data[i])));
}

describe('LossGuide', () => {
  it.each([['DDIM', () => new DDIMScheduler()], ['DPM++ 2M', () => new DPMSolverMultistepScheduler()]] as const)(
    '%s: the VE-view step is x_t − (1 − ᾱ)·∇_{x_t} with DDIM\'s own x̂₀', async (_name, make) => {
      const scheduler: Scheduler = make();
      scheduler.setTimesteps(10);
      const t = scheduler.timesteps[2];
      const { sigma } = scheduler.noiseLevel(t);
      const a = 1 / (1 + sigma * sigma);
      const [x, eps] = [randn(3), randn(4)];
      const guide = LossGuide.create(vae, scheduler, [{ loss: blueLoss, scale: 200, every: 1 }], 8, 8);
      const guided = await guide.apply(0, t, x, eps);
      const expected = await vpReference(x, eps, a, 200);
      const moved = diff(guided.data.map((v, i) => v - x.data[i]), expected.data.map((v, i) => v - x.data[i]));
      process.stdout.write(`  ${_name}: guided step vs the VP-latent formula, max rel error of the change ${moved.maxRel.toExponential(2)}\n`);
      expect(moved.refScale).toBeGreaterThan(1e-4);
      expect(moved.maxRel).toBeLessThan(1e-4);
    });

  it('v-prediction: the same step as the equivalent ε-prediction (ε̂ = √ᾱ·v + √(1 − ᾱ)·x_t)', async () => {
    const [eps, v] = [new LMSDiscreteScheduler(), new LMSDiscreteScheduler({ prediction_type: 'v_prediction' })];
    for (const s of [eps, v]) s.setTimesteps(10);
    const t = eps.timesteps[4];
    const sigma = eps.sigmas[4];
    const a = 1 / (1 + sigma * sigma);
    const [x, e] = [randn(5), randn(6)];
    // the VE sample x = x₀ + σ·ε; v = √ᾱ·ε − √(1 − ᾱ)·x₀
    const vOut = new Tensor('float32', x.shape, x.data.map((xv, i) => Math.sqrt(a) * e.data[i] - Math.sqrt(1 - a) * (xv - sigma * e.data[i])));
    const entries = [{ loss: blueLoss, scale: 300, every: 1 }];
    const byEps = await LossGuide.create(vae, eps, entries, 8, 8).apply(0, t, x, e);
    const byV = await LossGuide.create(vae, v, entries, 8, 8).apply(0, t, x, vOut);
    const d = diff(byV.data.map((u, i) => u - x.data[i]), byEps.data.map((u, i) => u - x.data[i]));
    expect(d.refScale).toBeGreaterThan(0);
    expect(d.maxRel).toBeLessThan(1e-4);
  });

  it('guides each image of a batch as it would be guided alone', async () => {
    const scheduler = new LMSDiscreteScheduler();
    scheduler.setTimesteps(10);
    const t = scheduler.timesteps[1];
    const guide = LossGuide.create(vae, scheduler, [{ loss: blueLoss, scale: 200 }], 8, 8);
    const [x, eps] = [randn(8, [2, 4, 8, 8]), randn(9, [2, 4, 8, 8])];
    const both = await guide.apply(0, t, x, eps);
    for (const b of [0, 1]) {
      const alone = await guide.apply(0, t, x.slice0(b), eps.slice0(b));
      expect(diff(both.slice0(b).data, alone.data).maxAbs).toBe(0);
      expect(diff(alone.data, x.slice0(b).data).maxAbs).toBeGreaterThan(0);
    }
  });

  it('Heun and KDPM2 (two calls per step): guide on the first call of every `every`-th solver step', async () => {
    for (const scheduler of [new HeunDiscreteScheduler(), new KDPM2DiscreteScheduler()]) {
      scheduler.setTimesteps(4);
      const guide = LossGuide.create(vae, scheduler, [{ loss: blueLoss, scale: 200, every: 2 }], 8, 8);
      const guidedCalls: number[] = [];
      let x = randn(7);
      for (const [i, t] of scheduler.timesteps.entries()) {
        const eps = randn(100 + i);
        scheduler.scaleModelInput(x, t);
        const y = await guide.apply(i, t, x, eps);
        if (y !== x) guidedCalls.push(i);
        x = scheduler.step(eps, t, y).prevSample;
      }
      expect(guidedCalls, scheduler.className).toEqual([0, 4]); // solver steps 0 and 2
    }
  });
});

describe('the lossGuidance option', () => {
  it.each(['ddpm', 'ddim', 'pndm', 'plms', 'lms', 'euler', 'euler-a', 'heun', 'kdpm2', 'dpm++2m', 'dpm++2m-sde', 'dpm-single', 'unipc', 'deis', 'lcm', 'tcd'])(
    '%s: runs, and moves the latents', async (name) => {
      pipe.scheduler = await schedulerFromPretrained(TINY, { name });
      const plain = await call({ outputType: 'latent' });
      const guided = await call({ outputType: 'latent', lossGuidance: [{ loss: blueLoss, scale: 200, every: 2 }] });
      expect(guided.latents.data.every(Number.isFinite)).toBe(true);
      expect(diff(guided.latents.data, plain.latents.data).maxAbs).toBeGreaterThan(0);
    });

  it('changes every image of a batch, and works in img2img', async () => {
    pipe.scheduler = await schedulerFromPretrained(TINY, { name: 'euler' });
    const entries = [{ loss: blueLoss, scale: 500, every: 1 }];
    const [plain, guided] = [await call({ numImagesPerPrompt: 2 }), await call({ numImagesPerPrompt: 2, lossGuidance: entries })];
    for (const b of [0, 1]) expect(diff(guided.latents.slice0(b).data, plain.latents.slice0(b).data).maxAbs).toBeGreaterThan(0);

    const img2img = await StableDiffusionImg2ImgPipeline.fromPretrained(TINY, { scheduler: 'lms' });
    const o = { prompt: 'a blue lake', image: await readImage(INPUT_PNG), strength: 0.75, seed: 3, numInferenceSteps: 4 };
    const a = await img2img.call(o);
    const b = await img2img.call({ ...o, lossGuidance: entries });
    await img2img.release();
    expect(diff(b.latents.data, a.latents.data).maxAbs).toBeGreaterThan(0);
    expect(b.images).toHaveLength(1);
  });

  it('refuses bad entries before any compute, naming the entry', async () => {
    const bad: [unknown, RegExp][] = [
      [[{ loss: 'blue', scale: 200 }], /lossGuidance\[0\]\.loss is "blue"; expected a function/],
      [[{ loss: blueLoss, scale: Number.NaN }], /lossGuidance\[0\]\.scale is .*; expected a finite number/],
      [[{ loss: blueLoss, scale: 1 }, { loss: blueLoss, scale: 1, every: 0 }], /lossGuidance\[1\]\.every is 0; expected an integer ≥ 1/],
      [[{ loss: (image: Value) => op.abs(image), scale: 1 }], /lossGuidance\[0\]\.loss returned a float32 value of shape \[1,3,64,64\]; expected one float32 number/],
      [[{ loss: (image: Value) => op.reshape(image, [7]), scale: 1 }], /lossGuidance\[0\]\.loss failed on the decoded image: reshape/],
    ];
    for (const [lossGuidance, message] of bad) {
      await expect(call({ lossGuidance })).rejects.toMatchObject({ code: 'PIPELINE_ARGUMENT', message: expect.stringMatching(message) });
    }
    const withTaesd = await StableDiffusionPipeline.fromPretrained(TINY, { vae: await AutoencoderTiny.fromPretrained(fixturePath('pipelines', 'tiny-taesd')) });
    await expect(withTaesd.call({ prompt: 'a lake', numInferenceSteps: 2, lossGuidance: [{ loss: blueLoss, scale: 1 }] }))
      .rejects.toMatchObject({ code: 'PIPELINE_ARGUMENT', message: expect.stringMatching(/the pipeline's vae is an AutoencoderTiny/) });
    await withTaesd.release();
  });
});

describe('classifier guidance', () => {
  // A tiny fixed classifier on the decoded image [1, 3, H, W]: conv 3→4 (3×3, stride 2), SiLU, the
  // mean over the pixels, then a linear layer to 3 classes. Random weights, seeded; differentiable.
  const TARGET = 2;
  function classifier(image: Value): Value {
    const g = image.graph;
    const w1 = g.constant(randn(11, [4, 3, 3, 3]));
    const w2 = g.constant(randn(12, [3, 4]));
    const h = op.silu(op.conv2d(op.sub(image, 0.5), w1, undefined, { stride: 2, padding: 1 })); // [1, 4, H/2, W/2]
    return op.linear(op.reduceMean(h, [2, 3], false), w2); // logits [1, 3]
  }
  /**
   * −log softmax(classifier(image))[target]. (The [1, 1] pick is reshaped to a number, not summed:
   * ONNX Runtime 1.30's level-basic fusions break the graph that reduceSum's backward makes here.)
   */
  const classLoss = (image: Value) => op.neg(op.reshape(op.log(op.slice(op.softmax(classifier(image), 1), 1, TARGET, TARGET + 1)), []));

  /** p(target | decode(x̂₀)) for UNet-scale latents x̂₀ [1, 4, 8, 8]. */
  async function probability(x0: Tensor<'float32'>): Promise<number> {
    const session = await vae.compileGraph('classifier-probability', () => {
      const g = new Graph('classifier');
      const z = g.input('x0', 'float32', SHAPE);
      const image = op.add(op.div(vaeDecoder(new Module(g), op.mul(z, 1 / vae.scalingFactor), vae.config), 2), 0.5);
      g.output('p', op.softmax(classifier(image), 1));
      return g;
    });
    return Number((await session.run({ x0 })).p.data[TARGET]);
  }

  it('one guidance step raises the target class\'s probability at x̂₀; a guided generation ends more likely in that class', async () => {
    const scheduler = new LMSDiscreteScheduler();
    scheduler.setTimesteps(10);
    const t = scheduler.timesteps[3];
    const sigma = scheduler.sigmas[3];
    const [x, eps] = [randn(20), randn(21)];
    const x0 = (lat: Tensor<'float32'>) => new Tensor('float32', lat.shape, lat.data.map((v, i) => v - sigma * eps.data[i]));
    const guided = await LossGuide.create(vae, scheduler, [{ loss: classLoss, scale: 1, every: 1 }], 8, 8).apply(0, t, x, eps);
    const [before, after] = [await probability(x0(x)), await probability(x0(guided))];
    process.stdout.write(`  classifier guidance: p(class ${TARGET}) at x̂₀ ${before.toFixed(4)} → ${after.toFixed(4)} after one step\n`);
    expect(after).toBeGreaterThan(before);

    pipe.scheduler = await schedulerFromPretrained(TINY, { name: 'euler' });
    const plain = await call({ outputType: 'latent' });
    const steered = await call({ outputType: 'latent', lossGuidance: [{ loss: classLoss, scale: 20, every: 1 }] });
    const [p0, p1] = [await probability(plain.latents), await probability(steered.latents)];
    process.stdout.write(`  classifier guidance: p(class ${TARGET}) of the final latents ${p0.toFixed(4)} unguided, ${p1.toFixed(4)} guided\n`);
    expect(p1).toBeGreaterThan(p0);
  });
});
