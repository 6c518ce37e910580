// latentlab on Node (`latentlab/node`, and what `latentlab` resolves to under Node): importing it
// registers the Node platform — node:fs files, onnxruntime-node, the Hugging Face Hub cache, the
// machine's memory and cores — then re-exports the platform-neutral API (src/node.ts) and the
// Node-only functions: image files through sharp, training images from a folder, the Hub cache.
import './platform/node/index.js';

export * from './index.js';

export { readTrainingImages, type TrainingImagesOptions } from './platform/node/training-images.js';
export { loraShortHash } from './platform/node/lora-hash.js';
export { embeddingShortHash, listEmbeddingFiles } from './platform/node/embedding-files.js';

// image files (sharp): decode any format, encode PNG with text chunks, render SVG, resize
export { A1111_IMAGE_UPSCALERS, A1111_UPSCALER_NAMES, a1111Upscaler, decodeImage, encodePng, readImage, readPngText, renderSvg, resizeImage, svgToPng, writePng } from './platform/node/image.js';
export { labelledImageToSvg, renderLabels } from './platform/node/image.js';

// models from the Hugging Face Hub (the cache Python's huggingface_hub shares)
export {
  hubCacheDir, resolveHubModel, resolveModel, type ResolvedHubModel, type ResolveModelOptions, terminalProgress,
} from './platform/node/hub.js';
