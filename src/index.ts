// latentlab: Stable Diffusion you can run, take apart and train, in TypeScript.
//
// The platform-neutral public API: everything here runs in Node and in a browser, and reaches
// files, ONNX Runtime and the Hub only through the seams a platform registers. It registers none:
// `latentlab/node` (src/node.ts) and `latentlab/web` (src/web.ts) add their platform and re-export
// this, and the package's `latentlab` picks one of them by the export conditions (docs/platforms.md).
// Objects carry diffusers' names, camelCased, so the deep-dive notebook's
// `pipe.scheduler.set_timesteps(...)` is `pipe.scheduler.setTimesteps(...)` here.

// core
export { inFile, LatentlabError, type ErrorDetails } from './core/errors.js';
export { errnoCode, ioError } from './core/io-errors.js';
export { FOLDER_LISTING_NAME, type FileStat, type FileSystem, fileSystem, setFileSystem } from './core/io.js';
export { type DType } from './core/dtype.js';
export { numel, Tensor } from './core/tensor.js';
export { defaultGenerator, Generator, type GeneratorState } from './core/random.js';
export { linearCombination, map, scale, zipWith } from './core/tensor-math.js';
export { interpolate, type InterpolateMode, type InterpolateOptions, interpolationTaps } from './core/interpolate.js';
export { add } from './core/tensor-math.js';
export { cosineSimilarity, dot, euclideanDistance, norm, pairwiseMatrix, type VectorLike } from './core/similarity.js';
export { tensorDifference, type TensorDifference, tensorStats, type TensorStats } from './core/tensor-stats.js';
export { setWarningHandler, type WarningHandler } from './core/log.js';
export { resolveModelPath, type ResolveOptions } from './core/model-resolver.js';
export { fmtBytes, type SystemResources, systemResources } from './core/system.js';

// the graph engine (for building and running your own networks)
export { Graph, Module, Value } from './graph/graph.js';
export * as ops from './graph/ops/index.js';
export { graphFlops } from './graph/flops.js';
export { grad, type GradOptions } from './graph/autodiff/grad.js';
export { checkGradients, type GradCheckEntry, type GradCheckOptions, type GradCheckReport, type GradCheckSpec } from './graph/autodiff/check.js';
export { OP_NAMES } from './graph/op-specs.js';
export type { OpAttrs, OpName } from './graph/op-types.js';
export { type CompiledGraph, type CompileOptions, type Device, DEVICES, GRADIENT_COMPILE_DEFAULTS, type OptimizationLevel, runtime } from './graph/runtime.js';
export { lowerToOnnx } from './onnx/lower.js';
export { type ConvPaddingMode, withConvPaddingMode, withTiling } from './nn/layers.js';

// tokenizer, prompt syntax, models, schedulers, pipelines
export * from './tokenizers/index.js';
export * from './models/index.js';
export * from './schedulers/index.js';
export * from './prompts/index.js';
export * from './pipelines/index.js';
export { decodeToPixels, imageToLatents, latentsToImages, type VaeCallOptions } from './pipelines/latents.js';
export { schedulerFromPretrained, type SchedulerFromPretrainedOptions } from './pipelines/scheduler-from-pretrained.js';

// training
export { AdamW, type AdamWOptions } from './train/adamw.js';
export { LR_SCHEDULERS, lrSchedule, type LrScheduleOptions, type LrSchedulerName } from './train/lr-schedule.js';
export { runTrainingLoop, type Periodic, type TrainingLoopOptions, type TrainingProgress } from './train/loop.js';
export { checkpointName, latestCheckpoint, readTrainingState, saveTrainingState, type TrainingState } from './train/checkpoint.js';
export { permutation, streamGenerator } from './train/seeds.js';
export { buildTextualInversionStepGraph, type TextualInversionStepShape } from './train/ti-step-graph.js';
export { addWeightGradients, clipGradNorm, emaUpdate, train, type EmaOptions, type TrainerOptions, type TrainerResult } from './train/trainer.js';
export { initialWeight, initialWeights } from './train/init.js';
export * from './train/mini/index.js';
export { OBJECT_TEMPLATES, pixelValues, STYLE_TEMPLATES } from './train/textual-inversion-data.js';
export {
  learnedEmbedsBytes, type TextualInversionRun, trainTextualInversion, type TrainTextualInversionOptions,
} from './train/textual-inversion.js';

// weights and files
export { describeFile, describeFolder, describeFolderText, describeText, type DescribedFile, type DescribedFolder, openLoraFile, type LoraFile } from './weights/index.js';
export { openCheckpointSource, openSingleFile, RefSource, type CheckpointFamily, type SingleFileCheckpoint, type SingleFileOptions } from './weights/index.js';
export { readWeight, readWeightData, SafetensorsFile, serializeSafetensors, WeightSet, writeSafetensors, type WeightInfo, type WeightSource } from './weights/index.js';
export { JsonSyntaxError, parseJson, type JsonParseOptions } from './weights/index.js';
// PyTorch files (.ckpt, .pt, .bin) read without running them, and textual-inversion embedding files
export {
  a1111EmbeddingBytes, isTorchTensor, PyGlobal, PyObject, readEmbeddingFile, TorchCheckpoint, torchSave, TorchStorage, TorchTensorRef, unpickle, ZipArchive,
  type EmbeddingFile, type InMemoryFile, type PickleKey, type PickleValue, type UnpickleOptions, type ZipEntry,
} from './weights/index.js';

// pixels and pictures
export * from './image/index.js';
// models from the Hugging Face Hub: the portable rules (ids, which files a pipeline needs, progress)
export { formatBytes, type HubProgressCallback, type HubProgressEvent, type ProgressStream } from './hub/progress.js';
export { isHubModelId, repoIdProblem } from './hub/model-id.js';
export { SD_COMPONENTS, selectPipelineFiles, type Selection, type SelectOptions } from './hub/select.js';
export type { HubOptions, HubSettings } from './hub/settings.js';
