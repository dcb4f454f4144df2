import { describe, expect, it } from 'vitest';
import { fold } from '../../src/runtime/fold.js';
import { asciiFoldExact, foldClass } from '../../src/targets/eql/case.js';

describe('case classes', () => {
  it('foldClass(c) is exactly every code point that folds like c (scan of all of Unicode)', () => {
    const inverse = new Map<string, number[]>();
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const f = fold(String.fromCodePoint(cp));
      const list = inverse.get(f);
      if (list) list.push(cp);
      else inverse.set(f, [cp]);
    }
    for (const [f, members] of inverse) {
      if (members.length === 1 && members[0] === f.codePointAt(0)) continue;
      for (const m of members) expect(foldClass(m), `class of U+${m.toString(16)}`).toEqual(members);
    }
  }, 60_000);

  it('only k among ASCII letters gains a non-ASCII partner under rulec folding', () => {
    const inexact = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => !asciiFoldExact(c));
    expect(inexact).toEqual(['k', 'K']);
    expect(asciiFoldExact('é')).toBe(false);
    expect(asciiFoldExact('ß')).toBe(false); // ẞ folds to ß
    expect(asciiFoldExact('€ – ı')).toBe(true); // no case partner, or none that folds to it
  });
});
