import { describe, expect, it } from 'vitest';
import { errorsOf, ruleYaml } from '../helpers/rules.js';

/** docs/semantics.md: lookaround and backreferences are outside the accepted subset, refused at load. */
describe('regular expressions outside the portable subset', () => {
  const re = (v: string) => errorsOf(ruleYaml(`selection:\n  F|re: '${v}'\ncondition: selection`)).map((e) => e.message);

  it('refuses lookahead, lookbehind and backreferences when the rule is loaded', () => {
    expect(re('a(?=b)')[0]).toMatch(/lookahead and lookbehind are not supported/);
    expect(re('a(?!b)')[0]).toMatch(/lookahead and lookbehind are not supported/);
    expect(re('(?<=a)b')[0]).toMatch(/lookahead and lookbehind are not supported/);
    expect(re('(?<!a)b')[0]).toMatch(/lookahead and lookbehind are not supported/);
    expect(re('(a)\\1')[0]).toMatch(/backreferences \(\\1\) are not supported/);
  });

  it('still accepts escaped look-alikes', () => {
    expect(re('\\(\\?=')).toEqual([]);
    expect(re('\\\\1')).toEqual([]);
    expect(re('(?:a)b')).toEqual([]);
  });

  it('refuses letter escapes that PCRE or RE2 read as classes, anchors or references, naming the escape', () => {
    const cases: [string, RegExp][] = [
      ['^\\p{L}+$', /^invalid regular expression \/\^\\p\{L\}\+\$\/: '\\p' is a Unicode property class \(\\p\{L\}\) in PCRE and RE2 but the letter 'p' in ECMAScript/],
      ['\\P{Lu}', /'\\P' is a negated Unicode property class/],
      ['a\\hb', /'\\h' is horizontal whitespace in PCRE .*write \[ \\t\]/],
      ['\\R', /'\\R' is any line break/],
      ['a\\Kb', /'\\K' is a reset of the match start/],
      ['\\e', /'\\e' is the escape character U\+001B .*write \\x1b/],
      ['(a)\\g1', /'\\g' is a backreference/],
      ['\\o{101}', /'\\o' is an octal escape/],
      ['\\x{41}', /'\\x' without two hex digits is a code point escape/],
      ['\\u{41}', /'\\u' without four hex digits/],
      ['a\\v', /'\\v' is any vertical whitespace .* in PCRE but only U\+000B/],
      ['\\y', /'\\y' is an escape PCRE and RE2 give a meaning or reject/],
      ['a\\Z', /'\\Z' is the end of the text in PCRE/],
      ['\\Qa\\E', /'\\Q' is the start of \\Q...\\E quoting/],
    ];
    for (const [pattern, message] of cases) {
      const e = re(pattern);
      expect(e, pattern).toHaveLength(1);
      expect(e[0], pattern).toMatch(message);
      expect(e[0], pattern).not.toMatch(/possessive/);
    }
  });

  it('accepts the portable escapes and punctuation, also where they look like PCRE syntax', () => {
    for (const ok of ['\\d\\D\\w\\W\\s\\S\\b\\B', '\\f\\n\\r\\t', '\\x41\\u00e9\\cJ', '[\\s\\S]', '\\}+', '\\\\p', '\\.\\-\\/']) {
      expect(re(ok), ok).toEqual([]);
    }
  });
});
