// The PNG text chunks that carry generation settings, so that they read back exactly.
//
// A1111's infotext has no escaping: a prompt with a line that starts with "Negative prompt:" reads
// back as a negative prompt, leading spaces of a line are trimmed, and so on. Other tools only read
// `parameters`, so it stays A1111's format; when that text would not give back the very prompts that
// were used, a second chunk, `latentlab-prompts`, holds them as JSON, and `readInfotextChunks`
// prefers it. The test is the round trip itself, so no case is special.

import { type A1111Parameters, formatA1111Parameters, parseA1111Parameters } from './a1111.js';

export const EXACT_PROMPTS_CHUNK = 'latentlab-prompts';

/** `parameters` (A1111's infotext), plus `latentlab-prompts` when the infotext alone is ambiguous. */
export function infotextChunks(p: A1111Parameters): Record<string, string> {
  const parameters = formatA1111Parameters(p);
  const back = parseA1111Parameters(parameters);
  if (back.prompt === p.prompt && (back.negativePrompt ?? '') === (p.negativePrompt ?? '')) return { parameters };
  return { parameters, [EXACT_PROMPTS_CHUNK]: JSON.stringify({ prompt: p.prompt, negativePrompt: p.negativePrompt ?? '' }) };
}

/** The settings in a PNG's text chunks (undefined without `parameters`), the prompts exact where recorded. */
export function readInfotextChunks(chunks: Readonly<Record<string, string>>): (A1111Parameters & { exactPrompts: boolean }) | undefined {
  if (chunks.parameters === undefined) return undefined;
  const parsed = parseA1111Parameters(chunks.parameters);
  const exact = parseExact(chunks[EXACT_PROMPTS_CHUNK]);
  return exact ? { ...parsed, ...exact, exactPrompts: true } : { ...parsed, exactPrompts: false };
}

function parseExact(text: string | undefined): { prompt: string; negativePrompt: string } | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as { prompt?: unknown; negativePrompt?: unknown };
    return typeof v.prompt === 'string' && typeof v.negativePrompt === 'string' ? { prompt: v.prompt, negativePrompt: v.negativePrompt } : undefined;
  } catch {
    return undefined; // a damaged chunk: the infotext is still there
  }
}
