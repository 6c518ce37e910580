// Python's notion of characters, where AUTOMATIC1111's parsers depend on it.
//
// A1111's prompt parsers are Python regular expressions on `str`, so `\s`, `\d` and `\b` are
// Unicode-aware there, while JavaScript's are ASCII-only (and its `\s` adds U+FEFF). These
// classes spell out Python's sets so that "BREAK" next to "é", or a weight written in
// Devanagari digits, behaves exactly as in A1111.

/** Python's `\s` for str: the characters for which str.isspace() is true. */
export const PY_SPACE = '[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';

/** Python's `\w` for str: letters, numbers and the underscore. */
export const PY_WORD = '[\\p{L}\\p{N}_]';

/** Python's `\d` for str: any decimal digit (Unicode category Nd). */
export const PY_DIGIT = '\\p{Nd}';

const IS_DIGIT = /^\p{Nd}$/u;

/**
 * The value 0–9 of a decimal digit. Unicode allocates every script's digits as runs of ten,
 * 0 to 9, in order (some runs follow each other directly, like the five mathematical sets), so
 * the value is the distance to the start of the run, modulo 10.
 */
function digitValue(cp: number): number {
  let start = cp;
  while (start > 0 && IS_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/**
 * Python's `float(s)` for the strings A1111's weight pattern `[+-]?[.\d]+` can match: any
 * decimal digits, at most one point, at least one digit. Returns undefined where Python raises
 * ValueError ("1.2.3", ".").
 */
export function pythonFloat(s: string): number | undefined {
  const ascii = [...s].map((ch) => (IS_DIGIT.test(ch) ? String(digitValue(ch.codePointAt(0)!)) : ch)).join('');
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)$/.test(ascii)) return undefined;
  return Number(ascii);
}
