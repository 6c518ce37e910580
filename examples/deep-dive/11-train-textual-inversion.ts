// Textual inversion, training: learn the vector of a new token from a few pictures, as diffusers'
// examples/textual_inversion/textual_inversion.py does. Everything in the model stays frozen; each
// step asks "which vector, put where the token stands in the prompt, makes the UNet predict the
// noise of these pictures best?" — the gradient of the denoising loss with respect to that vector
// (through the UNet and the text encoder, in one graph), then an AdamW step on it alone.
//
//   npx tsx examples/deep-dive/11-train-textual-inversion.ts [--images DIR] [--token "<teal>"] [--initializer red] [--steps 30]

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { imageGrid, learnedEmbedsBytes, linePlotSvg, readTrainingImages, trainTextualInversion } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain, sampleImage } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '11-train-textual-inversion', {
    images: sampleImage('cyan'), token: '<teal>', initializer: 'red', steps: 30, learningRate: 5e-3, resolution: 32, seed: 0, prompt: 'a photo of a {} sneaker',
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);

  // 1. The pictures, resized to resolution² (the script's dataset; flips and templates come per step).
  const { files, images } = await readTrainingImages(args.images, { resolution: args.resolution });
  console.log(`${files.length} training picture(s) from ${args.images}`);

  // 2. Train: the token starts as the initializer's vector; checkpoints are off here.
  const run = await trainTextualInversion(pipe, {
    images, placeholderToken: args.token, initializerToken: args.initializer, resolution: args.resolution, maxTrainSteps: args.steps,
    learningRate: args.learningRate, lrWarmupSteps: 0, seed: args.seed, checkpointingSteps: 0,
    onProgress: (p) => { if (p.step % 10 === 0 || p.step === p.totalSteps) console.log(`step ${p.step}/${p.totalSteps}  loss ${fmt(p.loss)}`); },
  });
  const file = join(args.out, 'learned_embeds.safetensors');
  await writeFile(file, learnedEmbedsBytes(run.token, run.embeddings)); // {token: [1, H]}, as the script saves it
  console.log(`learned ${run.token} (id ${run.ids[0]}); wrote ${file}`);
  await out.svg('loss', linePlotSvg({ series: [{ name: 'loss', y: run.losses }], title: 'denoising loss per step', xLabel: 'step', yLabel: 'mse' }));

  // 3. The pipe now knows the token: the initializer word against the learned vector, same seed.
  const generate = async (word: string) => (await pipe.call({ prompt: args.prompt.replace('{}', word), seed: 1, numInferenceSteps: 50 })).images[0];
  const pictures = [await generate(args.initializer), await generate(run.token)];
  await out.png('initializer-and-token', imageGrid(pictures.map((im) => enlarge(im, 128)), { labels: [args.initializer, run.token], title: args.prompt }));
  console.log(`pictures: ${out.files.join(', ')}`);
  await pipe.release();
  return { args, run, file, files: out.files };
}

runIfMain(import.meta.url, main);
