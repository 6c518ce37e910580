// --model FILE (a single-file checkpoint, .safetensors or .ckpt) and the two flags that can
// override what latentlab infers from it: --original-config (an LDM YAML; default: FILE's stem +
// .yaml beside it) and --prediction-type.

import { stat } from 'node:fs/promises';

import { type Command, Option } from 'commander';

import { flagError } from './errors.js';
import { nonEmptyFlag } from './values.js';

export const SINGLE_FILE_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth'];
export const PREDICTION_TYPES = ['epsilon', 'v_prediction'] as const;

export interface SingleFileFlags {
  originalConfig?: string;
  predictionType?: (typeof PREDICTION_TYPES)[number];
}

export function addSingleFileOptions(cmd: Command): Command {
  cmd.addOption(new Option('--original-config <file.yaml>', 'with --model FILE: the LDM config the checkpoint was trained with (default: FILE\'s name with .yaml beside it, else inferred from the weights)')
    .argParser(nonEmptyFlag('--original-config')));
  cmd.addOption(new Option('--prediction-type <type>', 'with --model FILE: epsilon or v_prediction, over the YAML and the inference (SD 2 files default to v_prediction)')
    .argParser((v: string) => {
      if (!(PREDICTION_TYPES as readonly string[]).includes(v)) throw flagError('--prediction-type', v, PREDICTION_TYPES.join(' or '));
      return v;
    }));
  return cmd;
}

/** Is --model a checkpoint file (an existing file with a checkpoint extension)? */
export async function isSingleFile(model: string): Promise<boolean> {
  if (!SINGLE_FILE_EXTENSIONS.some((e) => model.toLowerCase().endsWith(e))) return false;
  return (await stat(model).catch(() => undefined))?.isFile() ?? false;
}

/** The flags only make sense with a file: say so instead of ignoring them. */
export function checkSingleFileFlags(f: SingleFileFlags & { variant?: string; revision?: string }, singleFile: boolean): void {
  if (singleFile) {
    if (f.variant !== undefined) throw flagError('--variant', f.variant, 'a diffusers folder or Hub id as --model', 'a single file has one set of weights: drop --variant');
    if (f.revision !== undefined) throw flagError('--revision', f.revision, 'a Hub id as --model', 'drop --revision for a local file');
    return;
  }
  if (f.originalConfig !== undefined) throw flagError('--original-config', f.originalConfig, 'only with --model FILE.safetensors|.ckpt', 'a diffusers folder has its own config.json files');
  if (f.predictionType !== undefined) throw flagError('--prediction-type', f.predictionType, 'only with --model FILE.safetensors|.ckpt', 'for a folder, pass a scheduler config with --scheduler-config');
}
