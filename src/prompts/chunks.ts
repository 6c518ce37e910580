// A prompt as the 77-token chunks A1111 feeds CLIP (modules/sd_hijack_clip.py, `tokenize_line`):
//
//   chunk = [bos, up to 75 prompt tokens, eos-padding…, eos]  → then, for tokenizers whose pad token is
//   not eos (SD 2), every id after the first eos becomes the pad id. One multiplier per id (1 for
//   bos, eos and padding), so the text encoder's output [77, H] can be weighted token by token.
//
// The prompt's emphasis parts (attention.ts) are tokenized one by one and laid out in order:
//   - a part ["BREAK", -1] closes the current chunk, padded, however full it is;
//   - when a chunk is full (75 tokens) the next token opens a new one — but if the chunk's last
//     comma is at most `commaPaddingBacktrack` (A1111's default 20) tokens back, everything after
//     that comma moves to the new chunk, so a comma-separated phrase is not torn apart.
// A 150-token prompt therefore takes 2 chunks without commas and usually 3 with them.

import type { CLIPTokenizer } from '../tokenizers/index.js';
import { parsePromptAttention } from './attention.js';

/** A1111's chunk: 75 tokens plus bos and eos. */
export const CHUNK_TOKENS = 75;

/** A1111's default `comma_padding_backtrack`. */
export const COMMA_PADDING_BACKTRACK = 20;

export interface PromptChunk {
  /** The 77 input ids. */
  tokens: number[];
  /** The 77 per-token multipliers. */
  multipliers: number[];
}

export interface ChunkOptions {
  /** How far back (in tokens) a comma may be to move the tail of a full chunk into the next one; 0 turns it off. Default 20. */
  commaPaddingBacktrack?: number;
}

export interface PromptChunks {
  chunks: PromptChunk[];
  /** The number of prompt tokens, with full chunks counted as 75 (A1111's count for "75/150"). */
  tokenCount: number;
}

interface Ids { bos: number; eos: number; pad: number; comma?: number }

function idsOf(tokenizer: CLIPTokenizer): Ids {
  return { bos: tokenizer.bosTokenId, eos: tokenizer.eosTokenId, pad: tokenizer.padTokenId ?? tokenizer.eosTokenId, comma: tokenizer.vocab.get(',</w>') };
}

/** bos + the (≤ 75) tokens + eos, then padding to 77: eos up to 76 and pad ids after the first eos. */
function closeChunk(ids: Ids, tokens: number[], multipliers: number[]): PromptChunk {
  const fill = CHUNK_TOKENS - tokens.length;
  const body = [...tokens, ...Array<number>(Math.max(fill, 0)).fill(ids.eos)];
  const all = [ids.bos, ...body, ids.eos];
  const firstEos = all.indexOf(ids.eos, 1);
  return {
    tokens: all.map((id, i) => (i > firstEos ? ids.pad : id)),
    multipliers: [1, ...multipliers, ...Array<number>(Math.max(fill, 0)).fill(1), 1],
  };
}

/** The chunk of the empty prompt: bos, eos, padding, all multipliers 1. */
export function emptyPromptChunk(tokenizer: CLIPTokenizer): PromptChunk {
  return closeChunk(idsOf(tokenizer), [], []);
}

/** `text` (one scheduled prompt, with emphasis markup) as A1111's chunks; see the header. */
export function tokenizePromptChunks(tokenizer: CLIPTokenizer, text: string, options: ChunkOptions = {}): PromptChunks {
  const backtrack = options.commaPaddingBacktrack ?? COMMA_PADDING_BACKTRACK;
  const ids = idsOf(tokenizer);
  const chunks: PromptChunk[] = [];
  let tokens: number[] = [];
  let mults: number[] = [];
  let lastComma = -1;
  let tokenCount = 0;
  const next = (isLast = false): void => {
    tokenCount += isLast ? tokens.length : CHUNK_TOKENS;
    chunks.push(closeChunk(ids, tokens, mults));
    tokens = [];
    mults = [];
    lastComma = -1;
  };

  for (const [part, weight] of parsePromptAttention(text)) {
    if (part === 'BREAK' && weight === -1) {
      next();
      continue;
    }
    // Multi-vector textual-inversion tokens ("<style>" → "<style> <style>_1 …"), as diffusers does.
    for (const token of tokenizer.encode(tokenizer.maybeConvertPrompt(part))) {
      if (token === ids.comma) {
        lastComma = tokens.length;
      } else if (backtrack !== 0 && tokens.length === CHUNK_TOKENS && lastComma !== -1 && tokens.length - lastComma <= backtrack) {
        const cut = lastComma + 1;
        const [movedTokens, movedMults] = [tokens.slice(cut), mults.slice(cut)];
        tokens = tokens.slice(0, cut);
        mults = mults.slice(0, cut);
        next();
        tokens = movedTokens;
        mults = movedMults;
      }
      if (tokens.length === CHUNK_TOKENS) next();
      tokens.push(token);
      mults.push(weight);
    }
  }
  if (tokens.length > 0 || chunks.length === 0) next(true);
  return { chunks, tokenCount };
}
