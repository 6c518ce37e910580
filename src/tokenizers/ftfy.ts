// Text clean-up before CLIP tokenization: ftfy 6 `fix_text` with its default configuration, which
// Hugging Face's CLIPTokenizer runs on every prompt when ftfy is installed (as it is wherever
// diffusers runs), followed by the tokenizer's own `whitespace_clean`.
//
// fix_text works line by line ("segments" ending after each "\n"); each line is fixed repeatedly
// until a pass changes nothing, so "&amp;amp;" ends as "&". One pass applies, in this order:
//   unescape_html        "&amp;" -> "&", unless the text looks like HTML (see below)
//   fix_encoding         mojibake "cafÃ©" -> "café" (mojibake.ts)
//   fix_c1_controls      U+0080..U+009F -> their Windows-1252 characters
//   fix_latin_ligatures  "ﬁ" -> "fi", "ĳ" -> "ij", "ǅ" -> "Dž" (not "æ", which is a letter)
//   fix_character_width  fullwidth "ＡＢＣ" -> "ABC", halfwidth katakana -> normal, U+3000 -> " "
//   uncurl_quotes        ‘ ’ ‚ ‛ ʼ -> '   and   “ ” „ ‟ -> "
//   fix_line_breaks      "\r\n", "\r", U+2028, U+2029, U+0085 -> "\n"
//   fix_surrogates       unpaired UTF-16 surrogates -> U+FFFD
//   remove_terminal_escapes  ANSI colour codes "\x1b[36m" are dropped
//   remove_control_chars     C0 controls except \t \n \f \r, DEL, U+206A..U+206F, BOM, U+FFF9..U+FFFC
//   NFC normalization    "e" + U+0301 -> "é"
//
// "Looks like HTML" is ftfy's "auto" rule: once a line contains "<", entities are no longer decoded
// in that line or any later line of the same call.

import { unescapeHtml } from './html-entities.js';
import { fixC1Controls, fixEncoding } from './mojibake.js';

const LIGATURES: Readonly<Record<string, string>> = {
  'Ĳ': 'IJ', 'ĳ': 'ij', 'ŉ': 'ʼn', 'Ǳ': 'DZ', 'ǲ': 'Dz', 'ǳ': 'dz', 'Ǆ': 'DŽ', 'ǅ': 'Dž', 'ǆ': 'dž',
  'Ǉ': 'LJ', 'ǈ': 'Lj', 'ǉ': 'lj', 'Ǌ': 'NJ', 'ǋ': 'Nj', 'ǌ': 'nj',
  'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'ſt', 'ﬆ': 'st',
};
const LIGATURE_RE = /[ĲĳŉǱǲǳǄǅǆǇǈǉǊǋǌﬀ-ﬆ]/g;

// The "Halfwidth and Fullwidth Forms" block: each character whose NFKC form differs is replaced by
// that form (ftfy builds the same table from unicodedata), plus the ideographic space.
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
function fixCharacterWidth(text: string): string {
  return text.replace(WIDTH_RE, (ch) => (ch === '\u3000' ? ' ' : ch.normalize('NFKC')));
}

const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES = /[\u201c-\u201f]/g;
const LINE_BREAKS = /\r\n|[\r\u2028\u2029\u0085]/g;
// With the `u` flag, \p{Cs} matches only surrogates that are not part of a valid pair.
const LONE_SURROGATES = /\p{Cs}/gu;
const TERMINAL_ESCAPES = /\x1b\[[0-9;]*[a-zA-Z]/g;
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/** One fix_and_explain pass over a segment. */
function fixPass(text: string, unescape: boolean): string {
  if (unescape) text = unescapeHtml(text);
  text = fixEncoding(text);
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (ch) => LIGATURES[ch] ?? ch);
  text = fixCharacterWidth(text);
  text = text.replace(DOUBLE_QUOTES, '"').replace(SINGLE_QUOTES, "'");
  text = text.replace(LINE_BREAKS, '\n');
  text = text.replace(LONE_SURROGATES, '\ufffd');
  text = text.replace(TERMINAL_ESCAPES, '');
  text = text.replace(CONTROL_CHARS, '');
  return text.normalize('NFC');
}

// Anything that is plain printable ASCII without '&' or an escape character passes every fixer
// unchanged; most prompts are like that, so they skip the passes.
const NOTHING_TO_FIX = /^[\x20-\x25\x27-\x7e\t\n]*$/;

/** ftfy 6 `fix_text(text)` with default settings (the parts listed in the header). */
export function fixText(text: string): string {
  if (NOTHING_TO_FIX.test(text)) return text;
  let unescape = true;
  const out: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl + 1;
    let segment = text.slice(pos, end);
    if (unescape && segment.includes('<')) unescape = false;
    for (;;) {
      const fixed = fixPass(segment, unescape);
      if (fixed === segment) break;
      segment = fixed;
    }
    out.push(segment);
    pos = end;
  }
  return out.join('');
}

// Python's `\s` on str: Unicode White_Space plus the information separators U+001C..U+001F (which
// Python counts as whitespace and JavaScript's \s does not); JavaScript's \s also has U+FEFF, which
// Python does not count (fixText has removed it anyway).
const PY_WHITESPACE_RUN = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

/** CLIPTokenizer's `whitespace_clean`: every whitespace run -> one space, then strip. */
export function whitespaceClean(text: string): string {
  return text.replace(PY_WHITESPACE_RUN, ' ').replace(/^ | $/g, '');
}

const PY_EDGE_WHITESPACE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Python's `str.strip()` (JavaScript's trim() uses a slightly different whitespace set). */
export function pyStrip(text: string): string {
  return text.replace(PY_EDGE_WHITESPACE, '');
}
