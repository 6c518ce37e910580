// Reading and validating a Hugging Face CLIPTokenizer folder: vocab.json, merges.txt,
// tokenizer_config.json and special_tokens_map.json (what `CLIPTokenizer.save_pretrained` writes and
// what every SD 1.x / 2.x diffusers folder has under tokenizer/).
//
// Semantics follow transformers' `from_pretrained`: the two config files are optional; a special token
// may be a string or an AddedToken object ({"content": ..., "lstrip": ...}); special_tokens_map.json
// wins over tokenizer_config.json; missing entries take CLIPTokenizer's defaults (bos
// "<|startoftext|>", eos / unk / pad "<|endoftext|>"). Everything is checked here, once, so that a
// broken folder fails with the file name and the fix instead of producing wrong ids later.

import { LatentlabError, fmtValue } from '../core/errors.js';
import { fileSystem } from '../core/io.js';

/** The four files' contents (JSON files as text or already parsed). */
export interface TokenizerFiles {
  vocab: string | Record<string, unknown>;
  merges: string;
  tokenizerConfig?: string | Record<string, unknown>;
  specialTokensMap?: string | Record<string, unknown>;
}

export interface ParsedTokenizerFiles {
  encoder: Encoder;
  /** id -> token of vocab.json. */
  decoder: readonly string[];
  /** Number of tokens in vocab.json. */
  vocabSize: number;
  /** "first second" per merge, in rank order. */
  merges: string[];
  bosToken: string;
  eosToken: string;
  unkToken: string;
  /** null when the config sets `"pad_token": null` (padding is then an error). */
  padToken: string | null;
  modelMaxLength: number;
  cleanUpTokenizationSpaces: boolean;
  /** Tokens listed in tokenizer_config.json's `added_tokens_decoder` that are not in vocab.json. */
  addedTokens: { content: string; id: number }[];
}

export const FILE_NAMES = {
  vocab: 'vocab.json',
  merges: 'merges.txt',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
} as const;

/**
 * transformers reads at most this many merges (`[1 : 49152 - 256 - 2 + 1]`: CLIP's 49,152-entry
 * vocabulary minus 256 byte characters minus the two special tokens) and ignores the rest.
 */
export const MAX_MERGES = 49152 - 256 - 2;

/** CLIP's text encoder has 77 positions; transformers' old per-checkpoint table said the same. */
const DEFAULT_MODEL_MAX_LENGTH = 77;

function bad(code: string, file: string, message: string, hint: string, key?: string): LatentlabError {
  return new LatentlabError(code, `${file}: ${message}`, { file, hint, key });
}

function parseJsonObject(content: string | Record<string, unknown>, file: string, code: string): Record<string, unknown> {
  let value: unknown = content;
  if (typeof content === 'string') {
    try {
      value = JSON.parse(content);
    } catch (e) {
      throw new LatentlabError('TOKENIZER_BAD_JSON', `${file}: not valid JSON (${(e as Error).message})`, {
        file, cause: e, hint: 'restore the file from the model repository (it is written by transformers save_pretrained)',
      });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(code, file, `expected a JSON object, found ${Array.isArray(value) ? 'an array' : fmtValue(value)}`,
      'restore the file from the model repository');
  }
  return value as Record<string, unknown>;
}

/** token -> id; a null-prototype object straight from JSON.parse (building a Map costs more than the parse). */
export type Encoder = Readonly<Record<string, number>>;

function parseVocab(content: TokenizerFiles['vocab'], file: string): { encoder: Encoder; decoder: string[]; size: number } {
  const obj = parseJsonObject(content, file, 'TOKENIZER_BAD_VOCAB');
  // No prototype: a lookup of "constructor" or "__proto__" must find nothing, not Object's members.
  const encoder = Object.setPrototypeOf(typeof content === 'string' ? obj : { ...obj }, null) as Record<string, unknown>;
  // id -> token; also catches two tokens with one id. (A plain array: ids are dense, 0..size-1.)
  const decoder: string[] = [];
  let size = 0;
  for (const token in encoder) {
    size++;
    const id = encoder[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw bad('TOKENIZER_BAD_VOCAB', file, `token ${fmtValue(token)} has id ${fmtValue(id)}; expected a non-negative integer`,
        'vocab.json must map each token string to its integer id, e.g. {"!": 0, ...}', token);
    }
    if (decoder[id] !== undefined) {
      throw bad('TOKENIZER_BAD_VOCAB', file, `tokens ${fmtValue(decoder[id])} and ${fmtValue(token)} both have id ${id}`,
        'every id must belong to exactly one token; restore the file from the model repository', token);
    }
    decoder[id] = token;
  }
  if (size === 0) throw bad('TOKENIZER_BAD_VOCAB', file, 'the vocabulary is empty', 'restore the file from the model repository');
  return { encoder: encoder as Encoder, decoder, size };
}

/** The merges in rank order, each validated to be "first second" (the line itself). */
function parseMerges(content: string, file: string): string[] {
  if (typeof content !== 'string') {
    throw bad('TOKENIZER_BAD_MERGES', file, `expected the file's text, found ${fmtValue(content)}`, 'pass the contents of merges.txt as a string');
  }
  const lines = content.trim().split('\n');
  if (lines[0].endsWith('\r')) for (let i = 0; i < lines.length; i++) lines[i] = lines[i].replace(/\r$/, '');
  // transformers skips the first line unconditionally; a file without the header would silently
  // lose its first merge there, so we insist on it.
  if (!lines[0].startsWith('#version')) {
    throw bad('TOKENIZER_BAD_MERGES', file, `first line is ${fmtValue(lines[0])}; expected the "#version: 0.2" header`,
      'add the line "#version: 0.2" at the top (transformers always skips the first line)');
  }
  const merges = lines.slice(1, 1 + MAX_MERGES);
  for (let i = 0; i < merges.length; i++) {
    const line = merges[i];
    const sp = line.indexOf(' ');
    if (sp <= 0 || sp === line.length - 1 || line.indexOf(' ', sp + 1) !== -1 || line.includes('\t') || line.includes('\r')) {
      throw bad('TOKENIZER_BAD_MERGES', file, `line ${i + 2} is ${fmtValue(line)}; expected a pair "a b" (two tokens, one space)`,
        'each line after the header must be one merge, e.g. "i n"; restore the file from the model repository');
    }
  }
  return merges;
}

/** A special-token entry: a string, an AddedToken object, null, or absent (undefined). */
function tokenContent(value: unknown, file: string, key: string): string | null | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw bad('TOKENIZER_BAD_CONFIG', file, `${key} is ${fmtValue(value)}; expected a string or {"content": "..."}`,
    `write e.g. "${key}": "<|endoftext|>"`, key);
}

/** Parses and validates the four files. `where` names their folder in error messages. */
export function parseTokenizerFiles(files: TokenizerFiles, where = '(fromFiles)'): ParsedTokenizerFiles {
  const path = (name: string): string => `${where}/${name}`;
  const { encoder, decoder, size: vocabSize } = parseVocab(files.vocab, path(FILE_NAMES.vocab));
  const merges = parseMerges(files.merges, path(FILE_NAMES.merges));
  const configFile = path(FILE_NAMES.tokenizerConfig);
  const mapFile = path(FILE_NAMES.specialTokensMap);
  const config = files.tokenizerConfig === undefined ? {} : parseJsonObject(files.tokenizerConfig, configFile, 'TOKENIZER_BAD_CONFIG');
  const map = files.specialTokensMap === undefined ? {} : parseJsonObject(files.specialTokensMap, mapFile, 'TOKENIZER_BAD_CONFIG');

  const addedTokens = parseAddedTokensDecoder(config.added_tokens_decoder, encoder, vocabSize, configFile);
  const known = (t: string): boolean => encoder[t] !== undefined || addedTokens.some((a) => a.content === t);
  const special = (key: string, fallback: string): string | null => {
    const fromMap = tokenContent(map[key], mapFile, key);
    const fromConfig = tokenContent(config[key], configFile, key);
    const value = fromMap !== undefined ? fromMap : fromConfig !== undefined ? fromConfig : fallback;
    const file = fromMap !== undefined ? mapFile : configFile;
    if (value !== null && !known(value)) {
      throw bad('TOKENIZER_SPECIAL_TOKEN_NOT_IN_VOCAB', file, `${key} ${fmtValue(value)} is not in vocab.json`,
        `set ${key} to a token of vocab.json (SD 1.x pads with "<|endoftext|>", SD 2.x with "!")`, key);
    }
    if (value === null && key !== 'pad_token') {
      throw bad('TOKENIZER_BAD_CONFIG', file, `${key} is null; CLIP needs it`, `set ${key} (CLIP uses "${fallback}")`, key);
    }
    return value;
  };
  const bosToken = special('bos_token', '<|startoftext|>')!;
  const eosToken = special('eos_token', '<|endoftext|>')!;
  const unkToken = special('unk_token', '<|endoftext|>')!;
  const padToken = special('pad_token', '<|endoftext|>');

  const maxLength = config.model_max_length ?? DEFAULT_MODEL_MAX_LENGTH;
  if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 2) {
    throw bad('TOKENIZER_BAD_CONFIG', configFile, `model_max_length is ${fmtValue(maxLength)}; expected an integer >= 2`,
      'CLIP text encoders take 77 tokens: set "model_max_length": 77', 'model_max_length');
  }
  const cleanUp = config.clean_up_tokenization_spaces ?? true;
  if (typeof cleanUp !== 'boolean') {
    throw bad('TOKENIZER_BAD_CONFIG', configFile, `clean_up_tokenization_spaces is ${fmtValue(cleanUp)}; expected true or false`,
      'set "clean_up_tokenization_spaces": true (the CLIP default)', 'clean_up_tokenization_spaces');
  }
  return { encoder, decoder, vocabSize, merges, bosToken, eosToken, unkToken, padToken, modelMaxLength: maxLength, cleanUpTokenizationSpaces: cleanUp, addedTokens };
}

/**
 * Newer transformers write every special / added token to `added_tokens_decoder` ({"49406":
 * {"content": "<|startoftext|>", ...}}). Those already in vocab.json need nothing; the others (e.g.
 * saved textual-inversion tokens) become added tokens, which must follow the vocabulary without gaps.
 */
function parseAddedTokensDecoder(value: unknown, encoder: Encoder, size: number, file: string): { content: string; id: number }[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw bad('TOKENIZER_BAD_CONFIG', file, `added_tokens_decoder is ${fmtValue(value)}; expected {"<id>": {"content": ...}}`,
      'remove added_tokens_decoder or restore the file from the model repository', 'added_tokens_decoder');
  }
  const extra: { content: string; id: number }[] = [];
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    const id = Number(key);
    const content = tokenContent(entry, file, `added_tokens_decoder.${key}`);
    if (!Number.isInteger(id) || typeof content !== 'string') {
      throw bad('TOKENIZER_BAD_CONFIG', file, `added_tokens_decoder entry ${fmtValue(key)}: ${fmtValue(entry)} is not an id with {"content": ...}`,
        'restore the file from the model repository', 'added_tokens_decoder');
    }
    const vocabId = encoder[content];
    if (vocabId === undefined) extra.push({ content, id });
    else if (vocabId !== id) {
      throw bad('TOKENIZER_BAD_CONFIG', file, `added_tokens_decoder gives ${fmtValue(content)} id ${id}, vocab.json gives ${vocabId}`,
        'the two files disagree; restore them from the same model repository', 'added_tokens_decoder');
    }
  }
  extra.sort((a, b) => a.id - b.id);
  extra.forEach((t, i) => {
    if (t.id !== size + i) {
      throw bad('TOKENIZER_BAD_CONFIG', file, `added token ${fmtValue(t.content)} has id ${t.id}; expected ${size + i} (ids follow vocab.json without gaps)`,
        'restore the file from the model repository', 'added_tokens_decoder');
    }
  });
  return extra;
}

/** Reads the four files of a tokenizer folder through the platform file system. */
export async function readTokenizerFolder(folder: string): Promise<TokenizerFiles> {
  const fs = fileSystem();
  const st = await fs.stat(folder);
  if (!st?.isDirectory) {
    throw new LatentlabError('TOKENIZER_NOT_FOUND', `${folder}: ${st ? 'not a folder' : 'no such folder'}`, {
      file: folder, hint: 'pass the model folder with {subfolder: "tokenizer"}, or the tokenizer folder itself',
    });
  }
  const read = async (name: string, required: boolean): Promise<string | undefined> => {
    const file = fs.join(folder, name);
    const fst = await fs.stat(file);
    if (fst?.isFile) return fs.readText(file);
    if (!required) return undefined;
    const nested = await fs.stat(fs.join(folder, 'tokenizer', name));
    throw new LatentlabError('TOKENIZER_MISSING_FILE', `${file}: missing (a CLIPTokenizer folder needs vocab.json and merges.txt)`, {
      file,
      hint: nested?.isFile
        ? 'this is a pipeline folder: pass {subfolder: "tokenizer"}'
        : `copy ${name} from the model repository's tokenizer/ folder`,
    });
  };
  const vocab = (await read(FILE_NAMES.vocab, true))!;
  const merges = (await read(FILE_NAMES.merges, true))!;
  const tokenizerConfig = await read(FILE_NAMES.tokenizerConfig, false);
  const specialTokensMap = await read(FILE_NAMES.specialTokensMap, false);
  return { vocab, merges, tokenizerConfig, specialTokensMap };
}
