// Random-weight LoRA files shaped like latent-consistency/lcm-lora-sdv1-5, for benchmarks and tests
// (the speed of a LoRA does not depend on its values; a test compares it with the merged weights).
//
// That file is a kohya-ss LoRA of the UNet only (no text encoder), rank 64, α = 8 (scale α/r = 1/8):
//   lora_unet_<module path with "." → "_">.lora_down.weight   [r, in(, k, k)]
//   lora_unet_<…>.lora_up.weight                                [out, r(, 1, 1)]
//   lora_unet_<…>.alpha                                         []
// on the modules diffusers' LCM-LoRA distillation script targets: the attention projections
// (to_q, to_k, to_v, to_out.0), proj_in/proj_out, the feed-forward (ff.net.0.proj, ff.net.2), the
// resnets' conv1/conv2/conv_shortcut/time_emb_proj, and the down/upsamplers' convs.
//
//   await createRandomLcmLora('.cache/lcm-lora.safetensors', unet.weightData, { rank: 64 })

import { Tensor } from '../core/tensor.js';
import { writeSafetensors } from '../weights/index.js';
import { randomWeight } from './random-pipeline.js';

/** The module-name endings LCM-LoRA trains (diffusers' train_lcm_distill_lora_sd.py target modules). */
export const LCM_LORA_TARGETS = [
  'to_q', 'to_k', 'to_v', 'to_out.0', 'proj_in', 'proj_out', 'ff.net.0.proj', 'ff.net.2',
  'conv1', 'conv2', 'conv_shortcut', 'downsamplers.0.conv', 'upsamplers.0.conv', 'time_emb_proj',
] as const;

export interface RandomLoraOptions {
  /** Rank r. Default 64 (lcm-lora-sdv1-5). */
  rank?: number;
  /** α (scale α/r). Default 8 (lcm-lora-sdv1-5). */
  alpha?: number;
  seed?: number;
}

/** The UNet modules (path, weight shape) an LCM-LoRA targets, from the UNet's weights (key → {shape}). */
export function lcmLoraModules(weights: ReadonlyMap<string, { readonly shape: readonly number[] }>): { path: string; shape: readonly number[] }[] {
  const out: { path: string; shape: readonly number[] }[] = [];
  for (const [key, w] of weights) {
    if (!key.endsWith('.weight') || (w.shape.length !== 2 && w.shape.length !== 4)) continue;
    const path = key.slice(0, -'.weight'.length);
    if (LCM_LORA_TARGETS.some((t) => path === t || path.endsWith(`.${t}`))) out.push({ path, shape: w.shape });
  }
  return out;
}

/**
 * The kohya tensors of a random LCM-style LoRA for these modules: down ~ U with std 1/√fan_in, up with
 * std 1/√r, so ΔW = (α/r)·up·down has entries ≈ α/r times the base weights' scale.
 */
export function randomLcmLoraTensors(modules: readonly { path: string; shape: readonly number[] }[], options: RandomLoraOptions = {}): Map<string, Tensor<'float32'>> {
  const r = options.rank ?? 64;
  const alpha = options.alpha ?? 8;
  const seed = options.seed ?? 0;
  const tensors = new Map<string, Tensor<'float32'>>();
  for (const { path, shape } of modules) {
    const name = `lora_unet_${path.replace(/\./g, '_')}`;
    const conv = shape.length === 4;
    const downShape = conv ? [r, shape[1], shape[2], shape[3]] : [r, shape[1]];
    const upShape = conv ? [shape[0], r, 1, 1] : [shape[0], r];
    tensors.set(`${name}.lora_down.weight`, randomWeight(`${name}.lora_down.weight`, downShape, seed));
    tensors.set(`${name}.lora_up.weight`, randomWeight(`${name}.lora_up.weight`, upShape, seed));
    tensors.set(`${name}.alpha`, new Tensor('float32', [], Float32Array.of(alpha)));
  }
  return tensors;
}

/** Writes a random LCM-style LoRA for a UNet with these weights to `file` (.safetensors). */
export async function createRandomLcmLora(file: string, unetWeights: ReadonlyMap<string, { readonly shape: readonly number[] }>, options: RandomLoraOptions = {}): Promise<void> {
  await writeSafetensors(file, randomLcmLoraTensors(lcmLoraModules(unetWeights), options), { format: 'pt' });
}
