import { describe, expect, it } from 'vitest';
import { matchEvent } from '../../src/eval/index.js';
import { fold } from '../../src/runtime/fold.js';
import { errorsOf, irOf, ruleYaml } from '../helpers/rules.js';

/** Does `item` (one detection item, YAML) match `event`? */
function m(item: string, event: Record<string, unknown>, extra = ''): boolean {
  return matchEvent(irOf(`selection:\n  ${item}\ncondition: selection`, extra), event);
}
function notM(item: string, event: Record<string, unknown>): boolean {
  return matchEvent(irOf(`selection:\n  ${item}\ncondition: not selection`), event);
}

describe('str primitives, case folding', () => {
  it('eq / prefix / suffix / contains, case-insensitive by default', () => {
    expect(m("F: 'AbC'", { F: 'abc' })).toBe(true);
    expect(m("F: 'abc'", { F: 'abcd' })).toBe(false);
    expect(m("F|startswith: 'AB'", { F: 'abc' })).toBe(true);
    expect(m("F|endswith: 'BC'", { F: 'abc' })).toBe(true);
    expect(m("F|contains: 'B'", { F: 'abc' })).toBe(true);
    expect(m("F|contains: 'x'", { F: 'abc' })).toBe(false);
  });

  it('cased makes them case-sensitive', () => {
    expect(m("F|cased: 'AbC'", { F: 'abc' })).toBe(false);
    expect(m("F|cased: 'AbC'", { F: 'AbC' })).toBe(true);
    expect(m("F|contains|cased: 'B'", { F: 'abc' })).toBe(false);
  });

  it('folds non-ASCII letters by simple lowercase mapping', () => {
    expect(m("F: 'ÉCOLE'", { F: 'école' })).toBe(true);
    expect(m("F: 'ΣΟΦΊΑ'", { F: 'σοφία' })).toBe(true);
    expect(m("F|contains: 'ПРИВЕТ'", { F: 'ну привет' })).toBe(true);
    expect(m("F|contains: 'straße'", { F: 'STRASSE' })).toBe(false);
    // U+0130's full lowercase is two code points: it folds to itself
    expect(fold('İ')).toBe('İ');
    expect(m("F: 'İ'", { F: 'i' })).toBe(false);
    // no context rules: a final capital sigma folds to σ, not ς
    expect(fold('ΑΣ')).toBe('ασ');
    expect(fold('𐐀')).toBe('𐐨');
  });

  it('compares the text of numbers and booleans', () => {
    expect(m("F: '4688'", { F: 4688 })).toBe(true);
    expect(m("F|startswith: '46'", { F: 4688 })).toBe(true);
    expect(m("F: 'true'", { F: true })).toBe(true);
  });

  it('an array matches when one element does', () => {
    expect(m("F: 'b'", { F: ['a', 'b'] })).toBe(true);
    expect(notM("F: 'b'", { F: ['a', 'b'] })).toBe(false);
    expect(m("F: 'c'", { F: ['a', 'b'] })).toBe(false);
  });

  it('an object has no text', () => {
    expect(m("F: '*'", { F: { a: 1 } })).toBe(false);
    expect(m('F|exists: true', { F: { a: 1 } })).toBe(true);
  });
});

describe('glob', () => {
  it('is anchored; * any run, ? exactly one code point', () => {
    expect(m("F: 'a*c'", { F: 'abbbc' })).toBe(true);
    expect(m("F: 'a*c'", { F: 'abbbcd' })).toBe(false);
    expect(m("F: 'a?c'", { F: 'abc' })).toBe(true);
    expect(m("F: 'a?c'", { F: 'ac' })).toBe(false);
    expect(m("F: 'a?c'", { F: 'a😀c' })).toBe(true);
    expect(m("F: 'a*c'", { F: 'a\nb\nc' })).toBe(true);
  });

  it('escaped wildcards are literal', () => {
    expect(m("F: 'a\\*c'", { F: 'a*c' })).toBe(true);
    expect(m("F: 'a\\*c'", { F: 'abc' })).toBe(false);
    expect(m("F: 'a\\?*'", { F: 'a?bc' })).toBe(true);
    expect(m("F: 'a\\?*'", { F: 'abc' })).toBe(false);
  });

  it('regex metacharacters in globs are literal', () => {
    expect(m("F: '(a.b)*[x]'", { F: '(a.b)-[x]' })).toBe(true);
    expect(m("F: '(a.b)*[x]'", { F: '(axb)-[x]' })).toBe(false);
  });
});

describe('empty fields and not (two-valued logic)', () => {
  it('an absent field is empty: its text is ""', () => {
    expect(m("F: 'x'", {})).toBe(false);
    expect(notM("F: 'x'", {})).toBe(true);
    expect(m("F: ''", {})).toBe(true);
    expect(m("F: ''", { F: null })).toBe(true);
    expect(m("F: ''", { F: [] })).toBe(true);
    expect(m("F|contains: 'x'", {})).toBe(false);
  });

  it('selection and not filter fires when the filter field is absent', () => {
    const ir = irOf("selection: {Image|endswith: '\\cmd.exe'}\nfilter: {User: SYSTEM}\ncondition: selection and not filter");
    expect(matchEvent(ir, { Image: 'C:\\cmd.exe' })).toBe(true);
    expect(matchEvent(ir, { Image: 'C:\\cmd.exe', User: 'system' })).toBe(false);
  });

  it('null matches absent, null, "" and []; exists is its negation', () => {
    for (const ev of [{}, { F: null }, { F: '' }, { F: [] }]) {
      expect(m('F: null', ev)).toBe(true);
      expect(m('F|exists: true', ev)).toBe(false);
      expect(m('F|exists: false', ev)).toBe(true);
    }
    for (const ev of [{ F: 'x' }, { F: 0 }, { F: false }, { F: {} }, { F: [''] }]) {
      expect(m('F: null', ev)).toBe(false);
      expect(m('F|exists: true', ev)).toBe(true);
    }
  });

  it('numeric, cidr and regex leaves are false on an absent field, so their not is true', () => {
    expect(notM('F|gt: 5', {})).toBe(true);
    expect(notM("F|cidr: '10.0.0.0/8'", {})).toBe(true);
    expect(notM("F|re: 'a'", {})).toBe(true);
    expect(m("F|re: '^$'", {})).toBe(true);
  });
});

describe('numbers vs strings', () => {
  it('a YAML number matches the number and a decimal string', () => {
    expect(m('EventID: 4688', { EventID: 4688 })).toBe(true);
    expect(m('EventID: 4688', { EventID: '4688' })).toBe(true);
    expect(m('EventID: 4688', { EventID: '04688' })).toBe(false);
    expect(m('EventID: 4688', { EventID: '4688 ' })).toBe(false);
    expect(m('EventID: 4688', { EventID: '0x1250' })).toBe(false);
    expect(m('F: 1.5', { F: '1.50' })).toBe(true);
  });

  it('a quoted number is text', () => {
    expect(m("EventID: '4688'", { EventID: 4688 })).toBe(true);
    expect(m("EventID: '4688'", { EventID: '4688' })).toBe(true);
    expect(m("EventID: '04688'", { EventID: 4688 })).toBe(false);
  });

  it('comparisons', () => {
    expect(m('F|gt: 5', { F: 6 })).toBe(true);
    expect(m('F|gt: 5', { F: 5 })).toBe(false);
    expect(m('F|gte: 5', { F: '5' })).toBe(true);
    expect(m('F|lt: 5', { F: -1 })).toBe(true);
    expect(m('F|lte: 5', { F: 5.0 })).toBe(true);
    expect(m('F|lt: 5', { F: 'abc' })).toBe(false);
    expect(m('F|lt: 5', { F: true })).toBe(false);
  });

  it('integers beyond 2^53 are compared exactly, never rounded to a double', () => {
    expect(irOf('sel:\n  F: 12345678901234567890\ncondition: sel')).toMatchObject({ kind: 'num', exact: '12345678901234567890' });
    expect(m('CommandLine: 12345678901234567890', { CommandLine: '12345678901234567890' })).toBe(true);
    expect(m('CommandLine: 12345678901234567890', { CommandLine: '12345678901234567890.00' })).toBe(true);
    // the double both texts round to
    expect(m('CommandLine: 12345678901234567890', { CommandLine: '12345678901234567000' })).toBe(false);
    expect(m('CommandLine: 12345678901234567890', { CommandLine: '12345678901234567891' })).toBe(false);
    // 2^53 itself: the double of 9007199254740993 is 2^53, so 2^53 must be compared exactly too
    expect(irOf('sel:\n  F|lte: 9007199254740992\ncondition: sel')).toMatchObject({ kind: 'num', exact: '9007199254740992' });
    expect(m('ProcessId|lte: 9007199254740992', { ProcessId: '9007199254740993' })).toBe(false);
    expect(m('ProcessId: 9007199254740992', { ProcessId: '9007199254740992.5' })).toBe(false);
    expect(m('ProcessId: -9007199254740992', { ProcessId: '-9007199254740993' })).toBe(false);
    expect(m('ProcessId|gt: 9007199254740993', { ProcessId: '9007199254740994' })).toBe(true);
    expect(m('ProcessId|gt: 9007199254740993', { ProcessId: '9007199254740993' })).toBe(false);
    expect(m('ProcessId|gt: 9007199254740993', { ProcessId: '9007199254740993.5' })).toBe(true);
    expect(m('ProcessId|gte: 9007199254740993', { ProcessId: 9007199254740992 })).toBe(false);
    expect(m('ProcessId|lt: -9007199254740993', { ProcessId: '-9007199254740993.5' })).toBe(true);
    expect(m('ProcessId|lt: -9007199254740993', { ProcessId: '-9007199254740993.0' })).toBe(false);
    expect(m('F: 0x20000000000001', { F: '9007199254740993' })).toBe(true);
    expect(m('F: 1e30', { F: '1000000000000000000000000000000' })).toBe(true);
    // below 2^53, where every integer is a double of its own, a literal stays a plain number
    expect(irOf('sel:\n  F: 9007199254740991\ncondition: sel')).toEqual({ kind: 'num', field: 'F', op: 'eq', value: 9007199254740991 });
    expect(irOf('sel:\n  F: 1.50\ncondition: sel')).toEqual({ kind: 'num', field: 'F', op: 'eq', value: 1.5 });
  });

  it('a fraction with more digits than a double keeps, or a time part beyond 2^53, is refused', () => {
    expect(errorsOf(ruleYaml('sel:\n  F: 0.1000000000000000055511151231257827\ncondition: sel'))[0]!.message).toBe(
      '0.1000000000000000055511151231257827 has more digits than a 64-bit float keeps (every target would compare it as 0.1); write 0.1',
    );
    expect(errorsOf(ruleYaml('sel:\n  F|hour: 9007199254740993\ncondition: sel'))[0]!.message).toContain("'hour' compares a part of a timestamp");
  });

  it('booleans', () => {
    expect(m('F: true', { F: true })).toBe(true);
    expect(m('F: true', { F: 'True' })).toBe(true);
    expect(m('F: true', { F: 1 })).toBe(false);
    expect(m('F: false', { F: false })).toBe(true);
    expect(m('F: false', {})).toBe(false);
  });
});

describe('regex', () => {
  it('is unanchored and case-sensitive unless i', () => {
    expect(m("F|re: 'b.d'", { F: 'abcde' })).toBe(true);
    expect(m("F|re: 'B.D'", { F: 'abcde' })).toBe(false);
    expect(m("F|re|i: 'B.D'", { F: 'abcde' })).toBe(true);
    expect(m("F|re: '(?i)B.D'", { F: 'abcde' })).toBe(true);
  });

  it('m and s flags', () => {
    expect(m("F|re: '^b'", { F: 'a\nb' })).toBe(false);
    expect(m("F|re|m: '^b'", { F: 'a\nb' })).toBe(true);
    expect(m("F|re: 'a.b'", { F: 'a\nb' })).toBe(false);
    expect(m("F|re|s: 'a.b'", { F: 'a\nb' })).toBe(true);
  });
});

describe('cidr', () => {
  it('IPv4', () => {
    expect(m("F|cidr: '10.0.0.0/8'", { F: '10.255.1.2' })).toBe(true);
    expect(m("F|cidr: '10.0.0.0/8'", { F: '11.0.0.1' })).toBe(false);
    expect(m("F|cidr: '192.168.1.0/24'", { F: '192.168.1.255' })).toBe(true);
    expect(m("F|cidr: '0.0.0.0/0'", { F: '8.8.8.8' })).toBe(true);
    expect(m("F|cidr: '10.0.0.0/8'", { F: '010.0.0.1' })).toBe(false);
    expect(m("F|cidr: '10.0.0.0/8'", { F: 'host10' })).toBe(false);
  });

  it('IPv6, and no cross-family match', () => {
    expect(m("F|cidr: 'fe80::/10'", { F: 'fe80::1c:2' })).toBe(true);
    expect(m("F|cidr: 'fe80::/10'", { F: 'FEBF::1' })).toBe(true);
    expect(m("F|cidr: 'fe80::/10'", { F: 'fec0::1' })).toBe(false);
    expect(m("F|cidr: '::1/128'", { F: '0:0:0:0:0:0:0:1' })).toBe(true);
    expect(m("F|cidr: '10.0.0.0/8'", { F: '::ffff:10.0.0.1' })).toBe(false);
    expect(m("F|cidr: '::ffff:0:0/96'", { F: '::ffff:10.0.0.1' })).toBe(true);
  });
});

describe('fieldref', () => {
  it('compares two fields of the event', () => {
    expect(m('F|fieldref: G', { F: 'ABC', G: 'abc' })).toBe(true);
    expect(m('F|fieldref|cased: G', { F: 'ABC', G: 'abc' })).toBe(false);
    expect(m('F|fieldref|contains: G', { F: 'xxabcxx', G: 'ABC' })).toBe(true);
    expect(m('F|fieldref|startswith: G', { F: 'abcxx', G: 'ABC' })).toBe(true);
    expect(m('F|fieldref|endswith: G', { F: 'abcxx', G: 'ABC' })).toBe(false);
    expect(m('F|fieldref: G', {})).toBe(true);
  });
});

describe('keywords', () => {
  const kw = (values: string, ev: Record<string, unknown>) =>
    matchEvent(irOf(`keywords:\n${values}\ncondition: keywords`), ev);

  it('match a substring of any value at any depth, never a key', () => {
    expect(kw('  - mimikatz', { CommandLine: 'run MIMIKATZ.exe' })).toBe(true);
    expect(kw('  - mimikatz', { nested: { deep: ['x', 'mimikatz'] } })).toBe(true);
    expect(kw('  - mimikatz', { mimikatz: 'x' })).toBe(false);
    expect(kw('  - 4688', { EventID: 4688 })).toBe(true);
  });

  it('wildcards inside a keyword are an unanchored glob', () => {
    expect(kw("  - 'sekurlsa::*pass'", { CommandLine: 'x sekurlsa::logonpasswords y' })).toBe(true);
    expect(kw("  - 'lsadump::?am'", { CommandLine: 'lsadump::sam' })).toBe(true);
    expect(kw("  - 'lsadump::?am'", { CommandLine: 'lsadump::am' })).toBe(false);
  });
});

describe('time parts', () => {
  it('read ISO 8601 and Sysmon timestamps in UTC', () => {
    expect(m('T|hour: 22', { T: '2024-05-01 22:10:03.123' })).toBe(true);
    expect(m('T|hour: 22', { T: '2024-05-01T23:10:03+01:00' })).toBe(true);
    expect(m('T|hour|gte: 22', { T: '2024-05-01T21:59:59Z' })).toBe(false);
    expect(m('T|minute: 10', { T: '2024-05-01T21:10:00Z' })).toBe(true);
    expect(m('T|day: 1', { T: '2024-05-01T21:10:00Z' })).toBe(true);
    expect(m('T|month: 5', { T: '2024-05-01T21:10:00Z' })).toBe(true);
    expect(m('T|year: 2024', { T: '2024-05-01T21:10:00Z' })).toBe(true);
    expect(m('T|week: 1', { T: '2021-01-04T00:00:00Z' })).toBe(true);
    expect(m('T|week: 53', { T: '2021-01-03T00:00:00Z' })).toBe(true);
    expect(m('T|hour: 0', { T: 'not a time' })).toBe(false);
    expect(m('T|hour: 0', {})).toBe(false);
  });
});

describe('field paths', () => {
  it('a key first, then a dotted path', () => {
    expect(m("a.b: 'x'", { 'a.b': 'x' })).toBe(true);
    expect(m("a.b: 'x'", { a: { b: 'x' } })).toBe(true);
    expect(m("a.b.c: 'x'", { a: { b: { c: 'x' } } })).toBe(true);
    expect(m("a.b: 'x'", { a: [{ b: 'x' }] })).toBe(false);
  });

  it('an index step [N] reads element N of an array, as KQL does (nothing on an object or outside the array)', () => {
    expect(m("a[0].b: 'x'", { a: [{ b: 'x' }, { b: 'y' }] })).toBe(true);
    expect(m("a[1].b: 'x'", { a: [{ b: 'x' }, { b: 'y' }] })).toBe(false);
    expect(m("a[1].b: 'y'", { a: [{ b: 'x' }, { b: 'y' }] })).toBe(true);
    expect(m("a[2].b: 'x'", { a: [{ b: 'x' }] })).toBe(false);
    expect(m("a[0].b: 'x'", { a: { '0': { b: 'x' } } })).toBe(false);
    expect(m("c.a[0][1]: 'x'", { c: { a: [['w', 'x']] } })).toBe(true);
    expect(m("a[0]: 'x'", { a: ['x'] })).toBe(true);
    // A key of that very name still comes first.
    expect(m("a[0].b: 'x'", { 'a[0].b': 'x', a: [{ b: 'y' }] })).toBe(true);
    // An empty element is empty, as a missing one is.
    expect(m("a[3].b: null", { a: [] })).toBe(true);
  });
});

describe('parameters', () => {
  it('an expanded parameter matches any of its values', () => {
    const params = "parameters:\n  exts: ['.exe', '.dll']\n";
    expect(m("F|endswith|expand: '%exts%'", { F: 'a.DLL' }, params)).toBe(true);
    expect(m("F|endswith|expand: '%exts%'", { F: 'a.ps1' }, params)).toBe(false);
  });
});

describe('has (term match, semantics.md "Term match")', () => {
  it('matches whole terms, never a part of a longer run of letters and digits', () => {
    expect(m("F|has: 'america'", { F: 'North America' })).toBe(true);
    expect(m("F|has: 'amer'", { F: 'North America' })).toBe(false);
    expect(m("F|has: 'Explorer'", { F: 'Kusto: ad67d136-c1db;KustoExplorerQueryRun' })).toBe(false);
    expect(m("F|has: 'c1db'", { F: 'Kusto: ad67d136-c1db;KustoExplorerQueryRun' })).toBe(true);
    expect(m("F|has: 'ad67'", { F: 'ad67d136' })).toBe(false);
    expect(m("F|has: 'ab'", { F: 'x ab y' })).toBe(true);
  });

  it('underscore and non-ASCII letters separate terms', () => {
    expect(m("F|has: 'cmd'", { F: 'run_cmd_now' })).toBe(true);
    expect(m("F|has: 'cmd'", { F: 'écmdé' })).toBe(true);
    expect(m("F|has: 'café'", { F: 'Café-Bar' })).toBe(true);
    expect(m("F|has: 'caf'", { F: 'café' })).toBe(true);
  });

  it('a value with punctuation or spaces must occur as is, bounded where it starts or ends with a term character', () => {
    expect(m("F|has: 'cmd.exe'", { F: 'C:\\Windows\\cmd.exe /c' })).toBe(true);
    expect(m("F|has: 'cmd.exe'", { F: 'xcmd.exe' })).toBe(false);
    expect(m("F|has: 'cmd.exe'", { F: 'cmd.exes' })).toBe(false);
    expect(m("F|has: 'cmd.exe'", { F: 'cmd exe' })).toBe(false);
    expect(m("F|has: 'north america'", { F: 'NORTH AMERICA' })).toBe(true);
    expect(m("F|has: '.exe'", { F: 'a.exe' })).toBe(true);
    expect(m("F|has: '.exe'", { F: 'a.exec' })).toBe(false);
    expect(m("F|has: '-enc '", { F: 'x-enc y' })).toBe(true);
  });

  it('is case-insensitive unless cased; lists are OR, all is AND, not negates', () => {
    expect(m("F|has|cased: 'America'", { F: 'North America' })).toBe(true);
    expect(m("F|has|cased: 'america'", { F: 'North America' })).toBe(false);
    expect(m('F|has: [south, north]', { F: 'NORTH DAKOTA' })).toBe(true);
    expect(m('F|has|all: [north, dakota]', { F: 'NORTH DAKOTA' })).toBe(true);
    expect(m('F|has|all: [north, carolina]', { F: 'NORTH DAKOTA' })).toBe(false);
    expect(notM("F|has: 'amer'", { F: 'North America' })).toBe(true);
    expect(m("F|has: '4688'", { F: 4688 })).toBe(true);
    expect(m("F|has: 'a'", {})).toBe(false);
  });
});
