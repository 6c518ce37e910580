// --vae KIND PATH and --preview-vae KIND PATH: which autoencoder decodes the result and which decodes
// the per-step previews. The first word names the kind, so the flag can grow: today `taesd` (an
// AutoencoderTiny folder such as madebyollin/taesd, ≈ 1% of the full VAE's decode cost); a full
// AutoencoderKL replacement would be another kind (or a bare PATH) parsed here, in one place.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { type Command, Option } from 'commander';

import { AutoencoderTiny, type Device, LatentlabError } from '../index.js';
import { flagError } from './errors.js';

export const VAE_KINDS = ['taesd'] as const;

export interface VaeChoice {
  kind: (typeof VAE_KINDS)[number];
  /** The folder given on the command line. */
  path: string;
}

const collect = (text: string, previous: string[] | undefined): string[] => [...(previous ?? []), text];

/** --vae, and --preview-vae for the commands that write previews. */
export function addVaeOptions(cmd: Command, o: { preview: boolean }): Command {
  cmd.addOption(new Option('--vae <kind-and-path...>', 'decode (img2img: also encode) with this autoencoder instead of the model\'s: "taesd PATH", an AutoencoderTiny folder (e.g. madebyollin/taesd)')
    .argParser(collect));
  if (!o.preview) return cmd;
  cmd.addOption(new Option('--preview-vae <kind-and-path...>', 'decode the --preview pictures with this autoencoder: "taesd PATH" (fast live previews, as A1111\'s TAESD preview); default: the --vae / model\'s VAE')
    .argParser(collect));
  return cmd;
}

/** The parsed flag (before any model is loaded): the kind is known and PATH is an AutoencoderTiny folder. */
export async function vaeChoice(flag: string, words: readonly string[] | undefined): Promise<VaeChoice | undefined> {
  if (words === undefined) return undefined;
  const [kind, path, ...rest] = words;
  if (words.length === 1) {
    throw flagError(flag, words.join(' '), 'KIND PATH, e.g. taesd ./taesd', `only the tiny autoencoder can be swapped in so far: ${flag} taesd PATH`);
  }
  if (!(VAE_KINDS as readonly string[]).includes(kind) || rest.length > 0) {
    throw flagError(flag, words.join(' '), `KIND PATH with KIND one of ${VAE_KINDS.join(', ')}`, `e.g. ${flag} taesd ./taesd (a folder with config.json and diffusion_pytorch_model.safetensors)`);
  }
  const hasConfig = (await stat(join(path, 'config.json')).catch(() => undefined))?.isFile() ?? false;
  if (!hasConfig) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${flag} taesd ${path}: no config.json there, so it is not an AutoencoderTiny folder`, {
      file: path, key: flag,
      hint: 'download a TAESD in diffusers format first, e.g. `git clone https://huggingface.co/madebyollin/taesd` (SD 1.x / 2.x), and pass that folder',
    });
  }
  return { kind: kind as VaeChoice['kind'], path };
}

/** Loads the chosen autoencoder with the run's device / thread settings. */
export function loadVae(choice: VaeChoice, options: { device?: Device; threads?: number }): Promise<AutoencoderTiny> {
  return AutoencoderTiny.fromPretrained(choice.path, options);
}
