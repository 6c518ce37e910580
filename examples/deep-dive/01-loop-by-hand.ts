// The loop by hand: everything StableDiffusionPipeline.call does, written out with the four parts of
// Stable Diffusion (the notebook's first section). For the same prompt, seed and settings the picture
// is the pipeline's, bit for bit (the test checks it).
//
//   npx tsx examples/deep-dive/01-loop-by-hand.ts [--model DIR|ID] [--prompt "..."] [--seed 42] [--steps 50]

import {
  AutoencoderKL, classifierFreeGuidance, CLIPTextModel, CLIPTokenizer, Generator, latentsToImages, resolveModelPath, scale, schedulerFromPretrained,
  Tensor, UNet2DConditionModel,
} from 'latentlab';

import { OutputFolder, parseExampleArgs, runIfMain } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '01-loop-by-hand', {
    prompt: 'a photo of a red sneaker', seed: 42, steps: 50, guidanceScale: 7.5, size: 0,
  });
  const out = await OutputFolder.create(args.out);

  // Load the parts one by one (a Hub id is downloaded once into the Hugging Face cache).
  const folder = await resolveModelPath(args.model, { variant: args.variant });
  const tokenizer = await CLIPTokenizer.fromPretrained(folder, { subfolder: 'tokenizer' });
  const textEncoder = await CLIPTextModel.fromPretrained(folder, { subfolder: 'text_encoder', variant: args.variant });
  const unet = await UNet2DConditionModel.fromPretrained(folder, { subfolder: 'unet', variant: args.variant });
  const vae = await AutoencoderKL.fromPretrained(folder, { subfolder: 'vae', variant: args.variant });
  const scheduler = await schedulerFromPretrained(folder, { name: 'lms' }); // LMSDiscreteScheduler with the model's βₜ
  const size = args.size || unet.config.sample_size * vae.vaeScaleFactor; // 32 for latentlab-mini, 512 for SD 1.x

  // 1. The prompt, and the empty prompt for classifier-free guidance, as text embeddings [1, 77, H].
  const padTo77 = { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true } as const;
  const textInput = tokenizer.call([args.prompt], padTo77); // ids [[49406, …, 49407, pad, …]]
  const uncondInput = tokenizer.call([''], padTo77);
  const textEmbeddings = (await textEncoder.forward(textInput.inputIds)).lastHiddenState;
  const uncondEmbeddings = (await textEncoder.forward(uncondInput.inputIds)).lastHiddenState;
  const embeddings = Tensor.cat0([uncondEmbeddings, textEmbeddings]); // [2, 77, H], unconditional first

  // 2. The schedule: which timesteps we visit, and how much noise σ each one carries.
  scheduler.setTimesteps(args.steps);

  // 3. Start from pure noise, scaled to the first (largest) noise level. [1, 4, size/f, size/f]: the
  // VAE shrinks each side by f = 8 in SD (4 in latentlab-mini, 32 px → 8 latents).
  const generator = new Generator().manualSeed(args.seed);
  const side = size / vae.vaeScaleFactor;
  let latents = scale(generator.randn([1, unet.config.in_channels, side, side]), scheduler.initNoiseSigma);

  // 4. The loop: predict the noise for both prompts in one batch, guide, and take one solver step.
  for (const t of scheduler.timesteps) {
    const latentModelInput = scheduler.scaleModelInput(Tensor.cat0([latents, latents]), t); // [2, 4, h, w], divided by √(σ²+1)
    const noisePred = (await unet.forward(latentModelInput, t, embeddings)).sample; // [ε_uncond; ε_text]
    const guided = classifierFreeGuidance(noisePred, args.guidanceScale); // ε_uncond + w·(ε_text − ε_uncond)
    latents = scheduler.step(guided, t, latents, { generator }).prevSample;
  }

  // 5. Decode: latents / 0.18215 → the VAE decoder → pixels.
  const [image] = await latentsToImages(vae, latents);
  const file = await out.png('image', image);
  console.log(`"${args.prompt}", seed ${args.seed}, ${args.steps} LMS steps, guidance ${args.guidanceScale}: ${file}`);
  await Promise.all([textEncoder.release(), unet.release(), vae.release()]);
  return { args, latents, image, files: out.files };
}

runIfMain(import.meta.url, main);
