// Splitting text on added / special tokens before BPE, as transformers' slow tokenizers do with
// their `Trie` (`PreTrainedTokenizer.tokenize`): the raw text (before any clean-up or lower-casing)
// is cut wherever one of the tokens occurs, case-sensitively and anywhere (also inside a word), taking
// the leftmost occurrence and, among tokens starting there, the longest ("my-style_1" beats
// "my-style"). The pieces in between are cleaned up and BPE-tokenized separately.

export interface TextPiece {
  text: string;
  /** true: the piece is one of the tokens and becomes its id directly. */
  isToken: boolean;
}

/** `tokens` must be sorted longest first (so the first match at a position is the longest). */
export function splitOnTokens(text: string, tokens: readonly string[]): TextPiece[] {
  if (tokens.length === 0 || !tokens.some((t) => text.includes(t))) return [{ text, isToken: false }];
  const pieces: TextPiece[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const match = tokens.find((t) => text.startsWith(t, i));
    if (match === undefined) {
      i++;
      continue;
    }
    if (i > start) pieces.push({ text: text.slice(start, i), isToken: false });
    pieces.push({ text: match, isToken: true });
    i += match.length;
    start = i;
  }
  if (start < text.length) pieces.push({ text: text.slice(start), isToken: false });
  return pieces;
}
