import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileNode, EventView } from '../../src/eval/index.js';
import type { GlobToken, Node } from '../../src/ir/types.js';
import { generateBundle } from '../../src/targets/ts/generator.js';
import { propertyInput } from '../harness/property.js';
import { loadModule, type BundleModule } from './load.js';

/**
 * Every IR leaf kind (the shared escaping property test covers `str` and `glob` only), on values
 * chosen around the edges the semantics defines: numbers against decimal strings, timestamps and
 * their parts, both address families, booleans as text, empty and missing fields, arrays, nesting.
 */
const field = fc.constantFrom('F', 'G', 'a.b');
const cs = fc.constantFrom<'ci' | 'cs'>('ci', 'cs');
const strOp = fc.constantFrom('eq' as const, 'prefix' as const, 'suffix' as const, 'contains' as const);
const text = fc.constantFrom('abc', 'ABC', 'b', '', 'Σ', '4688', '1.5', 'true', '10.1.2.3');
const token: fc.Arbitrary<GlobToken> = fc.oneof(text, fc.constantFrom<GlobToken>({ wildcard: '*' }, { wildcard: '?' }));

const CIDRS = [
  [4, '10.0.0.0', 8],
  [4, '192.168.1.0', 24],
  [4, '0.0.0.0', 0],
  [6, '::1', 128],
  [6, 'fe80::', 10],
  [6, '2001:db8::', 32],
] as const;

const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ kind: fc.constant('str' as const), field, op: strOp, value: text, case: cs }),
  fc.record({ kind: fc.constant('glob' as const), field, pattern: fc.array(token, { minLength: 1, maxLength: 3 }), case: cs }),
  fc.record({ kind: fc.constant('regex' as const), field, pattern: fc.constantFrom('^a', 'b.c', '\\d+$', 'x|Σ', '(?:ab)+', '[a-c]{2}', '^$', '^1\\.5'), flags: fc.constantFrom('', 'i', 'm', 's', 'ims') }),
  fc.constantFrom(...CIDRS).chain(([family, network, prefix]) => fc.record({ kind: fc.constant('cidr' as const), field, family: fc.constant(family), network: fc.constant(network), prefix: fc.constant(prefix) })),
  fc.record({ kind: fc.constant('num' as const), field, op: fc.constantFrom('eq' as const, 'lt' as const, 'lte' as const, 'gt' as const, 'gte' as const), value: fc.constantFrom(-1, 0, 1, 1.5, 4688, 2024) }),
  fc.record(
    {
      kind: fc.constant('num' as const),
      field,
      op: fc.constantFrom('eq' as const, 'lt' as const, 'gte' as const),
      value: fc.constantFrom(0, 1, 5, 18, 22, 31, 53, 2024),
      part: fc.constantFrom('minute' as const, 'hour' as const, 'day' as const, 'week' as const, 'month' as const, 'year' as const),
    },
  ),
  fc
    .record({ kind: fc.constant('num' as const), field, op: fc.constantFrom('eq' as const, 'lt' as const, 'gte' as const), exact: fc.constantFrom('9007199254740993', '-12345678901234567890') })
    .map((n): Node => ({ ...n, value: Number(n.exact) })),
  fc.record({ kind: fc.constant('bool' as const), field, value: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('exists' as const, 'null' as const), field }),
  fc.record({ kind: fc.constant('fieldref' as const), field, op: strOp, other: field, case: cs }),
  fc.record({ kind: fc.constant('keyword' as const), pattern: fc.array(token, { minLength: 1, maxLength: 3 }), case: cs }),
  fc.record({ kind: fc.constant('has' as const), field, value: fc.constantFrom('abc', 'ABC', 'b', '1', '10.1', '4688', 'a-b', '.5', 'Σb'), case: cs }),
);

const node: fc.Arbitrary<Node> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: leaf.map((child): Node => ({ kind: 'not', child })) },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 2, maxLength: 4 }).map((children): Node => ({ kind: 'or', children })) },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 2, maxLength: 3 }).map((children): Node => ({ kind: 'and', children })) },
);

const scalar = fc.oneof(
  text,
  fc.constantFrom(-1, 0, 1, 1.5, 4688, 4689, 2024, true, false, null),
  fc.constantFrom(9007199254740992, '9007199254740993', '9007199254740993.5', '9007199254740992', '-12345678901234567890', '-12345678901234567891.0'),
  fc.constantFrom('04688', ' 1', '-1', '1e3', '0x10', 'TRUE', 'False', '192.168.1.77', '10.0.0.256', '::1', 'fe80::1%eth0', '::ffff:10.0.0.1', '2001:db8::5'),
  fc.constantFrom('x abc-1', 'abcd', 'a-b c', 'xa-b', 'é1.5é', 'ΣB_abc', '10.1.2', '110.1'),
  fc.constantFrom('2024-05-01T22:10:03.123Z', '2024-12-31 23:59:59', '2021-01-04T00:00:00+02:00', '2024-02-29T05:00:00-05:30', '2024-13-01 00:00:00'),
);
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) });
const event = fc.record({ F: value, G: value, a: fc.oneof(value, fc.record({ b: value }, { requiredKeys: [] })), 'a.b': value }, { requiredKeys: [] });

describe('ts target: every leaf kind gives the evaluator verdict', () => {
  it('on edge values (batches of rules in one bundle)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(node, fc.array(event, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 25 }), (cases) => {
        const bundle = loadModule<BundleModule>(generateBundle(cases.map(([ir]) => propertyInput(ir))));
        cases.forEach(([ir, events], i) => {
          const m = compileNode(ir);
          for (const e of events) expect(bundle.rules[i]!.match(e), JSON.stringify({ ir, e })).toBe(m(new EventView(e)));
        });
      }),
      { numRuns: 300 },
    );
  }, 300_000);
});
