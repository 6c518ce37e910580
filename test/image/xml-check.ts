// A minimal XML well-formedness check for the SVG we write: one root element, balanced and
// properly nested tags, quoted and unique attributes, no raw '<' or stray '&' in text or values.
// Not a full XML parser: no DTDs, no CDATA, no processing instructions except the declaration.
export function checkWellFormedXml(xml: string): void {
  const fail = (msg: string, at: number) => {
    throw new Error(`not well-formed XML: ${msg} at offset ${at}: ${JSON.stringify(xml.slice(Math.max(0, at - 30), at + 30))}`);
  };
  const checkText = (text: string, at: number) => {
    if (text.includes('<')) fail('raw < in text', at);
    for (const m of text.matchAll(/&/g)) {
      if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/.test(text.slice(m.index))) fail('bare &', at + m.index!);
    }
    if (/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/.test(text)) fail('a character XML forbids', at);
  };
  let i = 0;
  if (xml.startsWith('<?xml')) {
    i = xml.indexOf('?>') + 2;
    if (i < 2) fail('unterminated declaration', 0);
  }
  const stack: string[] = [];
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim() !== '') fail('text outside the root element', i);
    checkText(text, i);
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) fail('unterminated comment', lt);
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) fail('unterminated tag', lt);
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) fail(`closing </${name}> does not match`, lt);
    } else {
      const selfClosing = tag.endsWith('/');
      const m = /^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?$/.exec(tag);
      if (!m) fail(`malformed tag <${tag.slice(0, 40)}>`, lt);
      const names = [...m![2].matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*("[^"]*"|'[^']*')/g)];
      if (new Set(names.map((a) => a[1])).size !== names.length) fail('duplicate attribute', lt);
      for (const a of names) checkText(a[2].slice(1, -1), lt);
      if (stack.length === 0) roots++;
      if (roots > 1) fail('more than one root element', lt);
      if (!selfClosing) stack.push(m![1]);
    }
    i = gt + 1;
  }
  if (stack.length) fail(`unclosed <${stack[stack.length - 1]}>`, xml.length);
  if (roots !== 1) fail('no root element', 0);
}
