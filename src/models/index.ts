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
