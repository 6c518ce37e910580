// The checks of a generation request that need the loaded model, shared by the CLI and the server
// so both refuse the same requests with the same reasons, each in its own words: the CLI names
// its flags (`--steps`), the server the request's fields (`steps`), the library its options.
// They run after loading and before any compute.

import { LatentlabError } from '../core/errors.js';
import { schedulerFromConfig, type Scheduler } from '../schedulers/index.js';
import type { PipelineBase } from './base.js';

/** What the caller calls each setting, and the error code it uses for a bad one. */
export interface CheckVocabulary {
  steps: string;
  strength: string;
  clipSkip: string;
  code: 'PIPELINE_ARGUMENT' | 'CLI_ARGUMENT' | 'SERVER_REQUEST';
}

/** The pipelines' own option names. */
export const LIBRARY_VOCABULARY: CheckVocabulary = { steps: 'numInferenceSteps', strength: 'strength', clipSkip: 'clipSkip', code: 'PIPELINE_ARGUMENT' };

function fail(v: CheckVocabulary, name: string, value: unknown, expected: string, hint?: string): LatentlabError {
  // A flag's value is the text the user typed, quoted as the CLI's flag errors quote it.
  const shown = typeof value === 'string' || v.code === 'CLI_ARGUMENT' ? JSON.stringify(String(value)) : String(value);
  return new LatentlabError(v.code, `${name} ${shown}: expected ${expected}`, { key: name, hint });
}

/** img2img and inpaint run int(steps × strength) of the steps (diffusers' get_timesteps); zero is no run at all. */
export function checkDenoisingSteps(steps: number, strength: number, v: CheckVocabulary = LIBRARY_VOCABULARY): void {
  if (Math.trunc(steps * strength) < 1) {
    throw new LatentlabError(v.code, `${v.steps} ${steps} with ${v.strength} ${strength} runs int(${steps} × ${strength}) = 0 denoising steps`, {
      key: v.steps, hint: `img2img and inpaint run int(steps × strength) steps; use at least ${v.steps} ${Math.ceil(1 / strength)} for this strength`,
    });
  }
}

export interface ModelCheckRequest {
  steps: number;
  clipSkip?: number;
  /** The scheduler the call will run (default: the pipeline's); it is not changed. */
  scheduler?: Scheduler;
}

/** Settings whose limits come from the model: the step count (the trained timesteps, the sampler's own grid) and clip skip. */
export function checkAgainstModel(pipe: PipelineBase, r: ModelCheckRequest, v: CheckVocabulary = LIBRARY_VOCABULARY): void {
  const scheduler = r.scheduler ?? pipe.scheduler;
  const trained = scheduler.config.num_train_timesteps;
  if (r.steps > trained) throw fail(v, v.steps, r.steps, `at most ${trained}, the number of timesteps the model was trained with`);
  try {
    schedulerFromConfig(scheduler.config).setTimesteps(r.steps); // the sampler's own limit (LCM / TCD: their distillation grid), on a copy
  } catch (e) {
    if (e instanceof LatentlabError && e.code === 'SCHEDULER_STEPS') {
      throw fail(v, v.steps, r.steps, `a step count ${scheduler.className} accepts (${e.message.split('\n')[0]})`, e.hint);
    }
    throw e;
  }
  const layers = pipe.textEncoder.config.num_hidden_layers;
  if (r.clipSkip !== undefined && r.clipSkip >= layers) {
    throw fail(v, v.clipSkip, r.clipSkip, `less than ${layers}, the number of layers of this text encoder`, `${v.clipSkip} 1 uses the second-to-last layer (A1111's "Clip skip: 2")`);
  }
}
