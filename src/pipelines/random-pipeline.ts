// Random-weight diffusers pipeline folders: the exact architecture of a real model (SD 1.5 by
// default) with seeded random weights, for benchmarks and tests. Speed does not depend on the
// values, only on the shapes — but their SCALE matters: weights uniform with std 1/√fan_in
// (norm scales 1 ± 0.1·u, biases ±0.1·u) keep every activation O(1), so no NaN/Inf appear and no
// denormals slow the CPU down.
//
//   await createRandomPipeline('.cache/sd15-random', 'sd15')          // 4.3 GB f32 + 2.1 GB fp16
//   const pipe = await StableDiffusionPipeline.fromPretrained('.cache/sd15-random')
//
// Layout (diffusers save_pretrained): model_index.json, scheduler/, tokenizer/, text_encoder/
// (model[.fp16].safetensors), unet/ and vae/ (diffusion_pytorch_model[.fp16].safetensors), all
// written with the project's own safetensors writer. model_index.json is written last, so a crash
// never leaves something that looks like a complete pipeline.

import { LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { keySeed } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { Graph } from '../graph/graph.js';
import { BYTE_TO_CHAR } from '../tokenizers/byte-level.js';
import { writeSafetensors } from '../weights/index.js';
import { buildCLIPTextGraph, parseCLIPTextConfig } from '../models/clip-text-graph.js';
import { ConfigReader } from '../models/config-reader.js';
import { RANDOM_PIPELINE_PRESETS, RandomPipelinePreset, RandomPipelinePresetName } from './random-presets.js';
import { buildUNetGraph } from '../models/unet-graph.js';
import { parseUNet2DConditionConfig } from '../models/unet-config.js';
import { parseAutoencoderKLConfig } from '../models/vae-config.js';
import { buildVaeProbeGraph } from '../models/vae-graph.js';

export { RANDOM_PIPELINE_PRESETS, type RandomPipelinePreset, type RandomPipelinePresetName } from './random-presets.js';

export interface CreateRandomPipelineOptions {
  /** Seed of every tensor (each tensor also mixes in its own key). Default 0. */
  seed?: number;
  /** Also write these variants (float16 roundings of the same weights). Default ['fp16']. */
  variants?: readonly 'fp16'[];
  /**
   * A tokenizer folder to copy (e.g. a real CLIP tokenizer). Default: a minimal byte-level CLIP
   * vocabulary (every character is its own token), enough to run prompts through the pipeline.
   */
  tokenizer?: string;
}

interface Component {
  folder: 'unet' | 'vae' | 'text_encoder';
  stem: string;
  config: Record<string, unknown>;
  /** A graph that declares every weight of the checkpoint. */
  probe(configFile: string): Graph;
}

function components(p: RandomPipelinePreset): Component[] {
  return [
    {
      folder: 'text_encoder', stem: 'model', config: p.textEncoder,
      probe: (f) => buildCLIPTextGraph(parseCLIPTextConfig(new ConfigReader(p.textEncoder, f)), { batch: 1, seqLen: 1, input: 'ids', hiddenStates: false }),
    },
    {
      folder: 'unet', stem: 'diffusion_pytorch_model', config: p.unet,
      probe: (f) => buildUNetGraph(parseUNet2DConditionConfig(new ConfigReader(p.unet, f)), { batch: 1, height: 8, width: 8, seqLen: 1 }),
    },
    { folder: 'vae', stem: 'diffusion_pytorch_model', config: p.vae, probe: (f) => buildVaeProbeGraph(parseAutoencoderKLConfig(new ConfigReader(p.vae, f))) },
  ];
}

/** Every tensor gets its own stream (identical tensors would be deduplicated by ONNX Runtime and distort memory figures). */
const tensorSeed = keySeed;

/**
 * The float32 values of one weight: uniform on [−a, a] (std a/√3) from xorshift32. Matrices and
 * kernels get std 1/√fan_in; 1-D norm scales 1 ± 0.1·u, other 1-D tensors (biases) ±0.1·u.
 */
export function randomWeight(key: string, shape: readonly number[], seed = 0): Tensor<'float32'> {
  const t = new Tensor('float32', shape);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const std = shape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.1;
  const a = std * Math.sqrt(3) * 2 ** -31; // xorshift32 as int32 ∈ [−2³¹, 2³¹) → [−a, a)
  const offset = shape.length === 1 && /norm[^.]*\.weight$/.test(key) ? 1 : 0;
  const d = t.data;
  let s = tensorSeed(seed, key);
  for (let i = 0; i < d.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    d[i] = offset + (s | 0) * a;
  }
  return t;
}


/** A byte-level CLIP vocabulary without merges: ids 0–511 are the 256 byte characters, then each with "</w>". */
function minimalTokenizer(): Record<string, string> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((ch, i) => (vocab[ch] = i));
  BYTE_TO_CHAR.forEach((ch, i) => (vocab[`${ch}</w>`] = 256 + i));
  vocab['<|startoftext|>'] = 512;
  vocab['<|endoftext|>'] = 513;
  const config = { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>', model_max_length: 77, do_lower_case: true, tokenizer_class: 'CLIPTokenizer' };
  return { 'vocab.json': JSON.stringify(vocab), 'merges.txt': '#version: 0.2\n', 'tokenizer_config.json': JSON.stringify(config, null, 2) };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/**
 * Writes a diffusers pipeline folder with `preset`'s configs and seeded random weights (float32,
 * plus the fp16 variant unless `variants: []`). Overwrites what is there; the same seed always
 * gives the same bytes. One component's float32 weights are in memory at a time (3.4 GB for SD 1.5's UNet).
 */
export async function createRandomPipeline(
  folder: string,
  preset: RandomPipelinePresetName | RandomPipelinePreset = 'sd15',
  options: CreateRandomPipelineOptions = {},
): Promise<void> {
  const fs = fileSystem();
  const p = typeof preset === 'string' ? RANDOM_PIPELINE_PRESETS[preset] : preset;
  if (!p) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `unknown random pipeline preset ${JSON.stringify(preset)}`, {
      key: 'preset', hint: `use one of ${Object.keys(RANDOM_PIPELINE_PRESETS).join(', ')} or pass the four configs`,
    });
  }
  const seed = options.seed ?? 0;
  const variants = options.variants ?? ['fp16'];
  await fs.mkdirp(folder);
  for (const c of components(p)) {
    const dir = fs.join(folder, c.folder);
    await fs.mkdirp(dir);
    const configFile = fs.join(dir, 'config.json');
    const decls = [...c.probe(configFile).weights.values()];
    // Weights first, config.json last: a folder with a config is a loadable component.
    const f32 = new Map(decls.map((w) => [w.key, randomWeight(w.key, w.shape, seed)]));
    await writeSafetensors(fs.join(dir, `${c.stem}.safetensors`), f32, { format: 'pt' });
    f32.clear();
    for (const v of variants) {
      // Regenerated per tensor (same seed → same values) so only the float16 copy is held.
      const f16 = new Map(decls.map((w) => [w.key, randomWeight(w.key, w.shape, seed).toFloat16()]));
      await writeSafetensors(fs.join(dir, `${c.stem}.${v}.safetensors`), f16, { format: 'pt' });
    }
    await fs.writeFileAtomic(configFile, json(c.config));
  }
  await fs.mkdirp(fs.join(folder, 'scheduler'));
  await fs.writeFileAtomic(fs.join(folder, 'scheduler', 'scheduler_config.json'), json(p.scheduler));
  await writeTokenizer(fs.join(folder, 'tokenizer'), options.tokenizer);
  await fs.writeFileAtomic(fs.join(folder, 'model_index.json'), json({
    _class_name: 'StableDiffusionPipeline',
    _diffusers_version: '0.27.2',
    feature_extractor: [null, null],
    image_encoder: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', String(p.scheduler._class_name ?? 'PNDMScheduler')],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
  }));
}

async function writeTokenizer(dir: string, from: string | undefined): Promise<void> {
  const fs = fileSystem();
  await fs.mkdirp(dir);
  if (from === undefined) {
    for (const [name, text] of Object.entries(minimalTokenizer())) await fs.writeFileAtomic(fs.join(dir, name), text);
    return;
  }
  const names = (await fs.list(from)).filter((n) => /\.(json|txt)$/.test(n));
  if (!names.includes('vocab.json') || !names.includes('merges.txt')) {
    throw new LatentlabError('TOKENIZER_MISSING_FILE', `${from} is not a CLIPTokenizer folder: it needs vocab.json and merges.txt`, {
      file: from, hint: 'pass the tokenizer/ folder of a Stable Diffusion pipeline, or omit the option for a minimal tokenizer',
    });
  }
  for (const n of names) await fs.writeFileAtomic(fs.join(dir, n), await fs.readBytes(fs.join(from, n)));
}
