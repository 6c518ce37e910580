// AUTOMATIC1111's "infotext": the `parameters` PNG text chunk that stable-diffusion-webui, ComfyUI
// importers, Civitai and most image viewers read to show how an image was made. Mirrors
// `create_infotext` (modules/processing.py) and `parse_generation_parameters`
// (modules/infotext_utils.py) of stable-diffusion-webui 1.x:
//
//   <prompt, may span lines>
//   Negative prompt: <negative prompt, may span lines>      ← omitted when empty
//   Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model hash: 6ce0161689, Model: v1-5, <extra...>
//
// The last line is a list of `Key: value` pairs; a value containing `,`, `:` or a newline is
// written as a JSON string (A1111's `quote`). The parser decides that the last line is the
// parameter line only if it holds at least 3 pairs — otherwise it is part of the prompt.

import { check, fmtValue } from '../core/errors.js';

export interface A1111Parameters {
  prompt: string;
  /** '' (or absent) when there is none; the `Negative prompt:` line is then left out. */
  negativePrompt?: string;
  steps?: number;
  /** A1111's sampler name, e.g. "Euler a", "DPM++ 2M Karras", "DDIM", "PLMS". */
  sampler?: string;
  cfgScale?: number;
  seed?: number | bigint;
  width?: number;
  height?: number;
  model?: string;
  modelHash?: string;
  /** Every other `Key: value` pair, in order ("Denoising strength", "Clip skip", "Version", ...). */
  extra?: Record<string, string>;
}

// A1111's re_param: `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`. Python's \w is
// Unicode-aware; in JS that is [\p{L}\p{N}_] with the u flag.
const RE_PARAM = /\s*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/gu;
const RE_KEY = /^[\p{L}\p{N}_][\p{L}\p{N}_ \-/]+$/u;
const NEGATIVE = 'Negative prompt:';

/** The pairs of the standard fields, in the order `create_infotext` writes them. */
const KNOWN = ['Steps', 'Sampler', 'CFG scale', 'Seed', 'Size', 'Model hash', 'Model'] as const;

/**
 * A1111's `quote`: values with a comma, colon or newline become JSON strings. We also quote a
 * value that starts with `"`, which A1111 writes bare but then reads back as JSON — quoting it
 * keeps the round trip exact and A1111 still reads it correctly.
 */
function quote(value: string): string {
  return /[,:\n]/.test(value) || value.startsWith('"') ? JSON.stringify(value) : value;
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : value;
  } catch {
    return value;
  }
}

function checkNumber(name: string, value: number | bigint | undefined, integer: boolean): void {
  if (value === undefined || typeof value === 'bigint') return;
  check(typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value)), 'A1111_VALUE',
    () => `A1111 parameters: ${name} must be a finite ${integer ? 'integer' : 'number'}, got ${fmtValue(value)}`, { key: name });
}

/** The infotext A1111 would write for these settings (its `create_infotext`). */
export function formatA1111Parameters(p: A1111Parameters): string {
  check(typeof p?.prompt === 'string', 'A1111_VALUE', () => `A1111 parameters: prompt must be a string, got ${fmtValue(p?.prompt)}`, { key: 'prompt' });
  checkNumber('steps', p.steps, true);
  checkNumber('cfgScale', p.cfgScale, false);
  checkNumber('seed', p.seed, true);
  checkNumber('width', p.width, true);
  checkNumber('height', p.height, true);
  const pairs: [string, string | undefined][] = [
    ['Steps', p.steps?.toString()],
    ['Sampler', p.sampler],
    ['CFG scale', p.cfgScale?.toString()],
    ['Seed', p.seed?.toString()],
    ['Size', p.width !== undefined && p.height !== undefined ? `${p.width}x${p.height}` : undefined],
    ['Model hash', p.modelHash],
    ['Model', p.model],
  ];
  for (const [key, value] of Object.entries(p.extra ?? {})) {
    // A key the parser cannot read back, or one that would repeat a standard field, is a bug upstream.
    check(RE_KEY.test(key) && !(KNOWN as readonly string[]).includes(key), 'A1111_KEY',
      () => `A1111 parameters: extra key ${fmtValue(key)} is not usable`, {
        key, hint: `keys are letters, digits, spaces, '-', '/' or '_' (at least 2 characters) and not one of ${KNOWN.join(', ')} (use the named fields for those)`,
      });
    pairs.push([key, String(value)]);
  }
  const line = pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${quote(v!)}`).join(', ');
  const negative = p.negativePrompt ? `\n${NEGATIVE} ${p.negativePrompt}` : '';
  return `${p.prompt}${negative}\n${line}`.trim();
}

function parseInteger(v: string): number | bigint | undefined {
  if (!/^\s*-?\d+\s*$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v.trim());
}

function parseNumber(v: string): number | undefined {
  const n = v.trim() === '' ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Reads an infotext back (A1111's `parse_generation_parameters`, without the UI defaults it fills
 * in). Unknown keys land in `extra` with their text unquoted; a standard key whose value does not
 * parse (e.g. `Steps: many`) is kept in `extra` as written rather than guessed at.
 */
export function parseA1111Parameters(text: string): A1111Parameters {
  check(typeof text === 'string', 'A1111_VALUE', () => `parseA1111Parameters: expected a string, got ${fmtValue(text)}`);
  const lines = text.trim().split('\n');
  let last = lines.pop() ?? '';
  if ([...last.matchAll(RE_PARAM)].length < 3) {
    lines.push(last);
    last = '';
  }
  let prompt = '';
  let negativePrompt = '';
  let inNegative = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith(NEGATIVE)) {
      inNegative = true;
      line = line.slice(NEGATIVE.length).trim();
    }
    if (inNegative) negativePrompt += (negativePrompt === '' ? '' : '\n') + line;
    else prompt += (prompt === '' ? '' : '\n') + line;
  }
  const out: A1111Parameters = { prompt, negativePrompt };
  const extra: Record<string, string> = {};
  for (const [, key, raw] of last.matchAll(RE_PARAM)) {
    const value = unquote(raw);
    const size = key === 'Size' ? /^(\d+)x(\d+)$/.exec(value) : null;
    const steps = key === 'Steps' ? parseInteger(value) : undefined;
    const seed = key === 'Seed' ? parseInteger(value) : undefined;
    const cfg = key === 'CFG scale' ? parseNumber(value) : undefined;
    if (size) [out.width, out.height] = [Number(size[1]), Number(size[2])];
    else if (steps !== undefined && typeof steps === 'number') out.steps = steps;
    else if (seed !== undefined) out.seed = seed;
    else if (cfg !== undefined) out.cfgScale = cfg;
    else if (key === 'Sampler') out.sampler = value;
    else if (key === 'Model hash') out.modelHash = value;
    else if (key === 'Model') out.model = value;
    else extra[key] = value;
  }
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}
