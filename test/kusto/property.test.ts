import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileNode, EventView } from '../../src/eval/index.js';
import { PROPERTY_RUNS, propertyInput, ruleAndEvent } from '../harness/property.js';
import { kustoBackend, verdicts } from './backend.js';

/**
 * Rules built from literals full of quotes, backslashes, wildcards, newlines, NUL and non-ASCII:
 * the emitted KQL must parse cleanly with Kusto.Language and interpret to the evaluator's verdict.
 * process_creation reads Defender's table (User joined from AccountDomain and AccountName); an
 * event whose User no account could have (`DOMAIN\`, `\name`) is not generated as a row.
 */
describe('Kusto escaping and matching, property-based', () => {
  for (const [platform, runs] of [
    ['sentinel', PROPERTY_RUNS],
    ['defender-xdr', Math.ceil(PROPERTY_RUNS / 5)],
  ] as const) {
    it(`kusto/${platform}: ${runs} generated rules and events`, async () => {
      const backend = kustoBackend(platform);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(ruleAndEvent, async ([ir, event]) => {
          // Long synchronous runs starve the test runner's heartbeat: yield now and then.
          if (++n % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
          const v = verdicts(backend, propertyInput(ir), event);
          return v ? v.got === v.expected : fc.pre(false);
        }),
        { numRuns: runs },
      );
    }, 300_000);
  }

  it('the generator reaches both verdicts and the regex route for control characters', () => {
    const backend = kustoBackend('sentinel');
    const seen = { match: 0, miss: 0, regexRoute: 0 };
    fc.assert(
      fc.property(ruleAndEvent, ([ir, event]) => {
        const r = backend.compile(propertyInput(ir));
        if (r.ok && /matches regex/.test(r.query)) seen.regexRoute++;
        if (compileNode(ir)(new EventView(event))) seen.match++;
        else seen.miss++;
      }),
      { numRuns: 2000 },
    );
    expect(seen.match).toBeGreaterThan(100);
    expect(seen.miss).toBeGreaterThan(100);
    expect(seen.regexRoute).toBeGreaterThan(100);
  });
});
