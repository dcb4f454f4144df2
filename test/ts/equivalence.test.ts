import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import { fieldMap } from '../../src/targets/ts/target.js';
import { tsTarget } from '../../src/targets/ts/target.js';
import type { Node } from '../../src/ir/types.js';
import type { CompileInput, TargetOptions } from '../../src/targets/types.js';
import { equivalenceCases, runEquivalence } from '../harness/equivalence.js';
import { PROPERTY_RUNS, propertyInput, ruleAndEvent } from '../harness/property.js';
import { loadModule, type RuleModule } from './load.js';
import { SLOW } from './typescript.js';

const opts: TargetOptions = { platform: 'node', format: 'module', mapping: loadPlatformMapping('ts', 'node') };

/** The event as the module reads it: each Sigma field under the name the platform mapping gives it. */
function stored(event: Record<string, unknown>): Record<string, unknown> {
  const rename = fieldMap(opts.mapping);
  return Object.fromEntries(Object.entries(event).map(([k, v]) => [rename(k), v]));
}

describe('ts target: equivalence with the evaluator', { timeout: SLOW }, () => {
  it('every rule of rules/ on every fixture event of its log source', () => {
    const cases = equivalenceCases();
    // the harness must exercise both verdicts, else agreement proves little
    expect(cases.length).toBeGreaterThan(100);
    expect(cases.filter((c) => c.expected).length).toBeGreaterThan(20);
    const modules = new Map<string, RuleModule>();
    const mismatches = runEquivalence(
      {
        name: 'ts/node',
        compile: (input: CompileInput) => tsTarget.compile(input, opts),
        verdict(query, fixture) {
          const m = modules.get(query) ?? loadModule<RuleModule>(query);
          modules.set(query, m);
          return m.match(stored(fixture.event));
        },
      },
      cases,
    );
    expect(mismatches).toEqual([]);
  });

  // Found by the property test: ts-morph's writer lexed our text and took the backtick of a regex
  // literal for a template string, then `/*` in a later string for a comment.
  it('literals that look like template strings or comments to a lexer stay literals', () => {
    const hostile = ['`"', '`/*', '*/', '${x}`', "\\'", '//', '/*`*/'];
    for (const a of hostile) {
      for (const b of hostile) {
        const ir: Node = {
          kind: 'or',
          children: [
            { kind: 'glob', field: 'CommandLine', pattern: [a, { wildcard: '*' }], case: 'ci' },
            { kind: 'str', field: 'CommandLine', op: 'eq', value: b, case: 'cs' },
          ],
        };
        const r = tsTarget.compile(propertyInput(ir), opts);
        if (!r.ok) throw new Error(r.error);
        const m = loadModule(r.query);
        for (const value of [a + 'tail', b, a, 'other']) {
          const event = { CommandLine: value };
          expect(m.match(stored(event)), `${a} | ${b} on ${value}`).toBe(compileNode(ir)(new EventView(event)));
        }
      }
    }
  });

  it(`escaping: hostile literals give the evaluator's verdict (${PROPERTY_RUNS} cases)`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(ruleAndEvent, async ([ir, event]) => {
        // A long synchronous run starves the test runner's RPC (it times out after 60 s): yield now and then.
        if (++n % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
        const r = tsTarget.compile(propertyInput(ir), opts);
        if (!r.ok) throw new Error(r.error);
        const got = loadModule(r.query).match(stored(event));
        expect(got).toBe(compileNode(ir)(new EventView(event)));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  }, 600_000);
});
