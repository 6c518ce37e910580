// "Did you mean …?" for checkpoint keys: the closest candidate by edit distance, if close enough.
//
// A renamed weight (`proj_in` → `proj_inn`, `resnets.0` → `resnet.0`) differs from the intended
// key by a few characters; two real weights of a model (`to_q` / `to_k`) differ by as few, so the
// candidate list should be the keys still unmatched, not every key of the model.

/** Levenshtein distance, or `limit + 1` as soon as it must exceed `limit` (keeps big key lists cheap). */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * The candidate closest to `key`, when it is within a quarter of the key's length (at least 2
 * edits); ties go to the first candidate. undefined when nothing is that close.
 */
export function closestKey(key: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 4));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(key, c, bestDistance - 1);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
