// The batch side of a transformers tokenizer call and of decoding, kept apart from the vocabulary
// logic in clip-tokenizer.ts: option checking, padding with attention masks, and turning byte-level
// tokens back into text.

import { LatentlabError, fmtValue } from '../core/errors.js';
import { fromByteLevel } from './byte-level.js';
import { pyStrip } from './ftfy.js';

export interface CallOptions {
  /** "max_length": pad to maxLength; "longest" (or true): to the longest in the batch; false: none. */
  padding?: 'max_length' | 'longest' | boolean;
  /** Default: modelMaxLength (77) when truncating or padding to max_length. */
  maxLength?: number;
  /** Keep at most maxLength - 2 BPE tokens (room for bos and eos). */
  truncation?: boolean;
}

export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  /** Per text, the decoded tokens that truncation cut off ("" if none): what diffusers warns about. */
  removedText: string[];
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Default: the config's clean_up_tokenization_spaces (true): " ," -> ",", " 's" -> "'s", ... */
  cleanUpTokenizationSpaces?: boolean;
}

export function argError(key: string, message: string, hint: string): LatentlabError {
  return new LatentlabError('TOKENIZER_BAD_ARGUMENT', `${key}: ${message}`, { key, hint });
}

export interface ResolvedCallOptions {
  padding: 'max_length' | 'longest' | false;
  truncation: boolean;
  /** undefined only when neither truncating nor padding to max_length. */
  maxLength: number | undefined;
}

/** transformers' defaults: no padding, no truncation; max_length falls back to model_max_length. */
export function resolveCallOptions(options: CallOptions, modelMaxLength: number): ResolvedCallOptions {
  const truncation = options.truncation ?? false;
  const padding = options.padding === true ? 'longest' : (options.padding ?? false);
  if (padding !== false && padding !== 'longest' && padding !== 'max_length') {
    throw argError('padding', `is ${fmtValue(padding)}`, 'use "max_length", "longest" or false');
  }
  let maxLength = options.maxLength;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 2)) {
    throw argError('maxLength', `is ${fmtValue(maxLength)}; expected an integer >= 2 (bos + eos)`, 'CLIP uses 77');
  }
  if (maxLength === undefined && (truncation || padding === 'max_length')) maxLength = modelMaxLength;
  return { padding, truncation, maxLength };
}

/** Pads the rows in place (right side, like CLIP) and returns their attention masks (1 = token, 0 = pad). */
export function padRows(rows: number[][], options: ResolvedCallOptions, padId: number | null): number[][] {
  const { padding, maxLength } = options;
  const target = padding === 'max_length' ? maxLength! : padding === 'longest' ? Math.max(...rows.map((r) => r.length)) : 0;
  if (padId === null && rows.some((r) => r.length < target)) {
    throw new LatentlabError('TOKENIZER_NO_PAD_TOKEN', 'padding was requested but the tokenizer has no pad_token', {
      key: 'pad_token', hint: 'set pad_token in special_tokens_map.json ("<|endoftext|>" for SD 1.x, "!" for SD 2.x)',
    });
  }
  return rows.map((row) => {
    const mask = row.map(() => 1);
    while (row.length < target) {
      row.push(padId!);
      mask.push(0);
    }
    return mask;
  });
}

/** transformers `convert_tokens_to_string` for CLIP: bytes -> UTF-8 (errors replaced), "</w>" -> " ", strip. */
export function tokensToString(tokens: readonly string[]): string {
  return pyStrip(fromByteLevel(tokens.join('')).replaceAll('</w>', ' '));
}

/** transformers `clean_up_tokenization`: removes the spaces decoding leaves before punctuation. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}
