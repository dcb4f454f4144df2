/**
 * Random match IR and events for property tests of the evaluator: every leaf kind, small
 * alphabets so that matches are frequent, lists of string leaves on one field (the evaluator
 * groups them), nested and dotted fields, arrays, numbers, booleans, nulls.
 */
import fc from 'fast-check';
import type { GlobToken, Node } from '../../src/ir/types.js';

export const IR_FIELDS = ['F', 'G', 'a.b'] as const;
const field = fc.constantFrom(...IR_FIELDS);
const caseMode = fc.constantFrom<'ci' | 'cs'>('ci', 'cs');
const CHARS = ['a', 'A', 'b', 'é', 'É', '\\', '.', ' ', '1', '0', 'ſ', 'K', '\u212a', '😀', ':', '-'];
const str = fc.array(fc.constantFrom(...CHARS), { maxLength: 4 }).map((a) => a.join(''));
const nonEmpty = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
const glob: fc.Arbitrary<GlobToken[]> = fc.array(
  fc.oneof(nonEmpty, fc.constantFrom<GlobToken>({ wildcard: '*' }, { wildcard: '?' })),
  { minLength: 1, maxLength: 4 },
);
const BIG = ['9007199254740993', '-9007199254740993', '12345678901234567890'];
const REGEXES = ['a.b', '^a', 'b$', '\\d+', '[aé]{2}', '(?:ab|ba)+', '\\bA', 'k', '^$', '1|0', 'a\\\\'];

const strLeaf = fc.record({
  kind: fc.constant('str' as const),
  field,
  op: fc.constantFrom('eq' as const, 'prefix' as const, 'suffix' as const, 'contains' as const),
  value: str,
  case: caseMode,
});

export const irLeaf: fc.Arbitrary<Node> = fc.oneof(
  { weight: 6, arbitrary: strLeaf },
  // a list of string leaves on one field and operator, as a Sigma list lowers
  {
    weight: 2,
    arbitrary: fc
      .tuple(field, fc.constantFrom('eq' as const, 'prefix' as const, 'suffix' as const, 'contains' as const), caseMode, fc.array(str, { minLength: 3, maxLength: 6 }))
      .map(([f, op, c, values]): Node => ({ kind: 'or', children: values.map((value) => ({ kind: 'str', field: f, op, value, case: c })) })),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('glob' as const), field, pattern: glob, case: caseMode }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('regex' as const), field, pattern: fc.constantFrom(...REGEXES), flags: fc.constantFrom('', 'i', 'm', 's', 'is') }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('num' as const),
      field,
      op: fc.constantFrom('eq' as const, 'lt' as const, 'lte' as const, 'gt' as const, 'gte' as const),
      value: fc.constantFrom(0, 1, 10, -1, 1.5),
    }),
  },
  {
    // integers beyond 2^53 keep their exact text (a double would round them)
    weight: 1,
    arbitrary: fc
      .record({
        kind: fc.constant('num' as const),
        field,
        op: fc.constantFrom('eq' as const, 'lt' as const, 'lte' as const, 'gt' as const, 'gte' as const),
        exact: fc.constantFrom(...BIG),
      })
      .map((n): Node => ({ ...n, value: Number(n.exact) })),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bool' as const), field, value: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('exists' as const, 'null' as const), field }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fieldref' as const),
      field,
      op: fc.constantFrom('eq' as const, 'prefix' as const, 'suffix' as const, 'contains' as const),
      other: field,
      case: caseMode,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('cidr' as const), field, family: fc.constant(4 as const), network: fc.constant('10.0.0.0'), prefix: fc.constant(8) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('keyword' as const), pattern: glob, case: caseMode }) },
  // term matches: the alphabet mixes term characters (a A b 1 0) with delimiters and non-ASCII letters
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('has' as const), field, value: nonEmpty.filter((v) => /[A-Za-z0-9]/.test(v)), case: caseMode }),
  },
);

export const irTree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: irLeaf },
    { weight: 1, arbitrary: tie('node').map((child): Node => ({ kind: 'not', child })) },
    { weight: 2, arbitrary: fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((children): Node => ({ kind: 'and', children })) },
    { weight: 2, arbitrary: fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((children): Node => ({ kind: 'or', children })) },
  ),
})).node;

const scalar = fc.oneof(
  { weight: 6, arbitrary: str as fc.Arbitrary<unknown> },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 1, 10, -1, 1.5, '10', '1.50', '10.1.2.3', '11.0.0.1', true, false, 'TRUE', null, '') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      ...BIG,
      9007199254740992,
      '9007199254740992',
      '9007199254740993.0',
      '9007199254740993.5',
      '-9007199254740993.5',
      '-9007199254740994',
      12345678901234567000,
      '12345678901234567000',
    ),
  },
);
const value = fc.oneof({ weight: 5, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) });

/** A flat or nested event over the IR's fields (sometimes `a.b` as a key, sometimes as a path). */
export const irEvent: fc.Arbitrary<Record<string, unknown>> = fc
  .record({ F: value, G: value, ab: value, nested: fc.boolean(), extra: value }, { requiredKeys: [] })
  .map((r) => {
    const ev: Record<string, unknown> = {};
    if ('F' in r) ev.F = r.F;
    if ('G' in r) ev.G = r.G;
    if ('ab' in r) {
      if (r.nested) ev.a = { b: r.ab };
      else ev['a.b'] = r.ab;
    }
    if ('extra' in r) ev.X = r.extra;
    return ev;
  });
