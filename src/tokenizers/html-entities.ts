// HTML entity unescaping as ftfy 6 does it (`ftfy.fixes.unescape_html`), which is what the CLIP
// tokenizer sees when a prompt like "fish &amp; chips" comes from a web page.
//
// ftfy is deliberately stricter than a browser or Python's `html.unescape`:
// - only `&name;` / `&#123;` / `&#x1F600;` forms with the semicolon are touched ("this&not that" stays);
// - a numeric reference is decoded the way `html.unescape` decodes it (Windows-1252 meaning for
//   &#128;..&#159;, U+FFFD for surrogates / out of range, nothing for control code points), and kept
//   as it is when the result would contain a ';' (so "&#59;" survives);
// - upper-cased names of lower-case entities are decoded too (`&EACUTE;` -> "É", `&SZLIG;` -> "SS"),
//   unless the upper-case spelling already means something to HTML.

import { HTML5_ENTITY_TABLE } from './html-entity-table.js';
import { SLOPPY_1252_C1 } from './mojibake.js';

/** `&name;` -> replacement, built on first use (about 3,500 entries). */
let entities: Map<string, string> | undefined;

function buildEntities(): Map<string, string> {
  const named = new Map<string, string>();
  const legacy = new Set<string>(); // names HTML also accepts without ';'
  for (const item of HTML5_ENTITY_TABLE.split(' ')) {
    const colon = item.indexOf(':');
    let name = item.slice(0, colon);
    if (name.endsWith('!')) {
      name = name.slice(0, -1);
      legacy.add(name);
    }
    const value = String.fromCodePoint(...item.slice(colon + 1).split('+').map((h) => parseInt(h, 16)));
    named.set(name, value);
  }
  const out = new Map<string, string>();
  for (const [name, value] of named) {
    out.set(`&${name};`, value);
    if (name !== name.toLowerCase()) continue;
    // `&NTILDE;` is decoded as "Ñ" only if HTML itself would leave it alone: it is not an entity, and
    // no prefix of it (2+ characters) is a legacy semicolon-less entity (`&COPYRIGHT;` starts with
    // the legacy `&COPY`, so HTML reads it as "©RIGHT;" and ftfy does not touch it).
    const upper = name.toUpperCase();
    if (named.has(upper)) continue;
    let prefixIsLegacy = false;
    for (let n = upper.length; n >= 2 && !prefixIsLegacy; n--) prefixIsLegacy = legacy.has(upper.slice(0, n));
    if (!prefixIsLegacy) out.set(`&${upper};`, value.toUpperCase());
  }
  return out;
}

/** What Python's `html.unescape` makes of `&#<digits>;` / `&#x<hex>;` (code point `num`). */
function numericReference(num: number): string {
  if (num === 0) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return SLOPPY_1252_C1[num - 0x80];
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  const invalid =
    (num >= 0x01 && num <= 0x08) || num === 0x0b || (num >= 0x0e && num <= 0x1f) || num === 0x7f ||
    (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(num);
}

const ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;
const DECIMAL_RE = /^&#([0-9]+);$/;
const HEX_RE = /^&#[xX]([0-9a-fA-F]+);$/;

function unescapeOne(entity: string): string {
  entities ??= buildEntities();
  const named = entities.get(entity);
  if (named !== undefined) return named;
  const dec = DECIMAL_RE.exec(entity);
  const hex = dec ? null : HEX_RE.exec(entity);
  // Anything else that starts with "&#" (e.g. "&#12ab;") is only partly a reference; html.unescape
  // would leave a ';' behind, so ftfy keeps the original.
  if (!dec && !hex) return entity;
  const num = dec ? Number(dec[1]) : parseInt(hex![1], 16);
  const decoded = numericReference(num);
  return decoded.includes(';') ? entity : decoded;
}

/** ftfy's `unescape_html`: decodes the unambiguous HTML entities in `text`. */
export function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY_RE, unescapeOne);
}
