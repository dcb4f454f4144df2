import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globToRe2, jsRegexToRe2 } from '../../src/targets/kusto/re2.js';
import { re2ToJs } from './interpreter.js';

const re2 = (p: string, f = ''): string => {
  const r = jsRegexToRe2(p, f);
  if (!r.ok) throw new Error(r.reason);
  return r.source;
};

/** Texts full of the characters where JS and RE2 differ: \v, NBSP, line separators, CR, case pairs. */
const CHARS = ['a', 'A', 'b', 'B', '.', ' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2028', '\u2029', '\u3000', '\ufeff', '{', '}', ']', '-', '\\', 'é', 'É', '0', '9'];
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 8 }).map((a) => a.join(''));

describe('ECMAScript rule regexes as RE2', () => {
  it('rewrites the constructs whose meaning differs', () => {
    expect(re2('a\\sb')).toBe('a[\\t\\n\\v\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]b');
    expect(re2('a.b')).toBe('a[^\\n\\r\\x{2028}\\x{2029}]b');
    expect(re2('a.b', 's')).toBe('(?s)a.b');
    expect(re2('(ab)+(?:c)', 'im')).toBe('(?im)(?:ab)+(?:c)');
    expect(re2('\\x41\\u00e9\\uD83D\\uDE00\\0\\cJ')).toBe('\\x{41}\\x{E9}\\x{1F600}\\x{00}\\x{0A}');
    expect(re2('a{b}c]')).toBe('a\\{b\\}c\\]');
    expect(re2('a{2,3}b{4}')).toBe('a{2,3}b{4}');
    expect(re2('[\\s,]')).toContain('\\x{FEFF},]');
    expect(re2('[^\\S]')).toBe('[\\t\\n\\v\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]');
    expect(re2('[a-z\\-]\\/')).toBe('[a-z\\-]/');
    expect(re2('a[\\s\\S]b')).toBe('a[\\x{0}-\\x{10FFFF}]b');
    expect(re2('[\\S ]')).toBe('[^\\x{09}-\\x{0D}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}-\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]');
  });

  it('refuses what has no RE2 equivalent, with the reason', () => {
    const why = (p: string): string => {
      const r = jsRegexToRe2(p, '');
      return r.ok ? '' : r.reason;
    };
    expect(why('a(?=b)')).toMatch(/lookaround/);
    expect(why('(a)\\1')).toMatch(/backreference/);
    expect(why('\\01')).toMatch(/octal/);
    expect(why('a{1001}')).toMatch(/limit of 1000/);
    expect(why('a[]')).toMatch(/empty class/);
    expect(why('[^\\s\\S]')).toMatch(/never matches/);
    expect(why('😀+')).toMatch(/outside the BMP/);
  });

  it('JS (no u flag) and RE2 agree on texts full of the differing characters (property)', () => {
    const patterns: [string, string][] = [
      ['a\\sb', ''], ['^\\s*$', ''], ['\\S+', ''], ['a.b', ''], ['^.$', ''], ['.', 's'], ['^a$', 'm'], ['b$', 'm'],
      ['[\\s.]+', ''], ['[^\\s]', ''], ['\\w+\\d', ''], ['\\bab\\b', 'i'], ['(a|b){2,3}', ''], ['é', 'i'], ['[a-z]+', 'i'],
      ['\\x41\\u00e9', ''], ['a{b', ''], ['\\.\\{\\]', ''], ['\\v\\f', ''], ['[\\]a]', ''],
      // \S with other members: everything but the spaces the others leave out
      ['a[\\s\\S]b', ''], ['[\\S ]', ''], ['[^\\S\\t]', ''], ['[\\S\\d]', ''], ['[\\Sa-z\\u00a0]+$', ''], ['[^\\S\\u2000-\\u2005]', ''], ['[\\S\\W]', ''],
    ];
    for (const [p, f] of patterns) {
      const js = new RegExp(p, f);
      const r = re2ToJs(re2(p, f));
      // The one documented residual difference (docs/targets/kusto.md): with m, JS also anchors at
      // \r, U+2028 and U+2029.
      const residual = (t: string): boolean => f.includes('m') && /[\r\u2028\u2029]/.test(t);
      fc.assert(
        fc.property(text, (t) => residual(t) || js.test(t) === r.test(t)),
        { numRuns: 300 },
      );
    }
  });

  it('the documented residual difference of m is real (so the doc stays true)', () => {
    expect(new RegExp('^a$', 'm').test('\ra')).toBe(true);
    expect(re2ToJs(re2('^a$', 'm')).test('\ra')).toBe(false);
  });

  it('globs: anchored, (?i) unless cased, ? is one code point', () => {
    expect(globToRe2(['a.', { wildcard: '*' }, 'b', { wildcard: '?' }], true, true)).toBe('(?is)^a\\..*b.$');
    expect(globToRe2(['x'], false, false)).toBe('(?s)x');
    expect(re2ToJs(globToRe2([{ wildcard: '?' }], false, true)).test('😀')).toBe(true);
  });
});
