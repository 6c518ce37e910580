// The three training stages of latentlab-mini, each a trainer.ts run on a step graph of
// step-graphs.ts, with the batches drawn as a pure function of (seed, step):
//
//   classifier   tinted images → class                      (cross-entropy)
//   vae          tinted images → 8×8×4 latents → images      (reconstruction + β·KL)
//   diffusion    caption + the frozen VAE's latents → ε       (text encoder and UNet jointly)
//
// Between the VAE and the diffusion stage the VAE's scaling_factor is measured: 1 / std of the
// posterior samples of `scalingImages` training images (as SD's 0.18215 was measured).

import type { WeightData } from '../../core/external.js';
import { Tensor } from '../../core/tensor.js';
import { Graph, Module } from '../../graph/graph.js';
import * as op from '../../graph/ops/index.js';
import { GRADIENT_COMPILE_DEFAULTS, runtime, type CompileOptions } from '../../graph/runtime.js';
import type { CLIPTextConfig } from '../../models/clip-text-graph.js';
import type { GarmentClassifierConfig } from '../../models/garment-classifier.js';
import type { UNet2DConditionConfig } from '../../models/unet-config.js';
import type { AutoencoderKLConfig } from '../../models/vae-config.js';
import { vaeEncoder } from '../../models/vae-graph.js';
import { DDPMScheduler } from '../../schedulers/ddpm.js';
import type { CLIPTokenizer } from '../../tokenizers/clip-tokenizer.js';
import { initialWeights } from '../init.js';
import { lrSchedule } from '../lr-schedule.js';
import { randomIndex, streamGenerator } from '../seeds.js';
import { train, type TrainerOptions, type TrainerResult } from '../trainer.js';
import { tintedBatch, type GarmentImages } from './data.js';
import { EpochSampler } from './fashion-mnist.js';
import { MINI_SCHEDULER_CONFIG } from './config.js';
import type { StageSettings } from './recipe.js';
import { classifierStepGraph, diffusionStepGraph, vaeStepGraph } from './step-graphs.js';

export type StageName = 'classifier' | 'vae' | 'diffusion';

export interface StageContext {
  images: GarmentImages;
  seed: number;
  compile: CompileOptions;
  checkpointDir: string;
  onProgress?: TrainerOptions['onProgress'];
  signal?: AbortSignal;
}

// Separate random streams per stage (seeds.ts), so changing one stage leaves the others' draws alone.
const STREAM = { classifier: 10, vae: 11, diffusion: 12, scaling: 13 } as const;

function trainerOptions(name: StageName, s: StageSettings, graph: Graph, ctx: StageContext, config: Record<string, unknown>): Omit<TrainerOptions, 'batch' | 'params'> {
  return {
    name, graph, totalSteps: s.steps, clipGradNorm: s.clipGradNorm, ema: s.emaDecay ? { decay: s.emaDecay } : undefined,
    adam: { lr: s.lr, weightDecay: s.weightDecay },
    lr: lrSchedule(s.lrScheduler, s.lr, { warmupSteps: s.warmupSteps, trainingSteps: s.steps }),
    checkpointDir: ctx.checkpointDir, checkpointEvery: s.checkpointEvery, resume: true,
    config: { seed: ctx.seed, images: ctx.images.count, settings: s, ...config },
    compile: ctx.compile, onProgress: ctx.onProgress, signal: ctx.signal,
  };
}

export async function trainClassifier(c: GarmentClassifierConfig, s: StageSettings, ctx: StageContext): Promise<TrainerResult> {
  const graph = classifierStepGraph(c, s.batch);
  const sampler = new EpochSampler(ctx.images, ctx.seed ^ STREAM.classifier);
  return train({
    ...trainerOptions('classifier', s, graph, ctx, { model: c }),
    params: initialWeights(graph, ctx.seed),
    batch: (k) => {
      const ex = sampler.batch(k, s.batch);
      const onehot = new Tensor('float32', [s.batch, c.num_classes]);
      ex.forEach((e, b) => (onehot.data[b * c.num_classes + e.label] = 1));
      return { sample: tintedBatch(ctx.images, ex, c.sample_size), onehot };
    },
  });
}

export async function trainVae(c: AutoencoderKLConfig, s: StageSettings & { klWeight: number }, ctx: StageContext): Promise<TrainerResult> {
  const graph = vaeStepGraph(c, s.batch, s.klWeight);
  const sampler = new EpochSampler(ctx.images, ctx.seed ^ STREAM.vae);
  const f = 2 ** (c.block_out_channels.length - 1);
  const h = c.sample_size / f;
  return train({
    ...trainerOptions('vae', s, graph, ctx, { model: c }),
    params: initialWeights(graph, ctx.seed),
    report: ['reconstruction', 'kl'],
    batch: (k) => ({
      sample: tintedBatch(ctx.images, sampler.batch(k, s.batch), c.sample_size),
      eps: streamGenerator(ctx.seed, STREAM.vae, k).randn([s.batch, c.latent_channels, h, h]),
    }),
  });
}

/** 1 / std of the posterior samples z = mean + std·ε of the first `n` training images (random tints). */
export async function measureScalingFactor(c: AutoencoderKLConfig, weights: ReadonlyMap<string, WeightData>, n: number, ctx: StageContext): Promise<number> {
  const batch = Math.min(n, 256);
  const g = new Graph('vae_scaling');
  const x = g.input('sample', 'float32', [batch, c.in_channels, c.sample_size, c.sample_size]);
  const moments = vaeEncoder(new Module(g), x, c);
  const [mean, logvar] = op.split(moments, [c.latent_channels, c.latent_channels], 1);
  g.output('mean', mean);
  g.output('std', op.exp(op.mul(op.clamp(logvar, -30, 20), 0.5)));
  const session = await runtime().compile(g, weights, { ...GRADIENT_COMPILE_DEFAULTS, ...ctx.compile });
  const sampler = new EpochSampler(ctx.images, ctx.seed ^ STREAM.scaling);
  let sum = 0;
  let sq = 0;
  let count = 0;
  try {
    for (let k = 0; k * batch < n; k++) {
      const r = await session.run({ sample: tintedBatch(ctx.images, sampler.batch(k, batch), c.sample_size) });
      const eps = streamGenerator(ctx.seed, STREAM.scaling, k).randn(r.mean.shape as number[]).data;
      const [m, sd] = [r.mean.data as Float32Array, r.std.data as Float32Array];
      for (let i = 0; i < m.length; i++) {
        const z = m[i] + sd[i] * eps[i];
        sum += z;
        sq += z * z;
      }
      count += m.length;
    }
  } finally {
    await session.release();
  }
  const mu = sum / count;
  return 1 / Math.sqrt(sq / count - mu * mu);
}

export async function trainDiffusion(
  text: CLIPTextConfig, unet: UNet2DConditionConfig, vae: AutoencoderKLConfig, vaeWeights: ReadonlyMap<string, WeightData>,
  tokenizer: CLIPTokenizer, s: StageSettings, ctx: StageContext,
): Promise<TrainerResult> {
  const graph = diffusionStepGraph(text, unet, vae, s.batch);
  const trained = new Set(graph.outputs.filter((o) => o.name.startsWith('grad.')).map((o) => o.name.slice('grad.'.length)));
  const params = new Map([...initialWeights(graph, ctx.seed)].filter(([k]) => trained.has(k)));
  const sampler = new EpochSampler(ctx.images, ctx.seed ^ STREAM.diffusion);
  const alphasCumprod = new DDPMScheduler(MINI_SCHEDULER_CONFIG).alphasCumprod;
  const T = alphasCumprod.length;
  const f = 2 ** (vae.block_out_channels.length - 1);
  const h = vae.sample_size / f;
  const seqLen = text.max_position_embeddings;
  return train({
    ...trainerOptions('diffusion', s, graph, ctx, { text, unet, scalingFactor: vae.scaling_factor }),
    params,
    frozen: vaeWeights,
    batch: (k) => {
      const ex = sampler.batch(k, s.batch);
      const ids = new Tensor('int64', [s.batch, seqLen]);
      tokenizer.call(ex.map((e) => e.caption), { padding: 'max_length', maxLength: seqLen, truncation: true }).inputIds
        .forEach((row, b) => row.forEach((id, j) => ((ids.data as BigInt64Array)[b * seqLen + j] = BigInt(id))));
      const g = streamGenerator(ctx.seed, STREAM.diffusion, k);
      const t = Array.from({ length: s.batch }, () => randomIndex(g, T)); // torch.randint(0, T, (B,))
      const shape = [s.batch, vae.latent_channels, h, h];
      const a = new Tensor('float32', [s.batch, 1, 1, 1]);
      const b = new Tensor('float32', [s.batch, 1, 1, 1]);
      t.forEach((ti, i) => {
        a.data[i] = Math.sqrt(alphasCumprod[ti]); // add_noise: alphas_cumprod[t] ** 0.5
        b.data[i] = Math.sqrt(1 - alphasCumprod[ti]);
      });
      return {
        input_ids: ids, pixels: tintedBatch(ctx.images, ex, vae.sample_size), eps: g.randn(shape), noise: g.randn(shape),
        timestep: new Tensor('float32', [s.batch], Float32Array.from(t)), sqrt_alpha_prod: a, sqrt_one_minus_alpha_prod: b,
      };
    },
  });
}
