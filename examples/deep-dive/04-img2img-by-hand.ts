// img2img by hand: instead of pure noise, start from an image's latents noised to step k of N (the
// scheduler's forward process), and run only the remaining N − k steps of the loop. The larger k,
// the less noise is added and the more of the image survives. It is what
// StableDiffusionImg2ImgPipeline does with strength = (N − k)/N, and gives its picture bit for bit.
//
//   npx tsx examples/deep-dive/04-img2img-by-hand.ts [--image FILE] [--prompt "..."] [--steps 50] [--start-step 15]
//     [--scheduler lms]

import {
  classifierFreeGuidance, encodePrompt, Generator, imageGrid, imageToLatents, LatentlabError, latentsToImages, schedulerFromPretrained, Tensor,
} from 'latentlab';

import { enlarge, fmt, loadImage, loadPipeline, OutputFolder, parseExampleArgs, runIfMain, sampleImage } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '04-img2img-by-hand', {
    prompt: 'a photo of a red ankle boot', image: sampleImage('red-sneaker.png'), seed: 7, steps: 50, startStep: 15, guidanceScale: 7.5, size: 0,
    scheduler: 'lms',
  });
  const { steps, startStep } = args;
  if (!Number.isInteger(startStep) || startStep < 0 || startStep >= steps) {
    throw new LatentlabError('EXAMPLE_ARGUMENT', `--start-step is ${startStep}; expected an integer in 0…${steps - 1}`, { hint: '0 starts from (almost) pure noise, larger values keep more of the image' });
  }
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { tokenizer, textEncoder, unet, vae } = pipe;
  // Euler needs no history of earlier steps, so it can start anywhere in the schedule.
  const scheduler = await schedulerFromPretrained(pipe.folder, { name: args.scheduler });
  const image = await loadImage(args.image, args.size || pipe.defaultSize);
  const embeddings = Tensor.cat0([await encodePrompt(tokenizer, textEncoder, ['']), await encodePrompt(tokenizer, textEncoder, [args.prompt])]);

  // The full schedule, entered at step k: tell the scheduler so its step counter starts there.
  scheduler.setTimesteps(steps);
  scheduler.setBeginIndex(startStep);
  const tStart = scheduler.timesteps[startStep];

  // The image's latents (first draw of the generator) noised to timestep t_k (second draw).
  const generator = new Generator().manualSeed(args.seed);
  const encoded = await imageToLatents(vae, image, generator); // [1, 4, h, w]
  const noise = generator.randn(encoded.shape);
  const start = scheduler.addNoise(encoded, noise, [tStart]);
  console.log(`${scheduler.className}: start at step ${startStep} of ${steps} (t=${fmt(tStart)}), i.e. strength ${fmt((steps - startStep) / steps)}`);

  // The remaining steps of the usual loop.
  let latents = start;
  for (const t of scheduler.timesteps.slice(startStep)) {
    const latentModelInput = scheduler.scaleModelInput(Tensor.cat0([latents, latents]), t);
    const noisePred = (await unet.forward(latentModelInput, t, embeddings)).sample;
    latents = scheduler.step(classifierFreeGuidance(noisePred, args.guidanceScale), t, latents, { generator }).prevSample;
  }

  const [result] = await latentsToImages(vae, latents);
  const [noisedStart] = await latentsToImages(vae, start);
  await out.png('result', result);
  await out.png('steps', imageGrid([image, noisedStart, result].map((p) => enlarge(p, 128)), { labels: ['input', `noised to step ${startStep}`, 'result'] }));
  console.log(`"${args.prompt}", seed ${args.seed}: ${out.files.join(', ')}`);
  await pipe.release();
  return { args, start, latents, image: result, files: out.files };
}

runIfMain(import.meta.url, main);
