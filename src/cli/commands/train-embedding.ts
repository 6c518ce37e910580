// latentlab train-embedding: learn a new textual-inversion token from a few pictures, with the flags
// of diffusers' examples/textual_inversion/textual_inversion.py in kebab case (trainTextualInversion).
//
// Files: --output FILE (.safetensors: diffusers' {token: [n, H]}; .bin: the same, torch.save'd;
// .pt: AUTOMATIC1111's format), written when the run completes. Every --checkpointing-steps, into
// --checkpoint-dir (default: the output's folder): learned_embeds-steps-N.safetensors (usable
// like the output) and checkpoint-N.safetensors (what --resume continues from). Ctrl-C finishes the
// current step, saves both and exits 130; every file is written atomically.

import { dirname, extname, join, resolve } from 'node:path';

import { type Command, Option } from 'commander';

import {
  a1111EmbeddingBytes, encodePng, LR_SCHEDULERS, type LrSchedulerName, learnedEmbedsBytes, readTrainingImages, StableDiffusionPipeline, torchSave,
  trainTextualInversion,
} from '../../node.js';
import { action, newCommand } from '../command.js';
import { flagError } from '../errors.js';
import { seedFor } from '../generation-flags.js';
import { stringifyJson } from '../metadata.js';
import { addModelOptions, loadOptions, type ModelFlags, resolveFolder } from '../model.js';
import { checkFolder, explicitTarget, writeTarget } from '../outputs.js';
import { StepProgress } from '../progress.js';
import { integerFlag, nonEmptyFlag, numberFlag, seedFlag } from '../values.js';

interface TrainFlags extends ModelFlags {
  trainDataDir: string;
  placeholderToken: string;
  initializerToken: string;
  learnableProperty: 'object' | 'style';
  resolution: number;
  centerCrop?: boolean;
  repeats: number;
  maxTrainSteps: number;
  learningRate: number;
  scaleLr?: boolean;
  lrScheduler: LrSchedulerName;
  lrWarmupSteps: number;
  lrNumCycles: number;
  trainBatchSize: number;
  gradientAccumulationSteps: number;
  numVectors: number;
  seed?: number | bigint;
  output: string;
  checkpointingSteps: number;
  checkpointDir?: string;
  resume?: string;
  validationPrompt?: string;
  validationSteps: number;
  numValidationImages: number;
  overwrite?: boolean;
  json?: boolean;
}

function choice<T extends string>(flag: string, values: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(values as readonly string[]).includes(text)) throw flagError(flag, text, `one of ${values.join(', ')}`);
    return text as T;
  };
}

export function trainEmbeddingCommand(): Command {
  const cmd = newCommand('train-embedding', 'train a textual-inversion embedding (a new token) from a folder of pictures');
  addModelOptions(cmd, { required: true, runs: true });
  const o = (flags: string, text: string, parse?: (t: string) => unknown, fallback?: unknown) => {
    const opt = new Option(flags, text);
    if (parse) opt.argParser(parse as (t: string, p: unknown) => unknown);
    if (fallback !== undefined) opt.default(fallback);
    cmd.addOption(opt);
    return opt;
  };
  o('--train-data-dir <dir>', 'the folder of the concept\'s pictures (3–5 are typical)', nonEmptyFlag('--train-data-dir')).makeOptionMandatory();
  o('--placeholder-token <token>', 'the new token, e.g. "<cat-toy>"', nonEmptyFlag('--placeholder-token')).makeOptionMandatory();
  o('--initializer-token <word>', 'a one-token word the embedding starts from, e.g. "toy"', nonEmptyFlag('--initializer-token')).makeOptionMandatory();
  o('--output <file>', 'the learned embedding: .safetensors (diffusers), .bin (diffusers, torch.save) or .pt (AUTOMATIC1111)', nonEmptyFlag('--output')).makeOptionMandatory();
  o('--learnable-property <kind>', 'object or style (which prompt templates)', choice('--learnable-property', ['object', 'style'] as const), 'object');
  o('--resolution <px>', 'pictures are resized to this square', integerFlag('--resolution', 8), 512);
  o('--center-crop', 'crop each picture to a centred square before resizing');
  o('--repeats <n>', 'copies of the picture list per epoch', integerFlag('--repeats', 1), 100);
  o('--max-train-steps <n>', 'update steps', integerFlag('--max-train-steps', 1), 5000);
  o('--learning-rate <lr>', 'AdamW learning rate (after warm-up)', numberFlag('--learning-rate', { min: 0, minExclusive: true }), 1e-4);
  o('--scale-lr', 'multiply the learning rate by gradient-accumulation-steps × train-batch-size');
  o('--lr-scheduler <name>', `learning-rate schedule: ${LR_SCHEDULERS.join(', ')}`, choice('--lr-scheduler', LR_SCHEDULERS), 'constant');
  o('--lr-warmup-steps <n>', 'warm-up steps (ignored by "constant")', integerFlag('--lr-warmup-steps', 0), 500);
  o('--lr-num-cycles <n>', 'cosine_with_restarts: number of cycles', integerFlag('--lr-num-cycles', 1), 1);
  o('--train-batch-size <n>', 'pictures per micro-batch', integerFlag('--train-batch-size', 1), 1);
  o('--gradient-accumulation-steps <n>', 'micro-batches per update', integerFlag('--gradient-accumulation-steps', 1), 1);
  o('--num-vectors <n>', 'vectors for the token (tokens <t>, <t>_1, …)', integerFlag('--num-vectors', 1), 1);
  o('--seed <s>', 'seed of everything random (default: a random one, reported)', seedFlag);
  o('--checkpointing-steps <n>', 'save learned_embeds-steps-N and checkpoint-N every N steps (0: never)', integerFlag('--checkpointing-steps', 0), 500);
  o('--checkpoint-dir <dir>', 'where checkpoints go (default: the output\'s folder)', nonEmptyFlag('--checkpoint-dir'));
  o('--resume <checkpoint>', 'continue from a checkpoint-N.safetensors, or "latest" (the newest in --checkpoint-dir)', nonEmptyFlag('--resume'));
  o('--validation-prompt <text>', 'generate pictures of this prompt every --validation-steps', nonEmptyFlag('--validation-prompt'));
  o('--validation-steps <n>', 'steps between validation pictures', integerFlag('--validation-steps', 1), 100);
  o('--num-validation-images <n>', 'pictures per validation', integerFlag('--num-validation-images', 1), 4);
  cmd.option('--overwrite', 'replace an existing --output file');
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', `
Example (the tiny test model; a real run uses SD 1.5 and --resolution 512):
  latentlab train-embedding --model test/fixtures/conformance/pipelines/tiny-sd15 --train-data-dir ./cat \\
    --placeholder-token "<cat-toy>" --initializer-token toy --resolution 64 --max-train-steps 20 \\
    --learning-rate 5e-3 --seed 0 --output cat-toy.safetensors
  latentlab generate --model … --embedding cat-toy.safetensors --prompt "a <cat-toy> on a beach"
More: docs/cli.md`);
  return cmd.action(action<TrainFlags>(async (flags, session) => {
    const output = await explicitTarget('--output', flags.output, ['.safetensors', '.bin', '.pt'], flags.overwrite ?? false);
    const checkpointDir = resolve(flags.checkpointDir ?? dirname(resolve(flags.output)));
    await checkFolder('--checkpoint-dir', join(checkpointDir, 'x'));
    const { seed, random } = seedFor(flags);
    const { images, files } = await readTrainingImages(flags.trainDataDir, { resolution: flags.resolution, centerCrop: flags.centerCrop });
    const folder = await resolveFolder(flags, session);
    const pipe = await StableDiffusionPipeline.fromPretrained(folder, loadOptions(flags));
    if (random) session.note(`seed ${seed} (random; pass --seed ${seed} to repeat this run)`);
    session.note(`${files.length} picture(s) from ${flags.trainDataDir} at ${flags.resolution}×${flags.resolution}`);

    session.phase = 'compute';
    const bar = new StepProgress(session.streams.stderr, 'training');
    let started = false;
    const validations: string[] = [];
    let run;
    try {
      run = await trainTextualInversion(pipe, {
        images, placeholderToken: flags.placeholderToken, initializerToken: flags.initializerToken, learnableProperty: flags.learnableProperty,
        resolution: flags.resolution, repeats: flags.repeats, maxTrainSteps: flags.maxTrainSteps, learningRate: flags.learningRate, scaleLr: flags.scaleLr,
        lrScheduler: flags.lrScheduler, lrWarmupSteps: flags.lrWarmupSteps, lrNumCycles: flags.lrNumCycles, trainBatchSize: flags.trainBatchSize,
        gradientAccumulationSteps: flags.gradientAccumulationSteps, numVectors: flags.numVectors, seed, outputDir: checkpointDir,
        checkpointingSteps: flags.checkpointingSteps, resume: flags.resume, validationPrompt: flags.validationPrompt, validationSteps: flags.validationSteps,
        numValidationImages: flags.numValidationImages, signal: session.signal, compile: { device: flags.device, threads: flags.threads },
        onNote: (m) => session.note(m),
        onProgress: (p) => {
          if (!started) bar.start(p.step - 1);
          started = true;
          bar.update(p.step, p.totalSteps, `loss ${p.loss.toFixed(4)}  lr ${p.lr.toPrecision(3)}`);
        },
        onValidation: async (step, pictures) => {
          for (const [i, image] of pictures.entries()) {
            validations.push(await writeTarget({ path: join(checkpointDir, `validation-steps-${step}-${i}.png`), policy: 'overwrite' }, await encodePng(image)));
          }
        },
      });
    } finally {
      bar.finish();
      await pipe.release();
    }

    session.phase = 'write';
    const ext = extname(flags.output).toLowerCase();
    const bytes = ext === '.pt' ? a1111EmbeddingBytes(run.token, run.embeddings, { step: run.steps })
      : ext === '.bin' ? torchSave({ [run.token]: run.embeddings }) : learnedEmbedsBytes(run.token, run.embeddings);
    const written = await writeTarget(output, bytes);
    const last = run.losses.length > 0 ? run.losses[run.losses.length - 1] : undefined;
    session.print(`trained ${run.tokens.join(' ')} (${run.embeddings.shape[0]} × ${run.embeddings.shape[1]}) for steps ${run.startStep + 1}–${run.steps}${last !== undefined ? `, last loss ${last.toFixed(4)}` : ''}`);
    session.print(`wrote ${written}`);
    session.print(`use it: latentlab generate --model ${flags.model} --embedding ${written} --prompt "a photo of ${run.token}"`);
    session.report({
      command: 'train-embedding', model: flags.model, folder, seed, token: run.token, tokens: run.tokens, ids: run.ids, startStep: run.startStep, steps: run.steps,
      learningRate: run.learningRate, losses: run.losses, output: resolve(written), checkpoints: run.files.map((f) => resolve(f)), validation: validations, images: files,
    }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
