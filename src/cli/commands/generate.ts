// latentlab generate: text → image(s), StableDiffusionPipeline with diffusers' defaults.

import type { Command } from 'commander';

import { action, newCommand } from '../command.js';
import { addGenerationOptions, type GenerationFlags } from '../generation-flags.js';
import { runGeneration } from '../generation.js';
import { addHiresOptions } from '../hires-flags.js';

export function generateCommand(): Command {
  const cmd = newCommand('generate', 'generate images from text prompts (txt2img)');
  addGenerationOptions(cmd, false);
  addHiresOptions(cmd);
  cmd.addHelpText('after', `
Examples:
  latentlab generate --model test/fixtures/conformance/pipelines/tiny-sd15 --prompt "a red cube" --steps 5 --seed 1 --out cube.png
  latentlab generate --model stable-diffusion-v1-5/stable-diffusion-v1-5 --variant fp16 \\
    --prompt "an astronaut riding a horse" --scheduler "DPM++ 2M Karras" --steps 25 --seed 42 --out astronaut.png
  latentlab generate --model test/fixtures/conformance/pipelines/tiny-sd15 --prompt "a red cube" --steps 5 --seed 1 \\
    --width 64 --height 64 --hires-scale 2 --hires-strength 0.7 --hires-upscaler Latent --out cube-hires.png

Several --prompt flags form a batch; --negative-prompt once applies to all of them, or give one per prompt.
More: docs/cli.md`);
  return cmd.action(action<GenerationFlags>((flags, session) => runGeneration('generate', flags, session)));
}
