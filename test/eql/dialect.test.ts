import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eqlField, eqlString, luceneLiteral } from '../../src/targets/eql/dialect.js';
import { parseLucene } from '../../src/targets/eql/lucene.js';
import { parseEql } from '../../src/targets/eql/parser.js';
import { luceneMatches } from './interpret.js';

const stringOf = (q: string): string => {
  const parsed = parseEql(`any where f == ${q}`).where as { right: { v: string }[] };
  return parsed.right[0]!.v;
};

describe('EQL strings', () => {
  it('escapes quotes, backslashes and line breaks, never * or ?', () => {
    expect(eqlString('C:\\Windows\\*.exe?')).toBe('"C:\\\\Windows\\\\*.exe?"');
    expect(eqlString('say "hi"')).toBe('"say \\"hi\\""');
    expect(eqlString('a\tb\nc\rd')).toBe('"a\\tb\\nc\\rd"');
  });

  it('writes controls, invisible separators and the Kelvin sign as \\u{H} with at least two digits', () => {
    expect(eqlString('\0\u0001\u007f\u00a0\u200b\u2028\u212a')).toBe('"\\u{00}\\u{01}\\u{7F}\\u{A0}\\u{200B}\\u{2028}\\u{212A}"');
    expect(eqlString('é😀')).toBe('"é😀"');
  });

  it('round-trips every string through our parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite' }), (s) => {
        expect(stringOf(eqlString(s))).toBe(s);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a lone surrogate', () => {
    expect(() => eqlString('a\ud800b')).toThrow(/lone UTF-16 surrogate/);
  });
});

describe('EQL field names', () => {
  it('leaves plain dotted names alone and backquotes the rest, doubling backquotes', () => {
    expect(eqlField('process.executable')).toBe('process.executable');
    expect(eqlField('@timestamp')).toBe('@timestamp');
    expect(eqlField('cs-uri-query')).toBe('`cs-uri-query`');
    expect(eqlField('a.b-c.d')).toBe('a.`b-c`.d');
    expect(eqlField('6field')).toBe('`6field`');
    expect(eqlField('my`field')).toBe('`my``field`');
    expect(eqlField('sequence')).toBe('`sequence`');
    expect(eqlField('a..b')).toBe('`a..b`');
    expect(eqlField('winlog.event_data.User', true)).toBe('?winlog.event_data.User');
  });

  it('round-trips through our parser', () => {
    const name = fc.array(fc.constantFrom('a', 'B', '_', '-', ' ', '`', '1', '.', 'é', 'in'), { minLength: 1, maxLength: 6 }).map((a) => a.join(''));
    fc.assert(
      fc.property(name, (n) => {
        const q = parseEql(`any where ${eqlField(n)} == 1`).where as { left: { name: string } };
        expect(q.left.name).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Lucene literals', () => {
  it('every string escaped as a literal parses and matches exactly itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 3 }), (s, other) => {
        const src = luceneLiteral(s);
        parseLucene(src);
        expect(luceneMatches(src, false, s)).toBe(true);
        if (other !== s) expect(luceneMatches(src, false, other)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});
