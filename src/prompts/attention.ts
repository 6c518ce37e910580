// Emphasis: AUTOMATIC1111's `parse_prompt_attention` (modules/prompt_parser.py, v1.10).
//
//   "a (((house:1.3)) [on] a (hill:0.5)"  →  [["a ", 1], ["house", 1.573], [" ", 1.1], ["on", 1], [" a ", 1.1], ["hill", 0.55]]
//
// The prompt is cut into tokens by one regular expression, read left to right:
//   (   remembers where a round group starts;  )  multiplies everything since then by 1.1
//   [   remembers where a square group starts; ]  multiplies everything since then by 1/1.1
//   :w) closes the innermost ROUND group with weight w instead of 1.1 (even inside [...])
//   \( \) \[ \] \\  are the literal characters; a lone backslash vanishes
//   a closer with nothing open, a colon, any other text: plain text (BREAK splits it, see below)
// Groups still open at the end are closed there (round ×1.1 first, then square ÷1.1), so
// "(unbalanced" is emphasised. Finally neighbours of exactly equal weight are merged.
//
// BREAK (a whole word, with the spaces around it) inside plain text becomes the marker
// ["BREAK", -1], which the chunker reads as "start a new 75-token chunk". Inside a group the
// marker's −1 is multiplied like any weight ("(a BREAK b)" gives -1.1), and then it is no longer a
// marker but the word "BREAK" with weight -1.1 — A1111 does exactly that, so we do too.

import { LatentlabError } from '../core/errors.js';
import { PY_DIGIT, PY_SPACE, PY_WORD, pythonFloat } from './python-text.js';

/** A piece of prompt text and the multiplier its tokens get; ["BREAK", -1] marks a chunk break. */
export type AttentionPart = [text: string, weight: number];

const ROUND = 1.1;
const SQUARE = 1 / 1.1;

// The alternatives in A1111's order (the first that matches at a position wins).
const TOKEN = new RegExp([
  '\\\\\\(', '\\\\\\)', '\\\\\\[', '\\\\\\]', '\\\\\\\\', '\\\\', // \( \) \[ \] \\ and a lone backslash
  '\\(', '\\[',
  `:${PY_SPACE}*([+-]?[.${PY_DIGIT}]+)${PY_SPACE}*\\)`, // ":1.3)" — a weight closing a round group
  '\\)', '\\]',
  '[^\\\\()\\[\\]:]+', // plain text
  ':',
].join('|'), 'gu');

const BREAK = new RegExp(`${PY_SPACE}*(?<!${PY_WORD})BREAK(?!${PY_WORD})${PY_SPACE}*`, 'u');

/** The emphasis of `text` as A1111 computes it; see the header. */
export function parsePromptAttention(text: string): AttentionPart[] {
  const res: AttentionPart[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyFrom = (start: number, m: number): void => {
    for (let p = start; p < res.length; p++) res[p][1] *= m;
  };

  for (const match of text.matchAll(TOKEN)) {
    const tok = match[0];
    const weight = match[1];
    if (tok.startsWith('\\')) {
      res.push([tok.slice(1), 1]);
    } else if (tok === '(') {
      round.push(res.length);
    } else if (tok === '[') {
      square.push(res.length);
    } else if (weight !== undefined && round.length > 0) {
      const w = pythonFloat(weight);
      if (w === undefined) {
        // Python's float() raises here and A1111 stops with a ValueError; we say why instead.
        throw new LatentlabError('PROMPT_SYNTAX', `the weight ${JSON.stringify(weight)} in ${JSON.stringify(tok)} is not a number (in the prompt ${JSON.stringify(text)})`, {
          key: 'prompt', hint: 'write a weight like (word:1.2); to keep the characters literally, escape the bracket: \\(word:1.2.3\\)',
        });
      }
      multiplyFrom(round.pop()!, w);
    } else if (tok === ')' && round.length > 0) {
      multiplyFrom(round.pop()!, ROUND);
    } else if (tok === ']' && square.length > 0) {
      multiplyFrom(square.pop()!, SQUARE);
    } else {
      tok.split(BREAK).forEach((part, i) => {
        if (i > 0) res.push(['BREAK', -1]);
        res.push([part, 1]);
      });
    }
  }
  for (const pos of round) multiplyFrom(pos, ROUND);
  for (const pos of square) multiplyFrom(pos, SQUARE);
  if (res.length === 0) res.push(['', 1]);

  for (let i = 0; i + 1 < res.length;) {
    if (res[i][1] === res[i + 1][1]) {
      res[i][0] += res[i + 1][0];
      res.splice(i + 1, 1);
    } else {
      i++;
    }
  }
  return res;
}
