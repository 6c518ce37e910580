// CLIPTokenizer: Hugging Face transformers' (slow, Python) `CLIPTokenizer` with ftfy installed, which
// is what diffusers' Stable Diffusion pipelines use, plus diffusers' textual-inversion prompt rewrite.
//
// text -> ids, step by step (see the conformance README section 3):
// 1. cut the raw text on added tokens and the special-token strings (split-tokens.ts);
// 2. each other piece: ftfy.fix_text, whitespace collapse + strip, lower-case (ftfy.ts);
// 3. split into words with CLIP's pattern: the special-token strings, the English clitics 's 't 're
//    've 'm 'll 'd, runs of letters, single digits ("1234" is four words), runs of other symbols;
// 4. each word: UTF-8 bytes as byte characters (byte-level.ts), then BPE with "</w>" marking the
//    word end (bpe.ts); tokens -> ids with vocab.json (added tokens have their own ids).
// The pipelines then call it as `tokenizer(prompt, padding="max_length", max_length=77,
// truncation=True)`: [bos] + ids[:75] + [eos], padded to 77 with the pad id.
//
// One deliberate difference, switchable: transformers also treats the *pad* token as a special
// string to cut out of the text. For SD 2.x the pad token is "!", so there "wow!!!" becomes
// "wow" + three separate id-0 tokens instead of the "!!!</w>" token (diffusers issue #4153). The
// conformance fixtures, and OpenCLIP, which SD 2 was trained with, keep "!" an ordinary character;
// that is the default here. `matchPadTokenInText: true` reproduces transformers exactly.

import { LatentlabError, fmtValue } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { ClipBpe } from './bpe.js';
import { toByteLevel } from './byte-level.js';
import { argError, BatchEncoding, CallOptions, cleanUpTokenization, DecodeOptions, padRows, resolveCallOptions, tokensToString } from './encoding.js';
import { fixText, whitespaceClean } from './ftfy.js';
import { splitOnTokens } from './split-tokens.js';
import { Encoder, parseTokenizerFiles, readTokenizerFolder, TokenizerFiles } from './tokenizer-files.js';

export interface CLIPTokenizerOptions {
  /** Cut the pad token's string out of the text like transformers does (matters for SD 2's "!"). Default false. */
  matchPadTokenInText?: boolean;
}

export interface FromPretrainedOptions extends CLIPTokenizerOptions {
  /** e.g. "tokenizer" when `path` is a whole pipeline folder. */
  subfolder?: string;
}

// Case-insensitive like the original (the text is lower-cased already, so it rarely matters).
const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

export class CLIPTokenizer {
  readonly bosToken: string;
  readonly eosToken: string;
  readonly unkToken: string;
  /** null only if the config sets no pad token (then padding is an error). */
  readonly padToken: string | null;
  readonly modelMaxLength: number;
  readonly cleanUpTokenizationSpaces: boolean;
  /** Size of vocab.json alone (transformers `vocab_size`); `length` includes added tokens. */
  readonly vocabSize: number;
  private readonly encoder: Encoder;
  private readonly decoder: readonly string[];
  private readonly added = new Map<string, number>();
  private readonly addedById = new Map<number, string>();
  private readonly bpe: ClipBpe;
  private readonly matchPad: boolean;
  private splitTokens: string[] = [];
  private mergedVocab: Map<string, number> | undefined;

  /** Loads `path` (or `path/subfolder`): vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json. */
  static async fromPretrained(path: string, options: FromPretrainedOptions = {}): Promise<CLIPTokenizer> {
    const folder = options.subfolder ? fileSystem().join(path, options.subfolder) : path;
    return new CLIPTokenizer(parseTokenizerFiles(await readTokenizerFolder(folder), folder), options);
  }

  /** From the files' contents (no file system needed, e.g. in a browser). */
  static fromFiles(files: TokenizerFiles, options: CLIPTokenizerOptions = {}): CLIPTokenizer {
    return new CLIPTokenizer(parseTokenizerFiles(files), options);
  }

  private constructor(parsed: ReturnType<typeof parseTokenizerFiles>, options: CLIPTokenizerOptions) {
    this.encoder = parsed.encoder;
    this.vocabSize = parsed.vocabSize;
    this.decoder = parsed.decoder;
    this.bpe = new ClipBpe(parsed.merges);
    this.bosToken = parsed.bosToken;
    this.eosToken = parsed.eosToken;
    this.unkToken = parsed.unkToken;
    this.padToken = parsed.padToken;
    this.modelMaxLength = parsed.modelMaxLength;
    this.cleanUpTokenizationSpaces = parsed.cleanUpTokenizationSpaces;
    this.matchPad = options.matchPadTokenInText ?? false;
    for (const { content, id } of parsed.addedTokens) this.registerAdded(content, id);
    this.updateSplitTokens();
  }

  /** Vocabulary size including added tokens (Python `len(tokenizer)`); the next added token gets this id. */
  get length(): number {
    return this.vocabSize + this.added.size;
  }

  get bosTokenId(): number {
    return this.idOf(this.bosToken);
  }

  get eosTokenId(): number {
    return this.idOf(this.eosToken);
  }

  get unkTokenId(): number {
    return this.idOf(this.unkToken);
  }

  get padTokenId(): number | null {
    return this.padToken === null ? null : this.idOf(this.padToken);
  }

  /** token -> id for vocab.json plus added tokens (`get_vocab()`): `vocab.get('cat</w>')` is 2368. */
  get vocab(): ReadonlyMap<string, number> {
    this.mergedVocab ??= new Map([...Object.entries(this.encoder), ...this.added]);
    return this.mergedVocab;
  }

  /** The added tokens (textual inversion) and their ids. */
  get addedTokensEncoder(): ReadonlyMap<string, number> {
    return this.added;
  }

  /** The special tokens' ids (bos, eos, unk, pad), each once. */
  get allSpecialIds(): number[] {
    const tokens = [this.bosToken, this.eosToken, this.unkToken, ...(this.padToken === null ? [] : [this.padToken])];
    return [...new Set(tokens.map((t) => this.idOf(t)))];
  }

  /** BPE token strings: `tokenize("A cat")` is ["a</w>", "cat</w>"]. */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw argError('text', `expected a string, got ${fmtValue(text)}`, 'pass the prompt as a string');
    const out: string[] = [];
    for (const piece of splitOnTokens(text, this.splitTokens)) {
      if (piece.isToken) {
        out.push(piece.text);
        continue;
      }
      const clean = whitespaceClean(fixText(piece.text)).toLowerCase();
      for (const word of clean.matchAll(WORD_PATTERN)) out.push(...this.bpe.encode(toByteLevel(word[0])));
    }
    return out;
  }

  /** BPE ids without bos / eos, not truncated (`encode(text, add_special_tokens=False)`). */
  encode(text: string): number[] {
    return this.tokenize(text).map((t) => this.convertTokenToId(t));
  }

  /** `tokenizer(text, padding=..., max_length=..., truncation=...)`; one row per text. */
  call(text: string | string[], options: CallOptions = {}): BatchEncoding {
    const texts = Array.isArray(text) ? text : [text];
    const resolved = resolveCallOptions(options, this.modelMaxLength);
    const keep = resolved.truncation ? resolved.maxLength! - 2 : Infinity;
    const inputIds: number[][] = [];
    const removedText: string[] = [];
    for (const t of texts) {
      const ids = this.encode(t);
      removedText.push(ids.length > keep ? this.decode(ids.slice(keep)) : '');
      inputIds.push([this.bosTokenId, ...ids.slice(0, keep), this.eosTokenId]);
    }
    const attentionMask = padRows(inputIds, resolved, this.padTokenId);
    return { inputIds, attentionMask, removedText };
  }

  /**
   * The part of `text` that truncation to `maxLength` (default 77) cuts off, decoded as diffusers
   * prints it in "The following part of your input was truncated because CLIP can only handle
   * sequences up to 77 tokens: ..."; "" when the prompt fits.
   */
  removedText(text: string, maxLength = this.modelMaxLength): string {
    resolveCallOptions({ maxLength }, this.modelMaxLength);
    const ids = this.encode(text);
    return ids.length > maxLength - 2 ? this.decode(ids.slice(maxLength - 2)) : '';
  }

  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: readonly string[]): number[];
  convertTokensToIds(tokens: string | readonly string[]): number | number[] {
    return typeof tokens === 'string' ? this.convertTokenToId(tokens) : tokens.map((t) => this.convertTokenToId(t));
  }

  convertIdsToTokens(ids: number, options?: { skipSpecialTokens?: boolean }): string;
  convertIdsToTokens(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string[];
  convertIdsToTokens(ids: number | readonly number[], options: { skipSpecialTokens?: boolean } = {}): string | string[] {
    if (typeof ids === 'number') return this.tokenOf(ids);
    const skip = options.skipSpecialTokens ? new Set(this.allSpecialIds) : undefined;
    return ids.filter((id) => !skip?.has(id)).map((id) => this.tokenOf(id));
  }

  /** ids -> text: byte-level tokens decoded as UTF-8, "</w>" -> " ", added tokens joined with spaces. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const parts: string[] = [];
    let run: string[] = [];
    for (const token of this.convertIdsToTokens(ids, options)) {
      // Added tokens are not byte-level text; transformers decodes them apart and joins with " ".
      if (!this.added.has(token)) {
        run.push(token);
        continue;
      }
      const s = run.length > 0 ? tokensToString(run) : '';
      if (s.length > 0) parts.push(s);
      parts.push(token);
      run = [];
    }
    if (run.length > 0) parts.push(tokensToString(run));
    const text = parts.join(' ');
    return (options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces) ? cleanUpTokenization(text) : text;
  }

  batchDecode(sequences: readonly (readonly number[])[], options: DecodeOptions = {}): string[] {
    return sequences.map((ids) => this.decode(ids, options));
  }

  /**
   * Adds tokens (textual inversion) with ids `length`, `length + 1`, ...; afterwards they are cut out
   * of any text as whole tokens. A token that already exists is an error, as in diffusers.
   */
  addTokens(tokens: readonly string[]): number[] {
    const seen = new Set<string>();
    for (const t of tokens) {
      if (typeof t !== 'string' || t.length === 0) throw argError('tokens', `contains ${fmtValue(t)}`, 'added tokens are non-empty strings');
      if (this.encoder[t] !== undefined || this.added.has(t) || seen.has(t)) {
        throw new LatentlabError('TOKENIZER_TOKEN_EXISTS', `token ${fmtValue(t)} is already in the vocabulary (id ${this.encoder[t] ?? this.added.get(t) ?? 'in this call'})`, {
          key: t, hint: 'choose another token name (e.g. "<my-concept>") or load each embedding once',
        });
      }
      seen.add(t);
    }
    const ids = tokens.map((t) => {
      const id = this.length;
      this.registerAdded(t, id);
      return id;
    });
    this.updateSplitTokens();
    return ids;
  }

  /**
   * diffusers `maybe_convert_prompt`: a multi-vector embedding loaded as tokens `name`, `name_1`,
   * `name_2`, ... is written as just `name` in prompts; this expands it to "name name_1 name_2".
   */
  maybeConvertPrompt(prompt: string): string;
  maybeConvertPrompt(prompt: readonly string[]): string[];
  maybeConvertPrompt(prompt: string | readonly string[]): string | string[] {
    if (typeof prompt !== 'string') return prompt.map((p) => this.maybeConvertPrompt(p));
    for (const token of new Set(this.tokenize(prompt))) {
      if (!this.added.has(token)) continue;
      let replacement = token;
      for (let i = 1; this.added.has(`${token}_${i}`); i++) replacement += ` ${token}_${i}`;
      prompt = prompt.split(token).join(replacement);
    }
    return prompt;
  }

  private convertTokenToId(token: string): number {
    return this.added.get(token) ?? this.encoder[token] ?? this.encoder[this.unkToken];
  }

  private idOf(token: string): number {
    return this.added.get(token) ?? this.encoder[token];
  }

  private tokenOf(id: number): string {
    const token = this.addedById.get(id) ?? (Number.isInteger(id) && id >= 0 ? this.decoder[id] : undefined);
    if (token === undefined) {
      throw new LatentlabError('TOKENIZER_UNKNOWN_ID', `id ${fmtValue(id)} is not in the vocabulary (0..${this.length - 1})`, {
        key: 'ids', hint: 'decode ids produced by this tokenizer (after loading the same added tokens)',
      });
    }
    return token;
  }

  private registerAdded(token: string, id: number): void {
    this.added.set(token, id);
    this.addedById.set(id, token);
    this.mergedVocab = undefined;
  }

  private updateSplitTokens(): void {
    const special = [this.bosToken, this.eosToken, this.unkToken];
    if (this.matchPad && this.padToken !== null) special.push(this.padToken);
    this.splitTokens = [...new Set([...special, ...this.added.keys()])].sort((a, b) => b.length - a.length);
  }
}
