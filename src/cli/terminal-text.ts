// Text from a file, printed on a terminal: control characters escaped. A PNG's metadata is
// anyone's text — an ANSI sequence in a prompt could recolour, clear or retitle the user's terminal,
// and a bidi override could make it show something else than it holds. Newlines and tabs stay
// (prompts span lines); every other C0/C1 control, DEL and the bidi controls become visible escapes.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
