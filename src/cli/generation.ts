// `latentlab generate`, `img2img` and `inpaint`: check everything, load the pipeline, run it with a
// progress bar (and previews), then write the images, the latents and the report.
//
// The order matters for the user: every flag, input file and output path is checked BEFORE the
// model is loaded (seconds) or the loop runs (minutes), so a typo costs nothing. Outputs are written
// only after the loop finished, each atomically (outputs.ts).

import { basename, dirname, resolve } from 'node:path';

import {
  type AutoencoderTiny, checkAgainstModel, type CheckVocabulary, checkDenoisingSteps, encodePng, extractLoraTags, Generator, hiresFix, LatentlabError, latentsToImages, type LossGuidance, type PipelineOutput, serializeSafetensors, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline, StableDiffusionPipeline, type StepInfo,
  type Tensor, usesClassifierFreeGuidance,
} from '../node.js';
import { checkApplicable } from './applicability.js';
import { loadEmbeddings, planEmbeddings, type PlannedEmbedding } from './embeddings.js';
import { DEFAULT_GUIDANCE, DEFAULT_PROMPT_SYNTAX, DEFAULT_STEPS, type GenerationFlags, negativesFor, seedFor } from './generation-flags.js';
import { type InputImage, prepareInputImage, prepareMask } from './input-image.js';
import { lossGuidanceEntry, lossGuidanceText } from './loss-guidance.js';
import { type GenerationSettings, latentlabVersion, modelName, pngTextFor, promptIndex, stringifyJson } from './metadata.js';
import { a1111ModelHash } from './model-hash.js';
import { isFolder, loadOptions, resolveFolder, schedulerChoice, schedulerReport } from './model.js';
import { type HiresPlan, planHires } from './hires-flags.js';
import { hashLoras, type LoraReport, planLoras } from './lora-flags.js';
import { checkSingleFileFlags, isSingleFile } from './single-file-flags.js';
import { explicitTarget, imageTargets, type Target, writeTarget } from './outputs.js';
import { capThreadsFlag, checkRunMemory, memoryCap } from './limits.js';
import { Previewer } from './preview.js';
import { StepProgress } from './progress.js';
import { unetCallsLabel } from './progress-label.js';
import type { Session } from './session.js';
import { loadVae, type VaeChoice, vaeChoice } from './vae-flags.js';

export interface WrittenFile {
  path: string;
  kind: 'image' | 'latents' | 'preview';
  /** Batch position of an image. */
  index?: number;
  prompt?: string;
  /** 1-based step of a preview. */
  step?: number;
}

type Pipeline = StableDiffusionPipeline | StableDiffusionImg2ImgPipeline | StableDiffusionInpaintPipeline;
export type GenerationKind = 'generate' | 'img2img' | 'inpaint';

/** The model-dependent checks (the library's: pipelines/generation-checks.ts) in the flags' words. */
const FLAGS: CheckVocabulary = { steps: '--steps', strength: '--strength', clipSkip: '--clip-skip', code: 'CLI_ARGUMENT' };

/** What the cheap checks produce: everything known before the model is loaded. */
interface Plan {
  kind: GenerationKind;
  negatives: string[];
  numImages: number;
  seed: number | bigint;
  randomSeed: boolean;
  scheduler: Awaited<ReturnType<typeof schedulerChoice>>;
  steps: number;
  strength: number;
  input?: InputImage;
  /** inpaint: the mask, read and sized like the image. */
  mask?: InputImage;
  imageOut: Target[];
  latentsOut?: Target;
  previewer?: Previewer;
  localFolder: boolean;
  /** --max-memory or LATENTLAB_MAX_MEMORY, bytes. */
  maxMemory?: number;
  embeddings: PlannedEmbedding[];
  loras: Omit<LoraReport, 'hash'>[];
  vae?: VaeChoice;
  previewVae?: VaeChoice & { kind: 'taesd' };
  lossGuidance?: LossGuidance[];
  /** generate --hires-scale: A1111's hires fix (hires-flags.ts). */
  hires?: HiresPlan;
}

export async function runGeneration(kind: GenerationKind, flags: GenerationFlags, session: Session): Promise<void> {
  const plan = await planRun(kind, flags, session);
  const { pipe, settings, model } = await loadPipeline(plan, flags, session);
  const previewVae = plan.previewVae && (await loadVae(plan.previewVae, loadOptions(flags)));
  try {
    session.phase = 'compute';
    const output = await denoiseWithProgress(pipe, plan, settings, flags, session, previewVae);
    session.checkCancelled();
    session.phase = 'write';
    await writeOutputs(output, plan, settings, model, session);
  } finally {
    await pipe.release();
    await previewVae?.release();
  }
}

/** Every flag, input file and output path, checked before anything is loaded. */
async function planRun(kind: GenerationKind, flags: GenerationFlags, session: Session): Promise<Plan> {
  const negatives = negativesFor(flags.prompt, flags.negativePrompt);
  const numImages = flags.numImages ?? 1;
  const { seed, random } = seedFor(flags);
  const scheduler = await schedulerChoice(flags);
  const steps = flags.steps ?? DEFAULT_STEPS;
  const strength = flags.strength ?? (kind === 'inpaint' ? 1 : 0.8); // diffusers' defaults
  if (kind !== 'generate') checkDenoisingSteps(steps, strength, FLAGS);
  const localFolder = await isFolder(flags.model!);
  checkApplicable(flags, { localFolder });
  flags.threads = capThreadsFlag(flags.threads, session);
  const maxMemory = memoryCap(flags.maxMemory);
  const input = kind !== 'generate' ? await prepareInputImage(flags) : undefined;
  const mask = kind === 'inpaint' ? await prepareMask(flags, input!) : undefined;
  const embeddings = await planEmbeddings(flags);
  const loras = await planLoras(flags, flags.prompt);
  // The first pass's size is known once the model is (its default size): planHires runs again there;
  // here it checks the flags before anything loads.
  planHires(flags, flags.width ?? 512, flags.height ?? 512);
  const overwrite = flags.overwrite ?? false;
  return {
    kind, negatives, numImages, seed, randomSeed: random, scheduler, steps, strength, input, mask, localFolder, maxMemory, embeddings, lossGuidance: flags.lossGuidance?.map(lossGuidanceEntry), loras,
    imageOut: await imageTargets('--out', flags.out, flags.prompt.length * numImages, String(seed), overwrite),
    latentsOut: flags.saveLatents === undefined ? undefined : await explicitTarget('--save-latents', flags.saveLatents, ['.safetensors'], overwrite),
    previewer: flags.preview === undefined ? undefined : await Previewer.create(flags.preview, overwrite, session),
    vae: await vaeChoice('--vae', flags.vae),
    previewVae: await previewVaeChoice(flags),
  };
}

/** The pipeline (downloading a Hub model if needed), the limits it sets, and the settings the run will use. */
async function loadPipeline(plan: Plan, flags: GenerationFlags, session: Session): Promise<{ pipe: Pipeline; settings: GenerationSettings; model: string }> {
  const singleFile = await isSingleFile(flags.model!);
  checkSingleFileFlags(flags, singleFile);
  const folder = singleFile ? resolve(flags.model!) : await resolveFolder(flags, session);
  const model = singleFile ? basename(flags.model!).replace(/\.[^.]+$/, '') : modelName(flags.model!, plan.localFolder);
  const Class = { generate: StableDiffusionPipeline, img2img: StableDiffusionImg2ImgPipeline, inpaint: StableDiffusionInpaintPipeline }[plan.kind];
  const vae = plan.vae && (await loadVae(plan.vae, loadOptions(flags)));
  const common = { scheduler: plan.scheduler.choice, vae, ...(flags.precision ? { precision: flags.precision } : {}) };
  const pipe: Pipeline = singleFile
    ? await Class.fromSingleFile(folder, { device: flags.device, threads: flags.threads, originalConfig: flags.originalConfig, predictionType: flags.predictionType, ...common })
    : await Class.fromPretrained(folder, { ...loadOptions(flags), ...common });
  checkAgainstModel(pipe, { steps: plan.steps, clipSkip: flags.clipSkip }, FLAGS);
  checkApplicable(flags, { localFolder: plan.localFolder, schedulerClass: pipe.scheduler.className });
  const embeddings = await loadEmbeddings(pipe.tokenizer, pipe.textEncoder, plan.embeddings);
  const loras = await hashLoras(plan.loras);
  await pipe.setLoras(loras);
  const { input } = plan;
  const size = pipe instanceof StableDiffusionPipeline ? pipe.defaultSize : 0;
  plan.hires = plan.kind === 'generate' ? planHires(flags, flags.width ?? size, flags.height ?? size) : undefined;
  const settings: GenerationSettings = {
    command: plan.kind,
    model: flags.model!,
    folder,
    variant: flags.variant,
    revision: flags.revision,
    ...(singleFile ? { modelHash: await a1111ModelHash(folder) } : {}),
    device: flags.device,
    threads: flags.threads,
    scheduler: schedulerReport(pipe.scheduler, plan.scheduler.source),
    prompts: flags.prompt,
    negativePrompts: plan.negatives,
    promptSyntax: flags.promptSyntax ?? DEFAULT_PROMPT_SYNTAX,
    numImagesPerPrompt: plan.numImages,
    batchSize: flags.prompt.length * plan.numImages,
    steps: plan.steps,
    guidance: flags.guidance ?? DEFAULT_GUIDANCE,
    width: input?.image.width ?? flags.width ?? size,
    height: input?.image.height ?? flags.height ?? size,
    seed: plan.seed,
    eta: flags.eta,
    clipSkip: flags.clipSkip,
    ...(flags.tiling ? { tiling: true } : {}),
    ...(embeddings.length > 0 ? { embeddings } : {}),
    ...(loras.length > 0 ? { loras } : {}),
    vae: plan.vae,
    previewVae: plan.previewVae,
    ...(flags.lossGuidance ? { lossGuidance: flags.lossGuidance.map(lossGuidanceText) } : {}),
    ...(pipe.unet.precision === 'int8' ? { precision: 'int8' as const } : {}), // what the UNet ran, not the flag
    ...(input ? { image: flags.image, strength: plan.strength, resizedFrom: input.resizedFrom } : {}),
    ...(plan.mask ? { mask: flags.mask, maskBlur: flags.maskBlur ?? 0 } : {}),
    ...(plan.hires ? { hires: plan.hires.report } : {}),
  };
  const guidance = usesClassifierFreeGuidance(pipe.unet, settings.guidance); // LCM-distilled UNets embed it instead
  const largest = plan.hires ? { width: plan.hires.options.width, height: plan.hires.options.height } : { width: settings.width, height: settings.height };
  checkRunMemory(pipe, { batch: settings.batchSize, ...largest, guidance, img2img: plan.kind !== 'generate' || plan.hires !== undefined }, plan.maxMemory);
  if (input?.resizedFrom) session.note(`resized ${flags.image} from ${input.resizedFrom.width}×${input.resizedFrom.height} to ${input.image.width}×${input.image.height} (Lanczos), as --width/--height asked`);
  if (plan.mask?.resizedFrom) session.note(`resized ${flags.mask} from ${plan.mask.resizedFrom.width}×${plan.mask.resizedFrom.height} to ${plan.mask.image.width}×${plan.mask.image.height} (Lanczos), as --width/--height asked`);
  if (plan.randomSeed) session.note(`seed ${plan.seed} (random; pass --seed ${plan.seed} to get the same images again)`);
  return { pipe, settings, model };
}

/** The pipeline's call, with the progress bar and the previews in its step callback. */
async function denoiseWithProgress(pipe: Pipeline, plan: Plan, s: GenerationSettings, flags: GenerationFlags, session: Session, previewVae?: AutoencoderTiny): Promise<PipelineOutput> {
  const progress = new StepProgress(session.streams.stderr, 'denoising', undefined, flags.progress);
  const common = {
    prompt: s.prompts.map((p) => extractLoraTags(p).prompt), // the LoRAs are applied; A1111 keeps the tags only in the infotext
    negativePrompt: s.negativePrompts,
    promptSyntax: s.promptSyntax,
    numImagesPerPrompt: s.numImagesPerPrompt,
    numInferenceSteps: s.steps,
    guidanceScale: s.guidance,
    generator: new Generator(s.seed),
    eta: s.eta,
    clipSkip: s.clipSkip,
    tiling: s.tiling,
    lossGuidance: plan.lossGuidance,
    signal: session.signal,
    memoryLimit: plan.maxMemory,
    callback: async (info: StepInfo) => {
      if (info.step === 0) progress.label = unetCallsLabel(pipe.scheduler, info.numSteps, plan.kind !== 'generate' ? Math.trunc(s.steps * plan.strength) : s.steps);
      progress.update(info.step + 1, info.numSteps);
      await plan.previewer?.step(info, (x0) => (previewVae ? latentsToImages(previewVae, x0, { tiling: s.tiling }) : pipe.decodeLatents(x0, { tiling: s.tiling })));
    },
  };
  progress.start();
  try {
    if (pipe instanceof StableDiffusionInpaintPipeline) {
      return await pipe.call({ ...common, image: plan.input!.image, maskImage: plan.mask!.image, strength: plan.strength, maskBlur: s.maskBlur });
    }
    if (pipe instanceof StableDiffusionImg2ImgPipeline) return await pipe.call({ ...common, image: plan.input!.image, strength: plan.strength });
    if (plan.hires) {
      // seed, not a generator: the second pass draws from a fresh Generator(seed), as A1111 (and the server) do
      const { generator: _first, ...rest } = common;
      return await hiresFix(pipe, { ...rest, seed: s.seed, width: s.width, height: s.height }, plan.hires.options);
    }
    return await pipe.call({ ...common, width: s.width, height: s.height });
  } finally {
    progress.finish();
  }
}

/** Images (with their A1111 text) in batch order, then the latents; the summary or the JSON report. */
async function writeOutputs(output: PipelineOutput, plan: Plan, s: GenerationSettings, model: string, session: Session): Promise<void> {
  const files: WrittenFile[] = [];
  for (let i = 0; i < output.images.length; i++) {
    const png = await encodePng(output.images[i], { text: pngTextFor(s, i, model) });
    files.push({ path: await writeTarget(plan.imageOut[i], png), kind: 'image', index: i, prompt: s.prompts[promptIndex(s, i)] });
  }
  if (plan.latentsOut) files.push({ path: await writeLatents(plan.latentsOut, output.latents, s, model), kind: 'latents' });
  const previews = plan.previewer?.written ?? [];
  files.push(...previews);

  for (const f of files) if (f.kind !== 'preview') session.print(`wrote ${f.path}`);
  if (previews.length > 0) session.print(`wrote ${previews.length} previews to ${dirname(previews[0].path)}`);
  const hires = plan.hires ? `, hires fix to ${output.images[0]?.width ?? plan.hires.options.width}×${output.images[0]?.height ?? plan.hires.options.height}` : '';
  session.print(`seed ${s.seed}, ${s.steps} steps, ${s.scheduler.a1111} (${s.scheduler.className}), guidance ${s.guidance}, ${s.width}×${s.height}${hires}`);
  session.report({
    command: s.command,
    files: files.map((f) => ({ ...f, path: resolve(f.path) })),
    images: files.filter((f) => f.kind === 'image').map((f) => resolve(f.path)),
    settings: s,
  }, (v) => stringifyJson(v, { indent: 2 }));
}

/** --preview-vae only makes sense with --preview: say so instead of ignoring it. */
async function previewVaeChoice(flags: GenerationFlags): Promise<(VaeChoice & { kind: 'taesd' }) | undefined> {
  if (flags.previewVae !== undefined && flags.preview === undefined) {
    throw new LatentlabError('CLI_ARGUMENT', '--preview-vae is given without --preview, so there are no previews to decode', {
      key: '--preview-vae', hint: 'add --preview DIR, or drop --preview-vae',
    });
  }
  return vaeChoice('--preview-vae', flags.previewVae) as Promise<(VaeChoice & { kind: 'taesd' }) | undefined>; // a bare PATH is refused for previews
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
