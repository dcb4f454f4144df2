import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatcher, globRegex, type GlobToken } from '../../src/runtime/glob.js';

const CHARS = ['a', 'b', 'ab', 'x', '\n', '.', '*', '?', '\\', '😀', '\ud83d', '\ude00', 'é'];
const token: fc.Arbitrary<GlobToken> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 3 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.constantFrom<GlobToken>({ wildcard: '*' }, { wildcard: '?' }) },
);
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 10 }).map((a) => a.join(''));

describe('globMatcher', () => {
  it('agrees with the regular-expression rendering of the glob', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), fc.boolean(), fc.array(text, { minLength: 1, maxLength: 6 }), (tokens, anchored, texts) => {
        const re = globRegex(tokens, anchored);
        const m = globMatcher(tokens, anchored);
        for (const t of texts) expect(m(t), `${JSON.stringify(tokens)} ${anchored} ${JSON.stringify(t)}`).toBe(re.test(t));
      }),
      { numRuns: 20_000 },
    );
  }, 600_000);

  it('stays fast on a hostile pattern and text', () => {
    const star = { wildcard: '*' } as const;
    const tokens: GlobToken[] = ['a', star, 'a', star, 'a', star, 'a', star, 'a', star, 'b'];
    expect(globMatcher(tokens, true)('a'.repeat(200_000))).toBe(false);
    expect(globMatcher([star, 'a', { wildcard: '?' }, 'a', star], true)('a'.repeat(200_000) + 'b')).toBe(true);
  });
});
