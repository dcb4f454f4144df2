import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { KustoAnalyzer, parseKql } from '../../src/targets/kusto/validate.js';
import { RULES_DIR } from '../harness/equivalence.js';

/**
 * The Kusto.Language adapter: the one place that calls the library's generated API. A wrong
 * constructor name fails silently (no tables, so no errors at all), so the tests check that errors
 * are found, not only that good queries pass.
 */
describe('Kusto.Language adapter', { timeout: 60_000 }, () => {
  const analyzer = new KustoAnalyzer(
    new Map([
      ['T', new Map([['TimeGenerated', 'datetime'], ['Name', 'string'], ['Port', 'int'], ['Odd-Name', 'string'], ['Bag', 'dynamic']] as const)],
    ]),
  );

  it('accepts a query over the declared columns, including a quoted one', () => {
    expect(analyzer.analyze(`T | where TimeGenerated > ago(1h) | where Name =~ "x" and Port > 5 and ['Odd-Name'] contains "y" | extend V = tostring(Bag.k)`)).toEqual([]);
  });

  it('reports unknown columns and tables, type errors and syntax errors with their codes and offsets', () => {
    const unknownColumn = analyzer.analyze('T | where Nope == 1');
    expect(unknownColumn.map((d) => d.code)).toEqual(['KS142']);
    expect(unknownColumn[0]!.start).toBe(10);
    expect(analyzer.analyze('Nope | take 1').map((d) => d.code)).toEqual(['KS204']);
    expect(analyzer.analyze('T | where Port =~ false').length).toBeGreaterThan(0);
    expect(analyzer.analyze('T | where Name == "a\\*b"').length).toBeGreaterThan(0);
  });

  it('reports the result columns of a query', () => {
    expect([...analyzer.resultColumns('T | extend X = 1').keys()]).toEqual(['TimeGenerated', 'Name', 'Port', 'Odd-Name', 'Bag', 'X']);
  });

  it('parses to a plain tree with decoded literal values', () => {
    const { root, diagnostics } = parseKql('print x = @"a\\b"');
    expect(diagnostics).toEqual([]);
    expect(JSON.stringify(root)).toContain('"kind":"StringLiteralToken","text":"@\\"a\\\\b\\"","valueText":"a\\\\b"');
  });
});

describe('build --validate with a pinned data source', { timeout: 120_000 }, () => {
  // The corpus test analyzes the default candidates; the pinned ones read other tables and parsers
  // (SecurityEvent 4688, WindowsEvent, _Im_ProcessCreate...), whose queries must analyze too.
  it('every query of rules/ read from each source analyzes against the schemas', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-kpin-'));
    for (const source of ['security-event', 'sysmon', 'asim', 'defender']) {
      const pin = join(dir, `${source}.yml`);
      writeFileSync(pin, `source: ${source}\n`);
      const records: { ok: boolean; kind?: string; source?: { name?: string } }[] = [];
      const io = { out: () => {}, err: () => {}, json: (o: unknown) => records.push(o as (typeof records)[number]) };
      await main(['build', '--target', 'kusto', '--json', '--validate', '--skip-unsupported', '--mapping', pin, '--', RULES_DIR], io);
      expect(records.filter((r) => r.kind === 'invalid'), source).toEqual([]);
      expect(records.filter((r) => r.ok).length, source).toBeGreaterThanOrEqual(3);
      expect(records.filter((r) => r.ok).every((r) => r.source?.name === source), source).toBe(true);
    }
  });
});
