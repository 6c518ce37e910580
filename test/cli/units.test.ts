// The CLI's small pieces in-process: the progress bar (which the child-process tests cannot see,
// since it is drawn only on a terminal), JSON writing, flag parsing and error formatting.

import { describe, expect, it } from 'vitest';

import { exitCodeFor, formatError } from '../../src/cli/errors.js';
import { negativesFor } from '../../src/cli/generation-flags.js';
import { stringifyJson } from '../../src/cli/metadata.js';
import { formatDuration, progressLine, StepProgress } from '../../src/cli/progress.js';
import { integerFlag, numberFlag, seedFlag, sizeFlag } from '../../src/cli/values.js';
import { LatentlabError, parseJson } from '../../src/node.js';

describe('progress bar', () => {
  it('shows steps, percentage, it/s and ETA', () => {
    expect(progressLine('denoising', 12, 50, 4, 100)).toBe('denoising  12/50 [#######-----------------------]  24%  3.00 it/s  ETA 0:13');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Infinity)).toBe('?');
  });

  it('draws a bar on a terminal, lines elsewhere, nothing with --progress none', () => {
    let t = 0;
    const written: string[] = [];
    const tty = new StepProgress({ isTTY: true, columns: 100, write: (s) => written.push(s) }, 'denoising', () => t);
    tty.start();
    for (let i = 1; i <= 3; i++) {
      t += 500;
      tty.update(i, 3);
    }
    tty.finish();
    expect(written).toHaveLength(4);
    expect(written[0]).toMatch(/^\r\x1b\[2Kdenoising {2}1\/3 \[/);
    expect(written[2]).toMatch(/3\/3 \[#+\] 100% {2}2\.00 it\/s {2}ETA 0:00$/);
    expect(written[3]).toBe('\n');

    // Not a terminal: a plain line every tenth of the run (and the last), never a redraw.
    const piped: string[] = [];
    const pipe = new StepProgress({ isTTY: false, write: (s) => piped.push(s) }, 'denoising', () => t);
    pipe.start();
    for (let i = 1; i <= 20; i++) pipe.update(i, 20);
    pipe.finish();
    expect(piped).toHaveLength(10);
    expect(piped[0]).toMatch(/^latentlab: denoising +2\/20 \[.*\n$/);
    expect(piped.join('')).not.toMatch(/\r|\x1b/);

    const none: string[] = [];
    const quiet = new StepProgress({ isTTY: true, write: (s) => none.push(s) }, 'denoising', () => t, 'none');
    quiet.start();
    quiet.update(1, 1);
    quiet.finish();
    expect(none).toEqual([]);
  });
});

describe('JSON output', () => {
  it('writes bigints as integers, and non-finite numbers Python-style or as strings', () => {
    const value = { seed: 2n ** 63n, lambda_min_clipped: -Infinity, ok: 1.5, gone: undefined, data: new Float32Array([0.5]) };
    expect(stringifyJson(value)).toBe('{"seed":9223372036854775808,"lambda_min_clipped":"-Infinity","ok":1.5,"data":[0.5]}');
    const python = stringifyJson(value, { python: true });
    expect(python).toBe('{"seed":9223372036854775808,"lambda_min_clipped":-Infinity,"ok":1.5,"data":[0.5]}');
    expect((parseJson(python, { nonFinite: true }) as Record<string, unknown>).lambda_min_clipped).toBe(-Infinity);
  });
});

describe('flag values', () => {
  const fails = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as LatentlabError;
    }
    throw new Error('expected an error');
  };

  it('reads integers and numbers strictly, naming the flag and the text', () => {
    const steps = integerFlag('--steps', 1);
    expect(steps('20')).toBe(20);
    for (const bad of ['0', '2.5', '2e1', '0x14', '', ' ', '-3', 'ten']) expect(fails(() => steps(bad)).message).toContain(`--steps ${JSON.stringify(bad)}: expected an integer ≥ 1`);
    const g = numberFlag('--guidance');
    expect(g('7.5')).toBe(7.5);
    expect(g('-1')).toBe(-1);
    expect(g('.5')).toBe(0.5);
    for (const bad of ['Infinity', 'NaN', '7,5', '']) expect(fails(() => g(bad)).code).toBe('CLI_ARGUMENT');
  });

  it('reads seeds up to 2^64 − 1 (bigints above 2^53) and sizes in multiples of 8', () => {
    expect(seedFlag('42')).toBe(42);
    expect(seedFlag('18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(fails(() => seedFlag('18446744073709551616')).code).toBe('CLI_ARGUMENT');
    expect(sizeFlag('--width')('512')).toBe(512);
    expect(fails(() => sizeFlag('--width')('0')).message).toContain('expected an integer ≥ 1');
    expect(fails(() => sizeFlag('--height')('513')).hint).toBe('use 512 or 520');
  });

  it('pairs negative prompts with prompts: none, one for all, or one each', () => {
    expect(negativesFor(['a', 'b'], undefined)).toEqual(['', '']);
    expect(negativesFor(['a', 'b'], ['x'])).toEqual(['x', 'x']);
    expect(negativesFor(['a', 'b'], ['x', 'y'])).toEqual(['x', 'y']);
    expect(fails(() => negativesFor(['a', 'b', 'c'], ['x', 'y'])).key).toBe('--negative-prompt');
  });
});

describe('error output', () => {
  it('is one paragraph with the code and the hint; the stack only when asked for', () => {
    const e = new LatentlabError('IO_NO_FOLDER', 'cannot write out/x.png', { hint: 'create it first' });
    expect(formatError(e, false)).toBe('latentlab: error [IO_NO_FOLDER]: cannot write out/x.png\n  hint: create it first');
    expect(formatError(e, true)).toMatch(/\n\s+at /);
    expect(exitCodeFor(e)).toBe(1);
    expect(exitCodeFor(new LatentlabError('CLI_ARGUMENT', 'x'))).toBe(2);
    expect(exitCodeFor(new LatentlabError('CANCELLED', 'x'))).toBe(130);
    const bug = new TypeError('x is undefined');
    expect(formatError(bug, false)).toMatch(/^latentlab: internal error: x is undefined\n {2}hint: this is a bug in latentlab.*--debug/);
    expect(formatError(bug, false)).not.toMatch(/\n\s+at /);
    expect(exitCodeFor(bug)).toBe(70);
  });
});
