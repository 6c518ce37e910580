// The one error type of latentlab.
//
// Every failure a user can cause (a bad file, a wrong argument, a missing weight) is a
// LatentlabError with a stable `code` (SCREAMING_SNAKE, prefixed by the area: SAFETENSORS_,
// GRAPH_, CONFIG_, ...), a message that names the argument / file / checkpoint key, the value
// found and what was expected, and a `hint` that says how to fix it. Validate at the boundary,
// before any compute; never silently correct input.

export interface ErrorDetails {
  /** How to fix it, in one or two sentences. */
  hint?: string;
  /** The file the problem is in, if any. */
  file?: string;
  /** The checkpoint key / argument / config field the problem is about, if any. */
  key?: string;
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
}

export class LatentlabError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly file?: string;
  readonly key?: string;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(details.hint ? `${message}\n  hint: ${details.hint}` : message, { cause: details.cause });
    this.name = 'LatentlabError';
    this.code = code;
    this.hint = details.hint;
    this.file = details.file;
    this.key = details.key;
  }
}

/** Throws `LatentlabError(code, message())` unless `condition` holds. The message is built lazily. */
export function check(
  condition: unknown,
  code: string,
  message: () => string,
  details?: ErrorDetails,
): asserts condition {
  if (!condition) throw new LatentlabError(code, message(), details);
}

/** `[2, 4, 64, 64]`-style rendering of a shape for error messages. */
export function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** A value rendered for an error message: strings quoted, long things shortened. */
export function fmtValue(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * Runs `fn`; a LatentlabError it throws that names no file is re-thrown naming `file` (same code,
 * key and hint). For checks written without knowing where their input came from — a scheduler
 * config checked by the scheduler — when the caller does know: "scheduler/scheduler_config.json: …".
 */
export function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof LatentlabError) || e.file !== undefined) throw e;
    const message = e.hint ? e.message.slice(0, e.message.length - `\n  hint: ${e.hint}`.length) : e.message;
    throw new LatentlabError(e.code, `${file}: ${message}`, { file, key: e.key, hint: e.hint, cause: e });
  }
}
