// Decoding the arguments of pickle opcodes that are not plain bytes: LONG1/LONG4's two's-complement
// integers, and protocol 0's text forms (a Python 2 string literal, raw-unicode-escape).

/** Integers longer than this many bytes (≈ 2^8192) are refused: no checkpoint needs them, and BigInt parsing is quadratic. */
export const MAX_LONG_BYTES = 1024;

/** Little-endian two's-complement integer (LONG1 / LONG4). */
export function long(b: Uint8Array, fail: (m: string, code?: string) => never): number | bigint {
  if (b.byteLength > MAX_LONG_BYTES) fail(`an integer of ${b.byteLength} bytes (more than ${MAX_LONG_BYTES})`, 'PICKLE_LIMIT');
  if (b.byteLength === 0) return 0;
  let n = 0n;
  for (let i = b.byteLength - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  if (b[b.byteLength - 1] & 0x80) n -= 1n << BigInt(8 * b.byteLength);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** A Python 2 string literal as protocol 0 writes it ('...' or "..." with backslash escapes) → its bytes. */
export function pyStringLiteral(text: string, fail: (m: string) => never): Uint8Array {
  const q = text[0];
  if (text.length < 2 || (q !== "'" && q !== '"') || text[text.length - 1] !== q) fail('STRING argument is not quoted');
  const body = text.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (body[i] !== '\\') {
      out.push(c & 0xff);
      continue;
    }
    const e = body[++i];
    if (e === undefined) fail('STRING ends in a backslash');
    if (simple[e] !== undefined) out.push(simple[e]);
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out.push(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else out.push(92, e.charCodeAt(0) & 0xff);
  }
  return Uint8Array.from(out);
}

/** Python's raw-unicode-escape (protocol 0 UNICODE): \uXXXX and \UXXXXXXXX, everything else Latin-1. */
export function rawUnicodeEscape(text: string, fail: (m: string) => never): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt(u4 ?? u8!, 16);
    if (cp > 0x10ffff) fail(`\\U escape ${u8} is not a code point`);
    return String.fromCodePoint(cp);
  });
}
