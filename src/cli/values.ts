// Flag values: each parser turns the text after a flag into a checked value, or throws a
// CLI_ARGUMENT error naming the flag, the text and what was expected. Commander calls them while it
// reads the command line, so a bad value stops the command before any model is loaded.
//
// Numbers are read strictly: "--steps 20" is 20, but "20.5", "2e1", "0x14" and "" are errors
// rather than guesses (JavaScript's Number() would accept three of them).

import { DEVICES, type Device, PROMPT_SYNTAXES, type PromptSyntax, resolveSchedulerName, schedulerNames } from '../node.js';
import { flagError } from './errors.js';

const INTEGER = /^\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** An integer ≥ `min`, written in decimal digits. */
export function integerFlag(flag: string, min: number): (text: string) => number {
  return (text) => {
    const n = INTEGER.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      throw flagError(flag, text, `an integer ≥ ${min}`, text.trim().startsWith('-') ? `${flag} cannot be negative` : undefined);
    }
    return n;
  };
}

/** A finite decimal number, optionally within [min, max] (exclusive ends where said). */
export function numberFlag(flag: string, range: { min?: number; minExclusive?: boolean; max?: number } = {}, hint?: string): (text: string) => number {
  const { min, minExclusive = false, max } = range;
  const expected = min === undefined && max === undefined ? 'a number'
    : max === undefined ? `a number ${minExclusive ? '>' : '≥'} ${min}`
      : `a number in ${minExclusive ? '(' : '['}${min}, ${max}]`;
  return (text) => {
    const n = DECIMAL.test(text.trim()) ? Number(text.trim()) : NaN;
    const ok = Number.isFinite(n) && (min === undefined || (minExclusive ? n > min : n >= min)) && (max === undefined || n <= max);
    if (!ok) throw flagError(flag, text, expected, hint);
    return n;
  };
}

/** A seed: an integer in [0, 2^64), like torch's manual_seed. A number when it is exact, else a bigint. */
export function seedFlag(text: string): number | bigint {
  const t = text.trim();
  if (!INTEGER.test(t) || BigInt(t) >= 1n << 64n) {
    throw flagError('--seed', text, 'an integer in [0, 2^64)', t.startsWith('-')
      ? 'seeds are non-negative; for a random seed leave --seed out (AUTOMATIC1111\'s -1) — the seed used is reported'
      : undefined);
  }
  const n = BigInt(t);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** --width / --height: a positive multiple of 8 (the VAE halves the image three times). */
export function sizeFlag(flag: string): (text: string) => number {
  const asInt = integerFlag(flag, 1);
  return (text) => {
    const n = asInt(text);
    if (n % 8 !== 0) {
      const down = Math.max(8, Math.floor(n / 8) * 8);
      throw flagError(flag, text, 'a positive multiple of 8 (the VAE works on 8×8 pixel blocks)', `use ${down} or ${down + 8}`);
    }
    return n;
  };
}

export const strengthFlag = numberFlag('--strength', { min: 0, minExclusive: true, max: 1 },
  'strength is how much of the image is replaced: 0.3 keeps most of it, 1.0 replaces it entirely');

/** --prompt-syntax: how the prompt text is read (docs/prompts.md). */
export function promptSyntaxFlag(text: string): PromptSyntax {
  if (!(PROMPT_SYNTAXES as readonly string[]).includes(text)) {
    throw flagError('--prompt-syntax', text, `one of ${PROMPT_SYNTAXES.join(', ')}`, 'a1111 reads (emphasis:1.2), BREAK and [from:to:when]; plain is diffusers\' text as written (docs/prompts.md)');
  }
  return text as PromptSyntax;
}

export function deviceFlag(text: string): Device {
  return choiceFlag('--device', DEVICES)(text);
}

/** A scheduler name, checked now (the error lists every valid name) but kept as typed. */
export function schedulerFlag(text: string): string {
  try {
    resolveSchedulerName(text);
  } catch {
    throw flagError('--scheduler', text, `one of: ${schedulerNames().join(', ')}`,
      '`latentlab schedulers` lists them; names are case-insensitive: "euler-a", "Euler a" and "EulerAncestralDiscreteScheduler" are the same sampler');
  }
  return text;
}

/** A non-empty text; repeated flags collect into a list (several --prompt form a batch). */
export function collectText(flag: string, allowEmpty: boolean): (text: string, previous: string[] | undefined) => string[] {
  return (text, previous) => {
    if (!allowEmpty && text.trim() === '') throw flagError(flag, text, 'a non-empty text');
    return [...(previous ?? []), text];
  };
}

export function nonEmptyFlag(flag: string): (text: string) => string {
  return (text) => {
    if (text.trim() === '') throw flagError(flag, text, 'a non-empty value');
    return text;
  };
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(flag: string, choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw flagError(flag, text, `one of ${choices.join(', ')}`);
    return text as T;
  };
}
