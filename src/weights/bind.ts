// Binding a checkpoint to a graph: the graph builders declare the weights they need (key + shape,
// the key being diffusers' module path, DESIGN.md's naming contract); the checkpoint must provide
// exactly those. This is PyTorch's `load_state_dict(strict=True)` — missing keys, unexpected keys
// and size mismatches — except that every problem is collected and reported at once, each with
// the config field that implies it, so a wrong config or a renamed weight is fixed in one go.

import { fmtShape, LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import { closestKey } from './similar.js';
import type { WeightSource } from './source.js';

/** One weight a graph needs. */
export interface ExpectedWeight {
  readonly key: string;
  readonly shape: readonly number[];
  /** The config field that implies this weight or its shape, e.g. "block_out_channels[1] = 64". */
  readonly origin?: string;
}

export type WeightProblem =
  | { readonly kind: 'missing'; readonly key: string; readonly expected: readonly number[]; readonly origin?: string; readonly suggestion?: string }
  | { readonly kind: 'unexpected'; readonly key: string; readonly found: readonly number[]; readonly suggestion?: string }
  | { readonly kind: 'shape'; readonly key: string; readonly expected: readonly number[]; readonly found: readonly number[]; readonly origin?: string };

const CODES = { missing: 'WEIGHTS_MISSING', unexpected: 'WEIGHTS_UNEXPECTED', shape: 'WEIGHTS_SHAPE' } as const;

/** All problems of one binding; `code` is the first problem's kind. */
export class WeightBindingError extends LatentlabError {
  constructor(
    readonly component: string,
    readonly problems: readonly WeightProblem[],
    message: string,
    details: { file?: string; hint?: string },
  ) {
    super(CODES[problems[0].kind], message, { ...details, key: problems[0].key });
    this.name = 'WeightBindingError';
  }
}

export interface BindOptions {
  /** For messages: "unet", "vae", "text_encoder". */
  component: string;
  /** Checkpoint keys the graph does not use and that are fine to leave (e.g. CLIP's position_ids buffer). */
  ignore?: (key: string) => boolean;
}

/** Checkpoint keys real files carry that no latentlab graph needs. */
export const COMMON_IGNORED_KEYS: ReadonlySet<string> = new Set(['text_model.embeddings.position_ids']);

// Suggestions compare every unexpected key with every missing one (a few µs a pair); past this
// many pairs, or with most weights missing, the checkpoint is plainly the wrong one and
// suggestions would be noise (and slow).
const MAX_SUGGESTION_PAIRS = 20_000;
const MAX_LISTED = 25;

/**
 * Checks that `weights` provides every expected key with the expected shape and nothing else
 * (besides ignored keys) and returns the in-place references, in the order of `expected`.
 * Dtypes are not checked: F16 / BF16 weights are cast by the lowering.
 */
export function bindWeights(expected: Iterable<ExpectedWeight>, weights: WeightSource, options: BindOptions): Map<string, WeightData> {
  const { component, ignore } = options;
  const wanted = new Map<string, ExpectedWeight>();
  for (const w of expected) {
    if (wanted.has(w.key)) {
      throw new LatentlabError('WEIGHTS_EXPECTED_DUPLICATE', `${component}: the graph declares weight "${w.key}" twice`, {
        key: w.key, hint: 'this is a bug in the model builder: each module path must be declared once',
      });
    }
    wanted.set(w.key, w);
  }
  const bound = new Map<string, WeightData>();
  const problems: WeightProblem[] = [];
  const missing: ExpectedWeight[] = [];
  for (const w of wanted.values()) {
    if (!weights.has(w.key)) {
      missing.push(w);
      continue;
    }
    const { shape } = weights.info(w.key);
    if (sameShape(shape, w.shape)) bound.set(w.key, weights.ref(w.key));
    else problems.push({ kind: 'shape', key: w.key, expected: w.shape, found: shape, origin: w.origin });
  }
  const unexpected = weights.keys.filter((k) => !wanted.has(k) && !ignore?.(k));
  const suggest = unexpected.length * missing.length <= MAX_SUGGESTION_PAIRS && missing.length <= wanted.size / 2;
  const missingKeys = missing.map((w) => w.key);
  const unexpectedProblems = unexpected.map((key): WeightProblem => ({
    kind: 'unexpected', key, found: weights.info(key).shape, suggestion: suggest ? closestKey(key, missingKeys) : undefined,
  }));
  const missingProblems = missing.map((w): WeightProblem => ({
    kind: 'missing', key: w.key, expected: w.shape, origin: w.origin, suggestion: suggest ? closestKey(w.key, unexpected) : undefined,
  }));
  // Missing first: it is what the graph cannot run without, and the likeliest sign of a wrong config.
  problems.unshift(...missingProblems);
  problems.push(...unexpectedProblems);
  if (problems.length > 0) throw bindingError(component, problems, weights, wanted.size);
  return bound;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function describe(p: WeightProblem): string {
  const from = (origin?: string) => (origin ? ` (from ${origin})` : '');
  switch (p.kind) {
    case 'missing':
      return `missing    ${p.key}: expected ${fmtShape(p.expected)}${from(p.origin)}${p.suggestion ? `; the checkpoint has "${p.suggestion}" instead?` : ''}`;
    case 'unexpected':
      return `unexpected ${p.key} ${fmtShape(p.found)}${p.suggestion ? `: did you mean "${p.suggestion}"?` : ''}`;
    case 'shape':
      return `shape      ${p.key}: expected ${fmtShape(p.expected)}, found ${fmtShape(p.found)}${from(p.origin)}`;
  }
}

function bindingError(component: string, problems: readonly WeightProblem[], weights: WeightSource, nExpected: number): WeightBindingError {
  const count = (kind: WeightProblem['kind']) => problems.filter((p) => p.kind === kind).length;
  const [nMissing, nUnexpected, nShape] = [count('missing'), count('unexpected'), count('shape')];
  const summary = [nMissing && `${nMissing} missing`, nUnexpected && `${nUnexpected} unexpected`, nShape && `${nShape} with the wrong shape`].filter(Boolean).join(', ');
  const lines = problems.slice(0, MAX_LISTED).map((p) => `\n  ${describe(p)}`).join('');
  const more = problems.length > MAX_LISTED ? `\n  … and ${problems.length - MAX_LISTED} more (all in error.problems)` : '';
  const message = `${component}: the weights in ${weights.describe()} do not match the model (${summary}):${lines}${more}`;
  let hint: string;
  if (nMissing > nExpected / 2) {
    hint = `most expected weights are missing: these are probably the weights of another model or component than ${component}`;
  } else if (nShape > 0 || nMissing > 0) {
    hint = `check ${component}/config.json against the checkpoint: the config fields named above decide these shapes and keys`;
  } else {
    hint = 'the checkpoint has weights this model does not use: check that config.json matches it (or that it is the right component)';
  }
  return new WeightBindingError(component, problems, message, { file: weights.paths[0], hint });
}
