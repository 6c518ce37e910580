// Scheduler names → class + config overrides. Resolves latentlab's short names (`euler-a`,
// `dpm++2m-karras`, …), diffusers class names (`EulerAncestralDiscreteScheduler`) and AUTOMATIC1111
// sampler names (`Euler a`, `DPM++ 2M Karras`, …), case-insensitively, and builds a scheduler from a
// model's scheduler_config.json the way `Class.from_config(pipe.scheduler.config, **overrides)` does:
// the config's explicit fields are kept, the new class's defaults fill the rest.

import { LatentlabError } from '../core/errors.js';
import type { Scheduler } from './base.js';
import type { ClassSpec, SchedulerConfigInput } from './config.js';
import { DDIMScheduler } from './ddim.js';
import { DDPMScheduler } from './ddpm.js';
import { DEISMultistepScheduler } from './deis.js';
import { DPMSolverMultistepScheduler } from './dpm-multistep.js';
import { DPMSolverSinglestepScheduler } from './dpm-singlestep.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { EulerDiscreteScheduler } from './euler.js';
import { HeunDiscreteScheduler } from './heun.js';
import { KDPM2DiscreteScheduler } from './kdpm2.js';
import { LCMScheduler } from './lcm.js';
import { LMSDiscreteScheduler } from './lms.js';
import { PNDMScheduler } from './pndm.js';
import { TCDScheduler } from './tcd.js';
import { UniPCMultistepScheduler } from './unipc.js';

export type SchedulerClass = (new (config?: SchedulerConfigInput) => Scheduler) & { readonly spec: ClassSpec };

export const SCHEDULER_CLASSES: readonly SchedulerClass[] = [
  DDPMScheduler, DDIMScheduler, PNDMScheduler, LMSDiscreteScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
  HeunDiscreteScheduler, DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler, KDPM2DiscreteScheduler,
  UniPCMultistepScheduler, DEISMultistepScheduler, LCMScheduler, TCDScheduler,
];

/** A resolved name: which class, and which config fields the name implies. */
export interface SchedulerChoice {
  /** The canonical short name (`euler-a`). */
  readonly name: string;
  readonly className: string;
  readonly overrides: Readonly<Record<string, unknown>>;
  /** AUTOMATIC1111's name for it, where A1111 has one. */
  readonly a1111?: string;
}

const K = { use_karras_sigmas: true };
const NOT_K = { use_karras_sigmas: false };
const DPMPP = { algorithm_type: 'dpmsolver++', solver_order: 2 };
const SDE = { algorithm_type: 'sde-dpmsolver++', solver_order: 2 };

/** The canonical names, in the order `schedulerNames()` lists them. */
const CHOICES: readonly SchedulerChoice[] = [
  { name: 'ddpm', className: 'DDPMScheduler', overrides: {} },
  { name: 'ddim', className: 'DDIMScheduler', overrides: {}, a1111: 'DDIM' },
  { name: 'pndm', className: 'PNDMScheduler', overrides: {} },
  { name: 'plms', className: 'PNDMScheduler', overrides: { skip_prk_steps: true }, a1111: 'PLMS' },
  { name: 'lms', className: 'LMSDiscreteScheduler', overrides: NOT_K, a1111: 'LMS' },
  { name: 'lms-karras', className: 'LMSDiscreteScheduler', overrides: K, a1111: 'LMS Karras' },
  { name: 'euler', className: 'EulerDiscreteScheduler', overrides: NOT_K, a1111: 'Euler' },
  { name: 'euler-karras', className: 'EulerDiscreteScheduler', overrides: K },
  { name: 'euler-a', className: 'EulerAncestralDiscreteScheduler', overrides: {}, a1111: 'Euler a' },
  { name: 'heun', className: 'HeunDiscreteScheduler', overrides: NOT_K, a1111: 'Heun' },
  { name: 'heun-karras', className: 'HeunDiscreteScheduler', overrides: K },
  { name: 'dpm++2m', className: 'DPMSolverMultistepScheduler', overrides: { ...DPMPP, ...NOT_K }, a1111: 'DPM++ 2M' },
  { name: 'dpm++2m-karras', className: 'DPMSolverMultistepScheduler', overrides: { ...DPMPP, ...K }, a1111: 'DPM++ 2M Karras' },
  { name: 'dpm++2m-sde', className: 'DPMSolverMultistepScheduler', overrides: { ...SDE, ...NOT_K }, a1111: 'DPM++ 2M SDE' },
  { name: 'dpm++2m-sde-karras', className: 'DPMSolverMultistepScheduler', overrides: { ...SDE, ...K }, a1111: 'DPM++ 2M SDE Karras' },
  { name: 'dpm-single', className: 'DPMSolverSinglestepScheduler', overrides: {} },
  { name: 'kdpm2', className: 'KDPM2DiscreteScheduler', overrides: NOT_K, a1111: 'DPM2' },
  { name: 'kdpm2-karras', className: 'KDPM2DiscreteScheduler', overrides: K, a1111: 'DPM2 Karras' },
  { name: 'unipc', className: 'UniPCMultistepScheduler', overrides: {}, a1111: 'UniPC' },
  { name: 'deis', className: 'DEISMultistepScheduler', overrides: {} },
  { name: 'lcm', className: 'LCMScheduler', overrides: {}, a1111: 'LCM' },
  // A1111 has no TCD sampler (its feature request #15326 is open); "tcd" goes into the metadata.
  { name: 'tcd', className: 'TCDScheduler', overrides: {} },
];

const norm = (s: string) => s.trim().toLowerCase().replace(/[\s_]+/g, ' ');

const LOOKUP = new Map<string, SchedulerChoice>();
for (const c of CHOICES) {
  LOOKUP.set(norm(c.name), c);
  if (c.a1111) LOOKUP.set(norm(c.a1111), c);
}
for (const cls of SCHEDULER_CLASSES) {
  const className = cls.spec.className;
  // A class name alone keeps the model config's own options (no overrides).
  LOOKUP.set(norm(className), { name: CHOICES.find((c) => c.className === className)!.name, className, overrides: {} });
}

/** The canonical choices (short name, class, implied config fields, A1111 name), e.g. for a sampler list. */
export function schedulerChoices(): readonly SchedulerChoice[] {
  return CHOICES;
}

/** Every accepted name: short names, AUTOMATIC1111 names, diffusers class names. */
export function schedulerNames(): string[] {
  return [...CHOICES.map((c) => c.name), ...CHOICES.flatMap((c) => (c.a1111 ? [c.a1111] : [])), ...SCHEDULER_CLASSES.map((c) => c.spec.className)];
}

export function resolveSchedulerName(name: string): SchedulerChoice {
  const hit = typeof name === 'string' ? LOOKUP.get(norm(name)) : undefined;
  if (!hit) {
    throw new LatentlabError('SCHEDULER_UNKNOWN', `unknown scheduler ${JSON.stringify(name)}; expected one of: ${schedulerNames().join(', ')}`, {
      hint: 'names are case-insensitive; e.g. "euler-a", "Euler a" and "EulerAncestralDiscreteScheduler" are the same sampler.',
    });
  }
  return hit;
}

export function schedulerClass(className: string): SchedulerClass {
  const cls = SCHEDULER_CLASSES.find((c) => c.spec.className === className);
  if (!cls) {
    throw new LatentlabError('SCHEDULER_UNKNOWN', `unknown scheduler class ${JSON.stringify(className)}; expected one of: ${SCHEDULER_CLASSES.map((c) => c.spec.className).join(', ')}`, {
      hint: 'pick a scheduler by name ({ name: "euler-a" }) to replace a class latentlab does not implement.',
    });
  }
  return cls;
}

/**
 * Builds a scheduler from a model's scheduler config. Without `name`, the config's `_class_name`
 * decides; with one, that class is built from the same config plus the name's implied fields.
 * `overrides` win over both.
 */
export function schedulerFromConfig(config: SchedulerConfigInput, opts: { name?: string; overrides?: SchedulerConfigInput } = {}): Scheduler {
  const choice = opts.name !== undefined ? resolveSchedulerName(opts.name) : undefined;
  const className = choice?.className ?? (config._class_name as string | undefined);
  if (typeof className !== 'string') {
    throw new LatentlabError('SCHEDULER_UNKNOWN', 'the scheduler config has no "_class_name" and no scheduler name was given', {
      hint: 'pass { name: "euler-a" } (or any of schedulerNames()), or a scheduler_config.json with "_class_name".',
    });
  }
  const cls = schedulerClass(className);
  return new cls({ ...config, ...choice?.overrides, ...opts.overrides });
}

/** The canonical short name of a configured scheduler (the most specific name that matches). */
export function schedulerName(scheduler: Scheduler): string {
  return matchChoice(scheduler)?.name ?? scheduler.className;
}

/** AUTOMATIC1111's sampler name for a configured scheduler (for PNG metadata), else the short name. */
export function a1111SamplerName(scheduler: Scheduler): string {
  const c = matchChoice(scheduler);
  return c?.a1111 ?? c?.name ?? scheduler.className;
}

function matchChoice(s: Scheduler): SchedulerChoice | undefined {
  const candidates = CHOICES.filter((c) => c.className === s.className && Object.entries(c.overrides).every(([k, v]) => s.config[k] === v));
  if (s.className === 'PNDMScheduler') return candidates.find((c) => c.name === (s.config.skip_prk_steps ? 'plms' : 'pndm'));
  // Prefer the choice that pins the most fields (dpm++2m-karras over a bare class match).
  return candidates.sort((a, b) => Object.keys(b.overrides).length - Object.keys(a.overrides).length)[0];
}
