// --lora FILE[:weight] (repeatable) and --lora-dir DIR for A1111's `<lora:name:weight>` prompt tags
// (name = a file DIR/name.safetensors). The tags are taken out of the prompt text before it is
// encoded (pipelines/lora.ts extractLoraTags) and kept in the PNG's prompt, as A1111 does; the PNG
// also gets A1111's `Lora hashes: "name: hash"` (hash = the first 12 hex digits of the SHA-256 of
// the file's bytes after the safetensors header — A1111's "addnet" hash for .safetensors LoRAs).

import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import { type Command, Option } from 'commander';

import { extractLoraTags, LatentlabError, loraShortHash, type LoraReport } from '../node.js';
import { flagError } from './errors.js';
import { collectText, nonEmptyFlag } from './values.js';

export interface LoraFlags {
  lora?: string[];
  loraDir?: string;
}

export type { LoraReport } from '../node.js';

export function addLoraOptions(cmd: Command): Command {
  cmd.addOption(new Option('--lora <file[:weight]>', 'apply a LoRA (.safetensors, kohya-ss or diffusers format) to the UNet and text encoder with this weight (default 1); repeat for several')
    .argParser(collectText('--lora', false)));
  cmd.addOption(new Option('--lora-dir <dir>', 'where prompt tags <lora:name:weight> find name.safetensors (as A1111\'s models/Lora)').argParser(nonEmptyFlag('--lora-dir')));
  return cmd;
}

/** FILE:weight, the weight after the last ':' when it is a number (so C:\\x.safetensors still works). */
function parseLoraFlag(text: string): { path: string; weight: number } {
  const at = text.lastIndexOf(':');
  const tail = at > 0 ? text.slice(at + 1) : '';
  if (at > 0 && tail !== '' && !/[\\/]/.test(tail)) {
    const weight = Number(tail);
    if (!Number.isFinite(weight)) throw flagError('--lora', text, 'FILE or FILE:WEIGHT with a number as weight', 'e.g. --lora style.safetensors:0.8');
    return { path: text.slice(0, at), weight };
  }
  return { path: text, weight: 1 };
}

/** Every LoRA of the run, checked to exist before any model loads; the prompts' tags must agree across the batch. */
export async function planLoras(flags: LoraFlags, prompts: readonly string[]): Promise<Omit<LoraReport, 'hash'>[]> {
  const out: Omit<LoraReport, 'hash'>[] = [];
  const isFile = async (p: string) => (await stat(p).catch(() => undefined))?.isFile() ?? false;
  for (const text of flags.lora ?? []) {
    const { path, weight } = parseLoraFlag(text);
    if (!(await isFile(path))) throw new LatentlabError('IO_NOT_FOUND', `--lora ${path}: no such file`, { file: path, key: '--lora', hint: 'pass the path of a LoRA .safetensors file' });
    out.push({ file: resolve(path), name: basename(path).replace(/\.safetensors$/i, ''), weight, from: 'flag' });
  }
  const tagSets = prompts.map((p) => extractLoraTags(p).tags);
  const key = (t: { name: string; weight: number }[]) => t.map((x) => `${x.name}:${x.weight}`).join(',');
  if (tagSets.some((t) => key(t) !== key(tagSets[0]))) {
    throw flagError('--prompt', prompts.join(' | '), 'the same <lora:…> tags in every prompt of a batch', 'one LoRA set applies to the whole batch: run the prompts separately');
  }
  for (const tag of tagSets[0] ?? []) {
    if (flags.loraDir === undefined) throw flagError('--prompt', `<lora:${tag.name}:${tag.weight}>`, 'a --lora-dir where the LoRA file is', `add --lora-dir DIR with ${tag.name}.safetensors in it (or use --lora FILE:${tag.weight})`);
    const path = join(flags.loraDir, `${tag.name}.safetensors`);
    if (!(await isFile(path))) throw new LatentlabError('IO_NOT_FOUND', `<lora:${tag.name}:${tag.weight}>: no ${path}`, { file: path, key: '--lora-dir', hint: `put ${tag.name}.safetensors into ${flags.loraDir} (the tag names the file without its extension)` });
    out.push({ file: resolve(path), name: tag.name, weight: tag.weight, from: 'prompt' });
  }
  return out;
}

/** The planned LoRAs with their A1111 short hashes. */
export async function hashLoras(planned: readonly Omit<LoraReport, 'hash'>[]): Promise<LoraReport[]> {
  return Promise.all(planned.map(async (p) => ({ ...p, hash: await loraShortHash(p.file) })));
}

