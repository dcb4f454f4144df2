import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fold } from '../../src/runtime/fold.js';

/** docs/semantics.md section 3, literally: each code point by its lowercase when that is one code point. */
function byDefinition(s: string): string {
  let out = '';
  for (const ch of s) {
    const lower = ch.toLowerCase();
    out += [...lower].length === 1 ? lower : ch;
  }
  return out;
}

describe('fold', () => {
  it('is the simple per-code-point lowercase for every code point', () => {
    const wrong: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      const ch = String.fromCodePoint(cp);
      if (fold(ch) !== byDefinition(ch)) wrong.push(cp.toString(16));
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('has no context rules, also in strings (final sigma, dotted I, surrogates)', () => {
    const ch = fc.constantFrom('Σ', 'σ', 'ς', 'İ', 'I', 'i', 'A', 'ß', 'É', ' ', '.', '𐐀', '\ud801', '\udc00', 'Ω', 'K');
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 8 }), (a) => {
        const s = a.join('');
        expect(fold(s)).toBe(byDefinition(s));
      }),
      { numRuns: 5000 },
    );
    expect(fold('ΟΔΟΣ')).toBe('οδοσ');
    expect(fold('İSTANBUL')).toBe('İstanbul');
  });
});
