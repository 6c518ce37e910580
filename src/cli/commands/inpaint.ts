// latentlab inpaint: image + mask + text → image(s), StableDiffusionInpaintPipeline. An inpainting
// model (9-channel UNet: a diffusers folder or a single file such as sd-v1-5-inpainting.safetensors)
// sees the mask and the masked image; any other SD model repaints by blending at every step.

import { type Command, Option } from 'commander';

import { action, newCommand } from '../command.js';
import { addGenerationOptions, type GenerationFlags } from '../generation-flags.js';
import { runGeneration } from '../generation.js';
import { nonEmptyFlag, numberFlag, strengthFlag } from '../values.js';

export function inpaintCommand(): Command {
  const cmd = newCommand('inpaint', 'repaint the white part of a mask, guided by text prompts (inpainting)');
  cmd.addOption(new Option('--image <file>', 'the image to repaint (PNG, JPEG, WebP, …); sides must be multiples of 8 unless --width/--height resize it')
    .argParser(nonEmptyFlag('--image')).makeOptionMandatory());
  cmd.addOption(new Option('--mask <file>', 'the mask, of the image\'s size: white (grey ≥ 128) is repainted, black kept; colour is converted to grey')
    .argParser(nonEmptyFlag('--mask')).makeOptionMandatory());
  cmd.addOption(new Option('--strength <s>', 'how much to change the masked area, in (0, 1]: 1 starts it from pure noise (default: 1.0)').argParser(strengthFlag));
  cmd.addOption(new Option('--mask-blur <px>', 'blur the mask first (PIL GaussianBlur radius, diffusers\' mask_processor.blur); moves its edge (default: 0)')
    .argParser(numberFlag('--mask-blur', { min: 0 })));
  addGenerationOptions(cmd, true);
  cmd.addHelpText('after', `
Examples:
  latentlab inpaint --model test/fixtures/conformance/pipelines/tiny-sd15-inpaint \\
    --image test/fixtures/conformance/inpaint/sd15_inpaint_pndm_64x64_input.png \\
    --mask test/fixtures/conformance/inpaint/sd15_inpaint_pndm_64x64_mask.png \\
    --prompt "a mosaic of colourful tiles" --steps 10 --seed 7 --out repainted.png
  latentlab inpaint --model sd-v1-5-inpainting.safetensors --image photo.png --mask mask.png \\
    --prompt "a red brick wall" --mask-blur 4 --seed 1 --out wall.png

With a 9-channel inpainting model the UNet sees the mask; any other SD model works too (the
original, re-noised, is blended back outside the mask after every step). More: docs/cli.md`);
  return cmd.action(action<GenerationFlags>((flags, session) => runGeneration('inpaint', flags, session)));
}
