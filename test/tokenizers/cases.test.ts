// The 42 tokenizer cases of the conformance fixtures (README section 3), exact, with the SD 1.x
// tokenizer (pad <|endoftext|>) and the SD 2.x tokenizer (pad "!" = id 0).
import { beforeAll, describe, expect, it } from 'vitest';

import { CLIPTokenizer } from '../../src/tokenizers/index.js';
import { fixText } from '../../src/tokenizers/ftfy.js';
import { fixturePath, readJson } from '../helpers/fixtures.js';

interface Case {
  text: string;
  tokens: string[];
  ids: number[];
  input_ids: number[];
  input_ids_pad_bang: number[];
  num_bpe_tokens: number;
  truncated: boolean;
  ftfy_fixed_text?: string;
}

const fixture = readJson<{ bos_id: number; eos_id: number; max_length: number; cases: Case[] }>('tokenizer', 'cases.json');
const pipelineCall = { padding: 'max_length', maxLength: 77, truncation: true } as const;

/** Where two id / token lists first differ, for readable failures. */
function firstDifference<T>(actual: readonly T[], expected: readonly T[]): string {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      return `first difference at ${i}: got ${JSON.stringify(actual.slice(i, i + 5))}, expected ${JSON.stringify(expected.slice(i, i + 5))} (lengths ${actual.length} / ${expected.length})`;
    }
  }
  return 'equal';
}

function expectSame<T>(label: string, actual: readonly T[], expected: readonly T[]): void {
  expect(actual, `${label}: ${firstDifference(actual, expected)}`).toEqual(expected);
}

let sd15: CLIPTokenizer;
let sd2: CLIPTokenizer;

beforeAll(async () => {
  sd15 = await CLIPTokenizer.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { subfolder: 'tokenizer' });
  sd2 = await CLIPTokenizer.fromPretrained(fixturePath('pipelines', 'tiny-sd2', 'tokenizer'));
});

describe('CLIPTokenizer: the 42 conformance cases', () => {
  it('has 42 cases', () => {
    expect(fixture.cases).toHaveLength(42);
  });

  it.each(fixture.cases.map((c, i) => [i, JSON.stringify(c.text).slice(0, 60), c] as const))('case %i %s', (_i, _name, c) => {
    if (c.ftfy_fixed_text !== undefined) expect(fixText(c.text), 'ftfy_fixed_text').toBe(c.ftfy_fixed_text);
    else expect(fixText(c.text), 'ftfy leaves the text unchanged').toBe(c.text);
    expectSame('tokens', sd15.tokenize(c.text), c.tokens);
    expectSame('ids', sd15.encode(c.text), c.ids);
    expect(c.ids.length).toBe(c.num_bpe_tokens);
    const a = sd15.call(c.text, pipelineCall);
    expectSame('input_ids (sd15)', a.inputIds[0], c.input_ids);
    expectSame('attention_mask (sd15)', a.attentionMask[0], c.input_ids.map((_, j) => (j < Math.min(c.ids.length, 75) + 2 ? 1 : 0)));
    const b = sd2.call(c.text, pipelineCall);
    expectSame('input_ids_pad_bang (sd2)', b.inputIds[0], c.input_ids_pad_bang);
    expect(a.removedText[0] !== '', 'truncated').toBe(c.truncated);
  });

  it('matches the README checks: "A picture of a puppy" and id 2368', () => {
    expect(sd15.encode('A picture of a puppy')).toEqual([320, 1674, 539, 320, 6829]);
    expect(sd15.convertIdsToTokens(2368)).toBe('cat</w>');
    expect(sd15.vocab.get('cat</w>')).toBe(2368);
  });

  it('reads the special tokens and sizes from the config files', () => {
    expect([sd15.bosTokenId, sd15.eosTokenId, sd15.padTokenId, sd15.modelMaxLength]).toEqual([49406, 49407, 49407, 77]);
    expect([sd2.bosTokenId, sd2.eosTokenId, sd2.padTokenId, sd2.padToken]).toEqual([49406, 49407, 0, '!']);
    expect([sd15.length, sd15.vocabSize]).toEqual([49408, 49408]);
    expect(sd15.allSpecialIds).toEqual([49406, 49407]);
  });
});
