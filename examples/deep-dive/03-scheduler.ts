// The scheduler: which timesteps a run visits and how much noise σ each one carries, and what an
// image looks like when it is noised to a given step (`addNoise`, the forward process). For the LMS
// scheduler addNoise is x + σₜ·ε: the latents of the image plus σ times unit noise.
//
//   npx tsx examples/deep-dive/03-scheduler.ts [--model DIR|ID] [--steps 15] [--image FILE] [--scheduler lms]

import { Generator, imageGrid, imageToLatents, latentsToImages, linePlotSvg, schedulerFromPretrained, Tensor } from 'latentlab';

import { enlarge, fmt, loadImage, loadPipeline, OutputFolder, parseExampleArgs, runIfMain, sampleImage } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '03-scheduler', { steps: 15, scheduler: 'lms', image: sampleImage('blue-ankle-boot.png'), seed: 0, size: 0, shown: 5 });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const scheduler = await schedulerFromPretrained(pipe.folder, { name: args.scheduler });

  // The schedule. Timesteps count down from ~1000 (pure noise) to ~0; σ falls with them. Schedulers
  // without a σ table (DDIM, PNDM) get the equivalent σₜ = √((1 − ᾱₜ)/ᾱₜ) for the plot.
  scheduler.setTimesteps(args.steps);
  const { timesteps } = scheduler;
  const sigmas = scheduler.sigmas ?? Float32Array.from(timesteps, (t) => Math.sqrt((1 - scheduler.alphasCumprod[t]) / scheduler.alphasCumprod[t]));
  console.log(`${scheduler.className}, ${args.steps} steps, initNoiseSigma ${fmt(scheduler.initNoiseSigma)}`);
  console.log(`timesteps: ${timesteps.map((t) => fmt(t)).join(' ')}`);
  console.log(`sigmas:    ${Array.from(sigmas, (s) => fmt(s, 3)).join(' ')}`);
  await out.svg('schedule', linePlotSvg({
    title: `${scheduler.className}, ${args.steps} steps`,
    xLabel: 'step',
    yLabel: 'timestep t',
    yLabelRight: 'noise level σ',
    series: [{ name: 'timestep', y: timesteps }, { name: 'σ', y: sigmas, axis: 'right' }],
  }));

  // The image's latents, and one draw of unit noise ε [1, 4, h, w] shared by every step shown.
  const generator = new Generator().manualSeed(args.seed);
  const image = await loadImage(args.image, args.size || pipe.defaultSize);
  const encoded = await imageToLatents(pipe.vae, image, generator);
  const noise = generator.randn(encoded.shape);

  // Noise the latents to a few steps of the schedule, then decode them all in one batch.
  const shown = Array.from({ length: args.shown }, (_, i) => Math.round((i * (args.steps - 1)) / Math.max(1, args.shown - 1)));
  const noised = shown.map((i) => scheduler.addNoise(encoded, noise, [timesteps[i]]));
  const pictures = await latentsToImages(pipe.vae, Tensor.cat0([encoded, ...noised]));
  const labels = ['no noise', ...shown.map((i) => `step ${i}: t=${fmt(timesteps[i], 3)}, σ=${fmt(sigmas[i], 3)}`)];
  await out.png('noised', imageGrid(pictures.map((p) => enlarge(p, 128)), { labels, columns: pictures.length }));
  await pipe.release();
  return { args, timesteps, sigmas, encoded, noise, shown, noised, files: out.files };
}

runIfMain(import.meta.url, main);
