// What kind of single-file checkpoint a set of keys is, from the keys alone (diffusers 0.27's
// infer_model_type / CHECKPOINT_KEY_NAMES does the same): latentlab runs SD 1.x and 2.x; the others
// are named so the error says what the file is instead of listing a thousand unexpected keys.

import { LatentlabError } from '../../core/errors.js';
import { CLIP_PREFIX, OPEN_CLIP_PREFIX, UNET_PREFIX } from './ldm-keys.js';

export type CheckpointFamily = 'sd1' | 'sd2';

/** Marker keys of the families latentlab does not run (first match wins). */
const OTHERS: readonly [RegExp, string][] = [
  [/^conditioner\.embedders\.1\.model\./, 'Stable Diffusion XL (base: two text encoders under conditioner.embedders.*)'],
  [/^conditioner\.embedders\.0\.model\.transformer\./, 'Stable Diffusion XL refiner (conditioner.embedders.0 is OpenCLIP bigG)'],
  [/^model\.diffusion_model\.label_emb\./, 'Stable Diffusion XL or another class-conditioned UNet (label_emb)'],
  [/^model\.diffusion_model\.joint_blocks\./, 'Stable Diffusion 3 (an MMDiT: joint_blocks)'],
  [/^(model\.diffusion_model\.)?double_blocks\./, 'FLUX (double_blocks)'],
  [/^(model\.diffusion_model\.)?transformer_blocks\.\d+\.attn\.to_q/, 'a diffusion transformer (transformer_blocks at the top level)'],
];

/** The family, or a LatentlabError naming what was detected instead. */
export function detectFamily(keys: readonly string[], file: string): CheckpointFamily {
  for (const [re, what] of OTHERS) {
    const hit = keys.find((k) => re.test(k));
    if (hit) {
      throw new LatentlabError('SINGLE_FILE_UNSUPPORTED', `${file} is ${what}, detected from the key "${hit}"; latentlab runs Stable Diffusion 1.x and 2.x checkpoints`, {
        file, key: hit, hint: 'use an SD 1.x / 2.x checkpoint (or its diffusers folder)',
      });
    }
  }
  const hasUnet = keys.some((k) => k.startsWith(UNET_PREFIX));
  const sd1 = keys.some((k) => k.startsWith(CLIP_PREFIX));
  const sd2 = keys.some((k) => k.startsWith(OPEN_CLIP_PREFIX));
  if (hasUnet && sd1 !== sd2) return sd1 ? 'sd1' : 'sd2';
  const what = !hasUnet ? guessPartial(keys) : sd1 ? 'both a CLIP and an OpenCLIP text encoder' : 'no text encoder (neither cond_stage_model.transformer.* nor cond_stage_model.model.*)';
  throw new LatentlabError('SINGLE_FILE_NOT_A_CHECKPOINT', `${file} is not a complete Stable Diffusion checkpoint: ${what}`, {
    file, key: keys[0], hint: 'pass a full SD 1.x / 2.x checkpoint; a VAE goes to --vae, a LoRA to --lora, an embedding to --embedding (`latentlab info FILE` tells which a file is)',
  });
}

function guessPartial(keys: readonly string[]): string {
  if (keys.some((k) => /lora_(down|up|A|B)\b|\.lora\./.test(k))) return 'it holds LoRA weights';
  if (keys.some((k) => /^(first_stage_model\.)?(encoder|decoder)\.(down|up|mid)\./.test(k) || k.startsWith('decoder.up_blocks.'))) return 'it holds only a VAE';
  if (keys.length <= 4 && keys.some((k) => k === 'string_to_param' || k === 'emb_params' || k.startsWith('string_to_param'))) return 'it is a textual-inversion embedding';
  return `it has no UNet (no key starts with "${UNET_PREFIX}")`;
}
