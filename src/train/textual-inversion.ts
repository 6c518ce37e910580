// Training a new textual-inversion token, with the semantics of diffusers'
// examples/textual_inversion/textual_inversion.py (0.27):
//
//   const pipe = await StableDiffusionPipeline.fromPretrained(folder)
//   const run = await trainTextualInversion(pipe, { images, placeholderToken: '<cat-toy>', initializerToken: 'toy', seed: 0 })
//   run.embeddings                                    // [num_vectors, H]; pipe now knows '<cat-toy>'
//
// 1. the placeholder token(s) <t>, <t>_1, … are added, their rows initialised from the initializer token's;
// 2. per micro-batch (streams in seeds.ts): image, template and flip per example; latents sampled from
//    the cached posterior and scaled; noise ε; timesteps t ∈ [0, num_train_timesteps); DDPM add_noise;
// 3. one graph (ti-step-graph.ts): loss = mse(unet(x_t, t, text(ids)), ε or v) and ∂loss/∂rows;
// 4. gradients averaged over gradient_accumulation_steps micro-batches, then AdamW on the rows only
//    (the script's AdamW updates the whole table and restores every other row; elementwise, that is
//    this), with the lr schedule (lr-schedule.ts) and scale_lr;
// 5. every checkpointingSteps: learned_embeds-steps-N.safetensors and checkpoint-N.safetensors
//    (checkpoint.ts); validation images every validationSteps; Ctrl-C (signal) saves a checkpoint.
//
// Batches never shrink: the shuffled epochs form one stream cut into batches of trainBatchSize, so
// every step has the same shapes and one compiled graph (the script's last batch of an epoch is
// smaller when the data does not divide evenly).

import { LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { type CompileOptions, GRADIENT_COMPILE_DEFAULTS, runtime } from '../graph/runtime.js';
import type { RgbImage } from '../image/rgb-image.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { withDefaults } from '../models/pretrained.js';
import { UNET_COMPILE_DEFAULTS } from '../models/unet-2d-condition-model.js';
import type { StableDiffusionPipeline } from '../pipelines/stable-diffusion.js';
import { loadTextualInversion } from '../pipelines/textual-inversion.js';
import { schedulerFromConfig } from '../schedulers/registry.js';
import { serializeSafetensors } from '../weights/safetensors-write.js';
import { AdamW } from './adamw.js';
import { checkpointName, configMismatches, latestCheckpoint, readTrainingState, saveTrainingState } from './checkpoint.js';
import { runTrainingLoop, type TrainingProgress } from './loop.js';
import { type LrSchedulerName, lrSchedule } from './lr-schedule.js';
import { randomIndex, streamGenerator } from './seeds.js';
import { checkTrainingImages, DataOrder, LatentCache, OBJECT_TEMPLATES, STREAM_BATCH, STYLE_TEMPLATES } from './textual-inversion-data.js';
import { buildTextualInversionStepGraph } from './ti-step-graph.js';

export interface TrainTextualInversionOptions {
  /** The concept's pictures, each resolution × resolution (readTrainingImages resizes them). */
  images: readonly RgbImage[];
  placeholderToken: string;
  /** A word of the vocabulary (one token) whose embedding the new rows start from. */
  initializerToken: string;
  learnableProperty?: 'object' | 'style';
  /** Default 512 (the images' size). */
  resolution?: number;
  numVectors?: number;
  /** Update steps (default 5000, the script's). */
  maxTrainSteps?: number;
  /** Default 1e-4 (the script's; its README trains with 5e-4 and scaleLr). */
  learningRate?: number;
  /** lr × gradientAccumulationSteps × trainBatchSize (× 1 process). */
  scaleLr?: boolean;
  lrScheduler?: LrSchedulerName;
  /** Default 500, as the script (ignored by 'constant'). */
  lrWarmupSteps?: number;
  lrNumCycles?: number;
  /** Default 1 (the script's 16 is a GPU's). */
  trainBatchSize?: number;
  gradientAccumulationSteps?: number;
  /** Copies of the image list per epoch (default 100). */
  repeats?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamWeightDecay?: number;
  adamEpsilon?: number;
  seed?: number | bigint;
  /** Where learned_embeds-steps-N / checkpoint-N go (required for checkpoints). */
  outputDir?: string;
  /** Default 500; 0 for none. */
  checkpointingSteps?: number;
  /** A checkpoint-N.safetensors to continue, or 'latest' (the newest in outputDir; a fresh start if none). */
  resume?: string;
  validationPrompt?: string;
  validationSteps?: number;
  numValidationImages?: number;
  /** Receives the validation pictures (the library writes no images itself). */
  onValidation?(step: number, images: RgbImage[]): Promise<void> | void;
  onProgress?(p: TrainingProgress): void;
  /** Note for the person watching ("resuming from …", "saved …"). */
  onNote?(message: string): void;
  signal?: AbortSignal;
  /** Session options for the step graph (device, threads, …) over the UNet's defaults. */
  compile?: CompileOptions;
}

export interface TextualInversionRun {
  token: string;
  tokens: string[];
  ids: number[];
  /** The learned rows [numVectors, H] (also set in pipe.textEncoder). */
  embeddings: Tensor<'float32'>;
  /** Loss of each update step taken in this call (mean over its micro-batches). */
  losses: number[];
  startStep: number;
  steps: number;
  /** Files written (checkpoints), in order. */
  files: string[];
  learningRate: number;
}

function optionError(key: string, value: unknown, expected: string): LatentlabError {
  return new LatentlabError('TRAIN_OPTION', `${key} is ${JSON.stringify(value)}; expected ${expected}`, { key });
}

function positiveInt(key: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw optionError(key, v, `an integer ≥ ${min}`);
  return v;
}

/** The diffusers-format file: {token: [n, H]}, metadata format "pt", as the script's save_progress. */
export function learnedEmbedsBytes(token: string, rows: Tensor<'float32'>): Uint8Array {
  return serializeSafetensors({ [token]: rows }, { format: 'pt' });
}

export async function trainTextualInversion(pipe: StableDiffusionPipeline, o: TrainTextualInversionOptions): Promise<TextualInversionRun> {
  const resolution = positiveInt('resolution', o.resolution ?? 512, 8);
  checkTrainingImages(o.images, resolution);
  const n = positiveInt('numVectors', o.numVectors ?? 1);
  const B = positiveInt('trainBatchSize', o.trainBatchSize ?? 1);
  const G = positiveInt('gradientAccumulationSteps', o.gradientAccumulationSteps ?? 1);
  const total = positiveInt('maxTrainSteps', o.maxTrainSteps ?? 5000);
  const repeats = positiveInt('repeats', o.repeats ?? 100);
  const every = positiveInt('checkpointingSteps', o.checkpointingSteps ?? 500, 0);
  const property = o.learnableProperty ?? 'object';
  if (property !== 'object' && property !== 'style') throw optionError('learnableProperty', property, '"object" or "style"');
  const baseLr = o.learningRate ?? 1e-4;
  if (!(baseLr > 0)) throw optionError('learningRate', baseLr, 'a number > 0');
  const lr = o.scaleLr ? baseLr * G * B : baseLr;
  const schedule = lrSchedule(o.lrScheduler ?? 'constant', lr, { warmupSteps: o.lrWarmupSteps ?? 500, trainingSteps: total, numCycles: o.lrNumCycles });
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  if ((every > 0 || o.resume) && !o.outputDir) throw optionError('outputDir', o.outputDir, 'a folder for checkpoints (or checkpointingSteps: 0 and no resume)');
  const vae = pipe.vae;
  if (!(vae instanceof AutoencoderKL)) throw new LatentlabError('TRAIN_OPTION', 'training needs the pipeline\'s AutoencoderKL (a TAESD gives other latents)', { key: 'vae' });
  const f = vae.vaeScaleFactor;
  if (resolution % f !== 0) throw optionError('resolution', resolution, `a multiple of ${f}`);

  // 1. Tokens and their starting rows (load_textual_inversion's checks: new tokens only, right width).
  const { tokenizer, textEncoder, unet } = pipe;
  const init = tokenizer.encode(o.initializerToken);
  if (init.length !== 1) {
    throw new LatentlabError('TRAIN_OPTION', `the initializer token ${JSON.stringify(o.initializerToken)} is ${init.length} tokens; it must be one`, {
      key: 'initializerToken', hint: 'pick a single-token word close to the concept ("toy", "cat", "painting"); `latentlab tokenize` shows how a word splits',
    });
  }
  if (textEncoder.addedTokenEmbeddings) {
    throw new LatentlabError('TRAIN_OPTION', 'the pipeline has textual-inversion embeddings loaded already; train on a freshly loaded pipeline', {
      key: 'pipe', hint: 'load the pipeline again without --embedding / loadTextualInversion, then train',
    });
  }
  const H = textEncoder.config.hidden_size;
  const initRow = (await textEncoder.textModel.embeddings.tokenEmbedding.forward([[init[0]]])).reshape([1, H]);
  const rows = Tensor.cat0(Array.from({ length: n }, () => initRow)) as Tensor<'float32'>; // [n, H]
  const [loaded] = await loadTextualInversion(tokenizer, textEncoder, rows, { token: o.placeholderToken });
  const config = {
    placeholderToken: loaded.token, initializerToken: o.initializerToken, numVectors: n, learnableProperty: property, resolution, seed: String(seed),
    trainBatchSize: B, gradientAccumulationSteps: G, repeats, learningRate: lr, lrScheduler: o.lrScheduler ?? 'constant', lrWarmupSteps: o.lrWarmupSteps ?? 500,
    images: o.images.length, imagesHash: imagesHash(o.images),
  };

  // 2. The optimizer on the rows alone, or the state of a checkpoint.
  const params = new Map([['embeddings', rows]]);
  const adam = new AdamW(params, { lr, betas: [o.adamBeta1 ?? 0.9, o.adamBeta2 ?? 0.999], eps: o.adamEpsilon ?? 1e-8, weightDecay: o.adamWeightDecay ?? 1e-2 });
  let startStep = 0;
  const resumeFrom = o.resume === 'latest' ? await latestCheckpoint(o.outputDir!) : o.resume;
  if (o.resume === 'latest' && !resumeFrom) o.onNote?.(`no checkpoint in ${o.outputDir}; starting a new run`);
  if (resumeFrom) {
    const state = await readTrainingState(resumeFrom);
    const diff = configMismatches(state.config, config);
    const saved = state.params.get('embeddings');
    if (diff.length > 0 || !saved || saved.data.length !== rows.data.length) {
      throw new LatentlabError('TRAIN_RESUME', `${resumeFrom} was written by a run with other settings (${diff.join('; ') || 'embedding shape'})`, {
        file: resumeFrom, hint: 'resume with the same images, token and settings (only --max-train-steps may change), or start a new run',
      });
    }
    rows.data.set(saved.data);
    adam.loadState(state.adamStep, new Map([['embeddings', state.moments.get('embeddings')!]]));
    startStep = state.step;
    o.onNote?.(`resuming from ${resumeFrom} at step ${startStep}`);
  }

  // 3. The step graph, compiled once on both networks' weights (no key is shared: text_model.* vs the UNet's).
  const [h, w] = [resolution / f, resolution / f];
  const graph = buildTextualInversionStepGraph(textEncoder.config, unet.config, { batch: B, height: h, width: w, numVectors: n });
  const weights = new Map([...textEncoder.weightData, ...unet.weightData]);
  const session = await runtime().compile(graph, weights, withDefaults({ ...UNET_COMPILE_DEFAULTS, ...GRADIENT_COMPILE_DEFAULTS }, o.compile ?? {}));

  const noiseScheduler = schedulerFromConfig({ ...pipe.scheduler.config }, { name: 'DDPMScheduler' });
  const T = Number(noiseScheduler.config.num_train_timesteps);
  const vPrediction = noiseScheduler.config.prediction_type === 'v_prediction';
  const templates = property === 'style' ? STYLE_TEMPLATES : OBJECT_TEMPLATES;
  const text = loaded.tokens.join(' ');
  const order = new DataOrder(seed, o.images.length, repeats);
  const latents = new LatentCache(vae, o.images);
  const fs = fileSystem();
  const files: string[] = [];
  const losses: number[] = [];

  /** One micro-batch: the script's loop body up to the loss; returns loss and ∂loss/∂rows. */
  const microBatch = async (mb: number) => {
    const g = streamGenerator(seed, STREAM_BATCH, mb);
    const picks = Array.from({ length: B }, (_, b) => ({ image: order.imageAt(mb * B + b), template: randomIndex(g, templates.length), flip: g.rand([1]).data[0] < 0.5 }));
    const prompts = picks.map((p) => templates[p.template].replace('{}', text));
    const ids = tokenizer.call(prompts, { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true }).inputIds;
    const x0: Tensor<'float32'>[] = [];
    const eps: Tensor<'float32'>[] = [];
    const ts: number[] = [];
    for (const p of picks) {
      x0.push(await latents.sample(p.image, p.flip, g)); // [1, 4, h, w]
      eps.push(g.randn([1, 4, h, w]));
      ts.push(randomIndex(g, T));
    }
    const clean = Tensor.cat0(x0) as Tensor<'float32'>;
    const noise = Tensor.cat0(eps) as Tensor<'float32'>;
    const noisy = noiseScheduler.addNoise(clean, noise, ts); // √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε
    const target = vPrediction ? velocity(noiseScheduler.alphasCumprod, clean, noise, ts) : noise;
    const r = await session.run({
      input_ids: Tensor.int64([B, ids[0].length], ids.flat()), added_token_embeddings: rows, sample: noisy, timestep: Tensor.float32([B], ts), target,
    }, ['loss', 'grad']);
    return { loss: Number(r.loss.data[0]), grad: r.grad.toFloat32() };
  };

  const save = async (step: number) => {
    await fs.mkdirp(o.outputDir!);
    const embeds = fs.join(o.outputDir!, `learned_embeds-steps-${step}.safetensors`);
    await fs.writeFileAtomic(embeds, learnedEmbedsBytes(loaded.token, rows));
    const state = fs.join(o.outputDir!, checkpointName(step));
    await saveTrainingState(state, step, adam, config);
    files.push(embeds, state);
    o.onNote?.(`saved ${embeds} and ${state}`);
  };
  let lastSaved = startStep;

  try {
    await runTrainingLoop({
      startStep, totalSteps: total, signal: o.signal, onProgress: o.onProgress,
      step: async (k) => {
        const acc = new Tensor('float32', [n, H]);
        let loss = 0;
        for (let j = 0; j < G; j++) {
          const r = await microBatch(k * G + j);
          // accelerate's accumulate(): each micro-batch's loss / G, gradients summed.
          for (let i = 0; i < acc.size; i++) acc.data[i] = Math.fround(acc.data[i] + Math.fround(r.grad.data[i] / G));
          loss += r.loss / G;
        }
        const rate = schedule(k);
        adam.step(new Map([['embeddings', acc]]), rate);
        losses.push(loss);
        return { loss, lr: rate };
      },
      periodic: [
        { every, run: async (s) => { await save(s); lastSaved = s; } },
        ...(o.validationPrompt ? [{ every: o.validationSteps ?? 100, run: (s: number) => validate(pipe, loaded.ids, rows, o, seed, s) }] : []),
      ],
      onCancel: async (s) => {
        if (o.outputDir && s > lastSaved) await save(s);
      },
    });
  } finally {
    await session.release();
    textEncoder.setTokenEmbeddings(loaded.ids, rows);
  }
  return { token: loaded.token, tokens: loaded.tokens, ids: loaded.ids, embeddings: rows, losses, startStep, steps: total, files, learningRate: lr };
}

/** The script's log_validation: DPM-Solver++ (2M), 25 steps, one generator seeded with the run's seed for all images. */
async function validate(pipe: StableDiffusionPipeline, ids: number[], rows: Tensor<'float32'>, o: TrainTextualInversionOptions, seed: number | bigint, step: number): Promise<void> {
  pipe.textEncoder.setTokenEmbeddings(ids, rows);
  const scheduler = pipe.scheduler;
  pipe.scheduler = schedulerFromConfig({ ...scheduler.config }, { name: 'DPMSolverMultistepScheduler' });
  try {
    const generator = new Generator(seed);
    const images: RgbImage[] = [];
    for (let i = 0; i < (o.numValidationImages ?? 4); i++) {
      images.push(...(await pipe.call({ prompt: o.validationPrompt!, numInferenceSteps: 25, generator })).images);
    }
    await o.onValidation?.(step, images);
  } finally {
    pipe.scheduler = scheduler;
  }
}

/** get_velocity: v = √ᾱ_t·ε − √(1 − ᾱ_t)·x₀, per batch item. */
function velocity(alphasCumprod: Float32Array, x0: Tensor<'float32'>, eps: Tensor<'float32'>, ts: readonly number[]): Tensor<'float32'> {
  const out = new Tensor('float32', x0.shape);
  const per = x0.size / ts.length;
  ts.forEach((t, b) => {
    const a = Math.fround(Math.sqrt(alphasCumprod[t]));
    const s = Math.fround(Math.sqrt(Math.fround(1 - alphasCumprod[t])));
    for (let i = b * per; i < (b + 1) * per; i++) out.data[i] = Math.fround(Math.fround(a * eps.data[i]) - Math.fround(s * x0.data[i]));
  });
  return out;
}

/** FNV-1a over the pixels (a resume must see the same images). */
function imagesHash(images: readonly RgbImage[]): string {
  let h = 0x811c9dc5;
  for (const im of images) for (let i = 0; i < im.data.length; i++) h = Math.imul(h ^ im.data[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
