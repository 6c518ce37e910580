// Flags that are valid on their own but do nothing in this run are errors, not silently ignored
// and recorded as if used: `--revision main` on a local folder would otherwise land in the PNG's
// metadata (`Revision: main`) of an image that no revision made. One table, checked twice: the
// rules that need only the command line before anything is loaded, the others once the model (and
// so the scheduler) is known — still before any compute.

import { LatentlabError } from '../node.js';

export interface RunContext {
  /** --model is a local folder (not a Hub id). */
  localFolder: boolean;
  /** diffusers' class of the scheduler the run will use; known after loading. */
  schedulerClass?: string;
}

interface Rule {
  flag: string;
  given: (f: Record<string, unknown>) => boolean;
  /** undefined: cannot be decided yet; true: the flag does something here. */
  applies: (c: RunContext) => boolean | undefined;
  why: (c: RunContext) => string;
  hint: string;
}

/** Schedulers whose step takes --eta: DDIM's η, TCD's γ. */
const ETA_SCHEDULERS = ['DDIMScheduler', 'TCDScheduler'];

const RULES: Rule[] = [
  {
    flag: '--revision', given: (f) => f.revision !== undefined, applies: (c) => !c.localFolder,
    why: () => 'a revision (branch, tag or commit) selects a Hub snapshot, but --model is a local folder',
    hint: 'leave --revision out for a local folder, or pass a Hub id (org/name) as --model',
  },
  {
    // η = 0 is every scheduler's default (and what diffusers passes to all of them): not an error.
    flag: '--eta', given: (f) => f.eta !== undefined && f.eta !== 0,
    applies: (c) => (c.schedulerClass === undefined ? undefined : ETA_SCHEDULERS.includes(c.schedulerClass)),
    why: (c) => `--eta only changes the steps of DDIM (η) and TCD (γ), and this run uses ${c.schedulerClass}`,
    hint: 'add --scheduler ddim (or tcd) to use it, or leave --eta out',
  },
];

/** Throws CLI_ARGUMENT for the first given flag that does not apply in `context`. */
export function checkApplicable(flags: object, context: RunContext): void {
  for (const r of RULES) {
    if (r.given(flags as Record<string, unknown>) && r.applies(context) === false) {
      throw new LatentlabError('CLI_ARGUMENT', `${r.flag} does not apply here: ${r.why(context)}`, { key: r.flag, hint: r.hint });
    }
  }
}
