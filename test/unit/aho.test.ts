import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AhoCorasick, HitBuffer, MIN_SKIP_LENGTH, NON_ASCII } from '../../src/eval/aho.js';
import { fold } from '../../src/runtime/fold.js';

const CHARS = ['a', 'b', 'A', 'B', 'k', 'K', '\u212a', 'é', 'É', '\\', '.', '😀', '\ud83d', ' '];
const str = (min: number) => fc.array(fc.constantFrom(...CHARS), { minLength: min, maxLength: 5 }).map((a) => a.join(''));

/** Every (pattern, end position) occurrence, by brute force. */
function occurrences(patterns: readonly string[], text: string): string[] {
  const out: string[] = [];
  for (let end = 1; end <= text.length; end++) {
    patterns.forEach((p, id) => {
      if (end >= p.length && text.slice(end - p.length, end) === p) out.push(`${id}@${end}`);
    });
  }
  return out.sort();
}

/** How often each pattern occurs in `text`, as scanInto reports it. */
function count(aho: AhoCorasick, text: string, into: Map<number, number>): void {
  const hits = new HitBuffer();
  aho.scanInto(text, hits);
  for (let i = 0; i < hits.length; i++) into.set(hits.ids[i]!, (into.get(hits.ids[i]!) ?? 0) + 1);
}

function viaScan(aho: AhoCorasick, text: string): string[] {
  const out: string[] = [];
  // recover positions by scanning growing prefixes
  for (let end = 1; end <= text.length; end++) {
    const before = new Map<number, number>();
    const after = new Map<number, number>();
    count(aho, text.slice(0, end - 1), before);
    count(aho, text.slice(0, end), after);
    for (const [p, n] of after) if (n > (before.get(p) ?? 0)) out.push(`${p}@${end}`);
  }
  return out.sort();
}

const coarse = (s: string) => fold(s).replace(/[^\x00-\x7f]/g, NON_ASCII);

describe('Aho-Corasick', () => {
  it('finds exactly the occurrences of the patterns', () => {
    fc.assert(
      fc.property(fc.uniqueArray(str(1), { minLength: 1, maxLength: 6 }), str(0), (patterns, text) => {
        const aho = new AhoCorasick(patterns);
        expect(viaScan(aho, text)).toEqual(occurrences(patterns, text));
        expect(aho.test(text)).toBe(occurrences(patterns, text).length > 0);
        const hits = new HitBuffer();
        aho.scanInto(text, hits);
        expect(hits.length).toBe(occurrences(patterns, text).length);
      }),
      { numRuns: 2000 },
    );
  });

  it('in coarse mode, scans the unfolded text as its coarsened fold', () => {
    fc.assert(
      fc.property(fc.uniqueArray(str(1).map(coarse), { minLength: 1, maxLength: 6 }), str(0), (patterns, text) => {
        const aho = new AhoCorasick(patterns, true);
        expect(viaScan(aho, text)).toEqual(occurrences(patterns, coarse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the same with every table layout (premultiplied, 16-bit, 32-bit state numbers)', () => {
    // 2,000 patterns over 36 units: about 14,000 states, too many for premultiplied 16-bit rows.
    const patterns = Array.from({ length: 2000 }, (_, i) => `${(i * 7919).toString(36)}-${i.toString(36)}`);
    const text = patterns.filter((_, i) => i % 97 === 0).join(' ') + ' zz-0 ';
    const big = new AhoCorasick(patterns);
    expect(big.stateCount).toBeGreaterThan(0x10000 / 38);
    expect(big.stateCount).toBeLessThan(0x10000);
    const small = patterns.filter((_, i) => i % 97 === 0).concat('zz-0');
    const expected = new Set(occurrences(patterns, text).map((o) => patterns[Number(o.split('@')[0])]));
    const hits = new HitBuffer();
    big.scanInto(text, hits);
    expect(new Set([...hits.ids.subarray(0, hits.length)].map((i) => patterns[i]))).toEqual(expected);
    const little = new AhoCorasick(small);
    hits.length = 0;
    little.scanInto(text, hits);
    expect(new Set([...hits.ids.subarray(0, hits.length)].map((i) => small[i]))).toEqual(new Set(occurrences(small, text).map((o) => small[Number(o.split('@')[0])])));
    expect(big.test('  ' + patterns[1234]!)).toBe(true);
    expect(little.test('  ' + small[3]!)).toBe(true);
    expect(little.test('nothing here')).toBe(false);
  });

  it('uses wide state numbers when there are many states', () => {
    const patterns = Array.from({ length: 9000 }, (_, i) => `p${i.toString(36)}-${(i * 7919).toString(36)}x`);
    const aho = new AhoCorasick(patterns);
    expect(aho.stateCount).toBeGreaterThan(65536);
    expect(aho.test(`zz ${patterns[8999]} zz`)).toBe(true);
    expect(aho.test('zz p0-0 zz')).toBe(false);
  });

  it('finds by skipping exactly the patterns that a full scan finds', () => {
    const ids = (aho: AhoCorasick, text: string, skip: boolean): number[] => {
      const hits = new HitBuffer();
      if (skip) aho.scanSkipping(text, hits);
      else aho.scanInto(text, hits);
      return [...new Set(hits.ids.subarray(0, hits.length))].sort((a, b) => a - b);
    };
    // Long patterns over a small alphabet, so that windows often need checking and texts often hold them.
    const long = fc.array(fc.constantFrom(...CHARS), { minLength: MIN_SKIP_LENGTH, maxLength: 9 }).map((a) => a.join(''));
    const text = fc.array(fc.oneof(fc.constantFrom(...CHARS), long), { maxLength: 12 }).map((a) => a.join(''));
    for (const isCoarse of [false, true]) {
      fc.assert(
        fc.property(fc.uniqueArray(isCoarse ? long.map(coarse) : long, { minLength: 1, maxLength: 6 }), text, (patterns, t) => {
          const aho = new AhoCorasick(patterns, isCoarse);
          expect(aho.canSkip()).toBe(true);
          // Texts built from the patterns themselves, so that most runs have hits.
          for (const sample of [t, patterns.join(t), t + patterns[0]! + t]) expect(ids(aho, sample, true)).toEqual(ids(aho, sample, false));
        }),
        { numRuns: 2000 },
      );
    }
  });

  it('does not skip when a pattern is shorter than the skip window', () => {
    expect(new AhoCorasick(['abcdef', 'abc']).canSkip()).toBe(false);
    expect(new AhoCorasick(['abcdef', 'abcd']).canSkip()).toBe(true);
  });
});
