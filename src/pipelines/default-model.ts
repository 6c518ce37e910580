// The model latentlab ships (models/latentlab-mini/, trained by `latentlab train-mini`): what
// `StableDiffusionPipeline.fromPretrained()` and the CLI load when no model is named, so a fresh
// clone makes real pictures offline. Its model card (README.md in the folder) says what it is.

export const DEFAULT_MODEL_NAME = 'latentlab-mini';

/** models/ sits two levels above this module both in src/ (tsx, tests) and in dist/ (the package). */
export function defaultModelPath(): string {
  return decodeURIComponent(new URL(`../../models/${DEFAULT_MODEL_NAME}`, import.meta.url).pathname);
}
