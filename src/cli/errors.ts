// How the `latentlab` command fails: one short paragraph on stderr (what is wrong, naming the flag,
// file or value, and a `hint:` line with the fix), a non-zero exit code, and no stack trace unless
// the user asks for one with --debug or LATENTLAB_DEBUG=1. A stack trace is for us; a new user
// needs the sentence that tells them what to type instead.
//
// Exit codes: 1 a LatentlabError (bad file, bad model, bad value found at run time), 2 a usage
// error (a flag that does not parse; commander's own errors too), 70 an internal error (a bug:
// anything that is not a LatentlabError), 130 cancelled with Ctrl-C (128 + SIGINT, as shells do).

import { errnoCode, ioError, LatentlabError } from '../node.js';

export const EXIT = { ok: 0, error: 1, usage: 2, internal: 70, cancelled: 130 } as const;

/** A flag value that does not parse or is out of range: names the flag, the value and what was expected. */
export function flagError(flag: string, value: unknown, expected: string, hint?: string): LatentlabError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new LatentlabError('CLI_ARGUMENT', `${flag} ${shown}: expected ${expected}`, { key: flag, hint });
}

/** Is stack-trace output requested (--debug anywhere on the command line, or LATENTLAB_DEBUG=1)? */
export function debugRequested(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LATENTLAB_DEBUG?.toLowerCase();
  return argv.includes('--debug') || (v !== undefined && ['1', 'true', 'yes', 'on'].includes(v));
}

/** The exit code an error maps to. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof LatentlabError) {
    if (e.code === 'CANCELLED') return EXIT.cancelled;
    return e.code === 'CLI_ARGUMENT' ? EXIT.usage : EXIT.error;
  }
  return EXIT.internal;
}

/**
 * The library's hints speak the library's language (`{ name: "euler-a" }`, `numInferenceSteps`);
 * printed by the command they must say what to type. One table for every hint, instead of a CLI
 * wording in each library error.
 */
const HINT_SYNTAX: [RegExp, string][] = [
  [/\{ name: "([^"]+)" \}/g, '--scheduler $1'],
  [/schedulerNames\(\)/g, '`latentlab schedulers`'],
  [/\bnumInferenceSteps\b/g, '--steps'],
  [/\bguidanceScale\b/g, '--guidance'],
  [/\bnumImagesPerPrompt\b/g, '--num-images'],
  [/\bclipSkip\b/g, '--clip-skip'],
  [/\bnegativePrompt\b/g, '--negative-prompt'],
  [/\bmemoryLimit\b/g, '--max-memory'],
];

export function cliHint(hint: string): string {
  return HINT_SYNTAX.reduce((h, [pattern, flag]) => h.replace(pattern, flag), hint);
}

/** The text printed for an error (without a trailing newline). */
export function formatError(e: unknown, debug: boolean): string {
  if (e instanceof LatentlabError) {
    if (e.code === 'CANCELLED') return 'latentlab: cancelled (Ctrl-C); no output files were written for the unfinished work';
    const message = e.hint ? e.message.replace(`\n  hint: ${e.hint}`, `\n  hint: ${cliHint(e.hint)}`) : e.message;
    const text = `latentlab: error [${e.code}]: ${message}`;
    return debug ? `${text}\n${stackOf(e)}` : text;
  }
  const message = e instanceof Error ? e.message : String(e);
  const text = `latentlab: internal error: ${message}\n  hint: this is a bug in latentlab, not something you did; `
    + 'rerun with --debug (or LATENTLAB_DEBUG=1) to see the stack trace, and please report it';
  return debug ? `${text}\n${stackOf(e)}` : text;
}

/** The stack of an error and of every `cause` below it. */
function stackOf(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur !== undefined && depth < 8; depth++) {
    parts.push(cur instanceof Error ? cur.stack ?? `${cur.name}: ${cur.message}` : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}

const WRITES = new Set(['write', 'mkdir', 'rename', 'link', 'unlink', 'rmdir', 'copyfile', 'symlink', 'chmod', 'utime', 'ftruncate']);

/**
 * A platform file error that escaped without being wrapped (it has an errno code and a path) is a
 * problem with the user's file, not a bug: the same coded error the library gives (core/io-errors).
 */
export function asLatentlabError(e: unknown): unknown {
  const path = (e as { path?: unknown } | null)?.path;
  if (e instanceof LatentlabError || !errnoCode(e) || typeof path !== 'string') return e;
  return ioError(e, path, WRITES.has(String((e as { syscall?: unknown }).syscall)) ? 'write' : 'read');
}
