// Settings every model case reads, set once by main.ts from the command line: extra compile
// options (for A/B runs of an optimisation switch without editing code) and pipeline options.

import type { CompileOptions } from '../../src/graph/runtime.js';

export interface BenchSettings {
  /** Merged over the library's defaults for every model session (--compile '{"optimizationLevel":"all"}'). */
  compile: CompileOptions;
  /** Extra options for StableDiffusionPipeline.fromPretrained in the txt2img / startup cases (--pipeline '{…}'). */
  pipeline: Record<string, unknown>;
}

export const settings: BenchSettings = { compile: {}, pipeline: {} };
