// AUTOMATIC1111's prompt syntax, case by case from a data file: the doctests of A1111's
// modules/prompt_parser.py and latentlab's own cases, each with the result A1111's code gives.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { getPromptSchedule, parsePromptAttention, scheduleIndexAt } from '../../src/prompts/index.js';

interface Case {
  source: 'doctest' | 'latentlab';
  prompt: string;
  steps?: number;
  hiresSteps?: number;
  schedule?: [number, string][];
  attention?: [string, number][];
  error?: string;
}

const { cases } = JSON.parse(readFileSync(new URL('../fixtures/prompts/a1111-parser-cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const label = (c: Case): string => `${c.source}: ${JSON.stringify(c.prompt)}${c.steps ? ` @${c.steps}${c.hiresSteps ? `+${c.hiresSteps}` : ''}` : ''}`;

describe('A1111 prompt parser (data: test/fixtures/prompts/a1111-parser-cases.json)', () => {
  it('has every doctest and at least 40 cases of our own, with schedules at 1, 2, 7 and 20 steps', () => {
    expect(cases.filter((c) => c.source === 'doctest').length).toBe(22);
    expect(cases.filter((c) => c.source === 'latentlab').length).toBeGreaterThanOrEqual(40);
    for (const n of [1, 2, 7, 20]) expect(cases.some((c) => c.steps === n)).toBe(true);
  });

  it.each(cases.filter((c) => c.steps !== undefined).map((c) => [label(c), c] as const))('schedule %s', (_, c) => {
    const run = (): unknown => getPromptSchedule(c.prompt, c.steps!, { hiresSteps: c.hiresSteps });
    if (c.error) expect(run).toThrow(expect.objectContaining({ code: c.error }));
    else expect(run()).toEqual(c.schedule);
  });

  it.each(cases.filter((c) => c.steps === undefined).map((c) => [label(c), c] as const))('attention %s', (_, c) => {
    const run = (): unknown => parsePromptAttention(c.prompt);
    if (c.error) expect(run).toThrow(expect.objectContaining({ code: c.error }));
    else expect(run()).toEqual(c.attention); // exact: the weights are the same float64 products as Python's
  });
});

describe('which schedule entry a sampling step uses', () => {
  it('counts steps from 0 against 1-based ends, as A1111 denoiser does', () => {
    const s = getPromptSchedule('[a:b:2]', 5); // [[2, 'a'], [5, 'b']]
    expect([0, 1, 2, 3, 4].map((i) => s[scheduleIndexAt(s, i)][1])).toEqual(['a', 'a', 'a', 'b', 'b']);
    const alt = getPromptSchedule('[x|y]', 4); // [[1,x],[2,y],[3,x],[4,y]]
    expect([0, 1, 2, 3].map((i) => alt[scheduleIndexAt(alt, i)][1])).toEqual(['x', 'x', 'y', 'x']);
  });

  it('rejects a step count that is not a positive integer', () => {
    expect(() => getPromptSchedule('a', 0)).toThrow(expect.objectContaining({ code: 'PROMPT_ARGUMENT' }));
    expect(() => getPromptSchedule('a', 2.5)).toThrow(expect.objectContaining({ code: 'PROMPT_ARGUMENT' }));
  });
});
