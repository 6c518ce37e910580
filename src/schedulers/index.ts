// Public surface of the schedulers.
export { type NoiseLevel, Scheduler, type StepOptions, type StepOutput, type TimestepType } from './base.js';
export type { BetaSchedule, ClassSpec, PredictionType, SchedulerConfig, SchedulerConfigInput, TimestepSpacing } from './config.js';
export { DDPMScheduler } from './ddpm.js';
export { DDIMScheduler, type DDIMStepOptions } from './ddim.js';
export { PNDMScheduler } from './pndm.js';
export { LMSDiscreteScheduler, type LMSStepOptions } from './lms.js';
export { EulerDiscreteScheduler } from './euler.js';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
export { HeunDiscreteScheduler } from './heun.js';
export { KDPM2DiscreteScheduler } from './kdpm2.js';
export { DPMSolverMultistepScheduler } from './dpm-multistep.js';
export { DPMSolverSinglestepScheduler } from './dpm-singlestep.js';
export { UniPCMultistepScheduler } from './unipc.js';
export { DEISMultistepScheduler } from './deis.js';
export { LCMScheduler, type LCMStepOutput } from './lcm.js';
export { TCDScheduler, type TCDStepOutput } from './tcd.js';
export {
  a1111SamplerName, resolveSchedulerName, SCHEDULER_CLASSES, schedulerChoices, schedulerClass, type SchedulerChoice, type SchedulerClass,
  schedulerFromConfig, schedulerName, schedulerNames,
} from './registry.js';
