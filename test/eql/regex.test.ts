import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/collection/load.js';
import type { Node } from '../../src/ir/types.js';
import { globToLucene, RegexUnsupported, toLucene } from '../../src/targets/eql/regex.js';
import { luceneMatches } from './interpret.js';
import { SIGMAHQ } from '../helpers/corpus.js';

/** Patterns that exercise anchors, flags, classes and quantifiers (rulec's accepted regex subset). */
const HANDMADE: [string, string][] = [
  ['abc', ''],
  ['^abc', ''],
  ['abc$', ''],
  ['^abc$', ''],
  ['^$', ''],
  ['^a|b$', ''],
  ['(^|\\\\)foo', ''],
  ['(^|/)\\.[^./]', ''],
  ['(^[a-z]{4}$)|(^[a-z]{8}$)', ''],
  ['^a', 'm'],
  ['a$', 'm'],
  ['^a$', 'm'],
  ['a.b', ''],
  ['a.b', 's'],
  ['[^a]b', ''],
  ['[a-z]+', 'i'],
  ['[^a-z]', 'i'],
  ['é', 'i'],
  ['[à-ÿ]x', 'i'],
  ['σς', 'i'],
  ['k', 'i'],
  ['\\w+\\s\\d', ''],
  ['\\W\\S\\D', ''],
  ['[\\w.-]+@', ''],
  ['a{2,3}?b', ''],
  ['a*?b+?c??', ''],
  ['x{0}y', ''],
  ['(?:ab|)c', ''],
  ['a||b', ''],
  ['\\x41\\u00e9\\t\\n\\0', ''],
  ['[\\b]', ''],
  ['\\cJ', ''],
  ['"quote"\\\\back', ''],
  ['#@&<>~', ''],
  ['a\\.b\\*c\\?d\\+e\\(f\\)g\\[h\\]i\\{j\\}k\\|l', ''],
  ['[]x', ''],
  ['[^]x', ''],
  ['(a|b)*c', 'i'],
  ['ab|', ''],
  ['.', ''],
  ['\\n', 'm'],
  // Legacy octal escapes mean what the evaluator reads (no capturing group: never a backreference).
  ['\\101[\\60-\\71]\\08', ''],
];

const REFUSED: [string, string, RegExp][] = [
  ['a\\bb', '', /word boundaries/],
  ['a(?=b)', '', /lookaround/],
  ['(a)\\1', '', /backreferences/],
  ['a^b', '', /only at the start and end/],
  ['(^a)*', '', /only at the start and end/],
  ['[😀]', '', /surrogates/],
  ['😀+', '', /lone UTF-16 surrogate/],
];

function corpusRegexes(): [string, string][] {
  if (!existsSync(SIGMAHQ)) return [];
  const out = new Map<string, [string, string]>();
  const walk = (n: Node): void => {
    if (n.kind === 'and' || n.kind === 'or') n.children.forEach(walk);
    else if (n.kind === 'not') walk(n.child);
    else if (n.kind === 'regex') out.set(`${n.pattern}/${n.flags}`, [n.pattern, n.flags]);
  };
  for (const r of loadCollection([SIGMAHQ]).rules) if (r.ir) walk(r.ir);
  return [...out.values()];
}

/** Strings over the pattern's own characters, their other cases, and troublemakers (no astral chars). */
function samples(pattern: string, flags: string): fc.Arbitrary<string> {
  const own = [...new Set([...pattern].filter((c) => c.codePointAt(0)! <= 0xffff))];
  const extra = ['a', 'A', 'z', '0', '9', ' ', '\t', '\n', '\r', '\u2028', '.', '/', '\\', 'é', 'É', 'K', '\u212a', '_', '-', '"', 'x'];
  const alphabet = [...new Set([...own, ...own.map((c) => c.toUpperCase()), ...own.map((c) => c.toLowerCase()), ...extra])].filter((c) => c.length === 1);
  const random = fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }).map((a) => a.join(''));
  let matching: fc.Arbitrary<string> | undefined;
  try {
    matching = fc.stringMatching(new RegExp(pattern, flags.replace('i', '')));
  } catch {
    matching = undefined;
  }
  const plain = matching ? fc.oneof(random, matching, fc.tuple(random, matching, random).map(([a, b, c]) => a + b + c)) : random;
  return plain.filter((s) => !/[\ud800-\udfff]/.test(s));
}

function checkTranslation(pattern: string, flags: string, runs: number): void {
  const js = new RegExp(pattern, flags);
  const lucene = toLucene(pattern, flags);
  fc.assert(
    fc.property(samples(pattern, flags), (s) => {
      const got = lucene.satisfiable && luceneMatches(lucene.source, lucene.insensitive, s);
      expect(got, `/${pattern}/${flags} vs Lucene ${lucene.source} on ${JSON.stringify(s)}`).toBe(js.test(s));
    }),
    { numRuns: runs },
  );
}

describe('ECMAScript regex -> Lucene', () => {
  it.each(HANDMADE)('/%s/%s matches the same strings', (pattern, flags) => checkTranslation(pattern, flags, 300));

  it.each(REFUSED)('/%s/%s is refused with the reason', (pattern, flags, why) => {
    expect(() => toLucene(pattern, flags)).toThrow(RegexUnsupported);
    expect(() => toLucene(pattern, flags)).toThrow(why);
  });

  const corpus = corpusRegexes();
  it.skipIf(corpus.length === 0)(`every SigmaHQ regex it translates matches the same strings (${corpus.length} patterns)`, () => {
    let refused = 0;
    for (const [pattern, flags] of corpus) {
      try {
        toLucene(pattern, flags);
      } catch (e) {
        if (!(e instanceof RegexUnsupported)) throw e;
        refused++;
        continue;
      }
      checkTranslation(pattern, flags, 60);
    }
    // Only the two patterns with \b are outside Lucene's reach.
    expect(refused).toBeLessThanOrEqual(2);
  }, 120_000);

  it('translates a known pattern to readable Lucene', () => {
    expect(toLucene('^C:\\\\Users\\\\[^\\\\]+\\\\NTUSER\\.DAT$', 'i').source).toBe('C:\\\\Users\\\\[^\\\\]+\\\\NTUSER\\.DAT');
    const space = '[\t-\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]';
    expect(toLucene('\\s-c\\s', '').source).toBe(`.*${space}-c${space}.*`);
    expect(toLucene('^a$', 'm').source).toBe('(.*[\n\r\u2028\u2029])?a([\n\r\u2028\u2029].*)?');
  });

  it('reads a surrogate pair as one code point, also when spelled with escapes', () => {
    expect(toLucene('\\ud83d\\ude00', '').source).toBe('.*😀.*');
  });

  it('the documented difference: `.` takes a whole astral character in Lucene, one UTF-16 unit in ECMAScript', () => {
    const l = toLucene('^a.b$', '');
    expect(new RegExp('^a.b$').test('a😀b')).toBe(false);
    expect(luceneMatches(l.source, false, 'a😀b')).toBe(true);
  });
});

describe('globs and literals with case classes', () => {
  it('spells out the classes ASCII case-insensitivity misses', () => {
    expect(globToLucene(['task', { wildcard: '*' }], true).source).toBe('tas[Kk\u212a].*');
    expect(globToLucene(['É'], true).source).toBe('[Éé]');
    expect(globToLucene(['a.b'], false).source).toBe('a\\.b');
  });
});
