import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importKusto } from '../../src/import/kusto/index.js';
import { roundTrip, type RoundTripReport } from './roundtrip.js';

/**
 * The public Sentinel corpus (../shared/sentinel-kql): every rule `rulec import --from kusto`
 * imports, in either field mode, must round-trip on the harness (issue 13: 100% of imports
 * equivalent) over at least RUNS events; in sigma mode the events carry Sigma fields, stored in
 * the table as the mapping says. An import the harness cannot verify (an original the test
 * interpreter cannot run, a rule that does not load) fails the test as a disagreement does: 100%
 * means every import, not every import the interpreter happens to model. The counts per class are
 * printed for the closing note.
 */

const CORPUS = new URL('../../../shared/sentinel-kql/', import.meta.url);
const RUNS = Number(process.env.RULEC_ROUNDTRIP_RUNS ?? 1000);
/** The values a deployment gives a placeholder, in the original query and to the rule alike. */
const DEPLOYED = ['alice@contoso.com', 'svc-admin'];

describe('Sentinel corpus round trip', () => {
  it.each(['native', 'sigma'] as const)('every rule imported with --fields %s agrees with its original query and the evaluator', async (fields) => {
    const rows = readFileSync(new URL('index.tsv', CORPUS), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    const byClass = new Map<string, { rules: number; imported: number; equivalent: number }>();
    const failures: string[] = [];
    const unverified: string[] = [];
    const checked: (RoundTripReport & { file: string })[] = [];
    const oneVerdict: string[] = [];
    const short: string[] = [];
    for (const [split, file, , , , cls] of rows) {
      // The rules run for most of a minute in all: let the worker answer vitest between them (a
      // worker busy for over a minute fails the run with "Timeout calling onTaskUpdate").
      await new Promise((r) => setImmediate(r));
      const c = byClass.get(cls!) ?? { rules: 0, imported: 0, equivalent: 0 };
      byClass.set(cls!, c);
      c.rules++;
      const text = readFileSync(new URL(`${split}/${file}`, CORPUS), 'utf8');
      const r = importKusto(file!, text, { fields });
      if (!r.ok) continue;
      c.imported++;
      const query = (/^query:\s*\|-?\s*\n((?:[ \t]+.*\n|\s*\n)+)/m.exec(text.replace(/\r\n/g, '\n'))?.[1] ?? '').replace(/^ {2}/gm, '');
      // An empty list of the query is a placeholder of the import: both get the same deployment values.
      let kql = query;
      const placeholders: Record<string, string[]> = {};
      for (const [, name] of r.rule.matchAll(/'%(\w+)%'/g)) {
        const empty = new RegExp(`(let\\s+${name}\\s*=\\s*dynamic\\(\\[)(\\s*\\])`);
        if (!empty.test(kql)) continue;
        placeholders[name!] = DEPLOYED;
        kql = kql.replace(empty, `$1${DEPLOYED.map((v) => JSON.stringify(v)).join(', ')}$2`);
      }
      try {
        const rt = roundTrip({ name: file!, kql, rule: r.rule, platform: 'sentinel', placeholders }, RUNS);
        const d = rt.disagreement;
        // An original the interpreter cannot run is no verdict: counted apart, with the construct.
        if (d && (typeof d.original === 'string' || typeof d.built === 'string')) unverified.push(`${file}: ${typeof d.original === 'string' ? `original: ${d.original}` : `built: ${String(d.built)}`}`);
        else if (d) failures.push(`${file}: ${JSON.stringify(d)}\n${rt.built}`);
        else {
          c.equivalent++;
          checked.push({ ...rt, file: file! });
          if (rt.events < RUNS) short.push(`${file}: ${rt.events} events (${rt.skipped} the platform cannot store)`);
          if (rt.selected === 0 || rt.rejected === 0) oneVerdict.push(`${file} (${rt.selected} selected, ${rt.rejected} not)`);
        }
      } catch (e) {
        unverified.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    console.log(`--fields ${fields}\n` + [...byClass].map(([k, v]) => `${k}: ${v.rules} rules, ${v.imported} imported, ${v.equivalent} round-trip equivalent`).join('\n'));
    const fewest = (k: 'selected' | 'rejected') => checked.reduce((a, r) => (r[k] < a[k] ? r : a), checked[0]!);
    console.log(
      `equivalent imports: at least ${Math.min(...checked.map((r) => r.events))} events each; ${checked.filter((r) => r.selected > 0 && r.rejected > 0).length} of ${checked.length} reached both verdicts` +
        `${oneVerdict.length ? `; one verdict only: ${oneVerdict.join(', ')}` : ''}; fewest selected ${fewest('selected').selected} (${fewest('selected').file}), fewest rejected ${fewest('rejected').rejected} (${fewest('rejected').file})`,
    );
    if (unverified.length) console.log(`imported but not verified (the interpreter cannot run the original, or the rule does not load):\n${unverified.join('\n')}`);
    if (failures.length) console.log(failures.join('\n\n'));
    expect(failures).toEqual([]);
    expect(unverified).toEqual([]);
    // Events the platform cannot store are no verdict: every rule still has RUNS verdicts.
    expect(short).toEqual([]);
    // A rule whose events all get one verdict proves nothing about the other: the generator draws
    // each rule's own literals so that both happen (the fewest are printed above, over 10 in 1,000
    // events; a quick run with fewer events may see none).
    if (RUNS >= 1000) expect(oneVerdict).toEqual([]);
    expect(checked.length).toBe([...byClass.values()].reduce((n, c) => n + c.imported, 0));
    // The floors of today: fewer imports would be fewer rules proven (corpus.test.ts keeps native's 26).
    expect(byClass.get('single')!.imported).toBeGreaterThanOrEqual(fields === 'native' ? 26 : 7);
  }, 600_000);
});
