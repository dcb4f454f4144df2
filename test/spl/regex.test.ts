import { describe, expect, it } from 'vitest';
import { translateRegex } from '../../src/targets/spl/regex.js';
import { TargetFailure } from '../../src/targets/types.js';
import { pcreToJs } from './pcre-js.js';

/** The emitted PCRE, run with PCRE's meaning, against the ECMAScript original on a few texts. */
function agrees(pattern: string, flags: string, texts: string[]): void {
  const p = translateRegex(pattern, flags);
  const pcre = pcreToJs((p.dotAll ? '(?s)' : '') + p.body);
  const js = new RegExp(pattern, flags);
  for (const t of texts) expect(pcre.test(t), `/${pattern}/${flags} as ${p.body} on ${JSON.stringify(t)}`).toBe(js.test(t));
}

describe('ECMAScript regex -> PCRE (printed from the evaluator’s syntax tree)', () => {
  it('writes legacy octal escapes as the code unit ECMAScript reads', () => {
    expect(translateRegex('\\101\\0', '').body).toBe('A\\x{0}');
    agrees('\\101[\\60-\\71]\\08', '', ['A5\u00008', 'A5\u00009', 'a5\u00008', '']);
  });

  it('writes a surrogate pair as one code point, also when spelled with escapes', () => {
    expect(translateRegex('\\ud83d\\ude00', '').body).toBe('😀');
    expect(translateRegex('(?:😀)+', '').body).toBe('(?:😀)+');
  });

  it('groups only where PCRE needs it, never capturing', () => {
    expect(translateRegex('(a|b)c(d)', '').body).toBe('(?:a|b)cd');
    expect(translateRegex('(ab)*?', '').body).toBe('(?:ab)*');
  });

  it('refuses what PCRE in UTF-8 mode cannot say, with the reason', () => {
    expect(() => translateRegex('😀+', '')).toThrow(TargetFailure);
    expect(() => translateRegex('😀+', '')).toThrow(/half of a surrogate pair/);
    expect(() => translateRegex('a{65536}', '')).toThrow(/above 65535/);
  });

  it('refuses what the evaluator refuses, with its reason', () => {
    expect(() => translateRegex('(a)\\1', '')).toThrow(/backreferences/);
    expect(() => translateRegex('a(?=b)', '')).toThrow(/lookaround/);
  });
});
