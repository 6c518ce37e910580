// Byte-level BPE alphabet: GPT-2's / CLIP's `bytes_to_unicode`.
//
// BPE works on the UTF-8 bytes of the text, but the vocabulary and merges files are text, so every
// byte is written as one printable character: the 188 bytes that are already printable and not
// whitespace ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, the other 68 (controls, space, DEL,
// NBSP, soft hyphen, ...) are shifted to U+0100.. in byte order. A space is therefore 'Ġ' (U+0120)
// and "é" (C3 A9) is "Ã©". vocab.json ids 0..255 are these 256 characters in this table's order.

function isPrintable(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/** byte -> its character. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(isPrintable(b) ? b : 256 + shifted++);
  return table;
})();

/** character -> byte (the inverse of BYTE_TO_CHAR). */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

const utf8 = new TextEncoder();

/** The UTF-8 bytes of `text`, each written as its byte character. */
export function toByteLevel(text: string): string {
  const bytes = utf8.encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]];
  return out;
}

const utf8Lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Byte characters back to text. Invalid UTF-8 (a token boundary inside a character) becomes U+FFFD,
 * as with `errors="replace"` in transformers. Characters that are not byte characters (the text of an
 * added token) are not expected here; they are kept as their own UTF-8.
 */
export function fromByteLevel(text: string): string {
  const bytes: number[] = [];
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) bytes.push(b);
    else bytes.push(...utf8.encode(ch));
  }
  return utf8Lossy.decode(new Uint8Array(bytes));
}
