// A LoRA file, in the two layouts people download (README §16 of the conformance fixtures):
//
//   kohya-ss (sd-scripts networks/lora.py, what civitai mostly serves):
//     lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight   [r, in(, k, k)]
//     lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight     [out, r(, 1, 1)]
//     lora_unet_down_blocks_0_attentions_0_proj_in.alpha              []   scale α / r
//     lora_te_text_model_encoder_layers_0_mlp_fc1.…                        the text encoder
//   diffusers / PEFT (save_lora_weights, 0.27):
//     unet.down_blocks.0.attentions.0.proj_in.lora_A.weight  (= lora_down)
//     unet.down_blocks.0.attentions.0.proj_in.lora_B.weight  (= lora_up; no alpha stored: α = r)
//     text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight
//
// kohya's module names have every "." turned into "_", so they are matched against the model's own
// module paths when the LoRA is applied (models/lora.ts); here the file is only read and checked.

import { LatentlabError } from '../../core/errors.js';
import type { WeightSource } from '../source.js';
import { WeightSet } from '../weight-set.js';

export type LoraComponent = 'unet' | 'text_encoder';

export interface LoraModule {
  component: LoraComponent;
  /** The module's name in the file: kohya's underscored path or PEFT's dotted one. */
  name: string;
  downKey: string;
  upKey: string;
  /** kohya's `.alpha`; undefined means α = rank (scale 1). */
  alpha?: number;
}

export interface LoraFile {
  file: string;
  format: 'kohya' | 'peft';
  source: WeightSource;
  modules: LoraModule[];
  metadata: Readonly<Record<string, string>>;
}

const KOHYA = /^lora_(unet|te)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
const PEFT = /^(unet|text_encoder)\.(.+)\.(lora_A\.weight|lora_B\.weight)$/;

export async function openLoraFile(path: string): Promise<LoraFile> {
  if (!path.toLowerCase().endsWith('.safetensors')) {
    throw new LatentlabError('LORA_FORMAT', `${path}: LoRA files are read as .safetensors`, { file: path, hint: 'convert the file to .safetensors (kohya-ss and diffusers write that format)' });
  }
  const set = await WeightSet.open([path]);
  const keys = set.keys;
  const format = keys.some((k) => KOHYA.test(k)) ? 'kohya' : keys.some((k) => PEFT.test(k)) ? 'peft' : undefined;
  if (!format) {
    const sdxl = keys.find((k) => /^lora_te[12]_/.test(k));
    throw new LatentlabError('LORA_FORMAT', `${path} is not a LoRA latentlab reads${sdxl ? ` (it is an SDXL LoRA: "${sdxl}")` : ''}: no kohya (lora_unet_*.lora_down.weight) or diffusers/PEFT (unet.*.lora_A.weight) keys; first key "${keys[0] ?? '(none)'}"`, {
      file: path, key: keys[0], hint: 'pass a kohya-ss or diffusers LoRA for SD 1.x / 2.x (`latentlab info FILE` tells what a file is)',
    });
  }
  const re = format === 'kohya' ? KOHYA : PEFT;
  const byName = new Map<string, Partial<LoraModule> & { component: LoraComponent; name: string }>();
  const unknown: string[] = [];
  for (const key of keys) {
    const m = re.exec(key);
    if (!m) {
      unknown.push(key);
      continue;
    }
    const component: LoraComponent = m[1] === 'unet' ? 'unet' : 'text_encoder';
    const id = `${component}:${m[2]}`;
    const mod = byName.get(id) ?? { component, name: m[2] };
    byName.set(id, mod);
    if (m[3].startsWith('lora_down') || m[3].startsWith('lora_A')) mod.downKey = key;
    else if (m[3].startsWith('lora_up') || m[3].startsWith('lora_B')) mod.upKey = key;
    else mod.alpha = Number((await set.read(key)).toFloat32().data[0]);
  }
  if (unknown.length > 0) {
    throw new LatentlabError('LORA_UNKNOWN_KEYS', `${path} (${format} LoRA) has ${unknown.length} key(s) latentlab does not know: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''}`, {
      file: path, key: unknown[0], hint: 'this LoRA uses a layout or network type latentlab does not apply (e.g. LoHa, LoKr, DoRA, or an SDXL LoRA); nothing was applied',
    });
  }
  const modules: LoraModule[] = [];
  for (const mod of byName.values()) {
    if (!mod.downKey || !mod.upKey) {
      throw new LatentlabError('LORA_INCOMPLETE', `${path}: module "${mod.name}" has ${mod.downKey ? 'no up' : 'no down'} factor`, {
        file: path, key: mod.downKey ?? mod.upKey, hint: 'the LoRA file is damaged: download it again',
      });
    }
    modules.push(mod as LoraModule);
  }
  return { file: path, format, source: set, modules, metadata: set.files[0].header.metadata ?? {} };
}
