// The registry of benchmark cases, in the order they run. The peak probe is kept apart: the
// runner runs it first so every other row can be read as a fraction of it.
//
// To add benchmarks, write bench/cases/<topic>.ts exporting BenchCase[] (graphCase for one graph,
// or a hand-written `prepare`) and append it here. Model and pipeline cases are also made on
// demand from their names (`unet-768-b1`, `txt2img-512-4steps-fp16`): see findCase.

import type { BenchCase } from '../lib/case.js';
import { fewStepCase, fewStepCases } from './few-step.js';
import { fileCases } from './files.js';
import { gradientCase, gradientCases } from './gradients.js';
import { modelCase, modelCases } from './models.js';
import { opCases } from './ops.js';
import { peakProbe } from './peak.js';
import { pipelineCase, pipelineCases } from './pipeline.js';

export { peakProbe };

export const CASES: readonly BenchCase[] = [...opCases, ...modelCases, ...gradientCases, ...pipelineCases, ...fileCases, ...fewStepCases];

/** A registered case by name, or a model / pipeline case made from the name. */
export function findCase(name: string): BenchCase | undefined {
  return [peakProbe, ...CASES].find((c) => c.name === name) ?? modelCase(name) ?? gradientCase(name) ?? pipelineCase(name) ?? fewStepCase(name);
}
