// Loading tokenizer folders: config semantics and the specific error for each kind of broken folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LatentlabError } from '../../src/core/errors.js';
import { CLIPTokenizer } from '../../src/tokenizers/index.js';
import type { TokenizerFiles } from '../../src/tokenizers/index.js';
import { fixturePath } from '../helpers/fixtures.js';

const dir = fixturePath('pipelines', 'tiny-sd15', 'tokenizer');
const real = (name: string): string => readFileSync(join(dir, name), 'utf8');
const files = {
  vocab: real('vocab.json'),
  merges: real('merges.txt'),
  tokenizerConfig: real('tokenizer_config.json'),
  specialTokensMap: real('special_tokens_map.json'),
} satisfies Required<TokenizerFiles>;

const tmp = mkdtempSync(join(tmpdir(), 'latentlab-tokenizer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A folder with the real files, minus / replacing some. */
function folder(name: string, replace: Record<string, string | null>): string {
  const path = join(tmp, name);
  mkdirSync(path, { recursive: true });
  for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
    const content = f in replace ? replace[f] : real(f);
    if (content !== null) writeFileSync(join(path, f), content);
  }
  return path;
}

/** Runs `fn`, expects a LatentlabError with `code`, and returns it (its message is printed on mismatch). */
async function expectError(fn: () => unknown, code: string): Promise<LatentlabError> {
  try {
    await fn();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(LatentlabError);
    expect((e as LatentlabError).code, (e as Error).message).toBe(code);
    return e as LatentlabError;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

describe('loading', () => {
  it('fromFiles and fromPretrained agree; JSON may be passed parsed', async () => {
    const a = CLIPTokenizer.fromFiles(files);
    const b = await CLIPTokenizer.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { subfolder: 'tokenizer' });
    const c = CLIPTokenizer.fromFiles({ ...files, vocab: JSON.parse(files.vocab), tokenizerConfig: JSON.parse(files.tokenizerConfig) });
    const t = 'A picture of a puppy';
    expect(a.encode(t)).toEqual([320, 1674, 539, 320, 6829]);
    expect(b.encode(t)).toEqual(a.encode(t));
    expect(c.encode(t)).toEqual(a.encode(t));
    expect(c.vocab.get('constructor')).toBeUndefined();
    expect(a.convertTokensToIds('constructor')).toBe(a.unkTokenId);
  });

  it('takes CLIP defaults when the config files are missing; special_tokens_map wins over tokenizer_config', () => {
    const bare = CLIPTokenizer.fromFiles({ vocab: files.vocab, merges: files.merges });
    expect([bare.bosTokenId, bare.eosTokenId, bare.padTokenId, bare.modelMaxLength]).toEqual([49406, 49407, 49407, 77]);
    const mixed = CLIPTokenizer.fromFiles({ ...files, specialTokensMap: { pad_token: { content: '!' } } });
    expect(mixed.padTokenId).toBe(0);
    expect(CLIPTokenizer.fromFiles({ ...files, merges: files.merges.replaceAll('\n', '\r\n') }).encode('a puppy')).toEqual([320, 6829]);
  });

  it('loads added tokens saved in added_tokens_decoder', () => {
    const config = { ...JSON.parse(files.tokenizerConfig), added_tokens_decoder: { 49406: { content: '<|startoftext|>' }, 49408: { content: '<cat-toy>' } } };
    const tok = CLIPTokenizer.fromFiles({ ...files, tokenizerConfig: config });
    expect([tok.length, tok.encode('a <cat-toy>')]).toEqual([49409, [320, 49408]]);
  });
});

describe('broken tokenizer folders', () => {
  it('a missing folder or file names it and says how to fix it', async () => {
    await expectError(() => CLIPTokenizer.fromPretrained(join(tmp, 'nope')), 'TOKENIZER_NOT_FOUND');
    const e = await expectError(() => CLIPTokenizer.fromPretrained(folder('no-vocab', { 'vocab.json': null })), 'TOKENIZER_MISSING_FILE');
    expect(e.file).toMatch(/no-vocab[\\/]vocab\.json$/);
    await expectError(() => CLIPTokenizer.fromPretrained(folder('no-merges', { 'merges.txt': null })), 'TOKENIZER_MISSING_FILE');
    const p = await expectError(() => CLIPTokenizer.fromPretrained(fixturePath('pipelines', 'tiny-sd15')), 'TOKENIZER_MISSING_FILE');
    expect(p.hint).toContain('subfolder: "tokenizer"');
  });

  it('merges that are not "a b" pairs', async () => {
    const lines = files.merges.split('\n');
    lines[5] = 'i n g';
    const e = await expectError(() => CLIPTokenizer.fromPretrained(folder('bad-merges', { 'merges.txt': lines.join('\n') })), 'TOKENIZER_BAD_MERGES');
    expect(e.message).toContain('line 6');
    expect(e.file).toMatch(/merges\.txt$/);
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, merges: files.merges.split('\n').slice(1).join('\n') }), 'TOKENIZER_BAD_MERGES');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, merges: '#version: 0.2\ni n\n\nt h' }), 'TOKENIZER_BAD_MERGES');
  });

  it('a vocabulary that is not an object of unique integer ids', async () => {
    const e = await expectError(() => CLIPTokenizer.fromPretrained(folder('vocab-array', { 'vocab.json': '["a", "b"]' })), 'TOKENIZER_BAD_VOCAB');
    expect(e.file).toMatch(/vocab\.json$/);
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, vocab: '{"a": 0, "b": 1.5}' }), 'TOKENIZER_BAD_VOCAB');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, vocab: '{"a": 0, "b": 0}' }), 'TOKENIZER_BAD_VOCAB');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, vocab: '{}' }), 'TOKENIZER_BAD_VOCAB');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, vocab: '{"a": 0,' }), 'TOKENIZER_BAD_JSON');
  });

  it('special tokens that are not in the vocabulary, and bad config values', async () => {
    const map = JSON.stringify({ ...JSON.parse(files.specialTokensMap), pad_token: '<pad>' });
    const e = await expectError(() => CLIPTokenizer.fromPretrained(folder('bad-pad', { 'special_tokens_map.json': map })), 'TOKENIZER_SPECIAL_TOKEN_NOT_IN_VOCAB');
    expect([e.key, e.file?.endsWith('special_tokens_map.json')]).toEqual(['pad_token', true]);
    expect(e.message).toContain('"<pad>"');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, specialTokensMap: { eos_token: 7 } }), 'TOKENIZER_BAD_CONFIG');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, tokenizerConfig: { model_max_length: '77' } }), 'TOKENIZER_BAD_CONFIG');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, tokenizerConfig: { added_tokens_decoder: { 49410: { content: '<x>' } } } }), 'TOKENIZER_BAD_CONFIG');
    await expectError(() => CLIPTokenizer.fromFiles({ ...files, tokenizerConfig: '[]' }), 'TOKENIZER_BAD_CONFIG');
  });

  it('no pad token: padding is an error, the rest works', async () => {
    const tok = CLIPTokenizer.fromFiles({ ...files, specialTokensMap: { pad_token: null } });
    expect(tok.padTokenId).toBeNull();
    expect(tok.call('a cat').inputIds).toEqual([[49406, 320, 2368, 49407]]);
    await expectError(() => tok.call('a cat', { padding: 'max_length' }), 'TOKENIZER_NO_PAD_TOKEN');
  });
});
