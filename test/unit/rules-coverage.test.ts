import { describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/collection/load.js';
import { MODIFIERS } from '../../src/lower/lower.js';
import type { Condition } from '../../src/model/types.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const FIXTURE_RULES = new URL('../fixtures/rules', import.meta.url).pathname;

/**
 * rules/ is the project's own showcase: it must stay valid and, with the correlation kept in
 * test/fixtures/rules (not compiled yet), use every modifier and condition form.
 */
describe('rules/', () => {
  const { rules } = loadCollection([RULES, FIXTURE_RULES]);

  it('every rule is valid', () => {
    const bad = rules.filter((r) => r.diagnostics.some((d) => d.severity === 'error')).map((r) => `${r.path}: ${JSON.stringify(r.diagnostics)}`);
    expect(bad).toEqual([]);
  });

  it('uses every modifier', () => {
    const used = new Set<string>();
    for (const r of rules) {
      const rule = r.rule;
      const det = rule?.kind === 'detection' ? rule.detection : rule?.kind === 'filter' ? rule.filter.detection : undefined;
      for (const s of det?.searches.values() ?? []) {
        const items = s.kind === 'keywords' ? [s.item] : s.maps.flat();
        for (const i of items) for (const m of i.modifiers) used.add(m.name);
      }
    }
    // The long regex flag names are synonyms of i, m, s.
    const required = MODIFIERS.filter((m) => !['ignorecase', 'multiline', 'dotall'].includes(m));
    expect(required.filter((m) => !used.has(m))).toEqual([]);
  });

  it('uses every condition form', () => {
    const forms = new Set<string>();
    const walk = (c: Condition): void => {
      forms.add(c.kind);
      if (c.kind === 'and' || c.kind === 'or') c.children.forEach(walk);
      if (c.kind === 'not') walk(c.child);
      if (c.kind === 'quantified') {
        forms.add(`${c.quantifier} of ${c.pattern === 'them' ? 'them' : c.pattern.includes('*') ? 'pattern' : 'name'}`);
      }
    };
    let lists = 0;
    let parens = 0;
    let anyOf = 0;
    let underscore = 0;
    let keywords = 0;
    let correlations = 0;
    let filters = 0;
    for (const r of rules) {
      if (r.rule?.kind === 'correlation') correlations++;
      if (r.rule?.kind === 'filter') filters++;
      if (r.rule?.kind !== 'detection') continue;
      const d = r.rule.detection;
      d.conditions.forEach(walk);
      if (d.conditions.length > 1) lists++;
      if (d.conditionSource.some((s) => s.includes('('))) parens++;
      if (d.conditionSource.some((s) => /\bany of\b/.test(s))) anyOf++;
      if ([...d.searches.keys()].some((k) => k.startsWith('_'))) underscore++;
      if ([...d.searches.values()].some((s) => s.kind === 'keywords' || s.maps.some((m) => m.some((i) => i.field === null)))) keywords++;
    }
    expect([...forms].sort()).toEqual(
      expect.arrayContaining(['and', 'or', 'not', 'ref', 'one of them', 'one of pattern', 'all of pattern']),
    );
    for (const [k, v] of Object.entries({ lists, parens, anyOf, underscore, keywords, correlations, filters })) expect(v, k).toBeGreaterThan(0);
  });
});
