// Added tokens and diffusers' maybe_convert_prompt against reference/tiny-sd15/textual_inversion
// (README section 11): three scenarios, token ids and the converted prompts' input ids.
import { describe, expect, it } from 'vitest';

import { CLIPTokenizer } from '../../src/tokenizers/index.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

interface Scenario {
  name: string;
  added_tokens: Record<string, number>;
  prompts: string[];
  converted_prompts: string[];
}

const expected = readJson<{ scenarios: Scenario[] }>('reference', 'tiny-sd15', 'textual_inversion', 'expected.json');
const load = (): Promise<CLIPTokenizer> => CLIPTokenizer.fromPretrained(fixturePath('pipelines', 'tiny-sd15', 'tokenizer'));
const pipelineCall = { padding: 'max_length', maxLength: 77, truncation: true } as const;

/** What diffusers' load_textual_inversion adds for each file, in load order. */
const FILE_TOKENS: Record<string, string[]> = {
  single: ['<cat-toy>'],
  a1111: ['my-style', 'my-style_1'],
  both: ['<cat-toy>', 'my-style', 'my-style_1'],
};

describe('textual inversion tokens', () => {
  it.each(expected.scenarios.map((s) => [s.name, s] as const))('scenario %s', async (name, s) => {
    const tok = await load();
    const ids = tok.addTokens(FILE_TOKENS[name]);
    expect(Object.fromEntries(FILE_TOKENS[name].map((t, i) => [t, ids[i]]))).toEqual(s.added_tokens);
    expect(tok.length).toBe(49408 + ids.length);

    const converted = tok.maybeConvertPrompt(s.prompts);
    expect(converted).toEqual(s.converted_prompts);

    const want = (await loadTensors('reference', 'tiny-sd15', 'textual_inversion', 'expected.safetensors')).get(`${name}.input_ids`)!;
    const got = tok.call(converted, pipelineCall).inputIds;
    expect([got.length, got[0].length]).toEqual([...want.shape]);
    const wantRows = got.map((_, r) => Array.from(want.data.subarray(r * 77, (r + 1) * 77) as BigInt64Array, Number));
    for (let r = 0; r < got.length; r++) {
      expect(got[r], `${name}: prompt ${JSON.stringify(converted[r])}\n got  ${got[r].slice(0, 12)}\n want ${wantRows[r].slice(0, 12)}`).toEqual(wantRows[r]);
    }
  });

  it('splits on added tokens anywhere, case-sensitively, longest first, before ftfy and lower-casing', async () => {
    const tok = await load();
    const [cat, style, style1] = tok.addTokens(['<cat-toy>', 'my-style', 'my-style_1']);
    expect(tok.tokenize('a<cat-toy>b')).toEqual(['a</w>', '<cat-toy>', 'b</w>']);
    expect(tok.encode('my-style_1 my-style')).toEqual([style1, style]);
    // Not an added token in upper case: BPE sees the lower-cased text.
    expect(tok.tokenize('<CAT-TOY>')).toEqual((await load()).tokenize('<cat-toy>'));
    expect(tok.encode('<CAT-TOY>')).not.toContain(cat);
    // Each piece is cleaned up separately: entities before the token are unescaped even though the
    // text as a whole contains "<" (ftfy's looks-like-HTML rule applies per piece).
    expect(tok.tokenize('fish &amp; chips <cat-toy>')).toEqual(tok.tokenize('fish & chips <cat-toy>'));
    expect(tok.decode([320, cat, 530, style, style1])).toBe('a <cat-toy> in my-style my-style_1');
  });

  it('leaves prompts without multi-vector tokens alone and expands every occurrence', async () => {
    const tok = await load();
    tok.addTokens(['<x>', '<y>', '<y>_1', '<y>_2']);
    expect(tok.maybeConvertPrompt('a <x> photo')).toBe('a <x> photo');
    expect(tok.maybeConvertPrompt('<y> and <y>')).toBe('<y> <y>_1 <y>_2 and <y> <y>_1 <y>_2');
    expect(tok.maybeConvertPrompt('no added tokens')).toBe('no added tokens');
  });

  it('rejects tokens that already exist', async () => {
    const tok = await load();
    tok.addTokens(['<cat-toy>']);
    expect(() => tok.addTokens(['<cat-toy>'])).toThrow(expect.objectContaining({ code: 'TOKENIZER_TOKEN_EXISTS' }));
    expect(() => tok.addTokens(['cat</w>'])).toThrow(expect.objectContaining({ code: 'TOKENIZER_TOKEN_EXISTS' }));
    expect(() => tok.addTokens(['<a>', '<a>'])).toThrow(expect.objectContaining({ code: 'TOKENIZER_TOKEN_EXISTS' }));
    expect(() => tok.addTokens([''])).toThrow(expect.objectContaining({ code: 'TOKENIZER_BAD_ARGUMENT' }));
    expect(tok.length).toBe(49409);
  });
});
