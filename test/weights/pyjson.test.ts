// The Python-flavoured JSON parser: what json.dumps writes, and nothing looser.
import { describe, expect, it } from 'vitest';

import { JsonSyntaxError, parseJson } from '../../src/weights/pyjson.js';

const py = (text: string) => parseJson(text, { nonFinite: true });

describe('parseJson', () => {
  it('agrees with JSON.parse on standard JSON', () => {
    const samples = [
      '{"a": [1, -2.5e-3, 0, true, false, null], "b": {"c": "x\\ny\\u00e9\\"\\\\\\/"}}',
      '[]', '{}', '"\\ud83d\\ude00"', '  -0  ', '1E+2', '[[[]]]', '{"__proto__": {"polluted": 1}}',
    ];
    for (const s of samples) expect(parseJson(s)).toEqual(JSON.parse(s));
    const o = parseJson('{"__proto__": 1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__']);
  });

  it('reads NaN, Infinity and -Infinity where values go (Python json.dumps output)', () => {
    const config = py('{\n  "clip_sample_range": Infinity,\n  "low": -Infinity,\n  "x": [NaN, 1.0],\n  "thresholding": false\n}') as Record<string, unknown>;
    expect(config.clip_sample_range).toBe(Infinity);
    expect(config.low).toBe(-Infinity);
    expect((config.x as number[])[0]).toBeNaN();
    expect(config.thresholding).toBe(false);
  });

  it('leaves the words alone inside strings and keys', () => {
    expect(py('{"NaN": "Infinity", "s": "-Infinity NaN"}')).toEqual({ NaN: 'Infinity', s: '-Infinity NaN' });
  });

  it('rejects the non-finite words unless asked, and everything JSON does not allow', () => {
    const bad = ['NaN', '{"a": Infinity}', '{"a": 1,}', '[1,]', "{'a': 1}", '{"a": 1} // c', '01', '1.', '.5', '+1', '"a\tb"', '"\\x41"', 'nan', 'inf', '{"a" 1}', '', '[1] [2]'];
    for (const s of bad) expect(() => parseJson(s), s).toThrow(JsonSyntaxError);
    for (const s of ['-NaN', 'Infinityx', '{"a": inf}', '[NaN,]']) expect(() => py(s), s).toThrow(JsonSyntaxError);
  });

  it('reports line and column', () => {
    try {
      py('{\n  "a": 1,\n  "b": ?\n}');
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(JsonSyntaxError);
      expect((e as JsonSyntaxError).line).toBe(3);
      expect((e as JsonSyntaxError).column).toBe(8);
    }
  });

  it('optionally rejects duplicate keys (otherwise the last wins, like JSON.parse)', () => {
    expect(parseJson('{"a": 1, "a": 2}')).toEqual({ a: 2 });
    expect(() => parseJson('{"a": 1, "a": 2}', { rejectDuplicateKeys: true })).toThrow(/duplicate key "a"/);
    expect(parseJson('{"a": {"a": 1}}', { rejectDuplicateKeys: true })).toEqual({ a: { a: 1 } });
  });

  it('fails cleanly (no stack overflow) on absurd nesting', () => {
    expect(() => parseJson('['.repeat(1_000_000))).toThrow(/nested deeper/);
  });
});
