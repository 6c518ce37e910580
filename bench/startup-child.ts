// Child process of the `startup-*` cases: a one-shot 512×512 generation as the CLI would start
// it, stopped the moment ONNX Runtime begins the first UNet call. Prints one JSON line:
//   {"firstStepMs": ms since this process started, "peakRssMb": VmHWM so far, "phases": {...}}
// Usage: tsx bench/startup-child.ts <pipeline folder> [<fromPretrained options as JSON>]

import { readFileSync } from 'node:fs';

import { StableDiffusionPipeline } from '../src/node.js';
import { CompiledGraph, Runtime, runtime, setRuntime } from '../src/graph/runtime.js';

const [folder, optionsJson = '{}'] = process.argv.slice(2);
const phases: Record<string, number> = { imported: performance.now() };

function peakRssMb(): number {
  return Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)?.[1]) / 1024;
}

function report(): never {
  const firstStepMs = performance.now(); // performance.timeOrigin is the process start
  process.stdout.write(`${JSON.stringify({ firstStepMs, peakRssMb: peakRssMb(), phases })}\n`);
  process.exit(0);
}

// Wrap the runtime seam: note when each session is ready, and stop when the UNet first runs.
const inner: Runtime = runtime();
setRuntime({
  async compile(graph, weights, options): Promise<CompiledGraph> {
    const compiled = await inner.compile(graph, weights, options);
    phases[`${graph.name} session`] = performance.now();
    if (graph.name !== 'unet') return compiled;
    return Object.assign(Object.create(compiled) as CompiledGraph, { run: () => report() });
  },
});

const pipe = await StableDiffusionPipeline.fromPretrained(folder, JSON.parse(optionsJson) as object);
phases.loaded = performance.now();
await pipe.call({ prompt: 'a photograph of an astronaut riding a horse', numInferenceSteps: 20, seed: 0 });
throw new Error('the UNet never ran');
