// The two ways people get LCM sampling (issue 16), end to end on the tiny SD 1.5 pipeline:
// - an LCM-LoRA (latent-consistency/lcm-lora-sdv1-5's layout: kohya keys, UNet only, attention + ff +
//   resnet convs + samplers, α/r = 1/8) through the LoRA loader, LCM 4 steps, guidance 1: the same
//   latents as the pipeline on a folder whose UNet has the LoRA merged into its weights, every UNet
//   call on the positive batch only;
// - an LCM-distilled UNet (`time_cond_proj_dim`): guidance 8.5 goes in as timestep_cond =
//   embedding(w − 1) and classifier-free guidance stays off, as diffusers 0.27 does.
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { guidanceScaleEmbedding } from '../../src/nn/timestep-embedding.js';
import { randomWeight } from '../../src/pipelines/random-pipeline.js';
import { lcmLoraModules, randomLcmLoraTensors } from '../../src/pipelines/random-lora.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { writeSafetensors } from '../../src/weights/index.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('lcm-models');
const call = { prompt: 'a red cube', height: 64, width: 64, numInferenceSteps: 4, seed: 11, outputType: 'latent' } as const;

/** A copy of tiny-sd15 whose UNet weights (and config) are replaced. */
async function tinyWithUNet(name: string, weights: Map<string, Tensor>, config?: Record<string, unknown>): Promise<string> {
  const dir = join(tmp(), name);
  cpSync(fixturePath('pipelines', 'tiny-sd15'), dir, { recursive: true });
  rmSync(join(dir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
  await writeSafetensors(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), weights, { format: 'pt' });
  if (config) writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** W + s·(up @ down), the LoRA merged (convs: up [out, r, 1, 1] times down [r, in·k·k]). */
function merged(w: Tensor, down: Tensor, up: Tensor, scale: number): Tensor<'float32'> {
  const out = new Tensor('float32', [...w.shape], Float32Array.from(w.toFloat32().data));
  const [o, r] = [up.shape[0], up.shape[1]];
  const k = down.size / r;
  const [u, d] = [up.toFloat32().data, down.toFloat32().data];
  for (let i = 0; i < o; i++) for (let j = 0; j < k; j++) {
    let acc = 0;
    for (let q = 0; q < r; q++) acc += u[i * r + q] * d[q * k + j];
    out.data[i * k + j] += scale * acc;
  }
  return out;
}

describe('LCM on the tiny SD 1.5 pipeline', () => {
  it('an LCM-LoRA (lcm-lora-sdv1-5 layout) through the LoRA loader equals its merged weights, LCM 4 steps, guidance 1, one batch per call', async () => {
    const base = await loadTensors('pipelines', 'tiny-sd15', 'unet', 'diffusion_pytorch_model.safetensors');
    const modules = lcmLoraModules(base);
    const [rank, alpha] = [4, 0.5]; // α/r = 1/8, as lcm-lora-sdv1-5's 8/64
    const lora = randomLcmLoraTensors(modules, { rank, alpha, seed: 5 });
    // Every target kind of the real file is present on the tiny UNet.
    for (const t of ['attn1.to_q', 'attn2.to_out.0', 'proj_in', 'ff.net.0.proj', 'ff.net.2', 'resnets.0.conv1', 'conv_shortcut', 'time_emb_proj', 'downsamplers.0.conv', 'upsamplers.0.conv']) {
      expect(modules.some((m) => m.path.includes(t)), t).toBe(true);
    }
    const file = join(tmp(), 'lcm-lora-sdv1-5-tiny.safetensors');
    await writeSafetensors(file, lora, { format: 'pt' });

    const mergedWeights = new Map(base);
    for (const { path } of modules) {
      const name = `lora_unet_${path.replace(/\./g, '_')}`;
      mergedWeights.set(`${path}.weight`, merged(base.get(`${path}.weight`)!, lora.get(`${name}.lora_down.weight`)!, lora.get(`${name}.lora_up.weight`)!, alpha / rank));
    }
    const mergedDir = await tinyWithUNet('merged', mergedWeights);

    const withLora = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { scheduler: 'LCM', releaseSessions: false });
    const files = await withLora.setLoras([{ file }]);
    expect(files[0].format).toBe('kohya');
    const unet = vi.spyOn(withLora.unet, 'forward');
    const timesteps: number[] = [];
    const a = await withLora.call({ ...call, guidanceScale: 1, callback: ({ timestep }) => void timesteps.push(timestep) });
    expect(timesteps).toEqual([999, 759, 499, 259]);
    expect(unet.mock.calls.map(([sample, , ehs]) => [sample.shape[0], ehs.shape[0]])).toEqual([[1, 1], [1, 1], [1, 1], [1, 1]]);
    await withLora.setLoras([]);
    const plain = await withLora.call({ ...call, guidanceScale: 1 });
    await withLora.release();

    const ref = await StableDiffusionPipeline.fromPretrained(mergedDir, { scheduler: 'LCM', releaseSessions: false });
    const b = await ref.call({ ...call, guidanceScale: 1 });
    await ref.release();

    const d = diff(a.latents.data, b.latents.data);
    const effect = diff(plain.latents.data, b.latents.data);
    console.log(`LCM-LoRA branches vs merged weights: max abs ${d.maxAbs.toExponential(2)} (max|latents| ${d.refScale.toFixed(2)}); the LoRA moves the latents by ${effect.maxAbs.toFixed(3)}`);
    expect(d.maxAbs).toBeLessThan(1e-5 * Math.max(1, d.refScale)); // measured 3.8e-5 at max|latents| 62.5
    expect(effect.maxAbs, 'the LoRA changes the result').toBeGreaterThan(1e-2);
  });

  it('an LCM-distilled UNet (time_cond_proj_dim) takes guidance 8.5 as timestep_cond, without the unconditional batch', async () => {
    const config = { ...readJson('pipelines', 'tiny-sd15', 'unet', 'config.json'), time_cond_proj_dim: 16 };
    const weights = await loadTensors('pipelines', 'tiny-sd15', 'unet', 'diffusion_pytorch_model.safetensors');
    weights.set('time_embedding.cond_proj.weight', randomWeight('time_embedding.cond_proj.weight', [32, 16], 9));
    const dir = await tinyWithUNet('lcm-distilled', weights, config);
    const pipe = await StableDiffusionPipeline.fromPretrained(dir, { scheduler: 'LCM', releaseSessions: false });
    expect(pipe.unet.config.time_cond_proj_dim).toBe(16);
    const unet = vi.spyOn(pipe.unet, 'forward');
    const guided = await pipe.call({ ...call, numImagesPerPrompt: 2, guidanceScale: 8.5 });
    const expected = guidanceScaleEmbedding([7.5, 7.5], 16);
    for (const [sample, , ehs, options] of unet.mock.calls) {
      expect([sample.shape[0], ehs.shape[0]]).toEqual([2, 2]);
      expect(Array.from(options!.timestepCond!.toFloat32().data)).toEqual(Array.from(expected.data));
    }
    const unguided = await pipe.call({ ...call, numImagesPerPrompt: 2, guidanceScale: 1 });
    expect(diff(guided.latents.data, unguided.latents.data).maxAbs, 'w enters the UNet').toBeGreaterThan(1e-3);
    await pipe.release();
  });
});
