// Classifier guidance: the question of the lesson's forum thread — "can we train a classifier, take
// the gradient of its loss on the noisy image, and steer the generation with it?" Section 10's loop
// with −log p(class | image) of a classifier as the loss: every few steps the latents move down the
// gradient of that loss at the image they are heading for, decode(x̂₀), through the VAE's decoder
// and the classifier in one graph. The prompt is empty, so the text says nothing: whatever garment
// appears, the classifier put it there. latentlab-mini ships its classifier (classifier/ beside the
// model), trained on the same tinted 32×32 garments; for SD 1.5 see docs/deep-dive.md §12.
//
//   npx tsx examples/deep-dive/12-classifier-guidance.ts [--classes "sneaker,trousers,bag,ankle boot"] [--scale 0.1] [--every 1] [--seed 0]

import { classifierGuidance, GarmentClassifier, imageGrid, LatentlabError, preprocessBatch, type RgbImage, schedulerFromPretrained } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '12-classifier-guidance', {
    classes: 'sneaker,trousers,bag,ankle boot', prompt: '', seed: 0, steps: 30, guidanceScale: 1, scale: 0.1, every: 1, scheduler: 'euler',
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  // Euler, not the notebook's LMS: guiding at every step changes the latents LMS's four-step history was computed on.
  pipe.scheduler = await schedulerFromPretrained(pipe.folder, { name: args.scheduler });
  // The classifier: a `classifier/` folder beside the model's (config.json + model.safetensors).
  const classifier = await GarmentClassifier.fromPretrained(pipe.folder);
  const names = classifier.config.class_names;
  const classes = args.classes.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of classes) {
    if (!names.includes(c)) throw new LatentlabError('EXAMPLE_ARGUMENT', `--classes: "${c}" is not a class of the classifier`, { key: 'classes', hint: `choose from ${names.join(', ')}` });
  }

  // One seed per class: the unguided picture, and the same seed pulled towards the class.
  const unguided: RgbImage[] = [];
  const guided: RgbImage[] = [];
  for (const [k, target] of classes.entries()) {
    const common = { prompt: args.prompt, seed: args.seed + k, numInferenceSteps: args.steps, guidanceScale: args.guidanceScale };
    unguided.push((await pipe.call(common)).images[0]);
    const guidance = classifierGuidance(classifier, target, { scale: args.scale, every: args.every });
    guided.push((await pipe.call({ ...common, lossGuidance: [guidance] })).images[0]);
  }

  // What the classifier says about the finished pictures (8-bit, as saved): p(target) without and with.
  const probabilities = async (images: RgbImage[]) => softmaxRows((await classifier.classify(preprocessBatch(images))).logits.data, names.length);
  const [pBefore, pAfter] = [await probabilities(unguided), await probabilities(guided)];
  const results = classes.map((target, k) => {
    const t = names.indexOf(target);
    const top = (p: number[]) => names[p.indexOf(Math.max(...p))];
    return { target, seed: args.seed + k, before: pBefore[k][t], after: pAfter[k][t], topBefore: top(pBefore[k]), topAfter: top(pAfter[k]) };
  });
  console.log(`prompt ${JSON.stringify(args.prompt)}, ${args.steps} steps, classifier guidance × ${args.scale} every ${args.every} step(s)`);
  for (const r of results) {
    console.log(`${r.target.padEnd(11)} seed ${r.seed}: p(${r.target}) ${fmt(r.before, 3).padEnd(9)} → ${fmt(r.after, 3).padEnd(9)} (classified as ${r.topBefore} → ${r.topAfter})`);
  }
  const labels = [...results.map((r) => `unguided: ${fmt(r.before, 2)}`), ...results.map((r) => `→ ${r.target}: ${fmt(r.after, 2)}`)];
  await out.png('unguided-and-guided', imageGrid([...unguided, ...guided].map((im) => enlarge(im, 128)), {
    columns: classes.length, labels, title: `empty prompt, without and with classifier guidance (p of the class)`,
  }));
  await pipe.release();
  return { args, results, unguided, guided, files: out.files };
}

/** softmax of each row of logits [B, C]. */
function softmaxRows(logits: Float32Array, C: number): number[][] {
  return Array.from({ length: logits.length / C }, (_, b) => {
    const row = Array.from(logits.subarray(b * C, (b + 1) * C));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  });
}

runIfMain(import.meta.url, main);
