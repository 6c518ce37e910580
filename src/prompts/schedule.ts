// Prompt editing and alternation: AUTOMATIC1111's `get_learned_conditioning_prompt_schedules`
// (modules/prompt_parser.py, v1.10), for N sampling steps:
//
//   "a [dog:cat:0.25] in the snow", N = 20  →  [[5, "a dog in the snow"], [20, "a cat in the snow"]]
//   "a [red|blue] ball", N = 3              →  [[1, "a red ball"], [2, "a blue ball"], [3, "a red ball"]]
//
// Each entry is [endAtStep, text]: the text is used until that step (see `promptAtStep` for how
// the sampler counts). The texts still carry their emphasis markup, which `parsePromptAttention`
// reads afterwards.
//
// A1111 parses with a lark grammar; this is a hand-written parser with the same results:
//
//   [from:to:when]  [to:when]  [from::when]   scheduled: `from` while step ≤ when, then `to`
//   [a|b|c]                                   alternate: a, b, c, a, … (the i-th text at step i)
//   (x) (x:y) [x]                             emphasis: kept verbatim for the attention parser
//
// `when` is a number (lark's SIGNED_NUMBER: 3, .5, 1e2, -0.5). With a decimal point it is a
// fraction of the steps (int(when·N)), without one a step number (int(when)), at most N; a value
// below 1 never adds a step, so "[a:b:0]" and "[a:b:1e-1]" are `b` throughout. Inside brackets
// the parts may nest; outside, stray brackets and colons are just text. Where the grammar has no
// parse at all — a "|" outside [...], a backslash at the very end — A1111 uses the whole prompt
// as written, for every step; so do we.

import { LatentlabError } from '../core/errors.js';
import { PY_SPACE } from './python-text.js';

/** [endAtStep, prompt text] pairs, ascending; the last one ends at the number of steps. */
export type PromptSchedule = [endAtStep: number, text: string][];

type Part = string | Scheduled | Alternate;
interface Scheduled { kind: 'scheduled'; before: Part[]; after: Part[]; when: string }
interface Alternate { kind: 'alternate'; options: Part[][] }
interface Parsed { parts: Part[]; end: number }

const NUMBER = new RegExp(`^${PY_SPACE}*([+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)${PY_SPACE}*\\]`);
const CLOSERS = ':|])';

class ParseFailure extends Error {}

/** A run of parts up to (not including) one of : | ] ) or the end; brackets inside must nest. */
function parsePrompt(s: string, pos: number): Parsed | undefined {
  const parts: Part[] = [];
  let text = '';
  let i = pos;
  while (i < s.length && !CLOSERS.includes(s[i])) {
    if (s[i] === '[' || s[i] === '(') {
      const group = s[i] === '[' ? parseSquare(s, i) : parseRound(s, i);
      if (!group) return undefined;
      if (text) parts.push(text);
      text = '';
      parts.push(...group.parts);
      i = group.end;
    } else {
      const n = escapeLength(s, i);
      text += s.slice(i, i + n);
      i += n;
    }
  }
  if (text) parts.push(text);
  return { parts, end: i };
}

/** 2 for a backslash escape (its character too), 1 for anything else; a dangling backslash has no parse. */
function escapeLength(s: string, i: number): number {
  if (s[i] !== '\\') return 1;
  const next = s.codePointAt(i + 1);
  if (next === undefined || next === 0x0a) throw new ParseFailure(); // lark's `\\.`: any character but a newline
  return next > 0xffff ? 3 : 2;
}

/** "(" prompt ")" or "(" prompt ":" prompt ")": emphasis, kept verbatim. */
function parseRound(s: string, pos: number): Parsed | undefined {
  const a = parsePrompt(s, pos + 1);
  if (!a) return undefined;
  if (s[a.end] === ')') return { parts: ['(', ...a.parts, ')'], end: a.end + 1 };
  if (s[a.end] !== ':') return undefined;
  const b = parsePrompt(s, a.end + 1);
  if (!b || s[b.end] !== ')') return undefined;
  return { parts: ['(', ...a.parts, ':', ...b.parts, ')'], end: b.end + 1 };
}

/** "[" … "]": emphasis, alternation or a scheduled edit, whichever the contents allow. */
function parseSquare(s: string, pos: number): Parsed | undefined {
  const a = parsePrompt(s, pos + 1);
  if (!a) return undefined;
  const c = s[a.end];
  if (c === ']') return { parts: ['[', ...a.parts, ']'], end: a.end + 1 };
  if (c === '|') {
    const options = [a.parts];
    let end = a.end;
    while (s[end] === '|') {
      const next = parsePrompt(s, end + 1);
      if (!next) return undefined;
      options.push(next.parts);
      end = next.end;
    }
    return s[end] === ']' ? { parts: [{ kind: 'alternate', options }], end: end + 1 } : undefined;
  }
  if (c !== ':') return undefined;
  const when = NUMBER.exec(s.slice(a.end + 1));
  if (when) return { parts: [{ kind: 'scheduled', before: [], after: a.parts, when: when[1] }], end: a.end + 1 + when[0].length };
  const b = parsePrompt(s, a.end + 1);
  if (!b || s[b.end] !== ':') return undefined;
  const when2 = NUMBER.exec(s.slice(b.end + 1));
  if (!when2) return undefined;
  return { parts: [{ kind: 'scheduled', before: a.parts, after: b.parts, when: when2[1] }], end: b.end + 1 + when2[0].length };
}

/** The whole prompt: groups where they parse, stray brackets and colons as text. */
function parseTop(s: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    const group = c === '[' ? parseSquare(s, i) : c === '(' ? parseRound(s, i) : undefined;
    if (group) {
      parts.push(...group.parts);
      i = group.end;
    } else if (c === '[' || c === '(' || c === ']' || c === ')' || c === ':') {
      // A bracket that opens no group, a stray closer or colon: text. (lark can split a run of
      // them anywhere, so "a:[b:1]" still edits b: every "[" that can open a group does.)
      parts.push(c);
      i++;
    } else if (c === '|') {
      throw new ParseFailure();
    } else {
      const n = escapeLength(s, i);
      parts.push(s.slice(i, i + n));
      i += n;
    }
  }
  return parts;
}

/** How `when` maps to steps: N steps, and the offset of A1111's hires-fix pass (0 otherwise). */
interface Timing { steps: number; intOffset: number; fracOffset: number }

/** The step a `when` stands for (A1111's scheduling since v1.6). */
function whenStep(raw: string, { steps, intOffset, fracOffset }: Timing): number {
  const v = Number(raw);
  const step = raw.includes('.') ? (v - fracOffset) * steps : v - intOffset;
  if (!Number.isFinite(step)) {
    // Python's int(inf) raises OverflowError, and A1111 stops there.
    throw new LatentlabError('PROMPT_SYNTAX', `the step ${raw} of a prompt edit is out of range`, {
      key: 'prompt', hint: 'write the step as a step number (10) or a fraction of the steps (0.5)',
    });
  }
  return Math.min(steps, Math.trunc(step));
}

function collectSteps(parts: Part[], t: Timing, out: Set<number>): void {
  for (const p of parts) {
    if (typeof p === 'string') continue;
    if (p.kind === 'alternate') {
      for (let k = 1; k <= t.steps; k++) out.add(k);
      p.options.forEach((o) => collectSteps(o, t, out));
    } else {
      const w = whenStep(p.when, t);
      if (w >= 1) out.add(w);
      collectSteps(p.before, t, out);
      collectSteps(p.after, t, out);
    }
  }
}

function textAt(parts: Part[], step: number, t: Timing): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else if (p.kind === 'alternate') out += textAt(p.options[(step - 1) % p.options.length], step, t);
    else out += textAt(step <= whenStep(p.when, t) ? p.before : p.after, step, t);
  }
  return out;
}

export interface PromptScheduleOptions {
  /**
   * The steps of A1111's second, hires-fix pass. Its schedule continues the first one: step
   * numbers count on from `steps`, fractions from 1.0 ("[a:b:1.5]" switches half-way through it).
   */
  hiresSteps?: number;
}

function checkSteps(name: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new LatentlabError('PROMPT_ARGUMENT', `${name} is ${String(value)}; expected an integer ≥ 1`, { key: name });
  }
}

/** A1111's schedule of `prompt` for `steps` sampling steps (see the header). */
export function getPromptSchedule(prompt: string, steps: number, options: PromptScheduleOptions = {}): PromptSchedule {
  checkSteps('steps', steps);
  if (options.hiresSteps !== undefined) checkSteps('hiresSteps', options.hiresSteps);
  const t: Timing = options.hiresSteps === undefined
    ? { steps, intOffset: 0, fracOffset: 0 }
    : { steps: options.hiresSteps, intOffset: steps, fracOffset: 1 };
  let parts: Part[];
  try {
    parts = parseTop(prompt);
  } catch (e) {
    if (e instanceof ParseFailure) return [[t.steps, prompt]];
    throw e;
  }
  const ends = new Set([t.steps]);
  collectSteps(parts, t, ends);
  return [...ends].sort((x, y) => x - y).map((end) => [end, textAt(parts, end, t)]);
}

/**
 * The schedule entry the sampler uses at loop index `i` (0-based): the first whose endAtStep ≥ i.
 * A1111's denoiser counts its calls from 0 while schedules count from 1, so "[a:b:5]" conditions
 * calls 0–5 on `a` (six of them) — the same off-by-one as A1111, kept on purpose.
 */
export function scheduleIndexAt(schedule: readonly (readonly [number, unknown])[], i: number): number {
  const k = schedule.findIndex(([end]) => i <= end);
  return k < 0 ? schedule.length - 1 : k;
}
