// A scheduler from a model folder, without loading the rest of the pipeline: diffusers'
//
//   scheduler = LMSDiscreteScheduler.from_pretrained(model_id, subfolder="scheduler")
//
// is `await schedulerFromPretrained(folder, { name: 'lms' })` here. The model's own
// scheduler_config.json supplies βₜ, the timestep spacing and the prediction type (v-prediction for
// SD 2.x 768 models); `name` switches the algorithm as `from_config` does, keeping those fields.
// Without a name you get the class the config names (PNDM for SD 1.5). Like the pipelines, old
// configs get diffusers' compatibility fixes (steps_offset, clip_sample).

import { fileSystem } from '../core/io.js';
import { resolveModelPath, type ResolveOptions } from '../core/model-resolver.js';
import type { Scheduler } from '../schedulers/index.js';
import { readConfigFile } from '../weights/index.js';
import { fixLegacySchedulerConfig, makeScheduler } from './components.js';

export interface SchedulerFromPretrainedOptions extends Omit<ResolveOptions, 'variant'> {
  /** Folder of the scheduler config inside the model (default "scheduler"). */
  subfolder?: string;
  /** A scheduler name (`lms`, `euler-a`, `DPM++ 2M Karras`, `EulerDiscreteScheduler`, …); default: the config's class. */
  name?: string;
}

/** Reads `<model>/scheduler/scheduler_config.json` (a folder or a Hub id) and builds the scheduler. */
export async function schedulerFromPretrained(pathOrId: string, options: SchedulerFromPretrainedOptions = {}): Promise<Scheduler> {
  const { subfolder = 'scheduler', name, ...resolve } = options;
  const folder = await resolveModelPath(pathOrId, resolve);
  const fs = fileSystem();
  const config = await readConfigFile(fs.join(folder, subfolder, 'scheduler_config.json'));
  return makeScheduler(fixLegacySchedulerConfig(config), name);
}
