/**
 * The public Sentinel corpus (../shared/sentinel-kql/dev, MIT): every file imports in native mode
 * without a crash, every refusal names a construct and its line:col, the `single` class keeps its
 * imports, and every import builds back to Kusto (`npm run report:import` prints the figures).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/collection/load.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { importKusto, type ImportResult } from '../../src/import/kusto/index.js';
import type { DetectionRule } from '../../src/model/types.js';
import { kustoTarget } from '../../src/targets/kusto/target.js';

const CORPUS = new URL('../../../shared/sentinel-kql/', import.meta.url).pathname;
const classes = new Map(
  readFileSync(join(CORPUS, 'index.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((c) => c.length >= 6)
    .map((c) => [c[1]!, c[5]!]),
);

describe('the Sentinel corpus', { timeout: 300_000 }, () => {
  const results = new Map<string, ImportResult>();

  it('imports every file without a crash, and names the construct and its line:col of every refusal', () => {
    const files = readdirSync(join(CORPUS, 'dev')).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBe(248);
    const crashes: string[] = [];
    for (const f of files) {
      const path = join(CORPUS, 'dev', f);
      try {
        results.set(f, importKusto(path, readFileSync(path, 'utf8'), { fields: 'native' }));
      } catch (e) {
        crashes.push(`${f}: ${(e as Error).message}`);
      }
    }
    expect(crashes).toEqual([]);
    const unnamed = [...results].filter(([, r]) => !r.ok && (!r.construct || !/\d+:\d+/.test(r.error))).map(([f, r]) => `${f}: ${(r as { error: string }).error}`);
    expect(unnamed).toEqual([]);
  });

  it('imports at least the 26 of the 43 single-table rules it imports today (60%: the bar of issue 13)', () => {
    const single = [...results].filter(([f]) => classes.get(f) === 'single');
    expect(single.length).toBe(43);
    expect(single.filter(([, r]) => r.ok).length).toBeGreaterThanOrEqual(26);
  });

  it('every import builds back to KQL on its platform (a placeholder list waits for its values)', () => {
    const failures: string[] = [];
    for (const [f, r] of results) {
      if (!r.ok) continue;
      const [l] = loadText(f, r.rule);
      if (!l?.ir) {
        if (!l?.unfilled?.length) failures.push(`${f}: ${JSON.stringify(l?.diagnostics)}`);
        continue;
      }
      const rule = l.rule as DetectionRule;
      const platform = rule.native!.platform;
      const c = kustoTarget.compile({ path: f, rule, ir: l.ir }, { platform, format: 'query', mapping: loadPlatformMapping('kusto', platform) });
      if (!c.ok) failures.push(`${f}: ${c.error}`);
    }
    expect(failures).toEqual([]);
  });
});
