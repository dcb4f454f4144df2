import { describe, expect, it } from 'vitest';
import { expandPattern, parseCondition } from '../../src/parse/condition.js';
import { RuleError } from '../../src/diag/diagnostic.js';
import type { Condition } from '../../src/model/types.js';
import { errorsOf, irOf, ruleYaml } from '../helpers/rules.js';

const pos = (o: number) => ({ line: 1, column: o + 1 });

/** Compact S-expression of a condition, without positions. */
function show(c: Condition): string {
  switch (c.kind) {
    case 'and':
    case 'or':
      return `(${c.kind} ${c.children.map(show).join(' ')})`;
    case 'not':
      return `(not ${show(c.child)})`;
    case 'ref':
      return c.name;
    case 'quantified':
      return `(${c.quantifier} ${c.pattern})`;
  }
}

describe('condition grammar', () => {
  it.each([
    ['a or b and c', '(or a (and b c))'],
    ['a and b or c', '(or (and a b) c)'],
    ['not a and b', '(and (not a) b)'],
    ['not a or not b', '(or (not a) (not b))'],
    ['not (a or b)', '(not (or a b))'],
    ['(a or b) and c', '(and (or a b) c)'],
    ['a and not 1 of filter_*', '(and a (not (one filter_*)))'],
    ['all of selection_* or 1 of them', '(or (all selection_*) (one them))'],
    ['any of sel*', '(one sel*)'],
    ['not not a', '(not (not a))'],
    ['a and b and c or d or e and f', '(or (and a b c) d (and e f))'],
    ['sel-1 and sel.x', '(and sel-1 sel.x)'],
  ])('%s', (src, expected) => {
    expect(show(parseCondition(src, pos))).toBe(expected);
  });

  it.each([
    ['a and', 'found the end of the condition'],
    ['(a or b', "expected ')'"],
    ['a b', "expected 'and', 'or'"],
    ['1 of', "expected 'them'"],
    ['a AND b', "expected 'and', 'or' or the end"],
    ['AND', 'condition keywords are lowercase'],
    ['sel_* and b', "needs a quantifier"],
    ['sel | count() > 5', 'correlation rule'],
    ['a & b', "unexpected character '&'"],
  ])('rejects %s', (src, message) => {
    let err: unknown;
    try {
      parseCondition(src, pos);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleError);
    expect((err as RuleError).message).toContain(message);
  });

  it('`them` and patterns skip _-prefixed identifiers unless the pattern starts with _', () => {
    const names = ['sel_a', 'sel_b', '_hidden', 'filter'];
    expect(expandPattern('them', names)).toEqual(['sel_a', 'sel_b', 'filter']);
    expect(expandPattern('sel_*', names)).toEqual(['sel_a', 'sel_b']);
    expect(expandPattern('*', names)).toEqual(['sel_a', 'sel_b', 'filter']);
    expect(expandPattern('_*', names)).toEqual(['_hidden']);
  });

  it('a list of conditions is an OR of its elements', () => {
    const ir = irOf(`
a: {F: x}
b: {G: y}
condition:
  - a
  - b`);
    expect(ir).toEqual({
      kind: 'or',
      children: [
        { kind: 'str', field: 'F', op: 'eq', value: 'x', case: 'ci' },
        { kind: 'str', field: 'G', op: 'eq', value: 'y', case: 'ci' },
      ],
    });
  });

  it('1 of / all of expand to OR / AND over the matching identifiers', () => {
    const ir = irOf(`
sel_a: {F: a}
sel_b: {F: b}
_sel_c: {F: c}
condition: all of sel_* and not 1 of them`);
    expect(JSON.stringify(ir)).toBe(
      JSON.stringify({
        kind: 'and',
        children: [
          { kind: 'str', field: 'F', op: 'eq', value: 'a', case: 'ci' },
          { kind: 'str', field: 'F', op: 'eq', value: 'b', case: 'ci' },
          {
            kind: 'not',
            child: {
              kind: 'or',
              children: [
                { kind: 'str', field: 'F', op: 'eq', value: 'a', case: 'ci' },
                { kind: 'str', field: 'F', op: 'eq', value: 'b', case: 'ci' },
              ],
            },
          },
        ],
      }),
    );
  });

  it('reports the column of an unknown identifier in the condition', () => {
    const errs = errorsOf(ruleYaml('selection: {F: x}\ncondition: selection and not filtr'));
    expect(errs).toHaveLength(1);
    expect(errs[0]!.message).toContain("'filtr'");
    // line 8 is the condition line; 'filtr' starts at column 39 (2 spaces indent + 'condition: ' + ...)
    expect(errs[0]!.line).toBe(8);
    expect(errs[0]!.column).toBe(3 + 'condition: selection and not '.length);
  });
});
