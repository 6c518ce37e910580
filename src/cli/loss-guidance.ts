// --loss-guidance: the deep dive's "guidance with a loss" as presets (docs/cli.md).
//
//   blue[:SCALE[:EVERY]]             the notebook's blue loss, mean(|image[:, 2] − 0.9|) · SCALE
//   color=#RRGGBB[:SCALE[:EVERY]]    mean over the 3 channels of mean(|image[:, c] − target_c|) · SCALE
//
// SCALE defaults to 200 and EVERY to 5 (the notebook's): the latents are guided at steps i with
// i % EVERY == 0. The flag may be repeated; each preset is its own entry of the pipelines'
// `lossGuidance` option. The canonical text (`blue:200:5`) is what the report and the PNG record.

import { blueLoss, colorLoss, DEFAULT_LOSS_GUIDANCE_EVERY, type LossGuidance } from '../node.js';
import { flagError } from './errors.js';
import { integerFlag, numberFlag } from './values.js';

const FLAG = '--loss-guidance';
export const DEFAULT_LOSS_GUIDANCE_SCALE = 200;

export interface LossGuidancePreset {
  preset: 'blue' | 'color';
  /** color: the target as #rrggbb (lower case). */
  color?: string;
  scale: number;
  every: number;
}

const EXPECTED = 'blue[:SCALE[:EVERY]] or color=#RRGGBB[:SCALE[:EVERY]] (SCALE a number, EVERY an integer ≥ 1)';
const HINT = 'e.g. --loss-guidance blue, --loss-guidance blue:400:2, --loss-guidance color=#ff8000:300';

/** One preset from its text; repeated flags collect into a list. */
export function lossGuidanceFlag(text: string, previous: LossGuidancePreset[] | undefined): LossGuidancePreset[] {
  const [name, scaleText, everyText, ...rest] = text.trim().split(':');
  const color = /^color=#([0-9a-fA-F]{6})$/.exec(name);
  if ((name !== 'blue' && !color) || rest.length > 0) throw flagError(FLAG, text, EXPECTED, HINT);
  const part = <T>(piece: string | undefined, parse: (t: string) => T, fallback: T): T => {
    if (piece === undefined) return fallback;
    try {
      return parse(piece);
    } catch {
      throw flagError(FLAG, text, EXPECTED, HINT);
    }
  };
  const preset: LossGuidancePreset = {
    preset: color ? 'color' : 'blue',
    ...(color ? { color: `#${color[1].toLowerCase()}` } : {}),
    scale: part(scaleText, numberFlag(FLAG), DEFAULT_LOSS_GUIDANCE_SCALE),
    every: part(everyText, integerFlag(FLAG, 1), DEFAULT_LOSS_GUIDANCE_EVERY),
  };
  return [...(previous ?? []), preset];
}

/** The canonical text: `blue:200:5`, `color=#ff8000:300:5`. */
export function lossGuidanceText(p: LossGuidancePreset): string {
  return `${p.preset === 'color' ? `color=${p.color}` : 'blue'}:${p.scale}:${p.every}`;
}

/** The pipelines' option entry for a preset. */
export function lossGuidanceEntry(p: LossGuidancePreset): LossGuidance {
  if (p.preset === 'blue') return { loss: blueLoss, scale: p.scale, every: p.every };
  const hex = p.color!.slice(1);
  const rgb = [0, 2, 4].map((k) => parseInt(hex.slice(k, k + 2), 16) / 255) as [number, number, number];
  return { loss: colorLoss(rgb), scale: p.scale, every: p.every };
}
