// What a weights file is, from its header alone (`latentlab info FILE`): a Stable Diffusion
// checkpoint (which family, inpainting or not, EMA weights or not), a LoRA (its format, rank and
// targets), a VAE, or a textual-inversion embedding. No tensor is read (a .ckpt's pickle is; an
// A1111 .pt embedding's one small vector too).

import { LatentlabError } from '../core/errors.js';
import { readEmbeddingFile } from './embedding-file.js';
import { openCheckpointSource } from './single-file/checkpoint-source.js';
import { detectFamily } from './single-file/detect.js';
import { UNET_PREFIX } from './single-file/ldm-keys.js';
import type { WeightSource } from './source.js';

export type FileDescription =
  | { kind: 'checkpoint'; family: 'sd1' | 'sd2'; inChannels: number; inpainting: boolean; ema: boolean; contextDim: number }
  | { kind: 'unsupported-checkpoint'; detected: string }
  | { kind: 'lora'; format: 'kohya' | 'peft'; ranks: number[]; unetModules: number; textEncoderModules: number; convModules: number; contextDim?: number }
  | { kind: 'vae'; layout: 'ldm' | 'diffusers' }
  | { kind: 'embedding'; vectors: number; dim: number; family?: 'sd1' | 'sd2' }
  | { kind: 'unknown'; firstKeys: string[] };

export interface DescribedFile {
  file: string;
  format: 'safetensors' | 'ckpt';
  tensors: number;
  /** Tensor count per dtype. */
  dtypes: Record<string, number>;
  metadata?: Readonly<Record<string, string>>;
  what: FileDescription;
}

export async function describeFile(file: string): Promise<DescribedFile> {
  const { source, format, metadata } = await openCheckpointSource(file);
  const dtypes: Record<string, number> = {};
  for (const k of source.keys) dtypes[source.info(k).dtype] = (dtypes[source.info(k).dtype] ?? 0) + 1;
  let what = classify(source, file);
  if (what.kind === 'unknown' && format === 'ckpt' && source.keys.length === 0) {
    // An A1111 .pt embedding nests its tensor ({"string_to_param": {"*": tensor}, "name": …}): the embedding reader knows the layout (one small tensor).
    const e = await readEmbeddingFile(file).catch(() => undefined);
    if (e) what = embedding(e.embedding.shape);
  }
  return { file, format, tensors: source.keys.length, dtypes, metadata: metadata && Object.keys(metadata).length > 0 ? metadata : undefined, what };
}

function embedding(shape: readonly number[]): FileDescription {
  const dim = shape[shape.length - 1];
  return { kind: 'embedding', vectors: shape.length === 2 ? shape[0] : 1, dim, family: dim === 768 ? 'sd1' : dim === 1024 ? 'sd2' : undefined };
}

function classify(s: WeightSource, file: string): FileDescription {
  const keys = s.keys;
  const lora = keys.filter((k) => /\.(lora_down|lora_A)\.weight$/.test(k));
  if (lora.length > 0) {
    const ranks = [...new Set(lora.map((k) => s.info(k).shape[0]))].sort((a, b) => a - b);
    const attn2 = keys.find((k) => /attn2.*to_k.*\.(lora_down|lora_A)\.weight$/.test(k));
    return {
      kind: 'lora', format: keys.some((k) => k.startsWith('lora_')) ? 'kohya' : 'peft', ranks,
      unetModules: lora.filter((k) => k.startsWith('lora_unet_') || k.startsWith('unet.')).length,
      textEncoderModules: lora.filter((k) => k.startsWith('lora_te') || k.startsWith('text_encoder')).length,
      convModules: lora.filter((k) => s.info(k).shape.length === 4 && s.info(k).shape[2] > 1).length,
      contextDim: attn2 ? s.info(attn2).shape[1] : undefined,
    };
  }
  if (keys.some((k) => k.startsWith(UNET_PREFIX) || k.startsWith('conditioner.') || /(^|\.)double_blocks\./.test(k))) {
    try {
      const family = detectFamily(keys, file);
      const conv = s.info(`${UNET_PREFIX}input_blocks.0.0.weight`).shape;
      const toK = keys.find((k) => k.startsWith(UNET_PREFIX) && k.endsWith('attn2.to_k.weight'));
      return { kind: 'checkpoint', family, inChannels: conv[1], inpainting: conv[1] === 9, ema: keys.some((k) => k.startsWith('model_ema.')), contextDim: toK ? s.info(toK).shape[1] : 0 };
    } catch (e) {
      if (e instanceof LatentlabError && e.code === 'SINGLE_FILE_UNSUPPORTED') return { kind: 'unsupported-checkpoint', detected: e.message };
      throw e;
    }
  }
  if (keys.some((k) => /^(first_stage_model\.)?decoder\.(up|up_blocks)\./.test(k))) return { kind: 'vae', layout: keys.some((k) => k.startsWith('decoder.up_blocks.')) ? 'diffusers' : 'ldm' };
  // Embeddings: A1111 (.pt: string_to_param.*; .safetensors: emb_params) or diffusers ({token: [n, dim]}).
  const emb = keys.filter((k) => k === 'emb_params' || k.startsWith('string_to_param') || (keys.length <= 4 && s.info(k).shape.length <= 2));
  if (emb.length > 0 && emb.length === keys.length) return embedding(s.info(emb[0]).shape);
  return { kind: 'unknown', firstKeys: keys.slice(0, 5) };
}

/** One line a person reads. */
export function describeText(d: DescribedFile): string {
  const w = d.what;
  const fam = (f?: string) => (f === 'sd1' ? 'SD 1.x' : f === 'sd2' ? 'SD 2.x' : 'unknown base');
  const head = `${d.file}: ${d.format}, ${d.tensors} tensors (${Object.entries(d.dtypes).map(([t, n]) => `${n} ${t}`).join(', ')})`;
  switch (w.kind) {
    case 'checkpoint':
      return `${head}\n${fam(w.family)} checkpoint${w.inpainting ? ', inpainting (9 input channels)' : ''}, cross-attention width ${w.contextDim}${w.ema ? ', with EMA weights' : ''}\nload: --model ${d.file}`;
    case 'unsupported-checkpoint':
      return `${head}\n${w.detected}`;
    case 'lora':
      return `${head}\nLoRA (${w.format === 'kohya' ? 'kohya-ss' : 'diffusers/PEFT'}), rank ${w.ranks.join('/')}, ${w.unetModules} UNet + ${w.textEncoderModules} text-encoder modules${w.convModules ? `, ${w.convModules} 3×3 conv (LoCon)` : ''}${w.contextDim ? `, for ${w.contextDim === 768 ? 'SD 1.x' : w.contextDim === 1024 ? 'SD 2.x' : `cross-attention width ${w.contextDim}`}` : ''}\nload: --lora ${d.file}:1`;
    case 'vae':
      return `${head}\nVAE (${w.layout} key layout)\nload: --vae ${d.file}`;
    case 'embedding':
      return `${head}\ntextual-inversion embedding, ${w.vectors} vector(s) of width ${w.dim} (${fam(w.family)})\nload: --embedding ${d.file}`;
    case 'unknown':
      return `${head}\nnot a file latentlab recognises; first keys: ${w.firstKeys.join(', ')}`;
  }
}
