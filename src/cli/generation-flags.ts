// The flags `generate`, `img2img` and `inpaint` share, and the checks that need several of them together.
// Defaults are diffusers' (50 steps, guidance 7.5, the UNet's size, the model's own scheduler); a
// seed is drawn when none is given, and reported.

import { randomInt } from 'node:crypto';

import { type Command, Option } from 'commander';

import { LatentlabError, type PromptSyntax } from '../node.js';
import { lossGuidanceFlag, type LossGuidancePreset } from './loss-guidance.js';
import { addEmbeddingOptions, type EmbeddingFlags } from './embeddings.js';
import { memoryFlag } from './limits.js';
import { addModelOptions, addSchedulerOptions, type ModelFlags, type SchedulerFlags } from './model.js';
import { PROGRESS_MODES, type ProgressMode } from './progress.js';
import { choiceFlag, collectText, integerFlag, nonEmptyFlag, numberFlag, promptSyntaxFlag, seedFlag, sizeFlag } from './values.js';
import { type HiresFlags } from './hires-flags.js';
import { addLoraOptions, type LoraFlags } from './lora-flags.js';
import { addSingleFileOptions, type SingleFileFlags } from './single-file-flags.js';
import { addVaeOptions } from './vae-flags.js';

export interface GenerationFlags extends ModelFlags, SchedulerFlags, EmbeddingFlags, SingleFileFlags, LoraFlags, HiresFlags {
  prompt: string[];
  negativePrompt?: string[];
  promptSyntax?: PromptSyntax;
  steps?: number;
  guidance?: number;
  precision?: 'fp32' | 'int8';
  seed?: number | bigint;
  width?: number;
  height?: number;
  numImages?: number;
  eta?: number;
  clipSkip?: number;
  tiling?: boolean;
  lossGuidance?: LossGuidancePreset[];
  out?: string;
  saveLatents?: string;
  preview?: string;
  /** `taesd PATH` (vae-flags.ts). */
  vae?: string[];
  previewVae?: string[];
  overwrite?: boolean;
  json?: boolean;
  progress?: ProgressMode;
  maxMemory?: number;
  /** img2img and inpaint. */
  image?: string;
  strength?: number;
  /** inpaint only. */
  mask?: string;
  maskBlur?: number;
}

export const DEFAULT_STEPS = 50;
export const DEFAULT_GUIDANCE = 7.5;

export function addGenerationOptions(cmd: Command, img2img: boolean): Command {
  cmd.addOption(new Option('--prompt <text>', 'what to draw; repeat the flag for a batch of prompts').argParser(collectText('--prompt', true)).makeOptionMandatory());
  cmd.addOption(new Option('--negative-prompt <text>', 'what to steer away from: one for all prompts, or one per prompt (default: "")').argParser(collectText('--negative-prompt', true)));
  addPromptSyntaxOption(cmd);
  addModelOptions(cmd, { required: true, runs: true });
  addSingleFileOptions(cmd);
  addSchedulerOptions(cmd);
  addEmbeddingOptions(cmd);
  addLoraOptions(cmd);
  cmd.addOption(new Option('--steps <n>', `number of denoising steps (default: ${DEFAULT_STEPS})`).argParser(integerFlag('--steps', 1)));
  cmd.addOption(new Option('--guidance <g>', `classifier-free guidance scale; ≤ 1 turns guidance off (default: ${DEFAULT_GUIDANCE})`).argParser(numberFlag('--guidance')));
  cmd.addOption(new Option('--precision <p>', 'UNet arithmetic: fp32, or int8 (per-channel int8 weights, quantised once and cached; see docs/benchmarks.md#int8 for speed and error) (default: fp32)')
    .argParser(choiceFlag('--precision', ['fp32', 'int8'] as const)));
  cmd.addOption(new Option('--seed <s>', 'random seed, an integer in [0, 2^64) (default: a random one, reported)').argParser(seedFlag));
  const sizeNote = img2img ? 'resize the input image to this size first (default: the image\'s own size)' : 'image size in pixels, a multiple of 8 (default: the UNet\'s sample_size × 8)';
  cmd.addOption(new Option('--width <w>', sizeNote).argParser(sizeFlag('--width')));
  cmd.addOption(new Option('--height <h>', sizeNote).argParser(sizeFlag('--height')));
  cmd.addOption(new Option('--num-images <n>', 'images per prompt (default: 1)').argParser(integerFlag('--num-images', 1)));
  cmd.addOption(new Option('--eta <e>', 'DDIM\'s η, ≥ 0 (TCD: γ, in [0, 1]); other schedulers ignore it (default: 0)').argParser(numberFlag('--eta', { min: 0 })));
  cmd.addOption(new Option('--clip-skip <n>', 'skip the last n CLIP layers, diffusers\' clip_skip (A1111\'s "Clip skip" n + 1) (default: 0)').argParser(integerFlag('--clip-skip', 0)));
  cmd.option('--tiling', 'seamless tiling, A1111\'s "Tiling": every conv of the UNet and the VAE pads circularly, so the image repeats without seams');
  cmd.addOption(new Option('--loss-guidance <preset>', 'steer by a loss on the decoded image: blue[:SCALE[:EVERY]] (the deep dive\'s blue loss) or color=#RRGGBB[:SCALE[:EVERY]]; SCALE 200, EVERY 5 by default; repeatable')
    .argParser(lossGuidanceFlag));
  cmd.addOption(new Option('--out <file.png|dir/>', 'output image: FILE.png (several images: FILE-0.png, FILE-1.png, …) or a folder for numbered names (default: numbered names in the current folder)').argParser(nonEmptyFlag('--out')));
  cmd.addOption(new Option('--save-latents <file.safetensors>', 'also save the final latents [B, 4, H/8, W/8] (scaled, as the UNet sees them)').argParser(nonEmptyFlag('--save-latents')));
  cmd.addOption(new Option('--preview <dir>', 'after every step, write the decoded predicted clean image to DIR/step-XX.png').argParser(nonEmptyFlag('--preview')));
  addVaeOptions(cmd, { preview: true });
  cmd.option('--overwrite', 'replace existing files named by --out / --save-latents / --preview');
  cmd.addOption(new Option('--progress <mode>', 'bar (redrawn in place), lines (one every tenth of the run) or none (default: bar on a terminal, else lines)')
    .argParser(choiceFlag('--progress', PROGRESS_MODES)));
  cmd.addOption(new Option('--max-memory <size>', 'refuse runs estimated to need more memory than this, e.g. 8G (default: LATENTLAB_MAX_MEMORY, else the memory available)')
    .argParser(memoryFlag));
  cmd.option('--json', 'print one JSON object (files written, settings) on stdout and nothing else');
  return cmd;
}

export const DEFAULT_PROMPT_SYNTAX: PromptSyntax = 'a1111';

/** --prompt-syntax, shared with `tokenize`. */
export function addPromptSyntaxOption(cmd: Command): Command {
  return cmd.addOption(new Option('--prompt-syntax <s>', 'how prompts are read: a1111 ((word:1.2), BREAK, [from:to:when], [a|b], no 77-token limit), '
    + `comfy (the same syntax with ComfyUI's weighting) or plain (diffusers: text as written, cut at 77 tokens) (default: ${DEFAULT_PROMPT_SYNTAX})`).argParser(promptSyntaxFlag));
}

/** The negative prompt of each prompt: none → "", one → for all, else exactly one per prompt. */
export function negativesFor(prompts: readonly string[], negatives: readonly string[] | undefined): string[] {
  if (negatives === undefined || negatives.length === 0) return prompts.map(() => '');
  if (negatives.length === 1) return prompts.map(() => negatives[0]);
  if (negatives.length !== prompts.length) {
    throw new LatentlabError('CLI_ARGUMENT', `--negative-prompt is given ${negatives.length} times for ${prompts.length} --prompt${prompts.length === 1 ? '' : 's'}; `
      + `expected it once (for all prompts) or once per prompt (${prompts.length} times)`, {
      key: '--negative-prompt', hint: 'give one --negative-prompt to use for every prompt, or exactly as many as there are --prompt flags, in the same order',
    });
  }
  return [...negatives];
}

/** The seed to use: the one given, or a random one (32 bits, as AUTOMATIC1111 draws them). */
export function seedFor(flags: { seed?: number | bigint }): { seed: number | bigint; random: boolean } {
  return flags.seed !== undefined ? { seed: flags.seed, random: false } : { seed: randomInt(0, 2 ** 32), random: true };
}
