// Saving a diffusers pipeline's weights as ONE checkpoint in the original LDM layout: the inverse of
// ldm-keys.ts, as diffusers 0.27's scripts/convert_diffusers_to_original_stable_diffusion.py does
// it, so the file opens in AUTOMATIC1111 / ComfyUI and in latentlab's own `fromSingleFile`.
//
//   unet  down_blocks.1.attentions.0.proj_in.weight  →  model.diffusion_model.input_blocks.4.1.proj_in.weight
//   vae   decoder.up_blocks.0.resnets.0.conv1.weight  →  first_stage_model.decoder.up.3.block.0.conv1.weight
//   vae   mid_block.attentions.0.to_q.weight [C, C]   →  …mid.attn_1.q.weight [C, C, 1, 1]   (a view)
//   text  SD 1: cond_stage_model.transformer.<the CLIPTextModel key>
//         SD 2: cond_stage_model.model.<OpenCLIP names>, q/k/v fused into in_proj_weight [3H, H] (a copy)
//
// Renamed tensors stay references into the folder's files (the writer streams them through); only
// the fused in_proj rows are assembled in memory. Two things the diffusers folder does not hold are
// written the way real checkpoints have them: SD 1's `position_ids` buffer (0…76), and for SD 2 the
// OpenCLIP block *above* the ones diffusers keeps — SD 2 reads the penultimate block's output, so a
// file with N + 1 blocks is what makes every loader (ours, A1111's, diffusers') use exactly the N
// layers of the folder. That top block and `text_projection` are zeros: nothing computes with them.

import { LatentlabError } from '../../core/errors.js';
import type { WeightData } from '../../core/external.js';
import { Tensor } from '../../core/tensor.js';
import { writeSafetensors } from '../safetensors-write.js';
import { reshaped } from '../ref-source.js';
import { readWeightData, type WeightSource } from '../source.js';
import type { CheckpointFamily } from './detect.js';
import { CLIP_PREFIX, OPEN_CLIP_PREFIX, UNET_PREFIX, VAE_PREFIX } from './ldm-keys.js';

export interface DiffusersWeights {
  unet: WeightSource;
  vae: WeightSource;
  textEncoder: WeightSource;
}

const UNET_RESNET: readonly [string, string][] = [
  ['norm1.', 'in_layers.0.'], ['conv1.', 'in_layers.2.'], ['time_emb_proj.', 'emb_layers.1.'],
  ['norm2.', 'out_layers.0.'], ['conv2.', 'out_layers.3.'], ['conv_shortcut.', 'skip_connection.'],
];

function renameStart(rest: string, table: readonly [string, string][]): string {
  for (const [from, to] of table) if (rest.startsWith(from)) return to + rest.slice(from.length);
  return rest;
}

/** One diffusers UNet key → its LDM name below `model.diffusion_model.` (L = layers_per_block). */
export function ldmUnetKey(key: string, L: number, upHasAttention: (i: number) => boolean): string {
  let m: RegExpExecArray | null;
  if ((m = /^time_embedding\.linear_([12])\.(.*)$/.exec(key))) return `time_embed.${m[1] === '1' ? 0 : 2}.${m[2]}`;
  if ((m = /^conv_in\.(.*)$/.exec(key))) return `input_blocks.0.0.${m[1]}`;
  if ((m = /^conv_norm_out\.(.*)$/.exec(key))) return `out.0.${m[1]}`;
  if ((m = /^conv_out\.(.*)$/.exec(key))) return `out.2.${m[1]}`;
  if ((m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$/.exec(key))) {
    const k = (L + 1) * Number(m[1]) + Number(m[3]) + 1;
    return m[2] === 'resnets' ? `input_blocks.${k}.0.${renameStart(m[4], UNET_RESNET)}` : `input_blocks.${k}.1.${m[4]}`;
  }
  if ((m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$/.exec(key))) return `input_blocks.${(L + 1) * (Number(m[1]) + 1)}.0.op.${m[2]}`;
  if ((m = /^mid_block\.attentions\.0\.(.*)$/.exec(key))) return `middle_block.1.${m[1]}`;
  if ((m = /^mid_block\.resnets\.([01])\.(.*)$/.exec(key))) return `middle_block.${m[1] === '0' ? 0 : 2}.${renameStart(m[2], UNET_RESNET)}`;
  if ((m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$/.exec(key))) {
    const k = (L + 1) * Number(m[1]) + Number(m[3]);
    return m[2] === 'resnets' ? `output_blocks.${k}.0.${renameStart(m[4], UNET_RESNET)}` : `output_blocks.${k}.1.${m[4]}`;
  }
  if ((m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$/.exec(key))) {
    const i = Number(m[1]);
    return `output_blocks.${(L + 1) * i + L}.${upHasAttention(i) ? 2 : 1}.conv.${m[2]}`;
  }
  throw new LatentlabError('SINGLE_FILE_SAVE', `the UNet key "${key}" has no place in the LDM layout`, {
    key, hint: 'only SD 1.x / 2.x UNets (UNet2DConditionModel with the standard blocks) can be saved as a single file',
  });
}

const VAE_ATTENTION: Record<string, string> = { group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out' };

/** One diffusers VAE key → its LDM name below `first_stage_model.` (n = number of levels). */
export function ldmVaeKey(key: string, n: number): string {
  let m: RegExpExecArray | null;
  const res = (s: string) => s.replace(/^conv_shortcut\./, 'nin_shortcut.');
  if ((m = /^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.*)$/.exec(key))) return `${m[1]}.mid.block_${Number(m[2]) + 1}.${res(m[3])}`;
  if ((m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(.*)$/.exec(key))) return `${m[1]}.mid.attn_1.${VAE_ATTENTION[m[2]]}.${m[3]}`;
  if ((m = /^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/.exec(key))) return `encoder.down.${m[1]}.block.${m[2]}.${res(m[3])}`;
  if ((m = /^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$/.exec(key))) return `encoder.down.${m[1]}.downsample.conv.${m[2]}`;
  if ((m = /^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/.exec(key))) return `decoder.up.${n - 1 - Number(m[1])}.block.${m[2]}.${res(m[3])}`;
  if ((m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$/.exec(key))) return `decoder.up.${n - 1 - Number(m[1])}.upsample.conv.${m[2]}`;
  if ((m = /^(encoder|decoder)\.conv_norm_out\.(.*)$/.exec(key))) return `${m[1]}.norm_out.${m[2]}`;
  return key; // conv_in, conv_out, quant_conv, post_quant_conv
}

function distinct(keys: readonly string[], re: RegExp): Set<string> {
  const out = new Set<string>();
  for (const k of keys) {
    const m = re.exec(k);
    if (m) out.add(m[1]);
  }
  return out;
}

function unetState(unet: WeightSource, out: Map<string, WeightData>): void {
  const L = distinct(unet.keys, /^down_blocks\.0\.resnets\.(\d+)\./).size;
  const withAttention = distinct(unet.keys, /^up_blocks\.(\d+)\.attentions\./);
  for (const key of unet.keys) out.set(UNET_PREFIX + ldmUnetKey(key, L, (i) => withAttention.has(String(i))), unet.ref(key));
}

function vaeState(vae: WeightSource, out: Map<string, WeightData>): void {
  const n = distinct(vae.keys, /^decoder\.up_blocks\.(\d+)\./).size;
  for (const key of vae.keys) {
    const name = ldmVaeKey(key, n);
    const ref = vae.ref(key);
    // The mid-block attention's linear weights are 1×1 convs in LDM: the same bytes, shape [C, C, 1, 1].
    const conv = /\.mid\.attn_1\.(q|k|v|proj_out)\.weight$/.test(name) && ref.shape.length === 2;
    out.set(VAE_PREFIX + name, conv ? reshaped(ref, [...ref.shape, 1, 1]) : ref);
  }
}

const OPEN_CLIP_LAYER: readonly [string, string][] = [
  ['layer_norm1.', 'ln_1.'], ['layer_norm2.', 'ln_2.'], ['self_attn.out_proj.', 'attn.out_proj.'], ['mlp.fc1.', 'mlp.c_fc.'], ['mlp.fc2.', 'mlp.c_proj.'],
];

async function openClipState(text: WeightSource, out: Map<string, WeightData>): Promise<void> {
  const O = OPEN_CLIP_PREFIX;
  const layers = distinct(text.keys, /^text_model\.encoder\.layers\.(\d+)\./).size;
  const fused = new Map<string, Tensor[]>(); // "transformer.resblocks.l.attn.in_proj_weight" → [q, k, v]
  for (const key of text.keys) {
    let m: RegExpExecArray | null;
    if (key === 'text_model.embeddings.token_embedding.weight') out.set(`${O}token_embedding.weight`, text.ref(key));
    else if (key === 'text_model.embeddings.position_embedding.weight') out.set(`${O}positional_embedding`, text.ref(key));
    else if (key === 'text_model.embeddings.position_ids') continue;
    else if ((m = /^text_model\.final_layer_norm\.(.*)$/.exec(key))) out.set(`${O}ln_final.${m[1]}`, text.ref(key));
    else if ((m = /^text_model\.encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)$/.exec(key))) {
      const name = `transformer.resblocks.${m[1]}.attn.in_proj_${m[3]}`;
      const parts = fused.get(name) ?? [];
      parts['qkv'.indexOf(m[2])] = await readWeightData(text.ref(key));
      fused.set(name, parts);
    } else if ((m = /^text_model\.encoder\.layers\.(\d+)\.(.*)$/.exec(key))) out.set(`${O}transformer.resblocks.${m[1]}.${renameStart(m[2], OPEN_CLIP_LAYER)}`, text.ref(key));
    else {
      throw new LatentlabError('SINGLE_FILE_SAVE', `the text encoder key "${key}" has no OpenCLIP name`, { key, hint: 'only CLIPTextModel text encoders can be saved as a single file' });
    }
  }
  for (const [name, parts] of fused) {
    if (parts.length !== 3 || parts.some((p) => p === undefined)) throw new LatentlabError('SINGLE_FILE_SAVE', `${name}: the text encoder lacks one of q/k/v_proj`, { key: name });
    out.set(O + name, Tensor.cat0(parts));
  }
  // The block above diffusers' last layer (see the header): zeros of the last layer's shapes.
  for (const [key, data] of [...out]) {
    const m = /^(cond_stage_model\.model\.transformer\.resblocks\.)(\d+)\.(.*)$/.exec(key);
    if (m && Number(m[2]) === layers - 1) out.set(`${m[1]}${layers}.${m[3]}`, Tensor.zeros(data.shape, data.dtype));
  }
  const [, hidden] = text.info('text_model.embeddings.token_embedding.weight').shape;
  const dtype = text.info('text_model.embeddings.token_embedding.weight').dtype;
  out.set(`${O}text_projection`, Tensor.zeros([hidden, hidden], dtype));
}

/** The LDM state dict of a pipeline's three networks (renames are references; see the header). */
export async function ldmStateDict(parts: DiffusersWeights, family: CheckpointFamily): Promise<Map<string, WeightData>> {
  const out = new Map<string, WeightData>();
  unetState(parts.unet, out);
  vaeState(parts.vae, out);
  if (family === 'sd1') {
    for (const key of parts.textEncoder.keys) out.set(CLIP_PREFIX + key, parts.textEncoder.ref(key));
    const ids = `${CLIP_PREFIX}text_model.embeddings.position_ids`;
    const positions = parts.textEncoder.info('text_model.embeddings.position_embedding.weight').shape[0];
    if (!out.has(ids)) out.set(ids, Tensor.int64([1, positions], Array.from({ length: positions }, (_, i) => i)));
  } else {
    await openClipState(parts.textEncoder, out);
  }
  return out;
}

/** Writes the single-file checkpoint (.safetensors, atomically). */
export async function saveSingleFile(path: string, parts: DiffusersWeights, family: CheckpointFamily, metadata?: Record<string, string>): Promise<void> {
  if (!path.toLowerCase().endsWith('.safetensors')) {
    throw new LatentlabError('SINGLE_FILE_SAVE', `${path}: single files are written as .safetensors`, { file: path, hint: 'name the output FILE.safetensors' });
  }
  await writeSafetensors(path, await ldmStateDict(parts, family), metadata);
}
