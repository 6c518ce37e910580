// Prompt editing and alternation inside the denoising loop: the UNet sees, at loop index i, the
// conditioning of the schedule entry A1111 would use at its step i — in txt2img and in img2img.
import { describe, expect, it } from 'vitest';

import { Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import { scale } from '../../src/core/tensor-math.js';
import { classifierFreeGuidance } from '../../src/pipelines/denoise.js';
import { createRgbImage } from '../../src/image/index.js';
import { StableDiffusionImg2ImgPipeline } from '../../src/pipelines/img2img.js';
import { encodePromptConditioning } from '../../src/pipelines/prompt-conditioning.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { fixturePath } from '../helpers/fixtures.js';

const MODEL = fixturePath('pipelines', 'tiny-sd15');
const PROMPT = 'a [red|blue] ball on [grass:sand:2], (sunny:1.2)';
const NEGATIVE = '[blurry::3]';

/** Replaces pipe.unet.forward by a recorder of the encoder_hidden_states of each call. */
function recordConditioning(pipe: StableDiffusionPipeline | StableDiffusionImg2ImgPipeline): Tensor<'float32'>[] {
  const seen: Tensor<'float32'>[] = [];
  const forward = pipe.unet.forward.bind(pipe.unet);
  pipe.unet.forward = (sample, t, ehs, options) => {
    seen.push(ehs as Tensor<'float32'>);
    return forward(sample, t, ehs, options);
  };
  return seen;
}

describe('prompt schedules in the pipelines (tiny-sd15)', () => {
  it.each(['txt2img', 'img2img'] as const)('%s conditions every step on its own schedule entry', async (kind) => {
    const steps = 6;
    const pipe = kind === 'txt2img'
      ? await StableDiffusionPipeline.fromPretrained(MODEL, { scheduler: 'euler' })
      : await StableDiffusionImg2ImgPipeline.fromPretrained(MODEL, { scheduler: 'euler' });
    const seen = recordConditioning(pipe);
    const common = { prompt: PROMPT, negativePrompt: NEGATIVE, numInferenceSteps: steps, seed: 1, outputType: 'latent' as const };
    if (pipe instanceof StableDiffusionPipeline) await pipe.call({ ...common, height: 32, width: 32 });
    else await pipe.call({ ...common, image: createRgbImage(32, 32, [128, 96, 64]), strength: 0.5 });

    const cond = await encodePromptConditioning(pipe.tokenizer, pipe.textEncoder, { prompts: [PROMPT], negativePrompts: [NEGATIVE], steps });
    expect(seen.length).toBe(kind === 'txt2img' ? steps : 3); // img2img runs int(6 · 0.5) steps, counted from 0 as A1111 does
    seen.forEach((ehs, i) => expect(Array.from(ehs.data), `loop index ${i}`).toEqual(Array.from(cond.at(i).data)));
    // The entries really differ: alternation changes the prompt between loop indices 1 and 2.
    expect(Array.from(seen[1].data)).not.toEqual(Array.from(seen[2].data));
    await pipe.release();
  });
});

describe('the hand loop with PromptConditioning', () => {
  it('gives the pipeline\'s latents bit for bit: cond.at(i) is what the pipeline feeds the UNet at step i', async () => {
    const steps = 5;
    const pipe = await StableDiffusionPipeline.fromPretrained(MODEL, { scheduler: 'euler', releaseSessions: false });
    const expected = await pipe.call({ prompt: PROMPT, negativePrompt: NEGATIVE, numInferenceSteps: steps, seed: 3, height: 32, width: 32, outputType: 'latent' });

    // docs/prompts.md, "By hand":
    const { tokenizer, textEncoder, unet, scheduler } = pipe;
    const cond = await encodePromptConditioning(tokenizer, textEncoder, { prompts: [PROMPT], negativePrompts: [NEGATIVE], steps });
    scheduler.setTimesteps(steps);
    const generator = new Generator().manualSeed(3);
    let latents = scale(generator.randn([1, 4, 4, 4]), scheduler.initNoiseSigma);
    for (const [i, t] of scheduler.timesteps.entries()) {
      const input = scheduler.scaleModelInput(Tensor.cat0([latents, latents]), t);
      const noisePred = classifierFreeGuidance((await unet.forward(input, t, cond.at(i))).sample, 7.5);
      latents = scheduler.step(noisePred, t, latents, { generator }).prevSample;
    }
    expect(Array.from(latents.data)).toEqual(Array.from(expected.latents.data));
    await pipe.release();
  });
});
