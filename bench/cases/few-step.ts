// Time to image with few-step sampling (issue 16), on the random-weight SD 1.5 folder:
//  txt2img-<size>-lcm<n>-taesd[-int8]   one timed run = a one-shot generation as the CLI runs it:
//      load the pipeline with the LCM scheduler and a random TAESD as its VAE, apply a random
//      LCM-LoRA (lcm-lora-sdv1-5's layout and rank 64: bench/cases + src/pipelines/random-lora.ts),
//      encode the prompt, n LCM steps at guidance 1 (no unconditional batch: one UNet call at
//      batch 1 per step), TAESD decode, release. `-int8` loads the UNet with precision 'int8'.
// One untimed run first puts the weights (and, for int8, the quantised weights and calibrated
// ranges, made once) in the page cache and on disk; sessions are created inside each timed run.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { graphFlops } from '../../src/graph/flops.js';
import { buildCLIPTextGraph, parseCLIPTextConfig } from '../../src/models/clip-text-graph.js';
import { AutoencoderTiny } from '../../src/models/autoencoder-tiny.js';
import { loadComponent } from '../../src/models/pretrained.js';
import { parseAutoencoderTinyConfig } from '../../src/models/taesd-config.js';
import { buildTinyDecoderGraph } from '../../src/models/taesd-graph.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { createRandomLcmLora } from '../../src/pipelines/random-lora.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import type { BenchCase } from '../lib/case.js';
import { benchCacheDir, ensureSd15 } from '../lib/sd15.js';
import { settings } from '../lib/settings.js';
import { ensureTaesd } from '../lib/taesd.js';

const PROMPT = 'a photograph of an astronaut riding a horse';

/** The random LCM-LoRA for the folder's UNet, written once (rank 64, α 8: ~270 MB float32). */
async function ensureLcmLora(folder: string): Promise<string> {
  const file = join(benchCacheDir(), 'lcm-lora-sd15-random.safetensors');
  if (existsSync(file)) return file;
  const c = parseUNet2DConditionConfig((await loadComponent(folder, 'unet', { subfolder: 'unet' })).config);
  const probe = buildUNetGraph(c, { batch: 1, height: 8, width: 8, seqLen: 1 });
  await createRandomLcmLora(file, new Map([...probe.weights.values()].map((w) => [w.key, { shape: w.shape as number[] }])), { rank: 64, alpha: 8, seed: 0 });
  return file;
}

/** FLOPs: one text-encoder call, n UNet calls at batch 1 (LoRA branches not counted: ~2% more), one TAESD decode. */
async function flops(folder: string, taesd: string, size: number, steps: number): Promise<number> {
  const config = async (c: string) => (await loadComponent(folder, c, { subfolder: c })).config;
  const h = size / 8;
  const text = graphFlops(buildCLIPTextGraph(parseCLIPTextConfig(await config('text_encoder')), { batch: 1, seqLen: 77, input: 'ids', hiddenStates: false }));
  const step = graphFlops(buildUNetGraph(parseUNet2DConditionConfig(await config('unet')), { batch: 1, height: h, width: h, seqLen: 77 }));
  const tiny = parseAutoencoderTinyConfig((await loadComponent(taesd, 'vae')).config);
  return text + steps * step + graphFlops(buildTinyDecoderGraph(tiny, { batch: 1, height: h, width: h }));
}

function lcmTaesd(name: string, size: number, steps: number, int8: boolean): BenchCase {
  const prepared = async () => {
    const folder = await ensureSd15();
    return { folder, taesd: await ensureTaesd(), lora: await ensureLcmLora(folder) };
  };
  return {
    name,
    what: `txt2img, LCM-LoRA, LCM ${steps} steps, guidance 1, TAESD decode${int8 ? ', UNet int8' : ''}`,
    shape: `${size}×${size}, batch 1`,
    runs: 2,
    warmup: 1,
    isolate: true,
    setup: async () => void (await prepared()),
    async prepare() {
      const { folder, taesd, lora } = await prepared();
      return {
        flops: await flops(folder, taesd, size, steps),
        createMs: 0, // sessions are created inside the timed run
        run: async () => {
          const vae = await AutoencoderTiny.fromPretrained(taesd);
          const pipe = await StableDiffusionPipeline.fromPretrained(folder, {
            ...settings.compile, ...settings.pipeline, scheduler: 'LCM', vae, ...(int8 ? { precision: 'int8' as const } : {}),
          });
          try {
            await pipe.setLoras([{ file: lora }]);
            const out = await pipe.call({ prompt: PROMPT, numInferenceSteps: steps, guidanceScale: 1, height: size, width: size, seed: 0 });
            if (out.latents.data.some((v) => !Number.isFinite(v))) throw new Error(`${name}: the latents hold NaN/Inf`);
          } finally {
            await pipe.release();
          }
        },
        release: async () => undefined,
      };
    },
  };
}

/** The case a few-step pipeline name describes, or undefined. */
export function fewStepCase(name: string): BenchCase | undefined {
  const m = name.match(/^txt2img-(\d+)-lcm(\d+)-taesd(-int8)?$/);
  if (!m) return undefined;
  if (+m[1] % 8 !== 0 || +m[1] < 64) throw new Error(`${name}: the image size must be a multiple of 8, at least 64`);
  return lcmTaesd(name, +m[1], +m[2], m[3] !== undefined);
}

export const fewStepCases: BenchCase[] = ['txt2img-512-lcm4-taesd', 'txt2img-512-lcm4-taesd-int8'].map((n) => fewStepCase(n)!);
