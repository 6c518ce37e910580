// call() padding / truncation as the pipelines use it, the truncation report diffusers prints, and
// decode round trips.
import { beforeAll, describe, expect, it } from 'vitest';

import { CLIPTokenizer } from '../../src/tokenizers/index.js';
import { fixturePath, readJson } from '../helpers/fixtures.js';

const cases = readJson<{ cases: { text: string; ids: number[]; truncated: boolean }[] }>('tokenizer', 'cases.json').cases;
const tokenizerDir = (model: string): string => fixturePath('pipelines', model, 'tokenizer');

let tok: CLIPTokenizer;
beforeAll(async () => {
  tok = await CLIPTokenizer.fromPretrained(tokenizerDir('tiny-sd15'));
});

describe('call()', () => {
  it('pads and truncates like the pipeline: [bos] + ids[:75] + [eos], padded to 77', () => {
    const long = cases.find((c) => c.ids.length > 80)!;
    const out = tok.call(['a cat', long.text, ''], { padding: 'max_length', maxLength: 77, truncation: true });
    expect(out.inputIds.map((r) => r.length)).toEqual([77, 77, 77]);
    expect(out.inputIds[0].slice(0, 4)).toEqual([49406, 320, 2368, 49407]);
    expect(out.attentionMask[0].slice(0, 5)).toEqual([1, 1, 1, 1, 0]);
    expect(out.inputIds[1]).toEqual([49406, ...long.ids.slice(0, 75), 49407]);
    expect(out.attentionMask[1].every((m) => m === 1)).toBe(true);
    // The negative prompt "" still gives bos, eos and 75 pads.
    expect(out.inputIds[2]).toEqual([49406, 49407, ...new Array(75).fill(49407)]);
  });

  it('follows transformers defaults: no padding, no truncation', () => {
    const long = cases.find((c) => c.ids.length > 80)!;
    expect(tok.call(long.text).inputIds[0]).toHaveLength(long.ids.length + 2);
    const out = tok.call(['a cat', 'a photo of a cat'], { padding: 'longest' });
    expect(out.inputIds).toEqual([[49406, 320, 2368, 49407, 49407, 49407, 49407], [49406, 320, 1125, 539, 320, 2368, 49407]]);
    expect(out.attentionMask[0]).toEqual([1, 1, 1, 1, 0, 0, 0]);
    expect(tok.call('a cat', { padding: 'max_length', maxLength: 6 }).inputIds[0]).toEqual([49406, 320, 2368, 49407, 49407, 49407]);
  });

  it('rejects bad options', () => {
    expect(() => tok.call('a', { maxLength: 1, truncation: true })).toThrow(expect.objectContaining({ code: 'TOKENIZER_BAD_ARGUMENT' }));
    expect(() => tok.call('a', { padding: 'maximum' as never })).toThrow(expect.objectContaining({ code: 'TOKENIZER_BAD_ARGUMENT' }));
    expect(() => tok.tokenize(3 as never)).toThrow(expect.objectContaining({ code: 'TOKENIZER_BAD_ARGUMENT' }));
  });
});

describe('truncation report', () => {
  it('returns the decoded tokens past 75, as diffusers warns', () => {
    const prompt = `${'cat '.repeat(74)}dog on a sofa, trending on artstation`;
    const ids = tok.encode(prompt);
    expect(ids.length).toBeGreaterThan(75);
    const removed = 'on a sofa, trending on artstation';
    expect(tok.removedText(prompt)).toBe(removed);
    expect(tok.call(prompt, { padding: 'max_length', truncation: true }).removedText).toEqual([removed]);
    expect(tok.decode(ids.slice(75))).toBe(removed);
  });

  it('is empty exactly when the prompt fits', () => {
    for (const c of cases) {
      expect(tok.removedText(c.text) !== '', JSON.stringify(c.text).slice(0, 60)).toBe(c.truncated);
    }
    const fits = 'cat '.repeat(75);
    expect([tok.encode(fits).length, tok.removedText(fits)]).toEqual([75, '']);
    expect(tok.removedText(`${fits} dog`)).toBe('dog');
  });
});

describe('decode', () => {
  it('round-trips the cleaned, lower-cased text', () => {
    const texts = ['a photograph of an astronaut riding a horse', 'café crème brûlée à la française', '東京タワーの夜景の写真',
      'a cute cat 🐱 wearing a hat 🎩', 'mixed123numbers'];
    for (const t of texts) {
      const ids = tok.encode(t);
      expect(tok.encode(tok.decode(ids)), t).toEqual(ids);
    }
    expect(tok.decode(tok.encode('A Photograph of an Astronaut'))).toBe('a photograph of an astronaut');
  });

  it('cleans up spaces before punctuation unless told not to (clean_up_tokenization_spaces)', () => {
    const ids = tok.encode("Hello, world! it's fine.");
    expect(tok.decode(ids)).toBe("hello, world! it's fine.");
    expect(tok.decode(ids, { cleanUpTokenizationSpaces: false })).toBe("hello , world ! it 's fine .");
  });

  it('keeps or skips special tokens', () => {
    const ids = tok.call('a cat', { padding: 'max_length', maxLength: 6, truncation: true }).inputIds[0];
    expect(tok.decode(ids)).toBe('<|startoftext|>a cat <|endoftext|><|endoftext|><|endoftext|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('a cat');
    expect(tok.batchDecode([ids, [2368]], { skipSpecialTokens: true })).toEqual(['a cat', 'cat']);
  });

  it('replaces a split UTF-8 character with U+FFFD and rejects unknown ids', () => {
    const e = tok.convertTokensToIds(['Ã']); // the byte C3 alone: half of "é"
    expect(tok.decode(e)).toBe('\ufffd');
    expect(() => tok.decode([49408])).toThrow(expect.objectContaining({ code: 'TOKENIZER_UNKNOWN_ID' }));
    expect(() => tok.decode([-1])).toThrow(expect.objectContaining({ code: 'TOKENIZER_UNKNOWN_ID' }));
  });

  it('converts between tokens and ids, unknown tokens to unk', () => {
    expect(tok.convertTokensToIds(['cat</w>', 'not-a-token'])).toEqual([2368, 49407]);
    expect(tok.convertIdsToTokens([49406, 2368, 49407], { skipSpecialTokens: true })).toEqual(['cat</w>']);
  });
});

describe('special-token strings in the text', () => {
  it('maps <|startoftext|> / <|endoftext|> to their ids, also in upper case (after lower-casing)', () => {
    expect(tok.encode('a <|endoftext|> b')).toEqual([320, 49407, 320 + 1]);
    expect(tok.encode('x<|ENDOFTEXT|>')).toEqual([tok.encode('x')[0], 49407]);
  });

  it("SD 2's pad token '!' is an ordinary character by default, a separate token with matchPadTokenInText", async () => {
    const fixtureLike = await CLIPTokenizer.fromPretrained(tokenizerDir('tiny-sd2'));
    const transformersLike = await CLIPTokenizer.fromPretrained(tokenizerDir('tiny-sd2'), { matchPadTokenInText: true });
    expect(fixtureLike.encode('! !! !!!')).toEqual([256, 748, 995]);
    // diffusers issue #4153: transformers cuts every "!" out as the pad token (id 0).
    expect(transformersLike.encode('! !! !!!')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(transformersLike.encode('wow!')).toEqual([...transformersLike.encode('wow'), 0]);
  });
});
