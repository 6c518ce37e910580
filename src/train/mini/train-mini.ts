// `latentlab train-mini`: the whole latentlab-mini folder from Fashion-MNIST in one command.
//
//   1. classifier  → work/classifier/             (the measuring stick, and classifier guidance)
//   2. vae         → work/vae/                    then scaling_factor = 1 / std(latents)
//   3. diffusion   → work/text_encoder/, work/unet/  (EMA weights)
//   4. the folder  → out/: model_index.json, scheduler/, tokenizer/ (CLIP's BPE), text_encoder/,
//                    unet/, vae/, classifier/ — float16 safetensors — and training/ (loss curves, report)
//
// A stage whose output is in `work` is not run again; an interrupted stage resumes from its last
// checkpoint (work/<stage>-checkpoints/). Same seed and thread count → the same bytes.

import type { WeightData } from '../../core/external.js';
import { fileSystem } from '../../core/io.js';
import { Tensor } from '../../core/tensor.js';
import type { CompileOptions } from '../../graph/runtime.js';
import { linePlotSvg } from '../../image/plot.js';
import { parseCLIPTextConfig } from '../../models/clip-text-graph.js';
import { ConfigReader } from '../../models/config-reader.js';
import { parseGarmentClassifierConfig } from '../../models/garment-classifier.js';
import { parseUNet2DConditionConfig } from '../../models/unet-config.js';
import { parseAutoencoderKLConfig } from '../../models/vae-config.js';
import { bundledClipTokenizer, bundledTokenizerFiles } from '../../tokenizers/bundled.js';
import { SafetensorsFile } from '../../weights/safetensors-file.js';
import { writeSafetensors } from '../../weights/safetensors-write.js';
import type { TrainerOptions } from '../trainer.js';
import {
  MINI_CLASSIFIER_CONFIG, MINI_MODEL_INDEX, MINI_SCHEDULER_CONFIG, MINI_TEXT_ENCODER_CONFIG, MINI_UNET_CONFIG, MINI_VAE_CONFIG,
} from './config.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { MINI_RECIPE, type MiniRecipe } from './recipe.js';
import { measureScalingFactor, type StageContext, type StageName, trainClassifier, trainDiffusion, trainVae } from './stages.js';

export interface TrainMiniOptions {
  /** Folder with Fashion-MNIST's four *-ubyte.gz files. */
  data: string;
  /** The model folder to write. */
  out: string;
  /** Stage outputs and checkpoints (default: <out>.work). */
  work?: string;
  seed?: number;
  recipe?: MiniRecipe;
  /** Intra-op threads (default 1: measured fastest for these small graphs, docs/latentlab-mini.md). */
  threads?: number;
  /** Run only this stage (its output goes to `work`; no folder is assembled). */
  only?: StageName;
  onStage?(stage: StageName | 'scaling' | 'folder', event: 'start' | 'skip' | 'done', seconds?: number): void;
  onProgress?(stage: StageName, p: Parameters<NonNullable<TrainerOptions['onProgress']>>[0]): void;
  signal?: AbortSignal;
}

export interface TrainMiniReport {
  seed: number;
  threads: number;
  recipe: MiniRecipe;
  /** Seconds each stage took (in whichever process ran it). */
  seconds: Record<string, number>;
  scalingFactor: number;
  /** Mean loss of each stage's last 50 steps. */
  finalLoss: Record<string, number>;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
type Weights = Map<string, Tensor<'float32'>>;

/** What a stage leaves in `work` beside its output: its time, final loss and loss curve. */
interface StageRecord {
  seconds: number;
  finalLoss?: number;
}

async function readComponent(file: string): Promise<Weights> {
  const f = await SafetensorsFile.open(file);
  return new Map(await Promise.all(f.keys.map(async (k) => [k, (await f.read(k)).toFloat32().clone() as Tensor<'float32'>] as const)));
}

/** A component folder: weights first (temp + rename), config.json last, so a folder with a config is complete. */
async function writeComponent(dir: string, stem: string, config: Record<string, unknown>, weights: ReadonlyMap<string, Tensor>, dtype: 'float32' | 'float16'): Promise<void> {
  const fs = fileSystem();
  await fs.mkdirp(dir);
  const tensors = new Map([...weights].map(([k, t]) => [k, dtype === 'float16' ? t.toFloat16() : t]));
  await writeSafetensors(fs.join(dir, `${stem}.safetensors`), tensors, { format: 'pt' });
  await fs.writeFileAtomic(fs.join(dir, 'config.json'), json(config));
}

function lossSvg(stage: string, losses: readonly [number, number][]): string {
  // A moving average over 25 steps beside the raw loss, on a log axis.
  const avg = losses.map((_, i) => {
    const w = losses.slice(Math.max(0, i - 24), i + 1);
    return w.reduce((a, [, l]) => a + l, 0) / w.length;
  });
  return linePlotSvg({
    title: `latentlab-mini: ${stage} training loss`, xLabel: 'step', yLabel: 'loss', yScale: 'log',
    series: [
      { name: 'loss', x: losses.map(([s]) => s), y: losses.map(([, l]) => l), color: '#9ecae1', markers: false },
      { name: 'mean of 25', x: losses.map(([s]) => s), y: avg, color: '#08519c', markers: false },
    ],
  });
}

export async function trainMini(o: TrainMiniOptions): Promise<TrainMiniReport> {
  const fs = fileSystem();
  const recipe = o.recipe ?? MINI_RECIPE;
  const seed = o.seed ?? 0;
  const threads = o.threads ?? 1;
  const work = o.work ?? `${o.out}.work`;
  const images = await loadFashionMnist(o.data, 'train', recipe.trainImages);
  const compile: CompileOptions = { threads, memoryArena: true };
  await fs.mkdirp(work);
  const ctx = (stage: StageName): StageContext => ({
    images, seed, compile, checkpointDir: fs.join(work, `${stage}-checkpoints`), signal: o.signal,
    onProgress: (p) => o.onProgress?.(stage, p),
  });
  const exists = async (file: string) => (await fs.stat(file))?.isFile ?? false;
  /** Runs a stage unless its output exists; records its time (and loss curve) in work/<name>.json. */
  const stage = async (name: StageName | 'scaling', outFile: string, run: () => Promise<[number, number][] | void>) => {
    if (o.only && o.only !== name && name !== 'scaling') return; // its output must be in `work` already if a later stage needs it
    if (await exists(fs.join(work, outFile))) {
      o.onStage?.(name, 'skip');
      return;
    }
    o.onStage?.(name, 'start');
    const t0 = performance.now();
    const losses = await run();
    const record: StageRecord = { seconds: (performance.now() - t0) / 1000 };
    if (losses) {
      const tail = losses.slice(-50);
      record.finalLoss = tail.reduce((a, [, l]) => a + l, 0) / Math.max(1, tail.length);
      await fs.writeFileAtomic(fs.join(work, `${name}-loss.svg`), lossSvg(name, losses));
    }
    await fs.writeFileAtomic(fs.join(work, `${name}.json`), json(record));
    o.onStage?.(name, 'done', record.seconds);
  };

  const clsConfig = parseGarmentClassifierConfig(new ConfigReader(MINI_CLASSIFIER_CONFIG, 'classifier config'));
  await stage('classifier', 'classifier/model.safetensors', async () => {
    const r = await trainClassifier(clsConfig, recipe.classifier, ctx('classifier'));
    await writeComponent(fs.join(work, 'classifier'), 'model', MINI_CLASSIFIER_CONFIG, r.weights, 'float32');
    return r.losses;
  });
  const partial = async (): Promise<TrainMiniReport> => {
    const record = JSON.parse(await fs.readText(fs.join(work, `${o.only}.json`))) as StageRecord;
    return { seed, threads, recipe, seconds: { [o.only!]: record.seconds }, scalingFactor: NaN, finalLoss: record.finalLoss === undefined ? {} : { [o.only!]: record.finalLoss } };
  };
  if (o.only === 'classifier') return partial();

  let vaeConfig = parseAutoencoderKLConfig(new ConfigReader(MINI_VAE_CONFIG, 'vae config'));
  await stage('vae', 'vae-trained/diffusion_pytorch_model.safetensors', async () => {
    const r = await trainVae(vaeConfig, recipe.vae, ctx('vae'));
    await writeComponent(fs.join(work, 'vae-trained'), 'diffusion_pytorch_model', MINI_VAE_CONFIG, r.weights, 'float32');
    return r.losses;
  });
  if (o.only === 'vae') return partial();
  const vaeWeights: ReadonlyMap<string, WeightData> = await readComponent(fs.join(work, 'vae-trained', 'diffusion_pytorch_model.safetensors'));
  await stage('scaling', 'vae/config.json', async () => {
    const scaling = await measureScalingFactor(vaeConfig, vaeWeights, recipe.scalingImages, ctx('vae'));
    await writeComponent(fs.join(work, 'vae'), 'diffusion_pytorch_model', { ...MINI_VAE_CONFIG, scaling_factor: Math.fround(scaling) }, vaeWeights as Weights, 'float32');
  });
  const vaeFinal = JSON.parse(await fs.readText(fs.join(work, 'vae', 'config.json'))) as Record<string, unknown>;
  vaeConfig = parseAutoencoderKLConfig(new ConfigReader(vaeFinal, 'vae config'));

  const textConfig = parseCLIPTextConfig(new ConfigReader(MINI_TEXT_ENCODER_CONFIG, 'text_encoder config'));
  const unetConfig = parseUNet2DConditionConfig(new ConfigReader(MINI_UNET_CONFIG, 'unet config'));
  await stage('diffusion', 'unet/diffusion_pytorch_model.safetensors', async () => {
    const r = await trainDiffusion(textConfig, unetConfig, vaeConfig, vaeWeights, await bundledClipTokenizer('sd1'), recipe.diffusion, ctx('diffusion'));
    const split = (text: boolean) => new Map([...r.weights].filter(([k]) => k.startsWith('text_model.') === text));
    await writeComponent(fs.join(work, 'text_encoder'), 'model', MINI_TEXT_ENCODER_CONFIG, split(true), 'float32');
    await writeComponent(fs.join(work, 'unet'), 'diffusion_pytorch_model', MINI_UNET_CONFIG, split(false), 'float32');
    return r.losses;
  });
  if (o.only === 'diffusion') return partial();

  // 4. The folder, float16 (the fp32 masters stay in `work`); model_index.json last.
  o.onStage?.('folder', 'start');
  const out = o.out;
  await fs.mkdirp(out);
  const copy = async (name: string, stem: string, config: Record<string, unknown>) =>
    writeComponent(fs.join(out, name), stem, config, await readComponent(fs.join(work, name, `${stem}.safetensors`)), 'float16');
  await copy('classifier', 'model', MINI_CLASSIFIER_CONFIG);
  await copy('vae', 'diffusion_pytorch_model', vaeFinal);
  await copy('text_encoder', 'model', MINI_TEXT_ENCODER_CONFIG);
  await copy('unet', 'diffusion_pytorch_model', MINI_UNET_CONFIG);
  await fs.mkdirp(fs.join(out, 'scheduler'));
  await fs.writeFileAtomic(fs.join(out, 'scheduler', 'scheduler_config.json'), json(MINI_SCHEDULER_CONFIG));
  await fs.mkdirp(fs.join(out, 'tokenizer'));
  for (const [name, text] of Object.entries(await bundledTokenizerFiles('sd1'))) await fs.writeFileAtomic(fs.join(out, 'tokenizer', name), text);
  await fs.mkdirp(fs.join(out, 'training'));
  const report: TrainMiniReport = { seed, threads, recipe, seconds: {}, scalingFactor: vaeConfig.scaling_factor, finalLoss: {} };
  for (const name of ['classifier', 'vae', 'scaling', 'diffusion'] as const) {
    const record = JSON.parse(await fs.readText(fs.join(work, `${name}.json`))) as StageRecord;
    report.seconds[name] = record.seconds;
    if (record.finalLoss !== undefined) {
      report.finalLoss[name] = record.finalLoss;
      await fs.writeFileAtomic(fs.join(out, 'training', `${name}-loss.svg`), await fs.readText(fs.join(work, `${name}-loss.svg`)));
    }
  }
  await fs.writeFileAtomic(fs.join(out, 'training', 'report.json'), json(report));
  await fs.writeFileAtomic(fs.join(out, 'model_index.json'), json(MINI_MODEL_INDEX));
  o.onStage?.('folder', 'done');
  return report;
}
