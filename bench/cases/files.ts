// Benchmarks of the file kinds of issue 13, on the random SD 1.5 folder (bench/lib/sd15.ts):
//
//  unet-512-lora-graph    one guided UNet call (batch 2, 64² latents) with one LoRA as a low-rank
//                         branch in the graph (nn/lora.ts: y = xWᵀ + s·(xAᵀ)Bᵀ; base weights in place)
//  unet-512-lora-merged   the same LoRA merged into new weights W' = W + s·BA before the session is
//                         built (what A1111 and diffusers' fuse_lora do); createMs includes the merge
//  session-unet-folder    creating the UNet's ONNX Runtime session (lowering + ORT session) from the
//  session-unet-file      folder's diffusion_pytorch_model.safetensors vs from the same weights in a
//                         single-file checkpoint (written once by savePipelineAsSingleFile)
//
// The LoRA is random (kohya-ss layout, rank 16, α 8, weight 0.8) on every linear of every
// transformer block — attn1/attn2 q, k, v, out, ff, proj_in/out: 192 modules — the layout of a
// typical civitai character/style LoRA. Its values do not change the speed.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { WeightData } from '../../src/core/external.js';
import { Tensor } from '../../src/core/tensor.js';
import { graphFlops } from '../../src/graph/flops.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { runtime } from '../../src/graph/runtime.js';
import { loadComponent, bindGraphWeights, withDefaults } from '../../src/models/pretrained.js';
import { UNet2DConditionModel, UNET_COMPILE_DEFAULTS } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { randomWeight } from '../../src/pipelines/random-pipeline.js';
import { savePipelineAsSingleFile } from '../../src/pipelines/single-file.js';
import { openLoraFile } from '../../src/weights/lora/lora-file.js';
import { RefSource } from '../../src/weights/ref-source.js';
import { writeSafetensors } from '../../src/weights/safetensors-write.js';
import { readWeightData } from '../../src/weights/source.js';
import { openSingleFile } from '../../src/weights/single-file/single-file.js';
import { type BenchCase, noise, type Prepared } from '../lib/case.js';
import { benchCacheDir, ensureSd15 } from '../lib/sd15.js';
import { settings } from '../lib/settings.js';

const RANK = 16;
const ALPHA = 8;
const WEIGHT = 0.8;
const TARGET = /^(.*\.transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2))|.*attentions\.\d+\.(proj_in|proj_out))\.weight$/;

/** The random kohya-ss LoRA for the SD 1.5 UNet, written once next to the folder. */
async function ensureLora(folder: string): Promise<string> {
  const file = join(benchCacheDir(), 'sd15-random-lora-r16.safetensors');
  if (existsSync(file)) return file;
  const { weights } = await loadComponent(folder, 'unet', { subfolder: 'unet' });
  const tensors = new Map<string, Tensor>();
  for (const key of weights.keys) {
    if (!TARGET.test(key)) continue;
    const [out, inp] = weights.info(key).shape;
    const name = `lora_unet_${key.slice(0, -'.weight'.length).replace(/\./g, '_')}`;
    tensors.set(`${name}.lora_down.weight`, randomWeight(`${name}.down`, [RANK, inp], 1));
    tensors.set(`${name}.lora_up.weight`, randomWeight(`${name}.up`, [out, RANK], 1));
    tensors.set(`${name}.alpha`, Tensor.float32([], [ALPHA]));
  }
  await writeSafetensors(file, tensors);
  return file;
}

function inputs() {
  return { sample: noise([2, 4, 64, 64], 1, 1), encoderHiddenStates: noise([2, 77, 768], 1, 2) };
}

/** W + s·B·A for every LoRA module, as new float32 tensors (the other weights stay in the file). */
async function mergedWeights(folder: string, loraPath: string): Promise<Map<string, WeightData>> {
  const { weights } = await loadComponent(folder, 'unet', { subfolder: 'unet' });
  const lora = await openLoraFile(loraPath);
  const out = new Map<string, WeightData>(weights.keys.map((k) => [k, weights.ref(k)]));
  // kohya names a module by its path with every "." as "_" (as models/lora.ts matches them).
  const paths = new Map(weights.keys.filter((k) => k.endsWith('.weight')).map((k) => [k.slice(0, -'.weight'.length).replace(/\./g, '_'), k]));
  for (const m of lora.modules) {
    const key = paths.get(m.name.replace(/\./g, '_'));
    if (key === undefined) throw new Error(`LoRA module ${m.name} is not in the UNet`);
    const w = (await readWeightData(weights.ref(key))).toFloat32();
    const down = (await readWeightData(lora.source.ref(m.downKey))).toFloat32(); // [r, in]
    const up = (await readWeightData(lora.source.ref(m.upKey))).toFloat32(); // [out, r]
    const r = down.shape[0];
    const inp = down.size / r;
    const s = (WEIGHT * (m.alpha ?? r)) / r;
    const merged = new Tensor('float32', w.shape, Float32Array.from(w.data));
    for (let o = 0; o < up.shape[0]; o++) {
      for (let k = 0; k < r; k++) {
        const c = s * up.data[o * r + k];
        for (let i = 0; i < inp; i++) merged.data[o * inp + i] += c * down.data[k * inp + i];
      }
    }
    out.set(key, merged);
  }
  return out;
}

function unetCall(name: string, mode: 'graph' | 'merged'): BenchCase {
  return {
    name,
    what: `UNet call, one LoRA (r ${RANK}, 192 modules) ${mode === 'graph' ? 'as an in-graph branch' : 'merged into new weights'}`,
    shape: '2×4×64² (512px), ctx 2×77×768',
    runs: 3,
    isolate: true,
    setup: async () => void (await ensureLora(await ensureSd15())),
    async prepare(): Promise<Prepared> {
      const folder = await ensureSd15();
      const loraPath = await ensureLora(folder);
      const options = { ...settings.compile };
      const { sample, encoderHiddenStates } = inputs();
      const t0 = performance.now();
      let unet: UNet2DConditionModel;
      if (mode === 'graph') {
        unet = await UNet2DConditionModel.fromPretrained(folder, options);
        await unet.setLoras([{ file: await openLoraFile(loraPath), weight: WEIGHT }]);
      } else {
        const c = await loadComponent(folder, 'unet', { subfolder: 'unet' });
        unet = UNet2DConditionModel.fromComponent({ ...c, weights: new RefSource(await mergedWeights(folder, loraPath), 'unet (LoRA merged)', c.weights.paths) }, options);
      }
      await unet.forward(sample, 500, encoderHiddenStates); // the session is built here
      const createMs = performance.now() - t0;
      const config = parseUNet2DConditionConfig((await loadComponent(folder, 'unet', { subfolder: 'unet' })).config);
      return {
        flops: graphFlops(buildUNetGraph(config, { batch: 2, height: 64, width: 64, seqLen: 77 })),
        createMs,
        run: async () => void (await unet.forward(sample, 500, encoderHiddenStates)),
        release: () => unet.release(),
      };
    },
  };
}

async function ensureSingleFile(folder: string): Promise<string> {
  const file = join(benchCacheDir(), 'single-file', 'sd15-random.safetensors'); // shared with npm run check:full-size
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    await savePipelineAsSingleFile(folder, file);
  }
  return file;
}

function sessionCreation(name: string, from: 'folder' | 'file'): BenchCase {
  return {
    name,
    what: `UNet session creation from the ${from === 'folder' ? 'diffusers folder' : 'single-file checkpoint'}`,
    shape: 'batch symbolic, 64² latents',
    runs: 3,
    isolate: true,
    setup: async () => void (await ensureSingleFile(await ensureSd15())),
    async prepare(): Promise<Prepared> {
      const folder = await ensureSd15();
      const file = from === 'file' ? (await openSingleFile(await ensureSingleFile(folder))).components.unet : undefined;
      const part = file ? { weights: file.weights, config: new ConfigReader(file.config, 'single file (unet)') } : await loadComponent(folder, 'unet', { subfolder: 'unet' });
      const config = parseUNet2DConditionConfig(part.config);
      const graph = buildUNetGraph(config, { batch: 'batch', height: 64, width: 64, seqLen: 77 });
      const weights = bindGraphWeights(graph, part.weights, 'unet');
      const options = withDefaults(UNET_COMPILE_DEFAULTS, settings.compile);
      return {
        flops: 0,
        createMs: 0,
        run: async () => {
          const t0 = performance.now();
          const compiled = await runtime().compile(graph, weights, options);
          const ms = performance.now() - t0;
          await compiled.release();
          return ms;
        },
        release: async () => undefined,
      };
    },
  };
}

export const fileCases: BenchCase[] = [
  unetCall('unet-512-lora-graph', 'graph'),
  unetCall('unet-512-lora-merged', 'merged'),
  sessionCreation('session-unet-folder', 'folder'),
  sessionCreation('session-unet-file', 'file'),
];
