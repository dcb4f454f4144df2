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
});
