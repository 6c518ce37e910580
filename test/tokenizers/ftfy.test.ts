// The ftfy-equivalent clean-up on its own: each fixer, the HTML rule, mojibake repair and its
// safeguards. Expected values are what ftfy 6 `fix_text` returns (its documented examples included).
import { describe, expect, it } from 'vitest';

import { fixText, pyStrip, whitespaceClean } from '../../src/tokenizers/ftfy.js';
import { unescapeHtml } from '../../src/tokenizers/html-entities.js';
import { fixEncoding } from '../../src/tokenizers/mojibake.js';

function expectFixed(input: string, output: string): void {
  expect(fixText(input), `fixText(${JSON.stringify(input)})`).toBe(output);
}

describe('ftfy fix_text', () => {
  it("reproduces ftfy's documented examples", () => {
    expectFixed('âœ” No problems', '✔ No problems');
    expectFixed('&macr;\\_(ã\x83\x84)_/&macr;', '¯\\_(ツ)_/¯');
    expectFixed('Broken text&hellip; it&#x2019;s ﬂubberiﬁc!', "Broken text… it's flubberific!");
    expectFixed('ＬＯＵＤ　ＮＯＩＳＥＳ', 'LOUD NOISES');
    expectFixed('\ufeffParty like\nit&rsquo;s 1999!', "Party like\nit's 1999!");
    expectFixed('HTML entities &lt;3', 'HTML entities <3');
    expectFixed('<em>HTML entities &lt;3</em>', '<em>HTML entities &lt;3</em>');
    expectFixed('\x01\x1b[36;44mI&#x92;m blue, da ba dee da ba doo&#133;\x1b[0m', "I'm blue, da ba dee da ba doo…");
  });

  it('repairs mojibake, also doubly encoded and embedded in other text', () => {
    expectFixed('cafÃ© mojibake', 'café mojibake');
    expectFixed('schÃ¶n', 'schön');
    expectFixed('This â€” should be an em dash', 'This — should be an em dash');
    expectFixed('ÃƒÂ©tÃƒÂ©', 'été');
    expectFixed('cafÃ© in 東京', 'café in 東京');
    expectFixed('This text was never UTF-8 at all\x85', 'This text was never UTF-8 at all…');
  });

  it('leaves real accented text alone (it does not re-encode to valid UTF-8)', () => {
    for (const t of ['café crème brûlée à la française', 'über straße grüße', "l'été à l'ombre", 'naïve façade', 'Ⅻ ½ ² µ', 'OLÉ! ¿qué?']) {
      expect(fixEncoding(t), t).toBe(t);
      expectFixed(t, t);
    }
  });

  it('unescapes HTML entities as ftfy does', () => {
    expect(unescapeHtml('P&eacute;rez P&EACUTE;REZ BUNDESSTRA&SZLIG;E')).toBe('Pérez PÉREZ BUNDESSTRASSE');
    expect(unescapeHtml('&ntilde; &Ntilde; &NTILDE; &nTILDE;')).toBe('ñ Ñ Ñ &nTILDE;');
    expect(unescapeHtml('&Jscr;ohn &HilbertSpace;ancock &checkmark;')).toBe('𝒥ohn ℋancock ✓');
    expect(unescapeHtml('this&not that, &amp without semicolon, &unknown;')).toBe('this&not that, &amp without semicolon, &unknown;');
    expect(unescapeHtml('&#65;&#x42;&#X43; &#128; &#59; &#12ab; &#1;|&#0;|&#xD800;')).toBe('ABC € &#59; &#12ab; |\ufffd|\ufffd');
    expectFixed('double escaped &amp;amp; entity', 'double escaped & entity');
  });

  it('stops unescaping from the first line that contains "<"', () => {
    expectFixed('a &amp; b\n<b>bold</b> &amp;\n&amp; c', 'a & b\n<b>bold</b> &amp;\n&amp; c');
  });

  it('applies the character fixers', () => {
    expectFixed('ﬁne ﬂowers ĳs ǅ', 'fine flowers ijs Dž');
    expectFixed('‘single’ ‚low‛ “double” „low‟ ʼ', `'single' 'low' "double" "low" '`);
    expectFixed('a\r\nb\rc\u2028d\u2029e', 'a\nb\nc\nd\ne');
    expectFixed('ｶﾀｶﾅ ＡＢＣ１２３', 'カタカナ ABC123');
    expectFixed('e\u0301le\u0300ve', 'élève');
    expectFixed('a\x00b\x7fc\u206ad\ufeffe\ufffcf\tg\fh', 'abcdef\tg\fh');
    expectFixed('lone \ud800 surrogate', 'lone \ufffd surrogate');
    expectFixed('zero\u200bwidth no\u00a0break', 'zero\u200bwidth no\u00a0break');
  });
});

describe('whitespace_clean', () => {
  it("collapses Python's whitespace set and strips", () => {
    expect(whitespaceClean('  multiple   spaces\tand\ttabs\nand\nnewlines  ')).toBe('multiple spaces and tabs and newlines');
    expect(whitespaceClean('\u2003a\x1cb\u00a0\u3000c\ufeff ')).toBe('a b c\ufeff');
    expect(whitespaceClean('')).toBe('');
    expect(pyStrip('\x1f x \u2029')).toBe('x');
  });
});
