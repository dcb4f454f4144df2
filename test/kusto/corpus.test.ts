import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection } from '../../src/collection/load.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import type { DetectionRule } from '../../src/model/types.js';
import { kustoMapping, logSourceName } from '../../src/targets/kusto/mapping.js';
import { kustoTarget } from '../../src/targets/kusto/target.js';
import { KustoAnalyzer } from '../../src/targets/kusto/validate.js';
import type { CompileInput, CompileResult } from '../../src/targets/types.js';
import { corpusTable, END, START, type Outcome } from '../../scripts/kusto-corpus-table.mjs';
import { SIGMAHQ } from '../helpers/corpus.js';

const DOC = new URL('../../docs/targets/kusto.md', import.meta.url);
const PLATFORMS = ['sentinel', 'defender-xdr'] as const;

/**
 * The whole SigmaHQ corpus for both platforms: every emitted query passes Kusto.Language analysis
 * against the platform's table schemas, at least 95% of the rules compile for one platform, the
 * rest fail with a reason, and docs/targets/kusto.md shows the current figures (npm run kusto:corpus).
 */
describe.skipIf(!existsSync(SIGMAHQ))('SigmaHQ corpus on Kusto', () => {
  let inputs: CompileInput[] = [];
  const results = new Map<string, CompileResult[]>();
  const yieldNow = () => new Promise((resolve) => setImmediate(resolve));

  beforeAll(async () => {
    const { rules } = loadCollection([SIGMAHQ]);
    await yieldNow();
    inputs = [...effectiveIr(rules)].map(([l, ir]) => ({ path: l.path, rule: l.rule as DetectionRule, ir }));
    for (const p of PLATFORMS) {
      const opts = { platform: p, format: 'query', mapping: loadPlatformMapping('kusto', p) };
      const out: CompileResult[] = [];
      for (const i of inputs) {
        if (out.length % 500 === 0) await yieldNow();
        out.push(kustoTarget.compile(i, opts));
      }
      results.set(p, out);
    }
  }, 300_000);

  it('at least 95% of the rules compile for Sentinel', () => {
    const ok = results.get('sentinel')!.filter((r) => r.ok).length;
    expect(ok / inputs.length).toBeGreaterThanOrEqual(0.95);
  });

  it('every rule that does not compile says why, naming what is missing or inexpressible', () => {
    for (const p of PLATFORMS) {
      for (const r of results.get(p)!) {
        if (r.ok) continue;
        expect(['mapping', 'unsupported']).toContain(r.kind);
        expect(r.error).toMatch(/log source|field|keyword|regex|cannot|needs/);
      }
    }
  });

  for (const p of PLATFORMS) {
    it(`every emitted ${p} query passes Kusto.Language analysis`, async () => {
      const m = kustoMapping(loadPlatformMapping('kusto', p), p);
      const used = new Set(m.logsources.flatMap((l) => l.views.map((v) => v.table)));
      const analyzer = new KustoAnalyzer(new Map([...m.tables].filter(([t]) => used.has(t))));
      const bad: string[] = [];
      const res = results.get(p)!;
      for (let i = 0; i < res.length; i++) {
        const r = res[i]!;
        // Analysis is synchronous and slow (~15 ms a query): let the test runner's heartbeat through.
        if (i % 50 === 0) await yieldNow();
        if (!r.ok) continue;
        const diags = analyzer.analyze(r.query);
        if (diags.length) bad.push(`${inputs[i]!.path}: ${diags.map((d) => `${d.code} ${d.message}`).join('; ')}`);
      }
      expect(bad).toEqual([]);
      expect(res.filter((r) => r.ok).length).toBeGreaterThan(1000);
    }, 600_000);
  }

  it('docs/targets/kusto.md has the current corpus table (npm run kusto:corpus)', () => {
    const outcomes: Outcome[] = inputs.map((input, i) => {
      const s = results.get('sentinel')![i]!;
      const d = results.get('defender-xdr')![i]!;
      return {
        path: input.path,
        logsource: logSourceName(input.rule.logsource),
            sentinel: s.ok ? { ok: true, source: s.source } : { ok: false, error: s.error },
        defender: d.ok ? { ok: true } : { ok: false, error: d.error },
      };
    });
    const doc = readFileSync(DOC, 'utf8');
    const committed = doc.slice(doc.indexOf(START), doc.indexOf(END) + END.length);
    expect(committed).toBe(corpusTable(outcomes));
  });
});
