// Textual inversion in minutes: teach latentlab-mini a colour it has never seen. Every garment it
// trained on was tinted in one of eight colours; untinted, grey-white garments never occurred, and
// "white" means nothing to its text encoder. Eight such pictures (examples/deep-dive/images/white)
// and a few hundred steps of section 11's training give a token `<white>` whose vector makes the
// frozen model draw them — and, put where a colour word goes, white versions of other garments.
//
//   npx tsx examples/deep-dive/13-learn-a-colour.ts [--images DIR] [--token "<white>"] [--initializer red] [--steps 300]
//     [--classes "sneaker,t-shirt,dress,bag,trousers"]

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { imageGrid, learnedEmbedsBytes, linePlotSvg, readTrainingImages, type RgbImage, trainTextualInversion } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain, sampleImage } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '13-learn-a-colour', {
    images: sampleImage('white'), token: '<white>', initializer: 'red', steps: 300, learningRate: 5e-3, seed: 0,
    classes: 'sneaker,t-shirt,dress,bag,trousers', prompt: 'a photo of a {} {k}', sampleSteps: 30,
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

  // Train: "a photo of a <white>", "a rendering of a <white>", … on the eight pictures.
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
  const [satBefore, satAfter] = [meanSaturation(before), meanSaturation(after)];
  console.log(`mean saturation of the garments' pixels: ${fmt(satBefore, 3)} with "${args.initializer}", ${fmt(satAfter, 3)} with ${run.token} (the training pictures: ${fmt(meanSaturation(images), 3)})`);
  const labels = [...classes.map((k) => prompt(args.initializer, k).replace('a photo of ', '')), ...classes.map((k) => prompt(run.token, k).replace('a photo of ', ''))];
  await out.png('before-and-after', imageGrid([...before, ...after].map((im) => enlarge(im, 128)), {
    columns: classes.length, labels, title: `before and after learning ${run.token} (${args.steps} steps, ${fmt(seconds, 2)} s)`,
  }));
  await out.png('training-images', imageGrid(images.map((im) => enlarge(im, 96)), { columns: images.length }));
  await pipe.release();
  return { args, run, file, seconds, before, after, saturation: { before: satBefore, after: satAfter }, files: out.files };
}

/** Mean HSV saturation (max − min)/max over the pictures' bright pixels (max channel > 0.25): 0 for grey, 1 for a pure hue. */
export function meanSaturation(images: readonly RgbImage[]): number {
  let [sum, n] = [0, 0];
  for (const { data } of images) {
    for (let i = 0; i < data.length; i += 3) {
      const max = Math.max(data[i], data[i + 1], data[i + 2]);
      if (max <= 64) continue;
      sum += (max - Math.min(data[i], data[i + 1], data[i + 2])) / max;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** Running mean over `w` steps (the per-step loss jumps with each step's random timestep). */
function smooth(values: readonly number[], w: number): number[] {
  return values.map((_, i) => {
    const from = Math.max(0, i - w + 1);
    return values.slice(from, i + 1).reduce((a, v) => a + v, 0) / (i + 1 - from);
  });
}

runIfMain(import.meta.url, main);
