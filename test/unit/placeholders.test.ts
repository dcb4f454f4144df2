import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/collection/load.js';
import { Engine } from '../../src/eval/engine.js';
import type { Parameter } from '../../src/model/types.js';
import { parsePlaceholderFile, parsePlaceholderPairs } from '../../src/parse/placeholders.js';
import { ruleYaml } from '../helpers/rules.js';

/** Values as the loader takes them, from a placeholder file's text. */
function values(text: string): Map<string, Parameter> {
  const p = parsePlaceholderFile(text);
  expect(p.diagnostics).toEqual([]);
  return p.values;
}

const UNDECLARED = ruleYaml("selection:\n  Requester|expand: '%known_cdcs%'\n  EventID: 4887\ncondition: selection");

describe('placeholders the rule does not declare', () => {
  it('leave a valid rule without IR and with one located warning naming the placeholder and both flags', () => {
    const [r] = loadText('t.yml', UNDECLARED);
    expect(r!.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r!.rule).toBeDefined();
    expect(r!.ir).toBeUndefined();
    expect(r!.unfilled).toEqual([
      {
        severity: 'warning',
        code: 'placeholder-unfilled',
        message:
          "placeholder '%known_cdcs%' has no value (it is not a parameter of this rule): give it with --placeholders FILE " +
          'or --placeholder known_cdcs=VALUE; the rule is not compiled or run without it',
        line: 8,
        column: 23,
      },
    ]);
  });

  it('one warning per placeholder, at its first use', () => {
    const [r] = loadText('t.yml', ruleYaml("selection:\n  A|expand: '%a%'\n  B|expand: '%a%-%b%'\ncondition: selection"));
    expect(r!.unfilled!.map((d) => [d.message.slice(0, 16), d.line])).toEqual([
      ["placeholder '%a%", 8],
      ["placeholder '%b%", 9],
    ]);
  });

  it('a value given under a near name is pointed out', () => {
    const [r] = loadText('t.yml', UNDECLARED, { placeholders: values('known_cdc: x\n') });
    expect(r!.unfilled!.map((d) => d.message)).toEqual([
      "placeholder '%known_cdcs%' has no value (it is not a parameter of this rule; a value was given for 'known_cdc', not 'known_cdcs'): " +
        'give it with --placeholders FILE or --placeholder known_cdcs=VALUE; the rule is not compiled or run without it',
    ]);
  });

  it('the rest of the rule is still checked', () => {
    const [r] = loadText('t.yml', ruleYaml("selection:\n  A|expand: '%a%'\n  B|contians: x\ncondition: selection"));
    expect(r!.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['unknown-modifier']);
  });

  it('given values, lower exactly as the same values declared under parameters: (IR and parameter map)', () => {
    const given = values("known_cdcs: ['CORP\\DC01$', 'DC0?$']\nunrelated: [x]\n");
    const [r] = loadText('t.yml', UNDECLARED, { placeholders: given });
    const [declared] = loadText('t.yml', ruleYaml("selection:\n  Requester|expand: '%known_cdcs%'\n  EventID: 4887\ncondition: selection", "parameters:\n  known_cdcs: ['CORP\\DC01$', 'DC0?$']\n"));
    expect(r!.diagnostics).toEqual([]);
    expect(r!.ir).toEqual(declared!.ir);
    expect(JSON.stringify(r!.ir)).toContain('"param":{"name":"known_cdcs"}');
    // Only the placeholders the rule reads become its parameters.
    const params = r!.rule!.kind === 'detection' ? r!.rule!.parameters : undefined;
    expect([...params!.keys()]).toEqual(['known_cdcs']);
  });

  it('a deployment value replaces a declared parameter of the same name, keeping its description', () => {
    const rule = ruleYaml("selection:\n  F|endswith|expand: '%exts%'\ncondition: selection", "parameters:\n  exts:\n    description: what we flag\n    values: ['.exe']\n");
    const [r] = loadText('t.yml', rule, { placeholders: values("exts: ['.ps1', '.sh']\n") });
    expect(JSON.stringify(r!.ir)).toContain('.ps1');
    expect(JSON.stringify(r!.ir)).not.toContain('.exe');
    const p = r!.rule!.kind === 'detection' ? r!.rule!.parameters.get('exts') : undefined;
    expect(p?.description).toBe('what we flag');
    expect(p?.values.map((v) => (v.type === 'string' ? v.value : ''))).toEqual(['.ps1', '.sh']);
  });

  it('the evaluator matches with the given values', () => {
    const rule = ruleYaml("selection:\n  EventID: 4887\n  Requester|endswith: '$'\nfilter:\n  Requester|expand: '%known_cdcs%'\ncondition: selection and not filter");
    const [r] = loadText('t.yml', rule, { placeholders: values("known_cdcs: 'CORP\\DC01$'\n") });
    const { engine, problems } = Engine.fromLoaded([r!]);
    expect(problems).toEqual([]);
    expect(engine.matches({ EventID: 4887, Requester: 'CORP\\WKS042$' })).toHaveLength(1);
    expect(engine.matches({ EventID: 4887, Requester: 'corp\\dc01$' })).toEqual([]);
  });

  it('without values the engine has no rule to run (the CLI reports it; nothing matches by a stand-in)', () => {
    const [r] = loadText('t.yml', UNDECLARED);
    expect(Engine.fromLoaded([r!]).engine.rules).toEqual([]);
  });

  it("a filter rule's placeholder without a value is an error: a filter that cannot be built would widen the rules it names", () => {
    const filter = `title: f\nid: 0b5cd0a4-4f4e-4a43-9d8f-8a0f3f5e7c01\nlogsource: {product: windows}\nfilter:\n  rules: any\n  selection:\n    Requester|expand: '%known_cdcs%'\n  condition: not selection\n`;
    const [r] = loadText('f.yml', filter);
    expect(r!.ir).toBeUndefined();
    expect(r!.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.line])).toEqual([['placeholder-unfilled', 7]]);
    const [ok] = loadText('f.yml', filter, { placeholders: values('known_cdcs: x\n') });
    expect(ok!.diagnostics).toEqual([]);
    expect(ok!.ir).toBeDefined();
  });
});

describe('placeholder files', () => {
  it('take a value, a list, or the parameters: form with a description', () => {
    const v = values("a: one\nb: [x, 2, true]\nc:\n  description: hosts\n  values: ['h*']\n");
    expect([...v.keys()]).toEqual(['a', 'b', 'c']);
    expect(v.get('a')!.values.map((x) => x.type)).toEqual(['string']);
    expect(v.get('b')!.values.map((x) => (x.type === 'number' ? x.text : x.type === 'boolean' ? x.value : x.type === 'string' ? x.value : null))).toEqual(['x', '2', true]);
    expect(v.get('c')!.description).toBe('hosts');
    expect(v.get('a')!.at).toEqual({ line: 1, column: 1 });
  });

  it('an empty file gives no values', () => {
    expect(parsePlaceholderFile('# nothing yet\n')).toEqual({ values: new Map(), diagnostics: [] });
  });

  it.each([
    ['- a\n- b\n', 1, 1, 'a placeholder file is a YAML map of name: value or name: [values]'],
    ['a:\n', 1, 3, "placeholder 'a' has an empty (null) value; write the value, quoted if needed ('' for the empty string)"],
    ['a: []\n', 1, 4, "placeholder 'a' has an empty list; give at least one value"],
    ['a: [x, ~]\n', 1, 8, "placeholder 'a' has an empty (null) value; write the value, quoted if needed ('' for the empty string)"],
    ['a: [[x]]\n', 1, 5, 'expected a single value (string, number, boolean or null) here, found a list'],
    ['a: {value: x}\n', 1, 5, "placeholder 'a' takes only 'values' and 'description' in its map form, not 'value'"],
    ['a: {description: d}\n', 1, 4, "placeholder 'a' has a map without 'values'; write its value or list of values"],
    ['x: 1\n"known cdcs": [a]\n', 2, 1, "'known cdcs' cannot be a placeholder name: write a letter or _ followed by letters, digits, _, . or -"],
    ['a: x\na: y\n', 2, 1, 'YAML syntax error: Map keys must be unique'],
  ])('%j is refused at %i:%i', (text, line, column, message) => {
    const p = parsePlaceholderFile(text);
    expect(p.diagnostics.map((d) => ({ line: d.line, column: d.column, message: d.message }))).toEqual([{ line, column, message }]);
  });
});

describe('--placeholder name=value', () => {
  it('repeating a name makes a list; the value is everything after the first =', () => {
    const p = parsePlaceholderPairs(['a=x', 'b=k=v', 'a=y*']);
    expect('values' in p && [...p.values].map(([k, v]) => [k, v.values.map((x) => (x.type === 'string' ? x.value : ''))])).toEqual([
      ['a', ['x', 'y*']],
      ['b', ['k=v']],
    ]);
  });

  it.each([
    ['known_cdcs', "--placeholder 'known_cdcs' needs a value: write --placeholder known_cdcs=VALUE"],
    ['a b=x', "--placeholder 'a b=x': 'a b' cannot be a placeholder name: write a letter or _ followed by letters, digits, _, . or -, then =VALUE"],
    ['a=', "--placeholder 'a=' has an empty value; give the value after '=' (an empty string can be given in a --placeholders file as a: '')"],
  ])('%j is refused', (pair, error) => {
    expect(parsePlaceholderPairs([pair])).toEqual({ error });
  });
});
