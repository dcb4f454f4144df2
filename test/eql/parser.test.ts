import { describe, expect, it } from 'vitest';
import { checkEql, parseEql } from '../../src/targets/eql/parser.js';

const ok = (q: string) => {
  const r = checkEql(q);
  expect(r.diagnostics.map((d) => d.message), q).toEqual([]);
  return r.query!;
};
const bad = (q: string, why: RegExp, knows?: (f: string) => boolean) => {
  const r = checkEql(q, knows ? { knows } : {});
  expect(r.diagnostics.length, q).toBeGreaterThan(0);
  expect(r.diagnostics.map((d) => d.message).join('\n'), q).toMatch(why);
};

describe('EQL parser: what rulec emits', () => {
  it('accepts the forms of the printer', () => {
    ok('process where process.executable : "*\\\\cmd.exe"');
    ok('any where true');
    ok('file where false');
    ok('process where a : ("x*", "y?") and b like "*Z*" and c in ("p", "q") and d in~ ("a*b")');
    ok('network where destination.port >= 1024 and destination.port < 65536 and destination.port in (80, 443) and x == -3');
    ok('any where ?a.b != null and a.b : "?*" or ?c == null or not c : "?*"');
    ok('any where startsWith~(f, "a*") and endsWith(f, "?") and stringContains~(f, "x")');
    ok('any where cidrMatch(destination.ip, "10.0.0.0/8", "fe80::/10")');
    ok('any where f regex~ ".*Rvd25sb2F[Kk\\u{212A}]U3RyaW5n.*" and g regex ("a|b", "\\\\.exe")');
    ok('any where `cs-uri-query` : "*x*" and a.`b-c` == "1" and `in`.x == "y"');
    ok('"my-category" where x == """raw \\ string"""');
    ok('any where not (a == "1" or b == "2") and not c == "3"');
  });

  it('builds the tree with not > and > or', () => {
    const q = parseEql('any where a == "1" or not b == "2" and c == "3"');
    expect(q.where.k).toBe('or');
    const and = (q.where as { items: { k: string; items?: { k: string }[] }[] }).items[1]!;
    expect(and.k).toBe('and');
    expect(and.items![0]!.k).toBe('not');
  });

  it('decodes escapes, including \\u{H} of 2 to 8 digits', () => {
    const q = parseEql('any where f == "a\\"b\\\\c\\n\\t\\r\\u{00}\\u{1F600}"');
    expect((q.where as { right: { v: string }[] }).right[0]!.v).toBe('a"b\\c\n\t\r\0😀');
  });
});

describe('EQL parser: the wrong renderings of target-semantics.md section 3 are rejected', () => {
  it('E2/E5: unknown escapes (\\*, \\/, \\\') and unescaped quotes', () => {
    bad('any where f : "*a\\*b*"', /'\\\*' is not an EQL string escape/);
    bad('any where f regex~ "foo\\/bar"', /'\\\/' is not an EQL string escape/);
    bad('any where f : "it\\\'s"', /is not an EQL string escape/);
    bad('any where f regex~ "(?i)foo"bar"', /unterminated string|expected|unexpected/);
  });

  it('E2: Lucene has no inline flags', () => {
    bad('any where f regex~ "(?i)foo"', /invalid Lucene regular expression .*nothing to repeat/);
  });

  it('E7: numbers and booleans never go with `:`', () => {
    bad('any where process.pid : 4', /takes a string, not a number/);
    bad('any where f : false', /takes a string, not bool/);
  });

  it('U+0001 never in a `:` / `like` pattern (the LIKE escape character of Elasticsearch), fine elsewhere', () => {
    bad('any where f : "a\\u{01}b"', /U\+0001 in the pattern of ':'/);
    bad('any where f like ("x", "*\\u{001}*")', /U\+0001 in the pattern of 'like'/);
    ok('any where f in~ ("a\\u{01}b") or stringContains~(f, "\\u{01}") or f regex "a\\u{01}.*" or f : "a\\u{02}"');
  });

  it('E8: field names with a dash must be backquoted', () => {
    bad('any where Foo-Bar : "x"', /expected a comparison operator|unexpected/);
  });

  it('E9: a raw line break inside a string', () => {
    bad('any where f : "a\nb"', /cannot contain a raw line break/);
  });

  it('E6: a bare string is not a condition', () => {
    bad('any where "mimikatz"', /expected a comparison operator/);
  });

  it('`=` is not an operator; comparing two fields is not EQL', () => {
    bad('any where f = "x"', /unexpected character|expected/);
    bad('any where startsWith(f, g)', /string literals only/);
  });

  it('invalid regexes, CIDR blocks, functions and null tests', () => {
    bad('any where f regex "a{2"', /repetition|escape it/);
    bad('any where f regex "[a-"', /unterminated|out of order/);
    bad('any where f regex "a&b"', /Lucene operator/);
    bad('any where cidrMatch(ip, "10.0.0.0/33")', /not a CIDR block/);
    bad('any where cidrMatch~(ip, "10.0.0.0/8")', /no case-insensitive form/);
    bad('any where match(f, "x")', /unknown function 'match'/);
    bad('any where f == null', /write \?f == null/);
    bad('any where f > "5"', /compares with a number/);
  });

  it('unknown fields when the platform checks them (ECS)', () => {
    bad('process where process.exe : "x"', /'process.exe' is not an ECS field/, (f) => f === 'process.executable');
  });

  it('syntax errors carry the column', () => {
    const r = checkEql('any where a == "1" and');
    expect(r.diagnostics[0]).toMatchObject({ line: 1, column: 23, code: 'eql-syntax' });
  });
});

describe('EQL parser: sequences (temporal_ordered, opt-in)', () => {
  const seq = (q: string) => {
    const r = checkEql(q);
    expect(r.diagnostics.map((d) => d.message), q).toEqual([]);
    return r.sequence!;
  };

  it('reads `sequence by` keys, maxspan in every unit, and per-query keys', () => {
    const s = seq('sequence by user.name, ?host.name with maxspan=5s\n  [authentication where a == "1"]\n  [process where b == "2"]');
    expect(s.by.map((k) => [k.name, k.optional])).toEqual([['user.name', false], ['host.name', true]]);
    expect(s.maxspanMs).toBe(5000);
    expect(s.stages.map((x) => x.query.category)).toEqual(['authentication', 'process']);
    for (const [text, ms] of [['250ms', 250], ['2m', 120_000], ['1h', 3_600_000], ['2d', 172_800_000]] as const) {
      expect(seq(`sequence with maxspan=${text} [any where true] [any where true]`).maxspanMs).toBe(ms);
    }
    const per = seq('sequence with maxspan=1m\n  [any where x == "1"] by a.b\n  [any where y == "2"] by `c-d`');
    expect(per.by).toEqual([]);
    expect(per.stages.map((x) => x.by.map((k) => k.name))).toEqual([['a.b'], ['c-d']]);
  });

  it('checks each query as an event query, and the keys', () => {
    bad('sequence with maxspan=5s [any where f regex "a{2"] [any where true]', /repetition|escape it/);
    bad('sequence by process.exe [any where true] [any where true]', /'process.exe' is not an ECS field/, (f) => f !== 'process.exe');
    bad('sequence [any where true] by a [any where true]', /as many 'by' fields \(1 in the first, 0 here\)/);
  });

  it('refuses what is not a sequence rulec emits, with the line and column', () => {
    bad('sequence [any where true]', /at least two \[queries\]/);
    bad('sequence with maxspan=5 [any where true] [any where true]', /time value such as 30s/);
    bad('sequence with maxspan=5w [any where true] [any where true]', /units: ms, s, m, h, d/);
    bad('sequence with maxspan=0s [any where true] [any where true]', /greater than 0/);
    bad('sequence [any where true] [any where true] until [any where true]', /'until' after the queries/);
    bad('any where f == 5s', /malformed number/);
    const r = checkEql('sequence with maxspan=5s\n  [any where true]\n  [any where a ==]');
    expect(r.diagnostics[0]).toMatchObject({ line: 3, column: 18, code: 'eql-syntax' });
    expect(() => parseEql('sequence [any where true] [any where true]')).toThrow(/not a sequence/);
  });
});
