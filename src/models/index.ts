// The models package: diffusers-style classes built on the graph engine.
export * from './autoencoder-kl.js';
export * from './vae-config.js';
