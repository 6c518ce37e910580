// Applying LoRA files to a model: each file's modules are matched to the model's own module paths
// (kohya's "lora_unet_down_blocks_0_…" by the path with "." → "_", PEFT's by the dotted path), the
// factor shapes are checked against the base weight, and the result is a LoRA plan for the graph
// builders (nn/lora.ts) plus the factors as extra graph weights — references into the LoRA file.
// A key that matches no module, or a factor of the wrong size, is an error naming the file, the key
// and the module: a LoRA for another base model must never run as a silently different picture.

import { fmtShape, LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import { type LoraBranch, loraKeys, type LoraPlan } from '../nn/lora.js';
import { reshaped } from '../weights/ref-source.js';
import type { LoraComponent, LoraFile } from '../weights/lora/lora-file.js';
import { SessionCache } from './pretrained.js';

/** A LoRA file and its weight (diffusers' lora_scale, A1111's `<lora:name:weight>`). */
export interface LoraUse {
  file: LoraFile;
  weight: number;
}

export interface AppliedLoras {
  plan: LoraPlan;
  /** The factors, under the keys the plan's branches declare. */
  weights: Map<string, WeightData>;
  /** How many modules each file touched in this model. */
  counts: number[];
}

/** The plan for `component` of `uses`, given the model's bound weights (checkpoint key → data). */
export function applyLoras(uses: readonly LoraUse[], component: LoraComponent, base: ReadonlyMap<string, WeightData>): AppliedLoras {
  const modules = new Map<string, string>(); // dotted path (and its underscored spelling) → dotted path
  for (const key of base.keys()) {
    if (!key.endsWith('.weight')) continue;
    const path = key.slice(0, -'.weight'.length);
    modules.set(path, path);
    modules.set(path.replace(/\./g, '_'), path);
  }
  const plan = new Map<string, LoraBranch[]>();
  const weights = new Map<string, WeightData>();
  const counts: number[] = [];
  for (const { file, weight } of uses) {
    if (typeof weight !== 'number' || !Number.isFinite(weight)) {
      throw new LatentlabError('LORA_WEIGHT', `${file.file}: LoRA weight ${weight} is not a finite number`, { file: file.file, hint: 'use e.g. 0.8 (1 = as trained, 0 = off)' });
    }
    const mine = file.modules.filter((m) => m.component === component);
    const unmatched = mine.filter((m) => !modules.has(m.name));
    if (unmatched.length > 0) {
      throw new LatentlabError('LORA_UNMATCHED', `${file.file}: ${unmatched.length} ${component} module(s) of the LoRA are not in the model: ${unmatched.slice(0, 8).map((m) => m.name).join(', ')}${unmatched.length > 8 ? ', …' : ''}`, {
        file: file.file, key: unmatched[0].downKey, hint: 'the LoRA was trained for another base model (SD 1.x vs 2.x vs XL): use a LoRA made for this checkpoint',
      });
    }
    for (const m of mine) {
      const path = modules.get(m.name)!;
      const w = base.get(`${path}.weight`)!;
      let down = file.source.ref(m.downKey);
      let up = file.source.ref(m.upKey);
      const rank = down.shape[0];
      const conv = w.shape.length === 4;
      // A linear LoRA on a 1×1 conv (SD 1's proj_in/proj_out) or a 1×1 conv LoRA on a linear: same numbers, another view.
      if (conv && down.shape.length === 2) [down, up] = [reshaped(down, [...down.shape, 1, 1]), reshaped(up, [...up.shape, 1, 1])];
      if (!conv && down.shape.length === 4 && down.shape[2] * down.shape[3] === 1) [down, up] = [reshaped(down, down.shape.slice(0, 2)), reshaped(up, up.shape.slice(0, 2))];
      const fits = up.shape[1] === rank && up.shape[0] === w.shape[0] && down.shape[1] === w.shape[1]
        && (conv ? down.shape.length === 4 && up.shape.length === 4 && up.shape[2] === 1 && up.shape[3] === 1 && down.shape[2] === w.shape[2] && down.shape[3] === w.shape[3] : down.shape.length === 2 && up.shape.length === 2);
      if (!fits) {
        throw new LatentlabError('LORA_SHAPE', `${file.file}: LoRA factors of "${m.name}" are down ${fmtShape(down.shape)}, up ${fmtShape(up.shape)}; the model's ${component} ${path}.weight is ${fmtShape(w.shape)}`, {
          file: file.file, key: m.downKey, hint: 'the LoRA was trained for another base model (its layer sizes differ): use a LoRA made for this checkpoint',
        });
      }
      const branches = plan.get(path) ?? [];
      const k = loraKeys(path, branches.length);
      // kohya-ss: scale = weight · α / r (α = r when the file stores none, as diffusers assumes).
      branches.push({ downShape: down.shape, upShape: up.shape, scale: (weight * (m.alpha ?? rank)) / rank });
      plan.set(path, branches);
      weights.set(k.down, down);
      weights.set(k.up, up);
    }
    counts.push(mine.length);
  }
  return { plan, weights, counts };
}

/**
 * What a model's setLoras does: the old sessions released, new ones over the base weights plus the
 * factors, and the plan their graphs are built with (undefined: no LoRA).
 */
export async function loraSessions(uses: readonly LoraUse[], component: LoraComponent, base: SessionCache, old: SessionCache): Promise<{ sessions: SessionCache; plan?: LoraPlan; counts: number[] }> {
  const applied = applyLoras(uses, component, base.weights);
  await old.release();
  const sessions = new SessionCache(new Map([...base.weights, ...applied.weights]), old.options);
  return { sessions, plan: uses.length > 0 ? applied.plan : undefined, counts: applied.counts };
}
