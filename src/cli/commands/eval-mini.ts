// latentlab eval-mini: measures latentlab-mini with its classifier (src/train/mini/eval.ts) and
// prints the numbers its model card reports; --json for the whole report.

import { resolve } from 'node:path';

import { type Command, Option } from 'commander';

import {
  caption, CLASS_NAMES, COLORS, DEFAULT_FASHION_MNIST_DIR, defaultModelPath, evaluateMini, imageGrid, renderLabels, StableDiffusionPipeline, upscaleNearest, writePng,
} from '../../node.js';
import { action, newCommand } from '../command.js';
import { choiceFlag, integerFlag, nonEmptyFlag } from '../values.js';

interface EvalMiniFlags {
  model: string;
  data: string;
  perClass: number;
  testImages?: number;
  seed: number;
  threads?: number;
  precision?: 'fp32' | 'int8';
  samples?: string;
  json?: boolean;
}

/** The model card's picture: every colour (rows) × every class (columns), seed 0, the pipeline's defaults, shown at 2×. */
async function writeSamples(model: string, file: string, threads?: number, precision?: 'fp32' | 'int8'): Promise<void> {
  const pipe = await StableDiffusionPipeline.fromPretrained(model, { ...(threads ? { threads } : {}), ...(precision ? { precision } : {}) });
  try {
    const prompt = COLORS.flatMap(([color]) => CLASS_NAMES.map((k) => caption('a photo of a {c} {k}', color, k)));
    const { images } = await pipe.call({ prompt, seed: 0 });
    await writePng(file, await renderLabels(imageGrid(images.map((im) => upscaleNearest(im, 2)), { columns: CLASS_NAMES.length, gap: 2 })));
  } finally {
    await pipe.release();
  }
}

export function evalMiniCommand(): Command {
  const cmd = newCommand('eval-mini', 'measure latentlab-mini: classifier, VAE and generation scores (its model card\'s numbers)');
  cmd.option('--model <dir>', 'a latentlab-mini folder (with classifier/)', nonEmptyFlag('--model'), defaultModelPath());
  cmd.option('--data <dir>', 'Fashion-MNIST\'s *-ubyte.gz files', nonEmptyFlag('--data'), DEFAULT_FASHION_MNIST_DIR);
  cmd.option('--per-class <n>', 'generated images per class', integerFlag('--per-class', 1), 100);
  cmd.option('--test-images <n>', 'test images used (default: all 10 000)', integerFlag('--test-images', 2));
  cmd.option('--seed <n>', 'seed of the tints and the generations', integerFlag('--seed', 0), 0);
  cmd.option('--threads <n>', 'intra-op threads', integerFlag('--threads', 1));
  cmd.addOption(new Option('--precision <p>', 'the generating UNet\'s arithmetic: fp32, or int8 (as generate --precision; the classifier, text encoder and VAE stay fp32) (default: fp32)')
    .argParser(choiceFlag('--precision', ['fp32', 'int8'] as const)));
  cmd.option('--samples <file.png>', 'also write the model card\'s sample grid (8 colours × 10 classes)', nonEmptyFlag('--samples'));
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  return cmd.action(action<EvalMiniFlags>(async (flags, session) => {
    session.phase = 'compute';
    const report = await evaluateMini({
      model: resolve(flags.model), data: flags.data, perClass: flags.perClass, testImages: flags.testImages, seed: flags.seed, threads: flags.threads,
      precision: flags.precision, onNote: (m) => session.note(m),
    });
    if (flags.samples) await writeSamples(resolve(flags.model), resolve(flags.samples), flags.threads, flags.precision);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    session.print(`classifier test accuracy ${pct(report.classifierTestAccuracy)} (${report.testImages} images); VAE reconstruction PSNR ${report.reconstructionPsnr.toFixed(2)} dB`);
    for (const g of report.generated) {
      session.print(`guidance ${g.guidanceScale}${report.precision === 'fp32' ? '' : ` (UNet ${report.precision})`}: class accuracy ${pct(g.classAccuracy)}, colour accuracy ${pct(g.colorAccuracy)}, Fréchet distance ${g.frechetDistance.toFixed(3)} (real-vs-test floor ${report.frechetFloor.toFixed(3)}), ${g.images} images`);
    }
    session.report({ command: 'eval-mini', model: resolve(flags.model), ...report }, (v) => JSON.stringify(v, null, 2));
  }));
}
