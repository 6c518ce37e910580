// Textual inversion in minutes: teach latentlab-mini a new word for a colour. `<teal>` is a token
// its text encoder has never seen; eight cyan garments (examples/deep-dive/images/cyan) and a few
// hundred steps of section 11's training find the vector that makes the frozen model draw them —
// and, put where a colour word goes, cyan versions of other garments. The token starts as "red",
// so before training the same prompts draw red garments.
//
//   npx tsx examples/deep-dive/13-learn-a-colour.ts [--images DIR] [--token "<teal>"] [--initializer red] [--steps 600]
//     [--classes "sneaker,t-shirt,dress,bag,trousers"]

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { COLORS, dominantColor, imageGrid, learnedEmbedsBytes, linePlotSvg, readTrainingImages, type RgbImage, trainTextualInversion } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain, sampleImage } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '13-learn-a-colour', {
    images: sampleImage('cyan'), token: '<teal>', initializer: 'red', steps: 600, learningRate: 0.02, seed: 0,
    classes: 'sneaker,t-shirt,dress,bag,trousers', prompt: 'a photo of a {} {k}', sampleSteps: 50,
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const size = pipe.defaultSize; // 32: the model's own size
  const classes = args.classes.split(',').map((c) => c.trim()).filter(Boolean);
  const prompt = (word: string, k: string) => args.prompt.replace('{}', word).replace('{k}', k).replace(/\ba ([aeiou])/, 'an $1');
  const generate = async (word: string) => {
    const images: RgbImage[] = [];
    for (const [i, k] of classes.entries()) images.push((await pipe.call({ prompt: prompt(word, k), seed: args.seed + i, numInferenceSteps: args.sampleSteps })).images[0]);
    return images;
  };

  // Before: the token does not exist yet, so we draw with the word it will start from.
  const before = await generate(args.initializer);

  // Train: "a photo of a <teal>", "a rendering of a <teal>", … on the eight pictures.
  const { files, images } = await readTrainingImages(args.images, { resolution: size });
  console.log(`${files.length} training pictures from ${args.images}`);
  const started = Date.now();
  const run = await trainTextualInversion(pipe, {
    images, placeholderToken: args.token, initializerToken: args.initializer, resolution: size, maxTrainSteps: args.steps,
    learningRate: args.learningRate, lrWarmupSteps: 0, seed: args.seed, checkpointingSteps: 0,
    onProgress: (p) => { if (p.step % 50 === 0 || p.step === p.totalSteps) console.log(`step ${p.step}/${p.totalSteps}  loss ${fmt(p.loss)}`); },
  });
  const seconds = (Date.now() - started) / 1000;
  const file = join(args.out, 'learned_embeds.safetensors');
  await writeFile(file, learnedEmbedsBytes(run.token, run.embeddings));
  console.log(`learned ${run.token} in ${fmt(seconds, 3)} s (${args.steps} steps); wrote ${file}`);
  await out.svg('loss', linePlotSvg({ series: [{ name: 'loss', y: smooth(run.losses, 20) }], title: 'denoising loss (mean of 20 steps)', xLabel: 'step', yLabel: 'mse' }));

  // After: the same prompts and seeds with the learned token in the colour's place.
  const after = await generate(run.token);
  // The colour of each picture, as eval-mini measures it: the nearest of the eight hues to its mean hue.
  const colourOf = (images: RgbImage[]) => images.map((im) => COLORS[dominantColor(im.data)]?.[0] ?? 'none');
  const colours = { before: colourOf(before), after: colourOf(after) };
  console.log(`colours with "${args.initializer}": ${colours.before.join(', ')}; with ${run.token}: ${colours.after.join(', ')}`);
  const labels = [...classes.map((k) => prompt(args.initializer, k).replace('a photo of ', '')), ...classes.map((k) => prompt(run.token, k).replace('a photo of ', ''))];
  await out.png('before-and-after', imageGrid([...before, ...after].map((im) => enlarge(im, 128)), {
    columns: classes.length, labels, title: `before and after learning ${run.token} (${args.steps} steps, ${fmt(seconds, 2)} s)`,
  }));
  await out.png('training-images', imageGrid(images.map((im) => enlarge(im, 96)), { columns: images.length }));
  await pipe.release();
  return { args, run, file, seconds, before, after, colours, files: out.files };
}

/** Running mean over `w` steps (the per-step loss jumps with each step's random timestep). */
function smooth(values: readonly number[], w: number): number[] {
  return values.map((_, i) => {
    const from = Math.max(0, i - w + 1);
    return values.slice(from, i + 1).reduce((a, v) => a + v, 0) / (i + 1 - from);
  });
}

runIfMain(import.meta.url, main);
