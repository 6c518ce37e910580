// The models package: diffusers-style classes built on the graph engine.
export * from './autoencoder-kl.js';
export * from './autoencoder-tiny.js';
export type { AutoencoderTinyConfig } from './taesd-config.js';
export * from './clip-text-model.js';
export type { CLIPTextConfig } from './clip-text-graph.js';
export * from './vae-config.js';
export * from './unet-2d-condition-model.js';
export * from './unet-config.js';
export type { FromPretrainedOptions } from './pretrained.js';
// The graph builders, for graphs of your own on a model's weights (compileGraph): a loss on the
// decoded image, a training step, a vector-Jacobian product.
export { buildCLIPTextGraph, type CLIPTextGraphOptions } from './clip-text-graph.js';
export { buildUNetGraph, type UNetGraphOptions } from './unet-graph.js';
export { buildVaeDecoderGraph, buildVaeEncoderGraph, vaeDecoder, vaeEncoder, type VaeGraphOptions } from './vae-graph.js';
export { buildGarmentClassifierGraph, crossEntropy, garmentClassifier, GarmentClassifier, type GarmentClassifierConfig, parseGarmentClassifierConfig } from './garment-classifier.js';
