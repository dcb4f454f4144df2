import { describe, expect, it } from 'vitest';
import { equivalenceCases } from '../harness/equivalence.js';

/**
 * The harness proves nothing for a rule whose fixtures all give the same verdict: every rule in
 * rules/ must see at least one matching and one non-matching event.
 */
describe('equivalence fixtures', () => {
  const cases = equivalenceCases();

  it('give every rule both verdicts', () => {
    const byRule = new Map<string, Set<boolean>>();
    for (const c of cases) {
      const s = byRule.get(c.rule) ?? new Set<boolean>();
      s.add(c.expected);
      byRule.set(c.rule, s);
    }
    const weak = [...byRule].filter(([, s]) => s.size < 2).map(([r, s]) => `${r}: only ${[...s].join()}`);
    expect(weak).toEqual([]);
    expect(byRule.size).toBeGreaterThanOrEqual(8);
  });

  it('agree with the inline tests of each rule', () => {
    const wrong = cases
      .filter((c) => c.fixture.source.includes('#test-'))
      .filter((c) => {
        const n = Number(c.fixture.source.split('#test-')[1]) - 1;
        return c.input.rule.tests[n]!.match !== c.expected;
      })
      .map((c) => `${c.fixture.source} (${c.fixture.note})`);
    expect(wrong).toEqual([]);
  });
});
