// The registry of benchmark cases, in the order they run. The peak probe is kept apart: the
// runner runs it first so every other row can be read as a fraction of it.
//
// To add benchmarks (model components, a whole txt2img), write bench/cases/<topic>.ts exporting
// BenchCase[] (graphCase for one graph, or a hand-written `prepare` for a pipeline) and append
// it here.

import type { BenchCase } from '../lib/case.js';
import { opCases } from './ops.js';
import { peakProbe } from './peak.js';

export { peakProbe };

export const CASES: readonly BenchCase[] = [...opCases];
