import { describe, expect, it } from 'vitest';
import { fold } from '../../src/runtime/fold.js';
import { asciiFoldExact, foldClass, jsCaseClass } from '../../src/targets/eql/case.js';

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

  it('jsCaseClass(c) is exactly the units ECMAScript /c/i matches (non-u)', () => {
    for (let u = 0; u < 0x10000; u += 1) {
      if (u >= 0xd800 && u <= 0xdfff) continue;
      const cls = jsCaseClass(u);
      const re = new RegExp(`^\\u${u.toString(16).padStart(4, '0')}$`, 'i');
      // Every member matches, and the neighbours that are not members do not.
      for (const m of cls) expect(re.test(String.fromCharCode(m)), `U+${u.toString(16)} vs U+${m.toString(16)}`).toBe(true);
      if (cls.length === 1) continue;
      for (const x of [u - 1, u + 1, u + 0x20, u - 0x20]) {
        if (x < 0 || x > 0xffff || (x >= 0xd800 && x <= 0xdfff) || cls.includes(x)) continue;
        expect(re.test(String.fromCharCode(x)), `U+${u.toString(16)} vs U+${x.toString(16)}`).toBe(false);
      }
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
