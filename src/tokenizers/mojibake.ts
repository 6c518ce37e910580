// Mojibake repair: the part of ftfy 6's `fix_encoding` that matters for prompts pasted from the web.
//
// Mojibake is UTF-8 text that some program decoded as a single-byte encoding: "café" is stored as
// the bytes 63 61 66 C3 A9, and read as Latin-1 / Windows-1252 those bytes are "cafÃ©". The repair is
// the inverse: encode the text back to those single bytes and decode them as UTF-8. It is only safe
// when the text really looks like mojibake, because "Ã©" could in principle be intended. ftfy decides
// that with a hand-tuned "badness" heuristic; we use the structural evidence instead: a character
// that is a UTF-8 lead byte in Windows-1252 (Â..ô, bytes C2..F4) followed by exactly the number of
// continuation-byte characters (€, ©, ¶, ... bytes 80..BF) that lead byte announces, *and* the
// re-encoded bytes must be valid UTF-8 (strict decoding rejects anything that merely resembles it:
// "café crème" re-encodes to E9 20, which is not UTF-8, so it is left alone).
//
// Steps, as in ftfy (`_fix_encoding_one_step_and_explain`), repeated until nothing changes (so
// doubly-encoded text is fixed too):
// 1. ASCII text, or text without a UTF-8-looking sequence, is returned unchanged.
// 2. The whole text is re-encoded as Latin-1, then as "sloppy" Windows-1252 (the five bytes that
//    Windows-1252 leaves undefined map to the C1 controls of the same value) and decoded as UTF-8.
// 3. Otherwise each UTF-8-looking run is fixed on its own ("cafÃ© in 東京": only "Ã©" is replaced).
// 4. C1 control characters (U+0080..U+009F, which nobody types) get their Windows-1252 meaning.
//
// Not implemented (ftfy does them; they need its badness tables and are rare in prompts): the other
// single-byte encodings (Windows-1250/1251/1253/1254/1257, ISO-8859-2, MacRoman, CP437), restoring
// a U+00A0 that became a space ("Ã la" -> "à la"), sequences partly lost to '�', and CESU-8 / Java
// "modified UTF-8".

/** What the bytes 0x80..0x9F mean in sloppy Windows-1252 (undefined bytes stay C1 controls). */
export const SLOPPY_1252_C1: readonly string[] = Array.from(
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
    '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178',
);

/** Character -> byte for sloppy Windows-1252 (only the characters that differ from Latin-1). */
const SLOPPY_1252_BYTE = new Map<string, number>(SLOPPY_1252_C1.map((ch, i) => [ch, 0x80 + i]));

type SingleByteEncoding = 'latin-1' | 'sloppy-windows-1252';

/** The text as single bytes in `encoding`, or null when some character has no byte there. */
function encodeSingleByte(text: string, encoding: SingleByteEncoding): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (encoding === 'latin-1' ? c < 0x100 : c < 0x80 || (c >= 0xa0 && c < 0x100)) out[i] = c;
    else if (encoding === 'sloppy-windows-1252' && SLOPPY_1252_BYTE.has(text[i])) out[i] = SLOPPY_1252_BYTE.get(text[i])!;
    else return null;
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

// Characters that stand for a UTF-8 continuation byte (80..BF) in Latin-1 or Windows-1252.
const CONT = `\\u0080-\\u00bf${SLOPPY_1252_C1.filter((ch) => ch.charCodeAt(0) > 0xff).join('')}`;
// One UTF-8 sequence as it looks after a wrong single-byte decoding: lead byte C2..DF + 1,
// E0..EF + 2, F0..F4 + 3 continuation characters.
const SEQUENCE = `[\\u00c2-\\u00df][${CONT}]|[\\u00e0-\\u00ef][${CONT}]{2}|[\\u00f0-\\u00f4][${CONT}]{3}`;
const LOOKS_LIKE_UTF8 = new RegExp(SEQUENCE);
// Runs of such sequences, not preceded by a continuation character: fixing the tail of a longer
// garble would only make it worse.
const UTF8_RUNS = new RegExp(`(?<![${CONT}])(?:${SEQUENCE})+`, 'g');
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const C1_CONTROLS = /[\x80-\x9f]/g;

/** C1 controls -> their Windows-1252 characters (ftfy `fix_c1_controls`); U+0085 becomes "…". */
export function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROLS, (ch) => SLOPPY_1252_C1[ch.charCodeAt(0) - 0x80]);
}

function fixEncodingOneStep(text: string): string {
  if (ASCII_ONLY.test(text)) return text;
  if (LOOKS_LIKE_UTF8.test(text)) {
    for (const encoding of ['latin-1', 'sloppy-windows-1252'] as const) {
      const bytes = encodeSingleByte(text, encoding);
      const decoded = bytes && decodeUtf8(bytes);
      if (decoded !== null) return decoded;
    }
    // The text as a whole is not one consistent mojibake (it mixes in characters no single-byte
    // encoding has, or bytes that are not UTF-8): fix each UTF-8-looking run separately.
    const fixed = text.replace(UTF8_RUNS, (run) => (run.length < text.length ? fixEncoding(run) : run));
    if (fixed !== text) return fixed;
  }
  return fixC1Controls(text);
}

/** ftfy's `fix_encoding` (within the limits in the header): undoes UTF-8 read as Latin-1 / Windows-1252. */
export function fixEncoding(text: string): string {
  for (;;) {
    const next = fixEncodingOneStep(text);
    if (next === text) return text;
    text = next;
  }
}
