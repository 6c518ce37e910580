// LoRA on a whole pipeline (diffusers' `pipe.load_lora_weights(file)` + `cross_attention_kwargs=
// {"scale": w}`, or A1111's `<lora:name:w>`): each file goes into the UNet and the text encoder with
// its own weight, as low-rank branches in their graphs (nn/lora.ts). `extractLoraTags` is the
// A1111 prompt syntax on its own, a step on the prompt text before any other prompt parsing:
//
//   extractLoraTags('a castle <lora:watercolor:0.8>, sunset')
//     → { prompt: 'a castle , sunset', tags: [{ name: 'watercolor', weight: 0.8 }] }

import { LatentlabError } from '../core/errors.js';
import type { LoraUse } from '../models/lora.js';
import { type LoraFile, openLoraFile } from '../weights/lora/lora-file.js';
import type { PipelineBase } from './base.js';

export interface LoraTag {
  name: string;
  /** A1111's multiplier (default 1); `<lora:name:te:unet>` with two numbers is not supported. */
  weight: number;
}

const TAG = /<lora:([^:>]+)(?::([^:>]*))?>/g;

/** Removes every `<lora:name[:weight]>` from the text (as A1111 does) and returns them in order. */
export function extractLoraTags(prompt: string): { prompt: string; tags: LoraTag[] } {
  const tags: LoraTag[] = [];
  const text = prompt.replace(TAG, (whole, name: string, w: string | undefined) => {
    const weight = w === undefined || w.trim() === '' ? 1 : Number(w);
    if (!Number.isFinite(weight)) {
      throw new LatentlabError('PIPELINE_ARGUMENT', `the prompt tag ${whole} has weight "${w}", not a number`, { key: 'prompt', hint: 'write <lora:name:0.8> (or <lora:name> for weight 1)' });
    }
    tags.push({ name: name.trim(), weight });
    return '';
  });
  return { prompt: text, tags };
}

/** A LoRA to apply: a file (path or opened) and its weight. */
export interface PipelineLora {
  file: string | LoraFile;
  weight?: number;
}

/**
 * Applies `loras` to the pipeline's UNet and text encoder (replacing earlier ones; `[]` removes
 * them). Every file must match the model: unknown keys, modules the model lacks and factor sizes of
 * another base model are errors before anything runs. Returns the opened files.
 */
export async function setPipelineLoras(pipe: Pick<PipelineBase, 'unet' | 'textEncoder'>, loras: readonly PipelineLora[]): Promise<LoraFile[]> {
  const files = await Promise.all(loras.map((l) => (typeof l.file === 'string' ? openLoraFile(l.file) : l.file)));
  const uses: LoraUse[] = files.map((file, i) => ({ file, weight: loras[i].weight ?? 1 }));
  const unet = await pipe.unet.setLoras(uses);
  const text = await pipe.textEncoder.setLoras(uses);
  files.forEach((f, i) => {
    if (unet[i] + text[i] === 0) throw new LatentlabError('LORA_UNMATCHED', `${f.file}: the LoRA touches no module of this model`, { file: f.file });
  });
  return files;
}
