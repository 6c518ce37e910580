// Training a textual-inversion token on the tiny model (diffusers' textual_inversion.py semantics):
// the loss on a fixed set of (picture, t, ε) falls, the result reloads with loadTextualInversion and
// generates, a cancelled run resumes to the uninterrupted run's bytes (so the same seed gives the
// same embedding), and the step's gradient matches finite differences.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type AutoencoderKL, buildTextualInversionStepGraph, checkGradients, Generator, pixelValues, readEmbeddingFile, readTrainingImages, type RgbImage, StableDiffusionPipeline,
  Tensor, trainTextualInversion, type TrainTextualInversionOptions, learnedEmbedsBytes,
} from '../../src/node.js';
import { TINY_SD15 } from '../cli/run-cli.js';
import { writeConceptImages } from './concept-images.js';

let dir: string;
let images: RgbImage[];
const base = (): Omit<TrainTextualInversionOptions, 'images'> => ({
  placeholderToken: '<concept>', initializerToken: 'toy', resolution: 64, learningRate: 5e-2, seed: 7, checkpointingSteps: 0, lrWarmupSteps: 0,
});

async function train(o: Partial<TrainTextualInversionOptions>) {
  const pipe = await StableDiffusionPipeline.fromPretrained(TINY_SD15);
  try {
    return { pipe, run: await trainTextualInversion(pipe, { ...base(), images, ...o }) };
  } catch (e) {
    await pipe.release();
    throw e;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ti-train-'));
  await writeConceptImages(dir, 2);
  ({ images } = await readTrainingImages(dir, { resolution: 64 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The initializer token's row ("toy"), [1, H]. */
function initialRows(pipe: StableDiffusionPipeline): Promise<Tensor<'float32'>> {
  return pipe.textEncoder.textModel.embeddings.tokenEmbedding.forward([pipe.tokenizer.encode('toy')]).then((t) => t.reshape([1, t.shape[2]]));
}

/** Mean step loss over fixed timesteps and noises on both images ("a photo of a <concept>"). */
async function evalLoss(pipe: StableDiffusionPipeline, rows: Tensor<'float32'> | Promise<Tensor<'float32'>>): Promise<number> {
  const { textEncoder, unet } = pipe;
  const session = await (await import('../../src/graph/runtime.js')).runtime().compile(
    buildTextualInversionStepGraph(textEncoder.config, unet.config, { batch: 1, height: 8, width: 8, numVectors: 1 }), new Map([...textEncoder.weightData, ...unet.weightData]));
  const ids = pipe.tokenizer.call(['a photo of a <concept>'], { padding: 'max_length', maxLength: 77, truncation: true }).inputIds[0];
  const g = new Generator(123);
  let sum = 0;
  let count = 0;
  for (const image of images) {
    const x0 = (await (pipe.vae as AutoencoderKL).encode(pixelValues(image, false))).latentDist.mean as Tensor<'float32'>;
    const latents = Tensor.float32(x0.shape, x0.data.map((v) => v * 0.18215));
    for (const t of [50, 200, 350, 500, 650, 800, 950]) {
      const noise = g.randn([1, 4, 8, 8]);
      const r = await session.run({
        input_ids: Tensor.int64([1, 77], ids), added_token_embeddings: await rows, sample: pipe.scheduler.addNoise(latents, noise, [t]), timestep: Tensor.float32([1], [t]), target: noise,
      }, ['loss']);
      sum += Number(r.loss.data[0]);
      count++;
    }
  }
  await session.release();
  return sum / count;
}

describe('trainTextualInversion', () => {
  it('lowers the loss on the training images, and the result reloads and generates', async () => {
    const steps = 24;
    const { pipe, run } = await train({ maxTrainSteps: steps, learningRate: 5e-2 });
    console.log(`loss per step: ${run.losses.map((l) => l.toFixed(4)).join(' ')}`);
    const [before, after] = [await evalLoss(pipe, initialRows(pipe)), await evalLoss(pipe, run.embeddings)];
    console.log(`loss on a fixed set of (image, t, ε): initializer's row ${before.toFixed(5)}, trained ${after.toFixed(5)}`);
    expect(after).toBeLessThan(before - 0.005); // 1.3061 → 1.2953 on this machine: the tiny model's text conditioning is weak
    expect(run.ids).toEqual([49408]);

    // The pipe that trained knows the token; a fresh one loads the file and gives the same picture.
    const file = join(dir, 'learned_embeds.safetensors');
    writeFileSync(file, learnedEmbedsBytes(run.token, run.embeddings));
    const read = await readEmbeddingFile(file);
    expect(read).toMatchObject({ format: 'diffusers', token: '<concept>' });
    expect([...read.embedding.data]).toEqual([...run.embeddings.data]);
    const fresh = await StableDiffusionPipeline.fromPretrained(TINY_SD15);
    await fresh.loadTextualInversion(file);
    const call = { prompt: 'a photo of a <concept>', numInferenceSteps: 3, seed: 1 };
    const [a, b] = [await pipe.call(call), await fresh.call(call)];
    const plain = await fresh.call({ ...call, prompt: 'a photo of a toy' });
    expect(Buffer.compare(Buffer.from(a.images[0].data), Buffer.from(b.images[0].data))).toBe(0);
    expect(Buffer.compare(Buffer.from(a.latents.data.buffer), Buffer.from(plain.latents.data.buffer))).not.toBe(0);
    await Promise.all([pipe.release(), fresh.release()]);
  });

  it('resumes a cancelled run to the uninterrupted result, byte for byte (accumulation, a schedule, 2 vectors, validation)', async () => {
    const out = join(dir, 'resume');
    const common = { numVectors: 2, gradientAccumulationSteps: 2, lrScheduler: 'cosine' as const, lrWarmupSteps: 1, outputDir: out, checkpointingSteps: 2 };
    const validated: number[] = [];
    const whole = await train({
      ...common, maxTrainSteps: 4, outputDir: join(dir, 'whole'),
      validationPrompt: 'a photo of a <concept>', validationSteps: 2, numValidationImages: 1, onValidation: (step, pictures) => void validated.push(step, pictures.length),
    });
    await whole.pipe.release();
    expect(validated).toEqual([2, 1, 4, 1]);
    const controller = new AbortController();
    const first = train({ ...common, maxTrainSteps: 4, signal: controller.signal, onProgress: (p) => p.step === 3 && controller.abort() });
    await expect(first).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(out).sort()).toEqual(['checkpoint-2.safetensors', 'checkpoint-3.safetensors', 'learned_embeds-steps-2.safetensors', 'learned_embeds-steps-3.safetensors']);
    // A new run with the same seed: steps 4.. draw what the uninterrupted run drew (seeds.ts), so the bytes are its.
    const resumed = await train({ ...common, maxTrainSteps: 4, resume: 'latest' });
    await resumed.pipe.release();
    expect(resumed.run.startStep).toBe(3);
    expect(resumed.run.tokens).toEqual(['<concept>', '<concept>_1']);
    expect([...resumed.run.embeddings.data]).toEqual([...whole.run.embeddings.data]);
    expect(readFileSync(join(out, 'learned_embeds-steps-4.safetensors'))).toEqual(readFileSync(join(dir, 'whole', 'learned_embeds-steps-4.safetensors')));
    await expect(train({ ...common, seed: 8, maxTrainSteps: 4, resume: 'latest' })).rejects.toMatchObject({ code: 'TRAIN_RESUME' });
  });

  it('refuses a bad initializer token, a taken placeholder and images of the wrong size', async () => {
    await expect(train({ initializerToken: 'a photo', maxTrainSteps: 1 })).rejects.toMatchObject({ code: 'TRAIN_OPTION' });
    await expect(train({ placeholderToken: 'toy', maxTrainSteps: 1 })).rejects.toMatchObject({ code: 'EMBEDDING_TOKEN_EXISTS' });
    await expect(train({ resolution: 32, maxTrainSteps: 1 })).rejects.toMatchObject({ code: 'TRAIN_DATA' });
  });
});

describe('the training step graph', () => {
  it('has the gradient finite differences give, and the same with either token lookup', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(TINY_SD15);
    const { textEncoder, unet } = pipe;
    const H = textEncoder.config.hidden_size;
    const g = new Generator(3);
    const ids = pipe.tokenizer.call(['a photo of a toy'], { padding: 'max_length', maxLength: 77, truncation: true }).inputIds[0];
    ids[5] = 49408; // the new token
    const inputs = {
      input_ids: Tensor.int64([1, 77], ids), added_token_embeddings: g.randn([1, H]), sample: g.randn([1, 4, 8, 8]),
      timestep: Tensor.float32([1], [500]), target: g.randn([1, 4, 8, 8]),
    };
    const weights = new Map([...textEncoder.weightData, ...unet.weightData]);
    const shape = { batch: 1, height: 8, width: 8, numVectors: 1 };
    // checkGradients adds its own "loss" output: the step's is renamed.
    const graph = buildTextualInversionStepGraph(textEncoder.config, unet.config, shape);
    const [stepLoss] = graph.outputs.splice(graph.outputs.findIndex((o) => o.name === 'loss'), 1);
    graph.output('step_loss', stepLoss.value);
    const report = await checkGradients({ inputs, weights, wrt: ['added_token_embeddings'], build: { graph, output: 'step_loss' } }, { coordinates: 8, epsilon: 1e-2 });
    console.log(`training step ∂loss/∂embedding vs finite differences: max rel error ${report.maxRelError.toExponential(2)}`);
    expect(report.maxRelError).toBeLessThan(2e-2);
    const { runtime } = await import('../../src/graph/runtime.js');
    const grads: Float32Array[] = [];
    for (const lookup of ['select', 'concat'] as const) {
      const s = await runtime().compile(buildTextualInversionStepGraph(textEncoder.config, unet.config, { ...shape, lookup }), weights);
      grads.push((await s.run(inputs, ['grad'])).grad.toFloat32().data);
      await s.release();
    }
    expect(Math.max(...grads[0].map((x, i) => Math.abs(x - grads[1][i])))).toBeLessThan(1e-6);
    expect(Math.max(...grads[0].map(Math.abs))).toBeGreaterThan(0);
    await pipe.release();
  });
});
