// `latentlab generate --hires-scale 2 [--hires-strength 0.7] [--hires-steps N] [--hires-upscaler Latent]`:
// A1111's hires fix (pipelines/hires-fix.ts; the server's enable_hr). The first pass runs at
// --width × --height, the image comes out --hires-scale times larger, and its infotext carries
// A1111's `Denoising strength, Hires upscale, Hires steps, Hires upscaler` as the server writes them.

import { type Command, Option } from 'commander';

import { A1111_UPSCALER_NAMES as UPSCALERS, a1111HiresTarget, a1111Upscaler, type HiresOptions, type HiresReport } from '../node.js';
import { flagError } from './errors.js';
import { integerFlag, nonEmptyFlag, numberFlag } from './values.js';

export interface HiresFlags {
  hiresScale?: number;
  hiresStrength?: number;
  hiresSteps?: number;
  hiresUpscaler?: string;
}

/** A1111's UI default (its API's is 0.75, which `latentlab serve` uses). */
export const DEFAULT_HIRES_STRENGTH = 0.7;

export function addHiresOptions(cmd: Command): Command {
  cmd.addOption(new Option('--hires-scale <f>', 'A1111\'s hires fix: draw at --width × --height, upscale by this factor, then refine with an img2img pass (docs/cli.md#hires-fix)')
    .argParser(numberFlag('--hires-scale', { min: 0, minExclusive: true })));
  cmd.addOption(new Option('--hires-strength <s>', `the hires pass's denoising strength in [0, 1]; 0 only upscales (default: ${DEFAULT_HIRES_STRENGTH})`).argParser(numberFlag('--hires-strength', { min: 0, max: 1 })));
  cmd.addOption(new Option('--hires-steps <n>', 'steps the hires pass runs (default: --steps)').argParser(integerFlag('--hires-steps', 1)));
  cmd.addOption(new Option('--hires-upscaler <name>', `${UPSCALERS.map((u) => `"${u}"`).join(', ')} (default: "Latent")`).argParser(nonEmptyFlag('--hires-upscaler')));
  return cmd;
}

export interface HiresPlan {
  options: Omit<HiresOptions, 'prompt' | 'negativePrompt' | 'scheduler'>;
  report: HiresReport;
}

/** The hires fix the flags ask for at a first pass of width × height, or undefined without --hires-scale. */
export function planHires(flags: HiresFlags, width: number, height: number): HiresPlan | undefined {
  if (flags.hiresScale === undefined) {
    const others = [['hiresStrength', '--hires-strength'], ['hiresSteps', '--hires-steps'], ['hiresUpscaler', '--hires-upscaler']] as const;
    const stray = others.find(([key]) => flags[key] !== undefined);
    if (stray) throw flagError(stray[1], flags[stray[0]], 'it together with --hires-scale', 'add --hires-scale 2 (the hires fix is off without it)');
    return undefined;
  }
  const strength = flags.hiresStrength ?? DEFAULT_HIRES_STRENGTH;
  const upscaler = flags.hiresUpscaler ?? 'Latent';
  const resolved = a1111Upscaler(upscaler);
  if (resolved === undefined) throw flagError('--hires-upscaler', upscaler, `one of ${UPSCALERS.map((u) => `"${u}"`).join(', ')}`, 'e.g. --hires-upscaler Latent');
  const target = a1111HiresTarget(width, height, { scale: flags.hiresScale });
  if (Math.floor(target.width / 8) < 1 || Math.floor(target.height / 8) < 1) throw flagError('--hires-scale', flags.hiresScale, 'a scale giving at least 8×8 pixels', 'use a larger --hires-scale');
  return {
    options: { width: target.width, height: target.height, upscaler: resolved, strength, steps: flags.hiresSteps },
    report: { strength, scale: flags.hiresScale, steps: flags.hiresSteps, ...(flags.hiresUpscaler !== undefined ? { upscaler } : {}) },
  };
}
