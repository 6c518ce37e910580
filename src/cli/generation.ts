// `latentlab generate` and `latentlab img2img`: check everything, load the pipeline, run it with a
// progress bar (and previews), then write the images, the latents and the report.
//
// The order matters for the user: every flag, input file and output path is checked BEFORE the
// model is loaded (seconds) or the loop runs (minutes), so a typo costs nothing. Outputs are written
// only after the loop finished, each atomically (outputs.ts).

import { resolve } from 'node:path';

import {
  encodePng, Generator, LatentlabError, serializeSafetensors, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline, type StepInfo, type Tensor,
} from '../index.js';
import { flagError } from './errors.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, type GenerationFlags, negativesFor, seedFor } from './generation-flags.js';
import { prepareInputImage } from './input-image.js';
import { a1111Text, type GenerationSettings, latentlabVersion, modelName, promptIndex, stringifyJson } from './metadata.js';
import { isFolder, loadOptions, resolveFolder, schedulerChoice, schedulerReport } from './model.js';
import { explicitTarget, imageTargets, type Target, writeTarget } from './outputs.js';
import { Previewer } from './preview.js';
import { StepProgress } from './progress.js';
import type { Session } from './session.js';

export interface WrittenFile {
  path: string;
  kind: 'image' | 'latents' | 'preview';
  /** Batch position of an image. */
  index?: number;
  prompt?: string;
  /** 1-based step of a preview. */
  step?: number;
}

export async function runGeneration(kind: 'generate' | 'img2img', flags: GenerationFlags, session: Session): Promise<void> {
  // ---- everything that can fail cheaply, before the model is loaded -----------------------------
  const prompts = flags.prompt;
  const negatives = negativesFor(prompts, flags.negativePrompt);
  const numImages = flags.numImages ?? 1;
  const batchSize = prompts.length * numImages;
  const { seed, random } = seedFor(flags);
  const scheduler = await schedulerChoice(flags);
  const steps = flags.steps ?? DEFAULT_STEPS;
  const strength = flags.strength ?? 0.8;
  if (kind === 'img2img') checkDenoisingSteps(steps, strength);
  const input = kind === 'img2img' ? await prepareInputImage(flags) : undefined;
  const overwrite = flags.overwrite ?? false;
  const imageOut = await imageTargets('--out', flags.out, batchSize, String(seed), overwrite);
  const latentsOut = flags.saveLatents === undefined ? undefined : await explicitTarget('--save-latents', flags.saveLatents, ['.safetensors'], overwrite);
  const previewer = flags.preview === undefined ? undefined : await Previewer.create(flags.preview, overwrite, session);

  const folder = await resolveFolder(flags, session);
  const model = modelName(flags.model!, await isFolder(flags.model!));
  const Pipeline = kind === 'generate' ? StableDiffusionPipeline : StableDiffusionImg2ImgPipeline;
  const pipe = await Pipeline.fromPretrained(folder, { ...loadOptions(flags), scheduler: scheduler.choice });
  checkAgainstModel(pipe, steps, flags.clipSkip);
  if (input?.resizedFrom) session.note(`resized ${flags.image} from ${input.resizedFrom.width}×${input.resizedFrom.height} to ${input.image.width}×${input.image.height} (Lanczos), as --width/--height asked`);

  const size = pipe instanceof StableDiffusionPipeline ? pipe.defaultSize : 0;
  const settings: GenerationSettings = {
    command: kind,
    model: flags.model!,
    folder,
    variant: flags.variant,
    revision: flags.revision,
    device: flags.device,
    threads: flags.threads,
    scheduler: schedulerReport(pipe.scheduler, scheduler.source),
    prompts,
    negativePrompts: negatives,
    numImagesPerPrompt: numImages,
    batchSize,
    steps,
    guidance: flags.guidance ?? DEFAULT_GUIDANCE,
    width: input?.image.width ?? flags.width ?? size,
    height: input?.image.height ?? flags.height ?? size,
    seed,
    eta: flags.eta,
    clipSkip: flags.clipSkip,
    ...(input ? { image: flags.image, strength, resizedFrom: input.resizedFrom } : {}),
  };
  if (random) session.note(`seed ${seed} (random; pass --seed ${seed} to get the same images again)`);

  // ---- the loop --------------------------------------------------------------------------------
  session.phase = 'compute';
  const progress = new StepProgress(session.streams.stderr);
  const callback = async (info: StepInfo) => {
    progress.update(info.step + 1, info.numSteps);
    await previewer?.step(info, (x0) => pipe.decodeLatents(x0));
  };
  const common = {
    prompt: prompts,
    negativePrompt: negatives,
    numImagesPerPrompt: numImages,
    numInferenceSteps: settings.steps,
    guidanceScale: settings.guidance,
    generator: new Generator(seed),
    eta: flags.eta,
    clipSkip: flags.clipSkip,
    callback,
    signal: session.signal,
  };
  progress.start();
  let output;
  try {
    output = pipe instanceof StableDiffusionImg2ImgPipeline
      ? await pipe.call({ ...common, image: input!.image, strength: settings.strength })
      : await (pipe as StableDiffusionPipeline).call({ ...common, width: settings.width, height: settings.height });
  } finally {
    progress.finish();
  }
  session.checkCancelled();

  // ---- outputs ---------------------------------------------------------------------------------
  session.phase = 'write';
  const files: WrittenFile[] = [];
  for (let i = 0; i < output.images.length; i++) {
    const png = await encodePng(output.images[i], { text: { parameters: a1111Text(settings, i, model) } });
    files.push({ path: await writeTarget(imageOut[i], png), kind: 'image', index: i, prompt: prompts[promptIndex(settings, i)] });
  }
  if (latentsOut) files.push({ path: await writeLatents(latentsOut, output.latents, settings, model), kind: 'latents' });
  files.push(...(previewer?.written ?? []));
  await pipe.release();

  for (const f of files) if (f.kind !== 'preview') session.print(`wrote ${f.path}`);
  if (previewer && previewer.written.length > 0) session.print(`wrote ${previewer.written.length} previews to ${flags.preview}`);
  session.print(`seed ${seed}, ${settings.steps} steps, ${settings.scheduler.a1111} (${settings.scheduler.className}), guidance ${settings.guidance}, ${settings.width}×${settings.height}`);
  session.report({
    command: kind,
    files: files.map((f) => ({ ...f, path: resolve(f.path) })),
    images: files.filter((f) => f.kind === 'image').map((f) => resolve(f.path)),
    settings,
  }, (v) => stringifyJson(v, { indent: 2 }));
}

/** img2img runs int(steps × strength) of the steps (diffusers' get_timesteps); zero is no run at all. */
function checkDenoisingSteps(steps: number, strength: number): void {
  if (Math.trunc(steps * strength) < 1) {
    throw new LatentlabError('CLI_ARGUMENT', `--steps ${steps} with --strength ${strength} runs int(${steps} × ${strength}) = 0 denoising steps`, {
      key: '--steps', hint: `img2img runs int(steps × strength) steps; use at least --steps ${Math.ceil(1 / strength)} for this strength`,
    });
  }
}

/** Flag values whose limits come from the model, checked after loading and before the loop. */
function checkAgainstModel(pipe: StableDiffusionPipeline | StableDiffusionImg2ImgPipeline, steps: number, clipSkip: number | undefined): void {
  const trained = pipe.scheduler.config.num_train_timesteps;
  if (steps > trained) throw flagError('--steps', String(steps), `at most ${trained}, the number of timesteps the model was trained with`);
  const layers = pipe.textEncoder.config.num_hidden_layers;
  if (clipSkip !== undefined && clipSkip >= layers) {
    throw flagError('--clip-skip', String(clipSkip), `less than ${layers}, the number of layers of this text encoder`, '--clip-skip 1 uses the second-to-last layer (A1111\'s "Clip skip: 2")');
  }
}

/** The final latents as the UNet sees them (scaling_factor × z), with what `decode` needs to know. */
async function writeLatents(target: Target, latents: Tensor<'float32'>, s: GenerationSettings, model: string): Promise<string> {
  const metadata = {
    format: 'pt',
    content: 'latents: final latents [B, 4, H/8, W/8], scaled as the UNet sees them (scaling_factor × z); vae.decode takes latents / scaling_factor',
    model,
    seed: String(s.seed),
    prompts: stringifyJson(s.prompts),
    settings: stringifyJson(s, { python: true }),
    latentlab: latentlabVersion(),
  };
  return writeTarget(target, serializeSafetensors({ latents }, metadata));
}
