// latentlab img2img: image + text → image(s), StableDiffusionImg2ImgPipeline.

import { type Command, Option } from 'commander';

import { action, newCommand } from '../command.js';
import { addGenerationOptions, type GenerationFlags } from '../generation-flags.js';
import { runGeneration } from '../generation.js';
import { nonEmptyFlag, strengthFlag } from '../values.js';

export function img2imgCommand(): Command {
  const cmd = newCommand('img2img', 'change an image guided by text prompts (img2img)');
  cmd.addOption(new Option('--image <file>', 'the starting image (PNG, JPEG, WebP, …); sides must be multiples of 8 unless --width/--height resize it')
    .argParser(nonEmptyFlag('--image')).makeOptionMandatory());
  cmd.addOption(new Option('--strength <s>', 'how much to change the image, in (0, 1]: 1 ignores it entirely (default: 0.8)').argParser(strengthFlag));
  addGenerationOptions(cmd, true);
  cmd.addHelpText('after', `
Examples:
  latentlab img2img --model test/fixtures/conformance/pipelines/tiny-sd15 \\
    --image test/fixtures/conformance/reference/tiny-sd15/img2img/sd15_pndm_img2img_64x64_input.png \\
    --prompt "a watercolor painting" --strength 0.6 --steps 10 --seed 7 --out painted.png
  latentlab img2img --model stable-diffusion-v1-5/stable-diffusion-v1-5 --variant fp16 \\
    --image test/fixtures/conformance/reference/tiny-sd15/img2img/sd15_pndm_img2img_64x64_input.png \\
    --width 512 --height 512 --prompt "oil painting" --strength 0.5 --seed 1 --out painting.png

Runs int(steps × strength) of the steps, like diffusers. More: docs/cli.md`);
  return cmd.action(action<GenerationFlags>((flags, session) => runGeneration('img2img', flags, session)));
}
