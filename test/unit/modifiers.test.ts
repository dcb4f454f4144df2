import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/ir/types.js';
import { errorsOf, irOf, load, ruleYaml } from '../helpers/rules.js';

const sel = (item: string, extra = ''): Node => irOf(`selection:\n  ${item}\ncondition: selection`, extra);
const str = (op: string, value: string, field = 'F', c = 'ci') => ({ kind: 'str', field, op, value, case: c });
const or = (...children: unknown[]) => ({ kind: 'or', children });
const and = (...children: unknown[]) => ({ kind: 'and', children });

describe('plain values and wildcards', () => {
  it.each([
    ["F: 'abc'", str('eq', 'abc')],
    ["F: 'abc*'", str('prefix', 'abc')],
    ["F: '*abc'", str('suffix', 'abc')],
    ["F: '*abc*'", str('contains', 'abc')],
    ["F: ''", str('eq', '')],
    ["F: 'a\\*b'", str('eq', 'a*b')],
    ["F: 'a*b'", { kind: 'glob', field: 'F', pattern: ['a', { wildcard: '*' }, 'b'], case: 'ci' }],
    ["F: 'a?'", { kind: 'glob', field: 'F', pattern: ['a', { wildcard: '?' }], case: 'ci' }],
    ["F: '*'", { kind: 'glob', field: 'F', pattern: [{ wildcard: '*' }], case: 'ci' }],
    ['F: 4688', { kind: 'num', field: 'F', op: 'eq', value: 4688 }],
    ["F: '4688'", str('eq', '4688')],
    ['F: true', { kind: 'bool', field: 'F', value: true }],
    ['F: null', { kind: 'null', field: 'F' }],
    ['F: []', { kind: 'null', field: 'F' }],
  ])('%s', (item, expected) => {
    expect(sel(item)).toEqual(expected);
  });

  it('a list is an OR, a map an AND, a list of maps an OR of ANDs', () => {
    expect(sel("F: [a, b]")).toEqual(or(str('eq', 'a'), str('eq', 'b')));
    expect(irOf('selection:\n  F: a\n  G: b\ncondition: selection')).toEqual(and(str('eq', 'a'), str('eq', 'b', 'G')));
    expect(irOf('selection:\n  - F: a\n  - G: b\ncondition: selection')).toEqual(or(str('eq', 'a'), str('eq', 'b', 'G')));
  });
});

describe('string modifiers', () => {
  it.each([
    ["F|contains: 'x'", str('contains', 'x')],
    ["F|startswith: 'x'", str('prefix', 'x')],
    ["F|endswith: 'x'", str('suffix', 'x')],
    ["F|contains: '\\Desktop\\'", str('contains', '\\Desktop\\')],
    ["F|contains: '*x'", str('contains', 'x')],
    ["F|endswith: 'a*b'", { kind: 'glob', field: 'F', pattern: [{ wildcard: '*' }, 'a', { wildcard: '*' }, 'b'], case: 'ci' }],
    ["F|cased: 'Abc'", str('eq', 'Abc', 'F', 'cs')],
    ["F|contains|cased: 'Abc'", str('contains', 'Abc', 'F', 'cs')],
    ['F|contains: 12', str('contains', '12')],
  ])('%s', (item, expected) => {
    expect(sel(item)).toEqual(expected);
  });

  it('all turns the list into an AND', () => {
    expect(sel('F|contains|all: [a, b]')).toEqual(and(str('contains', 'a'), str('contains', 'b')));
  });

  it('neq negates the whole item', () => {
    expect(sel('F|neq: [a, b]')).toEqual({ kind: 'not', child: or(str('eq', 'a'), str('eq', 'b')) });
  });

  it('windash rewrites a word-initial - or / into all five dashes', () => {
    const ir = sel("F|contains|windash: ' -exec x-y'") as { children: { value: string }[] };
    expect(ir.children.map((c) => c.value)).toEqual([' -exec x-y', ' /exec x-y', ' \u2013exec x-y', ' \u2014exec x-y', ' \u2015exec x-y']);
  });

  it('windash variants stay alternatives under all', () => {
    const ir = sel("F|windash|contains|all: ['-a', 'b']") as { kind: string; children: Node[] };
    expect(ir.kind).toBe('and');
    expect(ir.children[0]).toMatchObject({ kind: 'or' });
    expect((ir.children[0] as { children: unknown[] }).children).toHaveLength(5);
  });
});

describe('windash bound', () => {
  it('five dashes (3125 alternatives) lower; more are refused before any is built, with the count and the bound', () => {
    expect((sel("F|windash|contains: ' -a -b -c -d -e'") as { children: unknown[] }).children).toHaveLength(3125);
    const dashes = Array.from({ length: 40 }, (_, i) => ` -x${i}`).join('');
    const started = process.hrtime.bigint();
    const e = errorsOf(ruleYaml(`selection:\n  F|windash|contains: '${dashes}'\ncondition: selection`));
    // 5^40 alternatives: the old expansion never finished; counting takes milliseconds
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
    expect(e).toHaveLength(1);
    expect(e[0]!.message).toBe(
      "'windash' would produce about 9.1e+27 alternatives of this value (40 dashes or slashes at the start of a word, 5 forms each), more than the 3125 allowed; split it into several values",
    );
    expect(errorsOf(ruleYaml("selection:\n  F|windash|contains: ' -a -b -c -d -e -f'\ncondition: selection"))[0]!.message).toContain('would produce 15625 alternatives');
  });
});

describe('encoding modifiers', () => {
  it('base64', () => {
    expect(sel("F|base64: 'abc'")).toEqual(str('eq', 'YWJj'));
    expect(sel("F|base64|contains: 'abc'")).toEqual(str('contains', 'YWJj'));
  });

  it('base64offset gives the three offsets (IEX -> SUVY, lFW, JRV)', () => {
    expect(sel("F|base64offset|contains: 'IEX'")).toEqual(or(str('contains', 'SUVY'), str('contains', 'lFW'), str('contains', 'JRV')));
  });

  it('wide / utf16le, utf16be, utf16 encode to UTF-16 bytes', () => {
    expect(sel("F|wide|base64: 'ab'")).toEqual(str('eq', Buffer.from('a\0b\0', 'latin1').toString('base64')));
    expect(sel("F|utf16le|base64: 'ab'")).toEqual(str('eq', Buffer.from('a\0b\0', 'latin1').toString('base64')));
    expect(sel("F|utf16be|base64: 'ab'")).toEqual(str('eq', Buffer.from('\0a\0b', 'latin1').toString('base64')));
    expect(sel("F|utf16|base64: 'ab'")).toEqual(str('eq', Buffer.from('\xff\xfea\0b\0', 'latin1').toString('base64')));
    expect(sel("F|wide|base64offset|contains: 'ping'")).toMatchObject({ kind: 'or' });
  });

  it('base64 of non-ASCII text encodes its UTF-8 bytes', () => {
    expect(sel("F|base64: 'é'")).toEqual(str('eq', Buffer.from('é', 'utf8').toString('base64')));
  });

  it('base64 refuses wildcards with a hint', () => {
    const e = errorsOf(ruleYaml("selection:\n  F|base64: 'a*'\ncondition: selection"));
    expect(e[0]!.message).toContain("put 'contains', 'startswith' or 'endswith' after 'base64'");
  });
});

describe('regex, cidr, exists, fieldref, numbers, time parts', () => {
  it('re with flags', () => {
    expect(sel("F|re: 'a.b'")).toEqual({ kind: 'regex', field: 'F', pattern: 'a.b', flags: '' });
    expect(sel("F|re|i|m|s: 'a.b'")).toEqual({ kind: 'regex', field: 'F', pattern: 'a.b', flags: 'ims' });
    expect(sel("F|re|ignorecase|dotall: 'a'")).toEqual({ kind: 'regex', field: 'F', pattern: 'a', flags: 'is' });
    expect(sel("F|re: '(?i)a(?:b)'")).toEqual({ kind: 'regex', field: 'F', pattern: 'a(?:b)', flags: 'i' });
  });

  it('re does not apply Sigma escaping to the pattern', () => {
    expect(sel("F|re: '\\\\d\\*'")).toEqual({ kind: 'regex', field: 'F', pattern: '\\\\d\\*', flags: '' });
  });

  it('cidr v4 and v6, host bits cleared', () => {
    expect(sel("F|cidr: '10.1.2.3/8'")).toEqual({ kind: 'cidr', field: 'F', family: 4, network: '10.0.0.0', prefix: 8 });
    expect(sel("F|cidr: 'fe80::1/10'")).toEqual({ kind: 'cidr', field: 'F', family: 6, network: 'fe80::', prefix: 10 });
    expect(sel("F|cidr: '192.168.1.1'")).toEqual({ kind: 'cidr', field: 'F', family: 4, network: '192.168.1.1', prefix: 32 });
  });

  it('exists true / false', () => {
    expect(sel('F|exists: true')).toEqual({ kind: 'exists', field: 'F' });
    expect(sel('F|exists: false')).toEqual({ kind: 'not', child: { kind: 'exists', field: 'F' } });
  });

  it('fieldref with and without string modifiers', () => {
    expect(sel('F|fieldref: G')).toEqual({ kind: 'fieldref', field: 'F', op: 'eq', other: 'G', case: 'ci' });
    expect(sel('F|fieldref|endswith|cased: G')).toEqual({ kind: 'fieldref', field: 'F', op: 'suffix', other: 'G', case: 'cs' });
    expect(sel('F|fieldref|neq: G')).toEqual({ kind: 'not', child: { kind: 'fieldref', field: 'F', op: 'eq', other: 'G', case: 'ci' } });
  });

  it.each([
    ['F|gt: 5', { kind: 'num', field: 'F', op: 'gt', value: 5 }],
    ['F|gte: 5.5', { kind: 'num', field: 'F', op: 'gte', value: 5.5 }],
    ['F|lt: -1', { kind: 'num', field: 'F', op: 'lt', value: -1 }],
    ['F|lte: 0', { kind: 'num', field: 'F', op: 'lte', value: 0 }],
    ['F|hour: 3', { kind: 'num', field: 'F', op: 'eq', value: 3, part: 'hour' }],
    ['F|hour|gte: 22', { kind: 'num', field: 'F', op: 'gte', value: 22, part: 'hour' }],
    ['F|minute: 0', { kind: 'num', field: 'F', op: 'eq', value: 0, part: 'minute' }],
    ['F|day: 1', { kind: 'num', field: 'F', op: 'eq', value: 1, part: 'day' }],
    ['F|week: 52', { kind: 'num', field: 'F', op: 'eq', value: 52, part: 'week' }],
    ['F|month|lt: 6', { kind: 'num', field: 'F', op: 'lt', value: 6, part: 'month' }],
    ['F|year: 2024', { kind: 'num', field: 'F', op: 'eq', value: 2024, part: 'year' }],
  ])('%s', (item, expected) => {
    expect(sel(item)).toEqual(expected);
  });
});

describe('expand and parameters', () => {
  const params = `parameters:
  exts:
    description: executable extensions
    values: ['.exe', '.dll']
`;
  it('expands a placeholder into a parameter group', () => {
    expect(sel("F|endswith|expand: '%exts%'", params)).toEqual({
      kind: 'or',
      param: { name: 'exts' },
      children: [str('suffix', '.exe'), str('suffix', '.dll')],
    });
  });

  it('a placeholder inside text expands in place', () => {
    expect(sel("F|expand: 'C:\\\\%exts%'", 'parameters:\n  exts: [a, b]\n')).toEqual({
      kind: 'or',
      param: { name: 'exts' },
      children: [str('eq', 'C:\\a'), str('eq', 'C:\\b')],
    });
  });

  it('without expand a %name% is literal text', () => {
    expect(sel("F: '%exts%'", params)).toEqual(str('eq', '%exts%'));
  });

  it('an undeclared placeholder is no error (the deployment fills it in); its warning names the declared parameters', () => {
    expect(errorsOf(ruleYaml("selection:\n  F|expand: '%extz%'\ncondition: selection", params))).toEqual([]);
    const r = load(ruleYaml("selection:\n  F|expand: '%extz%'\ncondition: selection", params));
    expect(r.ir).toBeUndefined();
    expect(r.unfilled?.map((d) => d.message)).toEqual([
      "placeholder '%extz%' has no value (it is not a parameter of this rule; declared: exts; did you mean '%exts%'?): " +
        'give it with --placeholders FILE or --placeholder extz=VALUE; the rule is not compiled or run without it',
    ]);
  });
});

describe('keywords', () => {
  it('a list of plain values is a keyword OR; |all makes it an AND', () => {
    expect(irOf('keywords:\n  - mimikatz\n  - "*sekurlsa*"\ncondition: keywords')).toEqual(
      or({ kind: 'keyword', pattern: ['mimikatz'], case: 'ci' }, { kind: 'keyword', pattern: ['sekurlsa'], case: 'ci' }),
    );
    expect(irOf("keywords:\n  '|all':\n    - a\n    - b\ncondition: keywords")).toEqual(
      and({ kind: 'keyword', pattern: ['a'], case: 'ci' }, { kind: 'keyword', pattern: ['b'], case: 'ci' }),
    );
  });

  it('null is not a keyword', () => {
    const e = errorsOf(ruleYaml('keywords:\n  - a\n  - null\ncondition: keywords'));
    expect(e[0]!.message).toContain('null is not a keyword');
  });
});

describe('has', () => {
  const has = (value: string, c = 'ci') => ({ kind: 'has', field: 'F', value, case: c });
  it('lowers to has leaves: a list is OR, all is AND, cased is case-sensitive, neq negates', () => {
    expect(sel("F|has: 'cmd.exe'")).toEqual(has('cmd.exe'));
    expect(sel('F|has: [a, b]')).toEqual(or(has('a'), has('b')));
    expect(sel('F|has|all: [a, b]')).toEqual(and(has('a'), has('b')));
    expect(sel('F|has|cased: Ab')).toEqual(has('Ab', 'cs'));
    expect(sel('F|has|neq: a')).toEqual({ kind: 'not', child: has('a') });
    expect(sel("F|has: 'a\\*b'")).toEqual(has('a*b'));
    expect(sel('F|has: 4688')).toEqual(has('4688'));
  });

  it('expands parameters into a named group', () => {
    const params = 'parameters:\n  ext:\n    values: [exe, dll]\n';
    expect(irOf("selection:\n  F|has|expand: '%ext%'\ncondition: selection", params)).toEqual({ kind: 'or', children: [has('exe'), has('dll')], param: { name: 'ext' } });
  });

  it.each([
    ['F|has|re: a', "'re' cannot be combined with 'has'", 'not a regular expression'],
    ['F|re|has: a', "'re' cannot be combined with 'has'", 'not a regular expression'],
    ['F|has|contains: a', "'contains' cannot be combined with 'has'", "use 'contains' without 'has'"],
    ['F|has|endswith: a', "'endswith' cannot be combined with 'has'", 'suffix'],
    ['F|has|base64: a', "'base64' cannot be combined with 'has'", 'allowed with it: cased, all, neq, expand'],
    ["F|has: '--'", "'--' holds none", 'runs of ASCII letters and digits'],
    ["F|has: 'é'", "'é' holds none", 'names no term'],
    ["F|has: ''", "'' holds none", 'names no term'],
    ["F|has: 'a*b'", 'takes no wildcards', "escape '*'"],
    ['F|has: true', "takes strings, found true", 'term'],
    ['F|has: null', 'takes strings, found null', 'term'],
  ])('%s is an error', (item, what, why) => {
    const e = errorsOf(ruleYaml(`selection:\n  ${item}\ncondition: selection`));
    expect(e).toHaveLength(1);
    expect(e[0]!.message).toContain(what);
    expect(e[0]!.message).toContain(why);
    expect(e[0]!.line).toBeGreaterThan(0);
    expect(e[0]!.column).toBeGreaterThan(0);
  });

  it('a keyword search takes no has', () => {
    const e = errorsOf(ruleYaml("keywords:\n  '|has':\n    - a\ncondition: keywords"));
    expect(e.map((d) => d.message)).toEqual([expect.stringContaining("'has' needs a field")]);
  });
});
