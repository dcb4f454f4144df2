import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection } from '../../src/collection/load.js';
import type { DetectionRule } from '../../src/model/types.js';
import { platformOf, type Platform } from '../../src/targets/eql/mapping.js';
import { checkEql } from '../../src/targets/eql/parser.js';
import { corpusReport, reportMarkdown } from '../../src/targets/eql/report.js';
import { compileEql } from '../../src/targets/eql/target.js';
import { SIGMAHQ } from '../helpers/corpus.js';

const DOC = new URL('../../docs/targets/eql.md', import.meta.url).pathname;

describe.skipIf(!existsSync(SIGMAHQ))('SigmaHQ corpus on EQL', () => {
  const report = corpusReport(SIGMAHQ);

  it('every emitted query validates with our EQL parser', () => {
    expect(report.outcomes.filter((o) => o.invalid).map((o) => `${o.path}: ${o.invalid!.join('; ')}`)).toEqual([]);
  });

  it('the default platform ecs converts at least 99% of the rules without a keyword selection (acceptance: 90%), routing each to the platform its log source calls for', () => {
    expect(report.plain.total).toBeGreaterThan(3000);
    expect(report.plain.ok / report.plain.total).toBeGreaterThanOrEqual(0.99);
  });

  it('refuses keyword selections with the keyword reason (counted apart)', () => {
    expect(report.keyword.total).toBeGreaterThan(50);
    const kw = report.outcomes.filter((o) => o.keyword);
    expect(kw.filter((o) => o.ok)).toEqual([]);
    for (const o of kw) expect(o.error, o.path).toMatch(/keyword \(field-less\) search|compares two fields|has no mapping/);
  });

  it('every failure is one of the documented kinds of refusal, never an internal error', () => {
    for (const o of report.outcomes.filter((x) => !x.ok)) {
      expect(o.error, o.path).toMatch(/compares two fields|keyword \(field-less\)|is an ip field|is a boolean field|has no mapping|IPv6 network|word boundaries|timestamp|regular expression/);
    }
  });

  it('docs/targets/eql.md lists the current figures and failures (regenerate with npm run report:eql)', () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(doc).toContain(reportMarkdown(report, '`../shared/sigmahq/rules`'));
  });

  it('web server, proxy, DNS and firewall rules go to ECS data (ecs-network), not to raw documents', () => {
    const network = report.outcomes.filter((o) => /^(web\/(proxy|webserver)_generic|network\/(dns|firewall))\//.test(o.path));
    expect(network.length).toBeGreaterThan(40);
    for (const o of network) expect(o.platform, o.path).toBe('ecs-network');
    expect(report.byPlatform.get('ecs-network')!.ok).toBeGreaterThan(35);
  });

  it('the per-OS platform ecs-windows still emits only valid queries for the whole corpus, and mapping failures for other products', () => {
    const mapping = loadPlatformMapping('eql', 'ecs-windows');
    const platform = platformOf('ecs-windows', mapping) as Platform;
    const { rules } = loadCollection([SIGMAHQ]);
    const invalid: string[] = [];
    for (const [loaded, ir] of effectiveIr(rules)) {
      const rule = loaded.rule as DetectionRule;
      const r = compileEql({ path: loaded.path, rule, ir }, { platform: 'ecs-windows', format: 'query', mapping });
      if (r.ok) {
        const d = checkEql(r.query, { knows: (f) => platform.knows(f) }).diagnostics;
        if (d.length) invalid.push(`${loaded.path}: ${d[0]!.message}`);
      } else if (rule.logsource.product !== 'windows') {
        expect(r.kind, loaded.path).toBe('mapping');
      }
    }
    expect(invalid).toEqual([]);
  }, 60_000);
});
