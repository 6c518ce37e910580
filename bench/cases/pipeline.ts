// Whole-pipeline benchmarks on the random-weight SD 1.5 folder:
//  txt2img-<size>-<n>steps[-<sampler>]   one timed run = a one-shot generation as the CLI does it: load the
//                            pipeline, encode the prompt, n guided steps, decode, release. Sessions
//                            are created inside the run (that is what a user waits for), so the
//                            case has no warm-up; its peak RSS is the whole generation's.
//  startup-<size>            a fresh process (bench/startup-child.ts) from its start to the moment
//                            ONNX Runtime begins the first UNet call: import, load, text encoder,
//                            UNet session. One untimed run first puts the weights in the page cache.
// A sampler suffix (`-dpm++2m`, any of schedulerNames() without spaces) replaces the folder's PNDM;
// a `-fp16` suffix loads the fp16-variant files.

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { graphFlops } from '../../src/graph/flops.js';
import { buildCLIPTextGraph, parseCLIPTextConfig } from '../../src/models/clip-text-graph.js';
import { loadComponent } from '../../src/models/pretrained.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import { buildVaeDecoderGraph } from '../../src/models/vae-graph.js';
import { schedulerFromPretrained } from '../../src/pipelines/scheduler-from-pretrained.js';
import { resolveSchedulerName, schedulerFromConfig } from '../../src/schedulers/registry.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import type { BenchCase } from '../lib/case.js';
import { ensureSd15 } from '../lib/sd15.js';
import { settings } from '../lib/settings.js';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROMPT = 'a photograph of an astronaut riding a horse';

function pipelineOptions(variant: string | undefined): Record<string, unknown> {
  return { ...settings.compile, ...settings.pipeline, ...(variant ? { variant } : {}) };
}

/**
 * FLOPs of a guided generation: two text-encoder calls (prompt, negative), one UNet call at batch 2
 * per timestep, one decode. SD 1.5's PNDM runs steps + 1 UNet calls (its PLMS warm-up repeats the
 * first timestep), so the timesteps come from the folder's own scheduler.
 */
async function generationFlops(folder: string, size: number, steps: number, sampler?: string): Promise<number> {
  const config = async (c: string) => (await loadComponent(folder, c, { subfolder: c })).config;
  const te = parseCLIPTextConfig(await config('text_encoder'));
  const un = parseUNet2DConditionConfig(await config('unet'));
  const va = parseAutoencoderKLConfig(await config('vae'));
  const h = size / 8;
  const text = graphFlops(buildCLIPTextGraph(te, { batch: 1, seqLen: 77, input: 'ids', hiddenStates: false }));
  const step = graphFlops(buildUNetGraph(un, { batch: 2, height: h, width: h, seqLen: 77 }));
  const decode = graphFlops(buildVaeDecoderGraph(va, { batch: 1, height: h, width: h }));
  const base = await schedulerFromPretrained(folder);
  const scheduler = sampler ? schedulerFromConfig(base.config, { name: sampler }) : base;
  scheduler.setTimesteps(steps);
  return 2 * text + scheduler.timesteps.length * step + decode;
}

function txt2img(name: string, size: number, steps: number, variant?: string, sampler?: string): BenchCase {
  return {
    name,
    what: `txt2img, ${steps} steps${sampler ? ` ${sampler}` : ''}, guidance 7.5${variant ? ' (fp16 file)' : ''}`,
    shape: `${size}×${size}, batch 1`,
    runs: 1,
    warmup: 0,
    isolate: true,
    setup: async () => void (await ensureSd15()),
    async prepare() {
      const folder = await ensureSd15();
      const flops = await generationFlops(folder, size, steps, sampler);
      return {
        flops,
        createMs: 0, // sessions are created inside the timed run
        run: async () => {
          const pipe = await StableDiffusionPipeline.fromPretrained(folder, pipelineOptions(variant));
          try {
            const out = await pipe.call({ prompt: PROMPT, numInferenceSteps: steps, ...(sampler ? { scheduler: sampler } : {}), guidanceScale: 7.5, height: size, width: size, seed: 0 });
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

const run = promisify(execFile);

function startup(name: string, variant?: string): BenchCase {
  const childPeaks: number[] = []; // one per run, warm-up runs first
  return {
    name,
    what: `process start → first UNet call begins${variant ? ' (fp16 file)' : ''}`,
    shape: '512×512, fresh process',
    runs: 3,
    warmup: 1,
    isolate: true,
    setup: async () => void (await ensureSd15()),
    async prepare() {
      const folder = await ensureSd15();
      return {
        flops: 0,
        createMs: 0,
        peakRssMb: (timed) => Math.max(...childPeaks.slice(-timed)),
        run: async () => {
          const args = ['--import', 'tsx', join(BENCH, 'startup-child.ts'), folder, JSON.stringify(pipelineOptions(variant))];
          const { stdout } = await run(process.execPath, args, { cwd: join(BENCH, '..'), maxBuffer: 1 << 20 });
          const r = JSON.parse(stdout.trim().split('\n').pop()!) as { firstStepMs: number; peakRssMb: number; phases: Record<string, number> };
          childPeaks.push(r.peakRssMb);
          process.stderr.write(`[${Object.entries(r.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')}] `);
          return r.firstStepMs;
        },
        release: async () => undefined,
      };
    },
  };
}

/** The case a pipeline-benchmark name describes, or undefined. */
export function pipelineCase(name: string): BenchCase | undefined {
  const variant = name.endsWith('-fp16') ? 'fp16' : undefined;
  const base = variant ? name.slice(0, -'-fp16'.length) : name;
  const t = base.match(/^txt2img-(\d+)-(\d+)steps(?:-(\S+))?$/);
  if (t) {
    if (+t[1] % 8 !== 0 || +t[1] < 64) throw new Error(`${name}: the image size must be a multiple of 8, at least 64`);
    if (t[3] !== undefined) resolveSchedulerName(t[3]); // an unknown sampler fails here, naming the choices
    return txt2img(name, +t[1], +t[2], variant, t[3]);
  }
  if (base === 'startup-512') return startup(name, variant);
  return undefined;
}

export const pipelineCases: BenchCase[] = ['txt2img-512-20steps', 'txt2img-512-20steps-dpm++2m', 'startup-512'].map((n) => pipelineCase(n)!);
