import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/collection/load.js';
import { checkCollection } from '../../src/collection/load.js';
import { errorsOf, ruleYaml } from '../helpers/rules.js';

/** Each bad input gets one clear message at the exact place of the mistake. */
describe('bad input is reported with its location', () => {
  it('malformed YAML', () => {
    const e = errorsOf('title: x\nlogsource: {product: windows\ndetection: {}\n');
    expect(e[0]!.code).toBe('yaml-syntax');
    expect(e[0]!.message).toMatch(/^YAML syntax error: /);
    expect(e[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('duplicate keys in a map', () => {
    const e = errorsOf(ruleYaml('selection:\n  F: a\n  F: b\ncondition: selection'));
    expect(e[0]!.code).toBe('yaml-syntax');
    expect(e[0]!.message).toContain('unique');
    expect(e[0]!.line).toBe(9);
  });

  it('a key that is a {...} map or a [...] list (YAML allows it; JavaScript would get its text)', () => {
    const m = errorsOf(ruleYaml('selection:\n  { Image|endswith: a }: b\ncondition: selection'));
    expect(m).toEqual([
      { severity: 'error', code: 'complex-key', message: "a key must be a plain name such as 'Image|endswith', not a {...} map; check the indentation and the braces around this key", line: 8, column: 5 },
    ]);
    const l = errorsOf(ruleYaml('selection:\n  ? [a, b]\n  : c\ncondition: selection'));
    expect(l.map((x) => [x.code, x.line, x.column])).toEqual([['complex-key', 8, 7]]);
  });

  it('unknown modifier, with a suggestion and its own column', () => {
    const e = errorsOf(ruleYaml("selection:\n  CommandLine|contians: x\ncondition: selection"));
    expect(e).toEqual([
      { severity: 'error', code: 'unknown-modifier', message: "unknown modifier 'contians'; did you mean 'contains'?", line: 8, column: 17 },
    ]);
  });

  it('a condition naming a missing selection', () => {
    const e = errorsOf(ruleYaml('selection: {F: x}\ncondition: selection or other'));
    expect(e[0]!.message).toBe("the condition names 'other', which is not a search identifier of this detection (defined: selection)");
    expect([e[0]!.line, e[0]!.column]).toEqual([8, 27]);
  });

  it('a pattern matching nothing', () => {
    const e = errorsOf(ruleYaml('selection: {F: x}\ncondition: 1 of filter_*'));
    expect(e[0]!.message).toContain("'1 of filter_*' matches no search identifier");
  });

  it('an invalid regex', () => {
    const e = errorsOf(ruleYaml("selection:\n  F|re: 'a(b'\ncondition: selection"));
    expect(e[0]!.code).toBe('invalid-regex');
    expect(e[0]!.message).toContain('/a(b/');
    expect([e[0]!.line, e[0]!.column]).toEqual([8, 11]);
  });

  it('an infinite or NaN number is called what it is, not "must be a string, a number, ..."', () => {
    for (const v of ['.inf', '1e400', '-.inf', '.nan']) {
      const e = errorsOf(ruleYaml(`selection:\n  F|gt: ${v}\ncondition: selection`));
      expect(e).toHaveLength(1);
      expect(e[0]!.message).toMatch(v === '.nan' ? /is not a number \(\.nan\); rules compare finite numbers only/ : /is (negative )?infinity .*rules compare finite numbers only/);
      expect(e[0]!.message).not.toContain('must be');
      expect([e[0]!.line, e[0]!.column]).toEqual([8, 11]);
    }
  });

  it('a regex construct with another meaning in JS is refused, not mistranslated', () => {
    expect(errorsOf(ruleYaml("selection:\n  F|re: 'a\\Z'\ncondition: selection"))[0]!.message).toContain('\\Z');
    expect(errorsOf(ruleYaml("selection:\n  F|re: '[[:alpha:]]'\ncondition: selection"))[0]!.message).toContain('POSIX');
    expect(errorsOf(ruleYaml("selection:\n  F|re: 'a(?i)b'\ncondition: selection"))[0]!.message).toContain('inline flags');
  });

  it('an invalid CIDR', () => {
    for (const bad of ['10.0.0.300/8', '10.0.0.0/33', 'fe80::/129', 'nonsense', '1.2.3/8']) {
      const e = errorsOf(ruleYaml(`selection:\n  F|cidr: '${bad}'\ncondition: selection`));
      expect(e[0]!.code, bad).toBe('invalid-cidr');
      expect(e[0]!.message).toContain(`'${bad}'`);
    }
  });

  it('wrong value types', () => {
    expect(errorsOf(ruleYaml("selection:\n  F|gt: 'x'\ncondition: selection"))[0]!.message).toBe("'gt' compares numbers; found the string 'x'");
    expect(errorsOf(ruleYaml("selection:\n  F|gt: '5'\ncondition: selection"))[0]!.message).toContain('write it without quotes: 5');
    expect(errorsOf(ruleYaml("selection:\n  F|exists: 'yes'\ncondition: selection"))[0]!.message).toContain("'exists' takes true or false");
    expect(errorsOf(ruleYaml('selection:\n  F|contains: true\ncondition: selection'))[0]!.message).toContain("'contains' applies to strings");
    expect(errorsOf(ruleYaml('selection:\n  F:\n    a: b\ncondition: selection'))[0]!.message).toContain("'detection.selection.F' must be");
    expect(errorsOf(ruleYaml('selection:\n  F|re: 5\ncondition: selection'))[0]!.message).toContain("'re' takes a regular expression string");
  });

  it('invalid modifier combinations', () => {
    expect(errorsOf(ruleYaml('selection:\n  F|contains|re: x\ncondition: selection'))[0]!.message).toBe("'re' must be the first modifier");
    expect(errorsOf(ruleYaml('selection:\n  F|i: x\ncondition: selection'))[0]!.message).toContain("needs 're' before it");
    expect(errorsOf(ruleYaml('selection:\n  F|exists|all: true\ncondition: selection'))[0]!.message).toContain("'exists' cannot be combined");
    expect(errorsOf(ruleYaml('selection:\n  F|gt|hour: 3\ncondition: selection'))[0]!.message).toContain("write the time part before the comparison");
    expect(errorsOf(ruleYaml('keywords:\n  "|re": x\ncondition: keywords'))[0]!.message).toContain("'re' needs a field");
  });

  it('schema problems name the key and the valid choices', () => {
    const text = ruleYaml('selection: {F: x}\ncondition: selection').replace('title: Test rule', 'title: Test rule\nlevel: hihg');
    const e = errorsOf(text);
    expect(e[0]!.message).toBe("'level' must be one of informational, low, medium, high, critical");
    expect([e[0]!.line, e[0]!.column]).toEqual([2, 8]);
    expect(errorsOf('title: t\nlogsource: {product: x}\n')[0]!.message).toBe("the document is missing the required key 'detection'");
    expect(errorsOf(ruleYaml('selection: {F: x}').replace('condition', 'x'))[0]!.message).toContain("missing the required key 'condition'");
    const badId = errorsOf(ruleYaml('selection: {F: x}\ncondition: selection').replace(/^id: .*$/m, 'id: abc-123'));
    expect(badId[0]!.message).toContain("'id' must be a UUID");
  });

  it('an unknown top-level key close to a known one is a warning', () => {
    const r = loadText('t.yml', ruleYaml('selection: {F: x}\ncondition: selection').replace('title: Test rule', 'title: Test rule\ndescripton: x'));
    expect(r[0]!.diagnostics).toEqual([
      { severity: 'warning', code: 'unknown-key', message: "unknown top-level key 'descripton'; did you mean 'description'?", line: 2, column: 1 },
    ]);
  });

  it('the legacy action: global form is rejected', () => {
    const e = errorsOf('action: global\ntitle: x\nlogsource: {product: windows}\n');
    expect(e[0]!.code).toBe('legacy-global');
    expect(e[0]!.message).toContain("'action: global'");
  });

  it('a condition that is not a string', () => {
    expect(errorsOf(ruleYaml('selection: {F: x}\ncondition: 5'))[0]!.message).toContain("'detection.condition' must be");
  });

  it('a schedule whose lookback is shorter than its frequency', () => {
    const e = errorsOf(ruleYaml('selection: {F: x}\ncondition: selection', 'schedule:\n  frequency: 1h\n  lookback: 5m\n'));
    expect(e[0]!.message).toContain('schedule.lookback (5m) is shorter than schedule.frequency (1h)');
  });

  it('a schedule override for an unknown place names the valid keys; a frequency names continuous', () => {
    const e = errorsOf(ruleYaml('selection: {F: x}\ncondition: selection', 'schedule:\n  frequency: 1h\n  defender: {frequency: 3h}\n  spl: {frequency: nrt}\n'));
    expect(e.map((x) => x.message)).toEqual([
      "unknown key 'defender' in 'schedule'; valid keys: frequency, lookback, kusto, sentinel, defender-xdr, eql, spl",
      "'schedule.spl.frequency' must be a duration such as 5m, 1h or 1d (a number and one of s, m, h, d), or continuous",
    ]);
    expect(errorsOf(ruleYaml('selection: {F: x}\ncondition: selection', 'schedule:\n  frequncy: 1h\n'))[0]!.message).toBe("unknown key 'frequncy' in 'schedule'; did you mean 'frequency'?");
  });

  it('duplicate ids across a collection', () => {
    const a = loadText('a.yml', ruleYaml('selection: {F: x}\ncondition: selection'));
    const b = loadText('b.yml', ruleYaml('selection: {F: y}\ncondition: selection'));
    const all = [...a, ...b];
    checkCollection(all);
    expect(all[0]!.diagnostics).toEqual([]);
    expect(all[1]!.diagnostics[0]!.message).toBe("duplicate rule id 5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40: already used by a.yml:1 ('Test rule')");
  });

  it('several problems in one rule are all reported', () => {
    const e = errorsOf(ruleYaml("a:\n  F|bogus: x\nb:\n  G|cidr: 'x'\ncondition: a and b and c"));
    expect(e.map((x) => x.code).sort()).toEqual(['invalid-cidr', 'unknown-modifier', 'unknown-search']);
  });
});

describe('multi-document files, correlations and filters', () => {
  const base = `title: Base
id: 00000000-0000-4000-8000-000000000001
name: base_rule
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\\x.exe'}
  condition: selection
`;
  it('reads a detection and a correlation from one file', () => {
    const text = `${base}---
title: Many
id: 00000000-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: base_rule
  group-by: [ComputerName]
  timespan: 1h
  condition: {gte: 10}
`;
    const rules = loadText('c.yml', text);
    checkCollection(rules);
    expect(rules.map((r) => r.rule?.kind)).toEqual(['detection', 'correlation']);
    expect(rules.every((r) => r.diagnostics.length === 0)).toBe(true);
    const c = rules[1]!.rule!;
    expect(c.kind === 'correlation' && c.correlation).toMatchObject({
      type: 'event_count',
      rules: ['base_rule'],
      groupBy: ['ComputerName'],
      timespanSeconds: 3600,
      condition: { ops: [{ op: 'gte', value: 10 }] },
      generate: false,
    });
  });

  it('validates correlations', () => {
    const bad = (corr: string) => {
      const rules = loadText('c.yml', `${base}---\ntitle: C\ncorrelation:\n${corr}`);
      checkCollection(rules);
      return rules[1]!.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    };
    expect(bad('  type: value_count\n  rules: base_rule\n  timespan: 1h\n  condition: {gte: 2}\n')).toEqual([
      "a value_count correlation needs 'condition.field', the field whose values are aggregated",
    ]);
    expect(bad('  type: temporal\n  rules: [base_rule]\n  timespan: 1h\n')).toEqual(['a temporal correlation relates at least two rules']);
    expect(bad('  type: event_count\n  rules: nope\n  timespan: 1h\n  condition: {gte: 2}\n')[0]).toContain("refers to rule 'nope'");
    expect(bad('  type: event_count\n  rules: base_rule\n  timespan: 1x\n  condition: {gte: 2}\n')[0]).toContain('must be a duration');
    expect(bad('  type: bogus\n  rules: base_rule\n  timespan: 1h\n')[0]).toContain("must be one of event_count");
  });

  it('reads a filter rule into IR', () => {
    const rules = loadText('f.yml', `title: F
id: 00000000-0000-4000-8000-000000000003
logsource: {product: windows, category: process_creation}
filter:
  rules: [base_rule]
  selection: {User: 'SYSTEM'}
  condition: not selection
`);
    expect(rules[0]!.diagnostics).toEqual([]);
    expect(rules[0]!.rule?.kind).toBe('filter');
    expect(rules[0]!.ir).toEqual({ kind: 'not', child: { kind: 'str', field: 'User', op: 'eq', value: 'SYSTEM', case: 'ci' } });
  });
});
