import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { GlobToken, Node } from '../../src/ir/types.js';
import type { CompileInput } from '../../src/targets/types.js';
import { hasAndEvent, nastyChar, propertyInput, TERM_EDGE } from '../harness/property.js';
import { kustoBackend, verdicts } from './backend.js';

/**
 * The leaf kinds the shared generator does not build (keyword, num, cidr, bool, exists, null,
 * fieldref), on a Windows System-log rule: Sentinel reads every field from WindowsEvent's EventData
 * bag, so text, numbers and booleans go through `tostring()` and keywords through the bag's values.
 */
const FIELDS = ['A', 'B'] as const;
const field = fc.constantFrom(...FIELDS);
const word = fc.array(nastyChar, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
const VALUES: unknown[] = ['4688', '04688', '4688.0', '-0', '0', '1.5', ' 5', '1e3', 'abc', '', '9007199254740993', '9007199254740993.0', '9007199254740992', 9007199254740992, '-12345678901234567890', '-12345678901234567000', 'true', 'TRUE', 'false', 4688, 0, -1.5, true, false, null,
  '10.1.2.3', '010.1.2.3', '10.1.2.3/8', '192.168.1.1', 'fe80::1', 'fe80::1%eth0', '::ffff:10.1.2.3', '1::2::3', 'FE80:0:0:0:0:0:0:1', '2001:db8::'];

const keyword: fc.Arbitrary<Node> = fc
  .tuple(fc.array(fc.oneof(word, fc.constantFrom<GlobToken>({ wildcard: '*' }, { wildcard: '?' })), { minLength: 1, maxLength: 3 }), fc.constantFrom<'ci' | 'cs'>('ci', 'cs'))
  .map(([toks, c]) => {
    const pattern: GlobToken[] = [];
    for (const t of toks) {
      const last = pattern[pattern.length - 1];
      if (typeof t === 'string' && typeof last === 'string') pattern[pattern.length - 1] = last + t;
      else pattern.push(t);
    }
    while (pattern.length && typeof pattern[0] !== 'string' && pattern[0]!.wildcard === '*') pattern.shift();
    while (pattern.length && typeof pattern[pattern.length - 1] !== 'string' && (pattern[pattern.length - 1] as { wildcard: string }).wildcard === '*') pattern.pop();
    return { kind: 'keyword', pattern: pattern.length ? pattern : ['x'], case: c } as Node;
  });

const leaf: fc.Arbitrary<Node> = fc.oneof(
  keyword,
  fc.record({ kind: fc.constant('num' as const), field, op: fc.constantFrom('eq' as const, 'lt' as const, 'gte' as const), value: fc.constantFrom(4688, 0, 5, -1.5, 1.5, 1000) }),
  // integers beyond 2^53: on text, equality is the exact decimal texts (ordering is refused on text)
  fc.record({ kind: fc.constant('num' as const), field, op: fc.constant('eq' as const), exact: fc.constantFrom('9007199254740993', '-12345678901234567890') }).map((n): Node => ({ ...n, value: Number(n.exact) })),
  fc.record({ kind: fc.constant('bool' as const), field, value: fc.boolean() }),
  fc.record({ kind: fc.constant('exists' as const), field }),
  fc.record({ kind: fc.constant('null' as const), field }),
  fc.record({ kind: fc.constant('fieldref' as const), field, op: fc.constantFrom('eq' as const, 'contains' as const), other: fc.constant('B'), case: fc.constantFrom<'ci' | 'cs'>('ci', 'cs') }),
  fc.constantFrom<Node>(
    { kind: 'cidr', field: 'A', family: 4, network: '10.0.0.0', prefix: 8 },
    { kind: 'cidr', field: 'A', family: 6, network: 'fe80::', prefix: 10 },
    { kind: 'cidr', field: 'B', family: 6, network: '::ffff:0.0.0.0', prefix: 96 },
  ),
);

const ir: fc.Arbitrary<Node> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: leaf.map((child): Node => ({ kind: 'not', child })) },
  { weight: 1, arbitrary: fc.tuple(leaf, leaf).map(([a, b]): Node => ({ kind: 'or', children: [a, b] })) },
);

const value = fc.oneof(fc.constantFrom(...VALUES), fc.array(nastyChar, { maxLength: 5 }).map((a) => a.join('')));
// Every event of the System log has its channel, which the platform stores and keywords search.
const event = fc.record({ A: value, B: value, C: value }, { requiredKeys: [] }).map((e) => ({ ...e, Channel: 'System' }));

const inputOf = (node: Node): CompileInput => propertyInput(node, { product: 'windows', service: 'system' });

describe('Kusto on every leaf kind, property-based', () => {
  it('keyword, num, bool, exists, null, fieldref and cidr leaves agree with the evaluator on WindowsEvent', async () => {
    const backend = kustoBackend('sentinel');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(ir, event, async (node, ev) => {
        if (++n % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
        const v = verdicts(backend, inputOf(node), ev)!;
        return v.got === v.expected;
      }),
      { numRuns: 3000 },
    );
  }, 300_000);
});

describe('Kusto term matches (has), property-based', () => {
  // The Kelvin sign, the long s and final sigma are documented residual differences of KQL's folding
  // (docs/targets/kusto.md); a process event's fields are strings, not arrays.
  const alphabet = TERM_EDGE.filter((c) => c !== '\u212a' && c !== 'ſ' && c !== 'ς');
  for (const platform of ['sentinel', 'defender-xdr'] as const) {
    it(`has / has_cs agree with the evaluator at term and case edges (${platform})`, async () => {
      const backend = kustoBackend(platform);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(hasAndEvent(alphabet, false), async ([node, ev]) => {
          if (++n % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
          const v = verdicts(backend, propertyInput(node), ev);
          return v ? v.got === v.expected : fc.pre(false);
        }),
        { numRuns: 1500 },
      );
    }, 300_000);
  }
});
