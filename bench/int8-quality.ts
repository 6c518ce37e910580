// `npm run bench:int8-quality`: how far precision 'int8' moves the random-weight SD 1.5 UNet and the
// final image from float32 on the same seeds (docs/benchmarks.md#int8). Not a timing: it may run on
// a busy machine.
//   1. UNet output: seeds 1 (and 2) × timesteps 999, 499, 259 at 64² latents (512²), batch 1, text embeddings
//      of a prompt; relative RMS error and max |int8 − fp32| against max |fp32|.
//   2. The image: txt2img-512-lcm4-taesd's generation (LCM-LoRA, LCM 4 steps, guidance 1, TAESD) at
//      seed 0 (and 1), fp32 vs int8: PSNR of the 8-bit RGB images.  `--more` runs the seeds in brackets.
// The models run one after the other (one UNet session alive at a time, < 5 GB RSS).

import '../src/platform/node/index.js';

import { join } from 'node:path';

import { Generator } from '../src/core/random.js';
import type { Tensor } from '../src/core/tensor.js';
import { AutoencoderTiny } from '../src/models/autoencoder-tiny.js';
import { CLIPTextModel } from '../src/models/clip-text-model.js';
import { UNet2DConditionModel } from '../src/models/unet-2d-condition-model.js';
import { encodePrompt } from '../src/pipelines/encode-prompt.js';
import { StableDiffusionPipeline } from '../src/pipelines/stable-diffusion.js';
import { CLIPTokenizer } from '../src/tokenizers/index.js';
import { ensureSd15, useBenchInt8Cache } from './lib/sd15.js';
import { ensureTaesd } from './lib/taesd.js';
import { fewStepCase } from './cases/few-step.js';

useBenchInt8Cache();
const PROMPT = 'a photograph of an astronaut riding a horse';
const SEEDS = process.argv.includes('--more') ? [0, 1] : [0];

async function unetOutputs(folder: string, precision: 'fp32' | 'int8', ehs: Tensor<'float32'>, empty: Tensor<'float32'>): Promise<Tensor<'float32'>[]> {
  const unet = await UNet2DConditionModel.fromPretrained(join(folder, 'unet'), { precision });
  unet.int8CalibrationContext = empty;
  const outs: Tensor<'float32'>[] = [];
  for (const seed of SEEDS.map((s) => s + 1)) {
    const sample = new Generator().manualSeed(seed).randn([1, 4, 64, 64]);
    for (const t of [999, 499, 259]) outs.push((await unet.forward(sample, t, ehs)).sample);
  }
  await unet.release();
  return outs;
}

async function image(folder: string, taesd: string, lora: string, seed: number, int8: boolean): Promise<Uint8Array> {
  const pipe = await StableDiffusionPipeline.fromPretrained(folder, { scheduler: 'LCM', vae: await AutoencoderTiny.fromPretrained(taesd), ...(int8 ? { precision: 'int8' as const } : {}) });
  await pipe.setLoras([{ file: lora }]);
  const out = await pipe.call({ prompt: PROMPT, numInferenceSteps: 4, guidanceScale: 1, height: 512, width: 512, seed });
  await pipe.release();
  return out.images[0].data;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

async function main(): Promise<void> {
  const folder = await ensureSd15();
  const tokenizer = await CLIPTokenizer.fromPretrained(folder, { subfolder: 'tokenizer' });
  const te = await CLIPTextModel.fromPretrained(folder, { subfolder: 'text_encoder' });
  const [ehs, empty] = [await encodePrompt(tokenizer, te, [PROMPT]), await encodePrompt(tokenizer, te, [''])];
  await te.release();
  const a = await unetOutputs(folder, 'fp32', ehs, empty);
  const b = await unetOutputs(folder, 'int8', ehs, empty);
  console.log('UNet output, int8 vs fp32 (random SD 1.5, 512², batch 1):');
  a.forEach((x, i) => {
    let [d, r, maxAbs, maxRef] = [0, 0, 0, 0];
    x.data.forEach((v, j) => {
      const e = b[i].data[j] - v;
      [d, r, maxAbs, maxRef] = [d + e * e, r + v * v, Math.max(maxAbs, Math.abs(e)), Math.max(maxRef, Math.abs(v))];
    });
    console.log(`  seed ${SEEDS[Math.floor(i / 3)] + 1} t ${[999, 499, 259][i % 3]}: relative RMS ${Math.sqrt(d / r).toExponential(2)}, max abs ${maxAbs.toExponential(2)} (max|out| ${maxRef.toFixed(2)})`);
  });
  const taesd = await ensureTaesd();
  await fewStepCase('txt2img-512-lcm4-taesd')!.setup!();
  const lora = join((await import('./lib/sd15.js')).benchCacheDir(), 'lcm-lora-sd15-random.safetensors');
  for (const seed of SEEDS) {
    const [x, y] = [await image(folder, taesd, lora, seed, false), await image(folder, taesd, lora, seed, true)];
    console.log(`image (LCM-LoRA, LCM 4 steps, TAESD, 512²), seed ${seed}: PSNR int8 vs fp32 ${psnr(x, y).toFixed(2)} dB`);
  }
}

await main();
