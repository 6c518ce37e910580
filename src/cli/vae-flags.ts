// --vae [KIND] PATH and --preview-vae KIND PATH: which autoencoder decodes the result and which decodes
// the per-step previews. `taesd PATH` is an AutoencoderTiny folder (madebyollin/taesd, ≈ 1% of the full
// VAE's decode cost); a bare PATH (--vae only) is a full AutoencoderKL: a diffusers VAE folder, or one
// .safetensors / .ckpt VAE file in LDM or diffusers key layout (vae-ft-mse-840000-ema-pruned and co.).

import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { type Command, Option } from 'commander';

import { AutoencoderKL, AutoencoderTiny, type Device, LatentlabError } from '../node.js';
import { flagError } from './errors.js';

export const VAE_KINDS = ['taesd'] as const;

/** `kl`: a bare PATH, an AutoencoderKL folder or file. */
export type VaeKind = (typeof VAE_KINDS)[number] | 'kl';

export interface VaeChoice {
  kind: VaeKind;
  /** The folder given on the command line. */
  path: string;
}

const collect = (text: string, previous: string[] | undefined): string[] => [...(previous ?? []), text];

/** --vae, and --preview-vae for the commands that write previews. */
export function addVaeOptions(cmd: Command, o: { preview: boolean }): Command {
  cmd.addOption(new Option('--vae <kind-and-path...>', 'decode (img2img: also encode) with this autoencoder instead of the model\'s: PATH, a VAE folder or .safetensors/.ckpt file (LDM or diffusers keys), or "taesd PATH", an AutoencoderTiny folder (e.g. madebyollin/taesd)')
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
  if (words.length === 1 && flag === '--vae') return klChoice(kind);
  if (words.length === 1) {
    throw flagError(flag, words.join(' '), 'KIND PATH, e.g. taesd ./taesd', `previews decode with the tiny autoencoder: ${flag} taesd PATH`);
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

/** --vae PATH: a folder with config.json, or a VAE file. */
async function klChoice(path: string): Promise<VaeChoice> {
  const st = await stat(path).catch(() => undefined);
  const folder = st?.isDirectory() && (await stat(join(path, 'config.json')).catch(() => undefined))?.isFile();
  if (!folder && !(st?.isFile() && /\.(safetensors|ckpt|pt|pth)$/i.test(path))) {
    throw new LatentlabError('MODEL_NOT_FOUND', `--vae ${path}: neither a VAE folder (with config.json) nor a .safetensors / .ckpt file`, {
      file: path, key: '--vae', hint: 'pass a diffusers VAE folder (e.g. stabilityai/sd-vae-ft-mse downloaded), a VAE file such as vae-ft-mse-840000-ema-pruned.safetensors, or taesd PATH',
    });
  }
  return { kind: 'kl', path };
}

/** Loads the chosen autoencoder with the run's device / thread settings. */
export function loadVae(choice: VaeChoice & { kind: 'taesd' }, options: { device?: Device; threads?: number }): Promise<AutoencoderTiny>;
export function loadVae(choice: VaeChoice, options: { device?: Device; threads?: number }): Promise<AutoencoderTiny | AutoencoderKL>;
export async function loadVae(choice: VaeChoice, options: { device?: Device; threads?: number }): Promise<AutoencoderTiny | AutoencoderKL> {
  if (choice.kind === 'taesd') return AutoencoderTiny.fromPretrained(choice.path, options);
  const isDir = (await stat(choice.path).catch(() => undefined))?.isDirectory() ?? false;
  return isDir ? AutoencoderKL.fromPretrained(choice.path, options) : AutoencoderKL.fromSingleFile(choice.path, options);
}
