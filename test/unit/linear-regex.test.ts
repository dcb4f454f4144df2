import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compileLinearRegex, RegexError } from '../../src/runtime/linear-regex.js';

/** What V8 says, the reference for every pattern rulec accepts. */
function v8(pattern: string, flags: string, text: string): boolean {
  return new RegExp(pattern, flags).test(text);
}
/**
 * V8's verdict within a time bound, or undefined. On a random pattern with nested quantifiers V8's
 * backtracking can run for hours (seen in CI); Node's vm timeout interrupts a running RegExp.
 */
const sandbox = vm.createContext({});
const testInSandbox = new vm.Script('new RegExp(p, f).test(t)');
function v8Bounded(pattern: string, flags: string, text: string): boolean | undefined {
  Object.assign(sandbox, { p: pattern, f: flags, t: text });
  try {
    return testInSandbox.runInContext(sandbox, { timeout: 1000 }) as boolean;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return undefined;
    throw e;
  }
}
function mine(pattern: string, flags: string, text: string): boolean {
  return compileLinearRegex(pattern, flags).test(text);
}

// Characters that exercise case folding (ſ, K Kelvin, ı, İ fold oddly), line terminators, word
// boundaries, surrogates and regex syntax.
const TEXT_CHARS = ['a', 'A', 'b', 'B', 'k', 'K', 's', 'S', 'i', 'I', '0', '9', '_', '-', ' ', '\n', '\r', '\u2028', '\t', '.', '\\', '/', '{', '}', ']', 'é', 'É', 'ſ', '\u212a', 'ı', 'İ', 'ß', 'Σ', 'σ', 'ς', '\ud83d', '\ude00', '\u0000', '\u00a0', '\ufeff'];
const textArb = fc.array(fc.constantFrom(...TEXT_CHARS), { maxLength: 12 }).map((a) => a.join(''));

const LITERALS = ['a', 'A', 'b', 'k', 'K', 's', 'S', 'i', 'I', '0', '_', '-', ' ', 'é', 'É', 'ſ', '\u212a', 'ı', 'İ', 'σ', 'Σ', '\\.', '\\\\', '\\/', '\\n', '\\t', '\\x41', '\\u00e9', '\\0', '\\01', '\\7', '\\cJ', '\\c', '\\k', '\\-', '}', ']', '{', '{a', '\\{'];
const CLASS_ITEMS = ['a', 'A', 'a-z', 'A-Z', '0-9', '\\d', '\\w', '\\s', '\\W', '\\D', '\\S', '-', '\\-', '\\b', 'é-ö', '\\\\', '.', '^', 'k', 'ſ', '\\u212a', 'ı-İ', '\\w-a', 'ß', '\\c1', '\\c_'];

const atom: fc.Memo<string> = fc.memo((depth) => {
  const leaves = [
    fc.constantFrom(...LITERALS),
    fc.constantFrom('.', '\\d', '\\D', '\\w', '\\W', '\\s', '\\S'),
    fc
      .tuple(fc.boolean(), fc.array(fc.constantFrom(...CLASS_ITEMS), { maxLength: 4 }))
      .map(([neg, items]) => `[${neg ? '^' : ''}${items.join('')}]`),
  ];
  if (depth <= 1) return fc.oneof(...leaves);
  return fc.oneof(
    ...leaves,
    pattern(depth - 1).map((p) => `(${p})`),
    pattern(depth - 1).map((p) => `(?:${p})`),
  );
});

const quantifier = fc.constantFrom('', '', '', '*', '+', '?', '*?', '+?', '??', '{2}', '{0,2}', '{1,}', '{2,3}?', '{0}');
const assertion = fc.constantFrom('^', '$', '\\b', '\\B');

const term: fc.Memo<string> = fc.memo((depth) =>
  fc.oneof({ weight: 5, arbitrary: fc.tuple(atom(depth), quantifier).map(([a, q]) => a + q) }, { weight: 1, arbitrary: assertion }),
);
const alternative: fc.Memo<string> = fc.memo((depth) => fc.array(term(depth), { maxLength: 4 }).map((ts) => ts.join('')));
const pattern: fc.Memo<string> = fc.memo((depth) => fc.array(alternative(depth), { minLength: 1, maxLength: 3 }).map((as) => as.join('|')));
const flagsArb = fc.subarray(['i', 'm', 's']).map((f) => f.join(''));

describe('linear-time regex engine agrees with V8', () => {
  it('on random patterns, flags and texts', () => {
    fc.assert(
      fc.property(pattern(3), flagsArb, fc.array(textArb, { minLength: 1, maxLength: 5 }), (p, flags, texts) => {
        let valid = true;
        try {
          new RegExp(p, flags);
        } catch {
          valid = false;
        }
        if (!valid) {
          expect(() => compileLinearRegex(p, flags)).toThrow(RegexError);
          return;
        }
        let re;
        try {
          re = compileLinearRegex(p, flags);
        } catch (e) {
          // only backreferences may be refused among valid patterns
          expect((e as Error).message).toMatch(/backreferences/);
          return;
        }
        for (const t of texts) {
          const expected = v8Bounded(p, flags, t);
          // V8 could not decide in time (catastrophic backtracking); ours is linear, and checked on the other texts.
          if (expected === undefined) continue;
          expect(re.test(t), `/${p}/${flags} on ${JSON.stringify(t)}`).toBe(expected);
        }
      }),
      { numRuns: 4000 },
    );
  }, 600_000);

  it('folds case like ECMAScript Canonicalize for every BMP code unit', () => {
    // Group the code units by V8's verdict on /x/i for a representative of each uppercase class.
    const mismatches: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      const esc = '\\u' + c.toString(16).padStart(4, '0');
      const up = ch.toUpperCase();
      const low = ch.toLowerCase();
      for (const other of new Set([up, low, ch])) {
        if (other.length !== 1) continue;
        const expected = new RegExp(`^${esc}$`, 'i').test(other);
        if (compileLinearRegex(`^${esc}$`, 'i').test(other) !== expected) mismatches.push(`${esc} vs ${JSON.stringify(other)}`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 120_000);

  it('on the SigmaHQ regexes over real event values', () => {
    const corpus = new URL('../../../shared/sigmahq/regression/', import.meta.url);
    let texts: string[] = [];
    try {
      const manifest = JSON.parse(readFileSync(new URL('manifest.json', corpus), 'utf8')) as { cases: { events: string }[] };
      for (const c of manifest.cases) {
        for (const line of readFileSync(new URL(c.events, corpus), 'utf8').split('\n')) {
          if (!line.trim()) continue;
          const ev = JSON.parse(line) as { Event: { EventData: Record<string, unknown> } };
          for (const v of Object.values(ev.Event.EventData)) if (typeof v === 'string') texts.push(v);
        }
      }
    } catch {
      texts = ['C:\\Windows\\System32\\cmd.exe /c whoami'];
    }
    const patterns: [string, string][] = [
      ['(?:[Pp]rogram[Dd]ata|%(?:[Ll]ocal)?[Aa]pp[Dd]ata%|\\\\[Aa]pp[Dd]ata\\\\(?:[Ll]ocal(?:[Ll]ow)?|[Rr]oaming))\\\\[^\\\\]{1,256}$', ''],
      ['\\.exe[\\"\\\']?\\s+[^\\"]{0,64}werfaultsecure\\.exe[\\"\\\']?\\s+\\d{2,10}', 'i'],
      ['(.){200,}', ''],
      ['(Copy-Item|cpi) .{2,128} -Destination .{1,32}\\\\Windows\\\\(System32|SysWOW64)', ''],
      ['\\\\Windows\\\\(System32|SysWOW64)\\\\[a-z]+\\.exe', 'i'],
      ['^[a-z]:\\\\', 'im'],
    ];
    for (const [p, f] of patterns) {
      const re = compileLinearRegex(p, f);
      for (const t of texts) expect(re.test(t), `/${p}/${f} on ${JSON.stringify(t)}`).toBe(v8(p, f, t));
    }
  });
});

describe('linear-time regex engine', () => {
  it('refuses lookaround and backreferences with a reason', () => {
    expect(() => compileLinearRegex('a(?=b)', '')).toThrow(/lookaround/);
    expect(() => compileLinearRegex('a(?<!b)', '')).toThrow(/lookaround/);
    expect(() => compileLinearRegex('(a)\\1', '')).toThrow(/backreferences/);
    expect(() => compileLinearRegex('a', 'u')).toThrow(/flag 'u'/);
    // without groups, \1 is a legacy octal escape
    expect(mine('\\1', '', '\u0001')).toBe(true);
  });

  it('matches catastrophic patterns in linear time', () => {
    const hostile = 'a'.repeat(50_000) + '!';
    expect(mine('(a+)+$', '', hostile)).toBe(false);
    expect(mine('(a|a)*b', 'i', hostile)).toBe(false);
    expect(mine('(.*a){12}$', 's', hostile)).toBe(false);
    expect(mine('(.*a){12}!$', 's', hostile)).toBe(true);
    expect(mine('^(\\w+\\s?)*$', '', hostile)).toBe(false);
  });

  it('refuses patterns whose expansion is too large', () => {
    expect(() => compileLinearRegex('(a{1000}){1000}', '')).toThrow(/too large/);
  });
});
