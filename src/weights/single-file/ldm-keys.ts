// The LDM (CompVis / AUTOMATIC1111) key layout of a single-file Stable Diffusion checkpoint, renamed
// to diffusers' module paths as diffusers 0.27 does it (loaders/single_file_utils.py:
// convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint,
// convert_open_clip_checkpoint). Each function maps one component's keys to references into the
// file: a rename keeps the reference, open_clip's fused in_proj is split by rows and the VAE's 1×1
// attention convs are viewed as linear weights — offsets and shapes, never copies.
//
//   model.diffusion_model.input_blocks.4.1.proj_in.weight  →  unet  down_blocks.1.attentions.0.proj_in.weight
//   first_stage_model.decoder.up.3.block.0.conv1.weight    →  vae   decoder.up_blocks.0.resnets.0.conv1.weight
//   cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight [3H, H]
//                                                          →  text_encoder  …layers.0.self_attn.{q,k,v}_proj.weight [H, H]
//
// A key no rule knows keeps its LDM name, so the binder lists it as unexpected — never dropped silently.

import type { WeightData } from '../../core/external.js';
import { reshaped, rows } from '../ref-source.js';
import type { WeightSource } from '../source.js';

export const UNET_PREFIX = 'model.diffusion_model.';
export const VAE_PREFIX = 'first_stage_model.';
export const CLIP_PREFIX = 'cond_stage_model.transformer.';
export const OPEN_CLIP_PREFIX = 'cond_stage_model.model.';

/** LDM ResBlock → diffusers ResnetBlock2D (UNet). */
const UNET_RESNET: readonly [string, string][] = [
  ['in_layers.0.', 'norm1.'], ['in_layers.2.', 'conv1.'], ['emb_layers.1.', 'time_emb_proj.'],
  ['out_layers.0.', 'norm2.'], ['out_layers.3.', 'conv2.'], ['skip_connection.', 'conv_shortcut.'],
];

function renameStart(rest: string, table: readonly [string, string][]): string {
  for (const [from, to] of table) if (rest.startsWith(from)) return to + rest.slice(from.length);
  return rest;
}

/**
 * One UNet key below `model.diffusion_model.`; `L` = layers_per_block. Input block k ≥ 1 is level
 * i = ⌊(k−1)/(L+1)⌋, slot j = (k−1) mod (L+1): j < L a resnet (+ attention), j = L the downsampler.
 * Output block k is up level ⌊k/(L+1)⌋, slot k mod (L+1), each a resnet (+ attention), the last of a
 * level also an upsampler (`.1.conv` when the level has no attention, else `.2.conv`).
 */
export function unetKey(rest: string, L: number): string {
  let m: RegExpExecArray | null;
  if ((m = /^time_embed\.([02])\.(.*)$/.exec(rest))) return `time_embedding.linear_${m[1] === '0' ? 1 : 2}.${m[2]}`;
  if (rest.startsWith('input_blocks.0.0.')) return `conv_in.${rest.slice('input_blocks.0.0.'.length)}`;
  if ((m = /^out\.([02])\.(.*)$/.exec(rest))) return `${m[1] === '0' ? 'conv_norm_out' : 'conv_out'}.${m[2]}`;
  if ((m = /^input_blocks\.(\d+)\.0\.op\.(.*)$/.exec(rest))) return `down_blocks.${Number(m[1]) / (L + 1) - 1}.downsamplers.0.conv.${m[2]}`;
  if ((m = /^input_blocks\.(\d+)\.([01])\.(.*)$/.exec(rest))) {
    const k = Number(m[1]) - 1;
    const [i, j] = [Math.floor(k / (L + 1)), k % (L + 1)];
    return m[2] === '0' ? `down_blocks.${i}.resnets.${j}.${renameStart(m[3], UNET_RESNET)}` : `down_blocks.${i}.attentions.${j}.${m[3]}`;
  }
  if ((m = /^middle_block\.([012])\.(.*)$/.exec(rest))) {
    if (m[1] === '1') return `mid_block.attentions.0.${m[2]}`;
    return `mid_block.resnets.${m[1] === '0' ? 0 : 1}.${renameStart(m[2], UNET_RESNET)}`;
  }
  if ((m = /^output_blocks\.(\d+)\.([012])\.(.*)$/.exec(rest))) {
    const k = Number(m[1]);
    const [i, j] = [Math.floor(k / (L + 1)), k % (L + 1)];
    if (m[2] === '0') return `up_blocks.${i}.resnets.${j}.${renameStart(m[3], UNET_RESNET)}`;
    if (m[3].startsWith('conv.')) return `up_blocks.${i}.upsamplers.0.${m[3]}`;
    if (m[2] === '1') return `up_blocks.${i}.attentions.${j}.${m[3]}`;
  }
  return rest;
}

/** layers_per_block from the keys: the first downsampler is input block L + 1 (undefined for a one-level UNet). */
export function unetLayersPerBlock(keys: readonly string[]): number | undefined {
  let first: number | undefined;
  for (const k of keys) {
    const m = /^model\.diffusion_model\.input_blocks\.(\d+)\.0\.op\./.exec(k);
    if (m && (first === undefined || Number(m[1]) < first)) first = Number(m[1]);
  }
  return first === undefined ? undefined : first - 1;
}

export function unetRefs(file: WeightSource, L: number): Map<string, WeightData> {
  const out = new Map<string, WeightData>();
  for (const key of file.keys) if (key.startsWith(UNET_PREFIX)) out.set(unetKey(key.slice(UNET_PREFIX.length), L), file.ref(key));
  return out;
}

const VAE_ATTENTION: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };

/**
 * One VAE key (below `first_stage_model.`, or a bare LDM VAE file's key); `n` = number of levels.
 * The decoder's LDM levels count up from the lowest resolution, diffusers' up_blocks from the top.
 */
export function vaeKey(key: string, n: number): string {
  let m: RegExpExecArray | null;
  const res = (s: string) => s.replace(/^nin_shortcut\./, 'conv_shortcut.');
  if ((m = /^(encoder|decoder)\.mid\.block_([12])\.(.*)$/.exec(key))) return `${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${res(m[3])}`;
  if ((m = /^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(.*)$/.exec(key))) return `${m[1]}.mid_block.attentions.0.${VAE_ATTENTION[m[2]]}.${m[3]}`;
  if ((m = /^encoder\.down\.(\d+)\.block\.(\d+)\.(.*)$/.exec(key))) return `encoder.down_blocks.${m[1]}.resnets.${m[2]}.${res(m[3])}`;
  if ((m = /^encoder\.down\.(\d+)\.downsample\.conv\.(.*)$/.exec(key))) return `encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`;
  if ((m = /^decoder\.up\.(\d+)\.block\.(\d+)\.(.*)$/.exec(key))) return `decoder.up_blocks.${n - 1 - Number(m[1])}.resnets.${m[2]}.${res(m[3])}`;
  if ((m = /^decoder\.up\.(\d+)\.upsample\.conv\.(.*)$/.exec(key))) return `decoder.up_blocks.${n - 1 - Number(m[1])}.upsamplers.0.conv.${m[2]}`;
  if ((m = /^(encoder|decoder)\.norm_out\.(.*)$/.exec(key))) return `${m[1]}.conv_norm_out.${m[2]}`;
  return key;
}

/** The VAE's number of levels: distinct `decoder.up.<i>` (or encoder.down) indices. */
export function vaeLevels(keys: readonly string[], prefix: string): number {
  const levels = new Set<string>();
  for (const k of keys) {
    const m = /^(?:decoder\.up|encoder\.down)\.(\d+)\./.exec(k.slice(prefix.length));
    if (k.startsWith(prefix) && m) levels.add(m[1]);
  }
  return levels.size;
}

/** The VAE part of the file (keys under `prefix`; '' for a VAE-only file in LDM layout). */
export function vaeRefs(file: WeightSource, prefix: string): Map<string, WeightData> {
  const n = vaeLevels(file.keys, prefix);
  const out = new Map<string, WeightData>();
  for (const key of file.keys) {
    if (!key.startsWith(prefix)) continue;
    const name = vaeKey(key.slice(prefix.length), n);
    const ref = file.ref(key);
    // The mid-block attention's q, k, v, proj_out are 1×1 convs [C, C, 1, 1] in LDM, linear [C, C] in diffusers.
    const squeeze = /\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/.test(name) && ref.shape.length === 4;
    out.set(name, squeeze ? reshaped(ref, ref.shape.slice(0, 2)) : ref);
  }
  return out;
}

/** SD 1.x: the Hugging Face CLIPTextModel's own keys after the prefix (old files lack `text_model.`). */
export function clipRefs(file: WeightSource): Map<string, WeightData> {
  const out = new Map<string, WeightData>();
  for (const key of file.keys) {
    if (!key.startsWith(CLIP_PREFIX)) continue;
    const rest = key.slice(CLIP_PREFIX.length);
    out.set(rest.startsWith('text_model.') ? rest : `text_model.${rest}`, file.ref(key));
  }
  return out;
}

const OPEN_CLIP_LAYER: readonly [string, string][] = [
  ['ln_1.', 'layer_norm1.'], ['ln_2.', 'layer_norm2.'], ['attn.out_proj.', 'self_attn.out_proj.'], ['mlp.c_fc.', 'mlp.fc1.'], ['mlp.c_proj.', 'mlp.fc2.'],
];

/** Number of open_clip resblocks in the file. */
export function openClipLayers(keys: readonly string[]): number {
  const layers = new Set<string>();
  for (const k of keys) {
    const m = /^cond_stage_model\.model\.transformer\.resblocks\.(\d+)\./.exec(k);
    if (m) layers.add(m[1]);
  }
  return layers.size;
}

/**
 * SD 2.x: open_clip's text transformer as transformers' CLIPTextModel with `layers` layers (SD 2
 * uses the penultimate block's output, so diffusers' text encoder has one layer fewer than the file;
 * the blocks above are left out). text_projection and logit_scale are CLIP's image-text head, unused.
 */
export function openClipRefs(file: WeightSource, layers: number): Map<string, WeightData> {
  const out = new Map<string, WeightData>();
  const emb = 'text_model.embeddings.';
  for (const key of file.keys) {
    if (!key.startsWith(OPEN_CLIP_PREFIX)) continue;
    const rest = key.slice(OPEN_CLIP_PREFIX.length);
    const ref = file.ref(key);
    let m: RegExpExecArray | null;
    if (rest === 'text_projection' || rest === 'logit_scale') continue;
    if (rest === 'token_embedding.weight') out.set(`${emb}token_embedding.weight`, ref);
    else if (rest === 'positional_embedding') out.set(`${emb}position_embedding.weight`, ref);
    else if ((m = /^ln_final\.(.*)$/.exec(rest))) out.set(`text_model.final_layer_norm.${m[1]}`, ref);
    else if ((m = /^transformer\.resblocks\.(\d+)\.(.*)$/.exec(rest))) {
      if (Number(m[1]) >= layers) continue;
      const layer = `text_model.encoder.layers.${m[1]}.`;
      const fused = /^attn\.in_proj_(weight|bias)$/.exec(m[2]);
      if (fused) {
        // Rows [0, H), [H, 2H), [2H, 3H) are q, k, v (split by rows / 3, not by text_projection's width).
        const h = ref.shape[0] / 3;
        ['q', 'k', 'v'].forEach((p, i) => out.set(`${layer}self_attn.${p}_proj.${fused[1]}`, rows(ref, i * h, (i + 1) * h)));
      } else out.set(layer + renameStart(m[2], OPEN_CLIP_LAYER), ref);
    } else out.set(rest, ref);
  }
  return out;
}
