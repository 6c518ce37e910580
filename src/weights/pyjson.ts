// A strict JSON parser with the two extensions the files we read need.
//
// - Python's `json.dumps` (which diffusers and transformers use for every config.json) writes
//   `NaN`, `Infinity` and `-Infinity` for non-finite floats, e.g. `"clip_sample_range": Infinity`.
//   `JSON.parse` rejects those. Replacing the words in the text before `JSON.parse` would also
//   change them inside strings ("NaN" as a token string), so we parse the grammar instead:
//   the words are accepted only where a value may start, exactly as Python's `json.loads` does.
// - `JSON.parse` keeps the last of two equal keys without a word. In a safetensors header a
//   repeated tensor name would hide a tensor, so callers can ask for duplicates to be errors.
//
// Everything else is RFC 8259: no comments, no trailing commas, no single quotes, no raw control
// characters inside strings. Errors carry the line and column of the problem.

export interface JsonParseOptions {
  /** Accept `NaN`, `Infinity`, `-Infinity` (Python's json module writes them). Default false. */
  nonFinite?: boolean;
  /** Throw when a key occurs twice in one object. Default false (the last one wins, like JSON.parse). */
  rejectDuplicateKeys?: boolean;
}

export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'JsonSyntaxError';
  }
}

// Deep nesting would overflow the JS stack (a crash, not an error message); real files nest < 10.
const MAX_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parses `text` (one JSON value, surrounded by optional whitespace). Throws JsonSyntaxError. */
export function parseJson(text: string, options: JsonParseOptions = {}): unknown {
  const p = new Parser(text, options);
  p.skipSpace();
  const value = p.value(0);
  p.skipSpace();
  if (p.pos < text.length) p.fail(`unexpected ${p.describe()} after the end of the JSON value`);
  return value;
}

class Parser {
  pos = 0;

  constructor(
    readonly text: string,
    readonly options: JsonParseOptions,
  ) {}

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (this.word('true')) return true;
    if (this.word('false')) return false;
    if (this.word('null')) return null;
    if (this.options.nonFinite) {
      if (this.word('NaN')) return NaN;
      if (this.word('Infinity')) return Infinity;
      if (this.word('-Infinity')) return -Infinity;
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m) {
      this.pos += m[0].length;
      return Number(m[0]);
    }
    return this.fail(`expected a value, found ${this.describe()}`);
  }

  object(depth: number): Record<string, unknown> {
    this.pos++; // '{'
    // Object.fromEntries defines own properties, so a key "__proto__" stays data (as in JSON.parse).
    const entries: [string, unknown][] = [];
    const seen = this.options.rejectDuplicateKeys ? new Set<string>() : undefined;
    this.skipSpace();
    if (this.eat('}')) return {};
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail(`expected a string key, found ${this.describe()}`);
      const keyAt = this.pos;
      const key = this.string();
      if (seen) {
        if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
        seen.add(key);
      }
      this.skipSpace();
      if (!this.eat(':')) this.fail(`expected ':' after key ${JSON.stringify(key)}, found ${this.describe()}`);
      this.skipSpace();
      entries.push([key, this.value(depth + 1)]);
      this.skipSpace();
      if (this.eat('}')) return Object.fromEntries(entries);
      if (!this.eat(',')) this.fail(`expected ',' or '}' in an object, found ${this.describe()}`);
    }
  }

  array(depth: number): unknown[] {
    this.pos++; // '['
    const out: unknown[] = [];
    this.skipSpace();
    if (this.eat(']')) return out;
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth + 1));
      this.skipSpace();
      if (this.eat(']')) return out;
      if (!this.eat(',')) this.fail(`expected ',' or ']' in an array, found ${this.describe()}`);
    }
  }

  string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let run = this.pos; // start of the current run of plain characters
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string', start);
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) break; // closing quote
      if (code < 0x20) this.fail(`raw control character U+${code.toString(16).padStart(4, '0')} in a string (must be escaped)`);
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.slice(run, this.pos);
      const e = this.text[this.pos + 1];
      if (e === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`bad unicode escape \\u${hex}`);
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        this.pos += 2;
      } else {
        this.fail(`bad escape \\${e ?? ''} in a string`);
      }
      run = this.pos;
    }
    out += this.text.slice(run, this.pos);
    this.pos++; // closing quote
    return out;
  }

  word(w: string): boolean {
    if (!this.text.startsWith(w, this.pos)) return false;
    this.pos += w.length;
    return true;
  }

  eat(c: string): boolean {
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  describe(): string {
    if (this.pos >= this.text.length) return 'the end of the text';
    return JSON.stringify(this.text.slice(this.pos, this.pos + 12));
  }

  fail(reason: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new JsonSyntaxError(reason, line, at - lineStart + 1);
  }
}
