// latentlab info FILE.png: the AUTOMATIC1111 `parameters` text a PNG carries (written by
// latentlab, A1111, and most ComfyUI exporters), printed as is and — with --json — parsed.
// latentlab info FILE.safetensors|.ckpt: what the weights file is, from its header (describe-file.ts).
// latentlab info [DIR]: what a diffusers folder holds (describe-folder.ts); no argument: the shipped model.

import type { Command } from 'commander';

import { stat } from 'node:fs/promises';

import { defaultModelPath, describeFile, describeFolder, describeFolderText, describeText, EXACT_PROMPTS_CHUNK, LatentlabError, readInfotextChunks, readPngText } from '../../node.js';
import { action, newCommand } from '../command.js';
import { stringifyJson } from '../metadata.js';
import { escapeControl } from '../terminal-text.js';

export function infoCommand(): Command {
  const cmd = newCommand('info', 'print the generation settings stored in a PNG (A1111 "parameters" text), what a weights file is (checkpoint, LoRA, VAE, embedding), or what a model folder holds')
    .argument('[file]', 'a PNG written by latentlab, AUTOMATIC1111 or ComfyUI, a .safetensors / .ckpt / .pt / .bin file, or a diffusers folder (default: the shipped latentlab-mini)')
    .option('--json', 'print one JSON object: the raw text, its parsed fields and every text chunk');
  cmd.addHelpText('after', '\nExamples:\n  latentlab info cube.png\n  latentlab info            (the shipped model)');
  return cmd.action(action<{ json?: boolean }>(async (_flags, session, [given]) => {
    const file = given ?? defaultModelPath();
    if ((await stat(file).catch(() => undefined))?.isDirectory()) {
      const d = await describeFolder(file);
      session.print(describeFolderText(d));
      session.report({ command: 'info', ...d }, (v) => stringifyJson(v, { indent: 2 }));
      return;
    }
    if (/\.(safetensors|ckpt|pt|pth|bin)$/i.test(file)) {
      const d = await describeFile(file);
      session.print(describeText(d));
      session.report({ command: 'info', ...d }, (v) => stringifyJson(v, { indent: 2 }));
      return;
    }
    const chunks = await readPngText(file);
    const text = chunks.parameters;
    if (text === undefined) {
      const keys = Object.keys(chunks);
      throw new LatentlabError('PNG_NO_PARAMETERS', `${file} has no "parameters" text chunk${keys.length > 0 ? ` (its text chunks: ${keys.join(', ')})` : ' (it has no text chunks at all)'}`, {
        file, hint: 'only PNGs saved with generation settings carry it (latentlab, AUTOMATIC1111, ComfyUI with metadata); image editors usually drop it',
      });
    }
    // On the terminal: the text as stored, control characters escaped. In --json the JSON escaping does it.
    session.print(escapeControl(text));
    const { exactPrompts, ...parsed } = readInfotextChunks(chunks)!;
    if (exactPrompts) {
      session.print(`\n(this infotext is ambiguous; the exact prompts, from the ${EXACT_PROMPTS_CHUNK} chunk:)`);
      session.print(`prompt: ${escapeControl(JSON.stringify(parsed.prompt))}`);
      session.print(`negative prompt: ${escapeControl(JSON.stringify(parsed.negativePrompt))}`);
    }
    session.report({ command: 'info', file, parameters: text, parsed, exactPrompts, text: chunks }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
