// The YAML subset of LDM's model configs (v1-inference.yaml, v2-inference-v.yaml and the
// `<checkpoint>.yaml` files AUTOMATIC1111 users put beside a checkpoint): nested block mappings
// by indentation, flow lists (`channel_mult: [ 1, 2, 4, 4 ]`), scalars (ints, floats such as
// `1.e-6`, booleans, null, plain and quoted strings) and `#` comments. Anything else (anchors,
// block sequences, multi-line strings) is an error naming the line, never a silent guess.

import { LatentlabError } from '../../core/errors.js';

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly number: number;
}

/** Parses `text` (the content of `file`, named in errors) into plain data. */
export function parseLdmYaml(text: string, file: string): { [key: string]: YamlValue } {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const body = stripComment(raw).trimEnd();
    if (body.trim() === '' || body.trim() === '---') return;
    if (/\t/.test(body.slice(0, body.length - body.trimStart().length))) fail(file, i + 1, 'a tab in the indentation');
    lines.push({ indent: body.length - body.trimStart().length, text: body.trim(), number: i + 1 });
  });
  const pos = { i: 0 };
  const root = parseMapping(lines, pos, lines[0]?.indent ?? 0, file);
  if (pos.i < lines.length) fail(file, lines[pos.i].number, `unexpected indentation of "${lines[pos.i].text}"`);
  return root;
}

function parseMapping(lines: Line[], pos: { i: number }, indent: number, file: string): { [key: string]: YamlValue } {
  const out: { [key: string]: YamlValue } = {};
  while (pos.i < lines.length && lines[pos.i].indent === indent) {
    const line = lines[pos.i++];
    if (line.text.startsWith('- ')) fail(file, line.number, 'block sequences ("- item") are not supported; write the list as [a, b]');
    const m = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(?:\s+(.*))?$/.exec(line.text);
    if (!m) fail(file, line.number, `expected "key: value", found "${line.text}"`);
    const key = unquote(m[1]);
    const rest = m[2]?.trim() ?? '';
    if (rest !== '') out[key] = parseScalarOrFlow(rest, file, line.number);
    else if (pos.i < lines.length && lines[pos.i].indent > indent) out[key] = parseMapping(lines, pos, lines[pos.i].indent, file);
    else out[key] = null;
  }
  return out;
}

function parseScalarOrFlow(text: string, file: string, line: number): YamlValue {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) fail(file, line, `an unclosed flow list "${text}"`);
    const inner = text.slice(1, -1).trim();
    if (inner === '') return [];
    if (/[[\]{}]/.test(inner)) fail(file, line, 'nested flow collections are not supported');
    return inner.split(',').map((s) => parseScalar(s.trim()));
  }
  if (text.startsWith('{') || text.startsWith('&') || text.startsWith('*') || text.startsWith('|') || text.startsWith('>')) {
    fail(file, line, `unsupported YAML syntax "${text}"`);
  }
  return parseScalar(text);
}

function parseScalar(s: string): YamlValue {
  if (/^(null|Null|NULL|~)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  return unquote(s);
}

function unquote(s: string): string {
  return (s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")) ? s.slice(1, -1) : s;
}

/** Drops a `#` comment that is not inside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function fail(file: string, line: number, why: string): never {
  throw new LatentlabError('SINGLE_FILE_BAD_YAML', `${file}:${line}: ${why}`, {
    file, hint: 'pass an LDM model config such as v1-inference.yaml (the one the checkpoint was trained with), or remove it to let latentlab infer the model from the weights',
  });
}
