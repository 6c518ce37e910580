// CLIP's byte-pair encoding of one pre-tokenized word (transformers `CLIPTokenizer.bpe`, the same
// algorithm as OpenAI's `SimpleTokenizer.bpe`).
//
// The word arrives as byte characters (byte-level.ts). Its last character gets the end-of-word mark
// "</w>", so "cat" starts as ["c", "a", "t</w>"]. Then, repeatedly, the adjacent pair with the lowest
// rank in merges.txt (rank = position in the file) is merged everywhere it occurs, left to right
// without overlaps, until no adjacent pair has a rank: ["c", "a", "t</w>"] -> ["c", "at</w>"] ->
// ["cat</w>"]. The results are cached per word, because prompts repeat words constantly.

/** Words that are returned as they are (the tokenizer's special-token strings, no "</w>"). */
const PRESEEDED = ['<|startoftext|>', '<|endoftext|>'];

/** transformers keeps every word forever; we start over past this many to bound memory in servers. */
const CACHE_LIMIT = 100_000;

export class ClipBpe {
  /** "first second" -> rank. */
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, readonly string[]>();

  /** `merges`: "first second" per merge, in rank order (the lines of merges.txt after the header). */
  constructor(merges: readonly string[]) {
    this.ranks = new Map();
    // A repeated merge keeps its last rank, as a Python dict built with zip() does.
    for (let r = 0; r < merges.length; r++) this.ranks.set(merges[r], r);
    this.seed();
  }

  private seed(): void {
    for (const s of PRESEEDED) this.cache.set(s, [s]);
  }

  get numMerges(): number {
    return this.ranks.size;
  }

  /** The BPE tokens of one word given as byte characters (cached). */
  encode(word: string): readonly string[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const tokens = this.merge(word);
    if (this.cache.size >= CACHE_LIMIT) {
      this.cache.clear();
      this.seed();
    }
    this.cache.set(word, tokens);
    return tokens;
  }

  private merge(word: string): string[] {
    // Byte characters are single UTF-16 units (all below U+0144), so indexing by code unit is safe.
    let parts = word.split('');
    parts[parts.length - 1] += '</w>';
    while (parts.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = parts[i];
          second = parts[i + 1];
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] === first && i + 1 < parts.length && parts[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(parts[i]);
        }
      }
      parts = merged;
    }
    return parts;
  }
}
