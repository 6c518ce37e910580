// Scheduler configuration, resolved the way diffusers' `Class.from_config(config)` resolves it:
// start from the class's own defaults, let every field of the given config win, and keep fields the
// class does not know (diffusers keeps them as "hidden" config entries; a config written by
// `save_pretrained` and switched to another class still carries them). Field names keep the JSON
// spelling (`beta_schedule`, `timestep_spacing`, ...). Known fields are validated here, once, before
// any compute: an unknown value is an error naming the field, the value and the allowed values.

import { check, fmtValue, LatentlabError } from '../core/errors.js';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** A resolved scheduler config: the common fields typed, class-specific and unknown fields as read. */
export interface SchedulerConfig {
  _class_name: string;
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  steps_offset: number;
  timestep_spacing?: TimestepSpacing;
  rescale_betas_zero_snr?: boolean;
  [field: string]: unknown;
}

/** What the caller may pass: any subset of fields (e.g. a parsed scheduler_config.json). */
export type SchedulerConfigInput = Readonly<Record<string, unknown>>;

export type FieldRule =
  | { readonly type: 'enum'; readonly values: readonly (string | null)[] }
  | { readonly type: 'bool' }
  | { readonly type: 'number'; readonly nullable?: boolean; readonly min?: number; readonly integer?: boolean }
  | { readonly type: 'numbers'; readonly nullable?: boolean; readonly integer?: boolean };

/** Everything a scheduler class declares about its config. */
export interface ClassSpec {
  readonly className: string;
  /** diffusers' `__init__` defaults for this class, 0.27. */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Validation rules; the common ones are merged in, a class entry replaces a common one. */
  readonly rules?: Readonly<Record<string, FieldRule>>;
  /**
   * diffusers rewrites some fields in `__init__` (e.g. UniPC turns solver_type "midpoint" into "bh2",
   * so that a DPM-Solver config can be switched to it); applied to the merged config before validation.
   */
  readonly coerce?: (config: Record<string, unknown>) => void;
}

export const BETA_SCHEDULES: readonly BetaSchedule[] = ['linear', 'scaled_linear', 'squaredcos_cap_v2'];
export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'v_prediction', 'sample'];
export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

/** Defaults shared by every class (each class adds or replaces entries). */
export const COMMON_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  steps_offset: 0,
} as const;

const COMMON_RULES: Readonly<Record<string, FieldRule>> = {
  num_train_timesteps: { type: 'number', integer: true, min: 2 },
  beta_start: { type: 'number', min: 0 },
  beta_end: { type: 'number', min: 0 },
  beta_schedule: { type: 'enum', values: BETA_SCHEDULES },
  trained_betas: { type: 'numbers', nullable: true },
  prediction_type: { type: 'enum', values: PREDICTION_TYPES },
  timestep_spacing: { type: 'enum', values: TIMESTEP_SPACINGS },
  steps_offset: { type: 'number', integer: true, min: 0 },
  rescale_betas_zero_snr: { type: 'bool' },
  use_karras_sigmas: { type: 'bool' },
  clip_sample: { type: 'bool' },
  clip_sample_range: { type: 'number', min: 0 },
  set_alpha_to_one: { type: 'bool' },
  thresholding: { type: 'bool' },
  solver_order: { type: 'number', integer: true, min: 1 },
  lower_order_final: { type: 'bool' },
};

/** Turns JSON's spellings of infinity (and Python's) into numbers: `-inf`, `"-Infinity"`, -Infinity. */
export function parseNumberish(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === '-inf' || v === '-infinity') return -Infinity;
  if (v === 'inf' || v === 'infinity' || v === '+inf') return Infinity;
  return value;
}

function describe(rule: FieldRule): string {
  switch (rule.type) {
    case 'enum':
      return `one of ${rule.values.map((v) => (v === null ? 'null' : v)).join(', ')}`;
    case 'bool':
      return 'true or false';
    case 'number':
      return `${rule.integer ? 'an integer' : 'a number'}${rule.min !== undefined ? ` ≥ ${rule.min}` : ''}${rule.nullable ? ' or null' : ''}`;
    case 'numbers':
      return `a list of ${rule.integer ? 'integers' : 'numbers'}${rule.nullable ? ' or null' : ''}`;
  }
}

function valid(rule: FieldRule, value: unknown): boolean {
  switch (rule.type) {
    case 'enum':
      return rule.values.includes(value as string | null);
    case 'bool':
      return typeof value === 'boolean';
    case 'number':
      if (value === null) return rule.nullable === true;
      return typeof value === 'number' && !Number.isNaN(value) && (!rule.integer || Number.isInteger(value)) && (rule.min === undefined || value >= rule.min);
    case 'numbers':
      if (value === null) return rule.nullable === true;
      return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v) && (!rule.integer || Number.isInteger(v)));
  }
}

/** Resolves and validates `input` for the class described by `spec`. */
export function resolveConfig(spec: ClassSpec, input: SchedulerConfigInput = {}): SchedulerConfig {
  check(typeof input === 'object' && input !== null && !Array.isArray(input), 'SCHEDULER_CONFIG',
    () => `${spec.className}: the config must be an object (a parsed scheduler_config.json), got ${fmtValue(input)}`);
  const merged: Record<string, unknown> = { ...COMMON_DEFAULTS, ...spec.defaults };
  for (const [key, value] of Object.entries(input)) {
    if (key === '_class_name' || key === '_diffusers_version') continue;
    merged[key] = parseNumberish(value);
  }
  spec.coerce?.(merged);
  const rules = { ...COMMON_RULES, ...spec.rules };
  for (const [key, rule] of Object.entries(rules)) {
    if (!(key in merged)) continue;
    const value = merged[key];
    if (!valid(rule, value)) {
      throw new LatentlabError('SCHEDULER_CONFIG', `${spec.className}: config field "${key}" is ${fmtValue(value)}; expected ${describe(rule)}`, {
        key,
        // Said in the config file's own terms: the CLI and the library both show it.
        hint: `set "${key}" to ${describe(rule)} in the scheduler config (e.g. "${key}": ${fmtValue(rule.type === 'enum' ? rule.values[0] : spec.defaults[key] ?? null)}), or leave it out for the default`,
      });
    }
  }
  // Imagen's dynamic thresholding is for pixel-space models; latent diffusion never uses it.
  check(merged.thresholding !== true, 'SCHEDULER_UNSUPPORTED', () => `${spec.className}: config field "thresholding" is true; only false is supported`,
    { key: 'thresholding', hint: 'set "thresholding": false (dynamic thresholding is not implemented).' });
  const trained = merged.trained_betas as number[] | null;
  check(trained === null || trained.length === merged.num_train_timesteps, 'SCHEDULER_CONFIG',
    () => `${spec.className}: trained_betas has ${trained!.length} values but num_train_timesteps is ${fmtValue(merged.num_train_timesteps)}`,
    { key: 'trained_betas', hint: 'give one beta per training timestep.' });
  return { _class_name: spec.className, ...merged } as SchedulerConfig;
}
