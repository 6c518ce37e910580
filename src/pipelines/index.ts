// The pipelines package: StableDiffusionPipeline (txt2img), StableDiffusionImg2ImgPipeline and
// the pieces they are made of, for learners who want to write the loop themselves.
export { type CommonCallOptions, PipelineBase, type PipelineOutput } from './base.js';
export { fixLegacySchedulerConfig, loadPipelineComponents, makeScheduler, type PipelineComponents, type PipelineLoadOptions } from './components.js';
export { checkCancelled, classifierFreeGuidance, denoise, type DenoiseArgs, type StepCallback, type StepInfo } from './denoise.js';
export { encodePrompt, type EncodePromptOptions, repeatEach, tokenizePrompts } from './encode-prompt.js';
export { type Img2ImgOptions, img2imgTimesteps, StableDiffusionImg2ImgPipeline } from './img2img.js';
export { StableDiffusionPipeline, type Txt2ImgOptions } from './stable-diffusion.js';
export { loadSingleFileComponents, type SingleFileLoadOptions } from './single-file.js';
export type { PipelineVae } from './latents.js';
export { createRandomPipeline, type CreateRandomPipelineOptions, RANDOM_PIPELINE_PRESETS, randomWeight, type RandomPipelinePreset, type RandomPipelinePresetName } from './random-pipeline.js';
export { loadTextualInversion, type LoadedTextualInversion, type LoadTextualInversionOptions, type TextualInversionSource } from './textual-inversion.js';
export { extractLoraTags, type LoraTag, type PipelineLora, setPipelineLoras } from './lora.js';
