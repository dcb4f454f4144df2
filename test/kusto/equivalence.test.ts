import { describe, expect, it } from 'vitest';
import { equivalenceCases, runEquivalence } from '../harness/equivalence.js';
import { kustoBackend } from './backend.js';

/**
 * Every rule of rules/ against every fixture event of its log source: the emitted KQL, parsed by
 * Kusto.Language and interpreted over the row each platform stores, must give the evaluator's verdict.
 */
describe('Kusto equivalence with the evaluator', () => {
  const cases = equivalenceCases();

  for (const platform of ['sentinel', 'defender-xdr']) {
    it(`kusto/${platform}: every compiled rule agrees on every fixture`, () => {
      const backend = kustoBackend(platform);
      const mismatches = runEquivalence(backend, cases).filter((m) => !String(m.backend).startsWith('did not compile'));
      expect(mismatches).toEqual([]);
    }, 60_000);
  }

  it('the fixtures exercise both verdicts for the compiled rules', () => {
    const backend = kustoBackend('sentinel');
    const compiled = cases.filter((c) => backend.compile(c.input).ok);
    expect(compiled.some((c) => c.expected)).toBe(true);
    expect(compiled.some((c) => !c.expected)).toBe(true);
  });
});
