// The progress label says what is counted when the loop is not one UNet call per step — otherwise
// `--steps 20` with the default PLMS sampler shows "21/21" and looks like a bug.

import type { Scheduler } from '../node.js';

/** Why a scheduler calls the UNet more often than once per step, by diffusers class. */
const WHY: Record<string, string> = {
  PNDMScheduler: 'PLMS warms up with one extra call',
  HeunDiscreteScheduler: "Heun's method evaluates twice per step",
  KDPM2DiscreteScheduler: 'DPM2 evaluates twice per step',
};

/** "denoising", or "denoising (21 UNet calls for 20 steps: PLMS warms up with one extra call)". */
export function unetCallsLabel(scheduler: Scheduler, calls: number, steps: number): string {
  if (calls === steps) return 'denoising';
  const why = WHY[scheduler.className] ?? `${scheduler.className}'s schedule`;
  return `denoising (${calls} UNet calls for ${steps} steps: ${why})`;
}
