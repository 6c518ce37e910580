// The pipelines package: StableDiffusionPipeline (txt2img), StableDiffusionImg2ImgPipeline,
// StableDiffusionInpaintPipeline and
// the pieces they are made of, for learners who want to write the loop themselves.
export { type CommonCallOptions, PipelineBase, type PipelineOutput } from './base.js';
export { fixLegacySchedulerConfig, loadPipelineComponents, makeScheduler, type PipelineComponents, type PipelineLoadOptions } from './components.js';
export { checkCancelled, classifierFreeGuidance, denoise, type DenoiseArgs, guidanceCondition, type StepCallback, type StepInfo, usesClassifierFreeGuidance } from './denoise.js';
export { guidanceScaleEmbedding } from '../nn/timestep-embedding.js';
export {
  blueLoss, checkLossGuidance, colorLoss, DEFAULT_LOSS_GUIDANCE_EVERY, type ImageLoss, type LossGuidance, LossGuide, lossGuidanceGraph,
} from './loss-guidance.js';
export { encodePrompt, type EncodePromptOptions, repeatEach, tokenizePrompts } from './encode-prompt.js';
export {
  encodePromptConditioning, encodeScheduledPrompt, type EncodeScheduledOptions, PROMPT_SYNTAXES, PromptConditioning, type PromptConditioningOptions, type PromptSyntax,
  type ScheduledEmbeds,
} from './prompt-conditioning.js';
export { applyA1111Emphasis, applyComfyWeights, type Weighting } from './prompt-weighting.js';
export { type Img2ImgOptions, img2imgTimesteps, StableDiffusionImg2ImgPipeline } from './img2img.js';
export { StableDiffusionPipeline, type Txt2ImgOptions } from './stable-diffusion.js';
export { blendOutsideMask, type InpaintOptions, maskedImage, StableDiffusionInpaintPipeline } from './inpaint.js';
export { DEFAULT_MODEL_NAME, defaultModelPath } from './default-model.js';
export { loadSingleFileComponents, savePipelineAsSingleFile, type SingleFileLoadOptions } from './single-file.js';
export type { PipelineVae } from './latents.js';
export { createRandomPipeline, type CreateRandomPipelineOptions, RANDOM_PIPELINE_PRESETS, randomWeight, type RandomPipelinePreset, type RandomPipelinePresetName } from './random-pipeline.js';
export { createRandomLcmLora, LCM_LORA_TARGETS, lcmLoraModules, randomLcmLoraTensors, type RandomLoraOptions } from './random-lora.js';
export {
  commonCallOptionFields, commonCallOptionsSchema, img2imgOptionFields, img2imgOptionsSchema, inpaintOptionFields, inpaintOptionsSchema, opt, parseCallOptions, txt2imgOptionFields,
  txt2imgOptionsSchema,
} from './call-options.js';
export {
  checkMemory, estimateCallMemory, estimateGraphMemory, type GraphMemory, LIBRARY_MEMORY_NAMES, type MemoryEstimate, type MemoryNames, type MemoryRequest,
  type ModelConfigs, type PhaseMemory,
} from './memory-estimate.js';
export { loadTextualInversion, type LoadedTextualInversion, type LoadTextualInversionOptions, type TextualInversionSource } from './textual-inversion.js';
export { extractLoraTags, type LoraTag, type PipelineLora, setPipelineLoras } from './lora.js';
export {
  a1111Parameters, type EmbeddingReport, type GenerationSettings, type HiresReport, type JsonOptions, loraHashes, type LoraReport, modelName, pngTextFor, promptIndex, type SchedulerReport,
  stringifyJson, tiHashes,
} from './generation-record.js';
export { checkAgainstModel, type CheckVocabulary, checkDenoisingSteps, LIBRARY_VOCABULARY, type ModelCheckRequest } from './generation-checks.js';
export { classifierGuidance, type ClassifierGuidanceOptions } from './classifier-guidance.js';
export { a1111HiresTarget, checkHiresSchedule, hiresFix, type HiresFixOutput, type HiresOptions, hiresSchedule, type ImageUpscaler, LATENT_UPSCALE_MODES, latentUpscaleMode } from './hires-fix.js';
