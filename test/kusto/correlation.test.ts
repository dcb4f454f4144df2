/**
 * Correlation rules on Kusto: the emitted query, run by the tabular KQL interpreter (tabular.ts)
 * over the rows Sentinel would store for a generated, time-ordered stream of Security-log events,
 * selects exactly the hits (group, window end, value) that the evaluator's streaming engine computes
 * (test/helpers/correlation-streams.ts) for the same stream, for every correlation type, with
 * window edges (events exactly one timespan apart, one second more, equal timestamps, repeated
 * events) and interleaved groups made frequent by the generator.
 */
import { describe, expect, it } from 'vitest';
import { loadText, ruleIndex } from '../../src/collection/load.js';
import type { CorrelationRule, DetectionRule } from '../../src/model/types.js';
import { compileKustoQuery, kustoTarget } from '../../src/targets/kusto/target.js';
import type { CompileInput, CorrelationInput } from '../../src/targets/types.js';
import {
  base,
  burst,
  BY_HOST,
  BY_USER,
  CASES as SHARED,
  assertEquivalent,
  RUNS,
  DENSE_CASES,
  denseStream,
  corr,
  correlation,
  isProcess,
  T0,
  type ContractHit,
  type Stream,
} from '../helpers/correlation-streams.js';
import { mappingOf } from './helpers.js';
import { rowFor } from './rows.js';
import { runKql, type Table } from './tabular.js';

const TIMEOUT = 600_000;
const PLATFORM = 'sentinel';
const opts = { platform: PLATFORM, format: 'query', mapping: mappingOf(PLATFORM) };

type Compiled = ReturnType<typeof correlation> & { query: string };

const parsed = new Map<string, Compiled>();

function compiled(yaml: string): Compiled {
  let c = parsed.get(yaml);
  if (c) return c;
  const x = correlation(yaml);
  const r = kustoTarget.compileCorrelation!(x.input, opts);
  if (!r.ok) throw new Error(`did not compile: ${r.error}`);
  parsed.set(yaml, (c = { ...x, query: r.query }));
  return c;
}

function kqlHits(yaml: string, stream: Stream): ContractHit[] {
  const c = compiled(yaml);
  // Each event is stored in the table of the referenced rules of its log source (security or process).
  const tables = new Map<string, Table>();
  const target = (event: Record<string, unknown>): CompileInput => c.bases.find((b) => (b.rule.logsource.category === 'process_creation') === isProcess(event))!;
  for (const b of c.bases) {
    const view = compileKustoQuery(b, opts).view;
    if (!tables.has(view.table)) tables.set(view.table, { columns: [...view.columns.keys()], rows: [] });
  }
  for (const { time, sub, event } of stream) {
    const b = target(event);
    if (!b) continue;
    const view = compileKustoQuery(b, opts).view;
    const { row } = rowFor(event, view, b.rule.logsource, PLATFORM);
    row[view.timeColumn] = { dt: time + sub };
    tables.get(view.table)!.rows.push(row);
  }
  const out = runKql(c.query, tables, T0 + 86_400_000);
  const groups = c.input.rule.correlation.groupBy.map((g) => g.replace(/[^A-Za-z0-9_]/g, '_'));
  return out.rows.map((r) => ({ group: groups.map((g) => r[g] as string), t: (r.WindowEnd as { dt: number }).dt, value: r.Value as number }));
}

function equivalent(yamls: string[]): void {
  assertEquivalent(yamls, compiled, kqlHits);
}

/** The correlations of each property below, in order; the analyzer test reads them all. */
const CASES: string[][] = [
  SHARED.eventCount,
  SHARED.valueCount,
  SHARED.valueSum,
  SHARED.valueAvg,
  [
    corr('value_percentile', ['failed'], `${BY_USER}  condition: {field: LogonType, percentile: 95, gte: 3}\n`),
    corr('value_percentile', ['failed'], `${BY_USER}  condition: {field: LogonType, percentile: 10, lte: 1}\n`),
    corr('value_percentile', ['failed'], `${BY_USER}  condition: {field: IpPort, percentile: 50, gt: 1}\n`),
    corr('value_median', ['failed'], `${BY_USER}  condition: {field: LogonType, gte: 2}\n`),
    corr('value_median', ['failed'], `${BY_USER}  condition: {field: IpPort, lt: 1}\n`),
  ],
  SHARED.temporal,
  SHARED.temporalOrdered,
  [
    corr('event_count', ['failed', 'net'], `${BY_HOST}  condition: {gte: 2}\n`),
    corr('temporal', ['failed', 'net'], BY_HOST),
    ...SHARED.temporalOrderedTwoTables,
  ],
  SHARED.chained,
];

describe('kusto correlation queries select the contract hits', { timeout: TIMEOUT }, () => {
  it('event_count (one group, no group-by, ranges)', () => {
    equivalent(CASES[0]!);
  });

  it('event_count over rules of two tables is refused: an event matching both counts once', () => {
    const x = correlation(corr('event_count', ['failed', 'success'], `${BY_USER}  condition: {gte: 2}\n`));
    const r = kustoTarget.compileCorrelation!(x.input, opts);
    expect(r).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/^event_count over rules 'failed' and 'success', which both read table SecurityEvent/) });
  });

  it('value_count', () => {
    equivalent(CASES[1]!);
  });

  it('temporal and temporal_ordered on long streams of one or two users: chains of two and three rules complete', () => {
    const { streamsWithHits } = assertEquivalent(DENSE_CASES, compiled, kqlHits, denseStream);
    expect(streamsWithHits).toBeGreaterThan(RUNS / 4);
  });

  it('value_sum, of an int column and of decimal text', () => {
    equivalent(CASES[2]!);
  });

  it('value_avg, of decimal text and of an int column', () => {
    equivalent(CASES[3]!);
  });

  it('value_percentile (nearest rank) and value_median', () => {
    equivalent(CASES[4]!);
  });

  it('temporal (default condition: every rule), and an aliased group-by', () => {
    equivalent(CASES[5]!);
  });

  it('temporal_ordered (equal timestamps are ordered), and an aliased group-by', () => {
    equivalent(CASES[6]!);
  });

  it('rules of two tables: one union, each row one event (event_count, temporal, temporal_ordered, aliased)', () => {
    equivalent(CASES[7]!);
  });

  it('a chained correlation: a burst of failures, then a success', () => {
    equivalent(CASES[8]!);
  });

  it('every query analyzes cleanly with Kusto.Language against the Sentinel schemas', async () => {
    const all = CASES.flat().map(compiled);
    const diags = await kustoTarget.validate!(all.map((c, i) => ({ key: String(i), query: c.query, input: c.input })), opts);
    expect([...diags].map(([k, d]) => `${all[Number(k)]!.query}\n${d.map((x) => x.message).join('\n')}`)).toEqual([]);
  });
});

describe('kusto correlation let names', () => {
  it('a rule named like a table or an aggregate function does not hide it', async () => {
    const text = `${base('count', 4625).replace('title: count', 'title: named count')}---\n${base('SecurityEvent', 4624)}---\n${corr('temporal', ['count', 'SecurityEvent'], BY_USER)}`;
    const loaded = loadText('names.yml', text);
    const index = ruleIndex(loaded);
    const rule = loaded[2]!.rule as CorrelationRule;
    const input: CorrelationInput = {
      path: 'names.yml',
      rule,
      refs: rule.correlation.rules.map((ref) => {
        const r = index.resolve(ref)!;
        return { ref, input: { path: 'names.yml', rule: r.rule as DetectionRule, ir: r.ir! } };
      }),
    };
    const r = kustoTarget.compileCorrelation!(input, opts);
    if (!r.ok) throw new Error(r.error);
    expect(r.query).toMatch(/^let rule_count = SecurityEvent$/m);
    expect(r.query).toMatch(/^let rule_SecurityEvent = SecurityEvent$/m);
    const diags = await kustoTarget.validate!([{ key: 'q', query: r.query, input }], opts);
    expect([...diags.values()].flat().map((d) => d.message)).toEqual([]);
  });
});

describe('kusto correlation artifacts', () => {
  const yaml = `${corr('event_count', ['failed'], `${BY_USER}  condition: {gte: 5}\n`).replace('timespan: 5s', 'timespan: 90m').replace('name: c\n', 'name: c\nid: 0c1e7c52-8f0d-4a43-9d4e-5a1f6f0b1c2d\nlevel: high\n')}`;

  it('a Sentinel scheduled rule runs hourly over 1h + twice the timespan, and reports the hits of the last hour', () => {
    const x = correlation(yaml);
    const r = kustoTarget.compileCorrelation!(x.input, { ...opts, format: 'sentinel-yaml' });
    if (!r.ok) throw new Error(r.error);
    expect(r.output).toMatch(/^queryFrequency: 1h$/m);
    expect(r.output).toMatch(/^queryPeriod: 4h$/m);
    expect(r.output).toMatch(/^severity: High$/m);
    expect(r.output).toMatch(/connectorId: "SecurityEvents"/);
    expect(r.query.trimEnd().split('\n').at(-1)).toBe('| where WindowEnd > ago(1h)');
    expect(r.output).toMatch(/^customDetails:\n {2}TargetUserName: TargetUserName\n {2}WindowStart: WindowStart\n/m);
    const arm = kustoTarget.compileCorrelation!(x.input, { ...opts, format: 'sentinel-arm' });
    if (!arm.ok) throw new Error(arm.error);
    expect(JSON.parse(arm.output).resources[0].properties).toMatchObject({ queryFrequency: 'PT1H', queryPeriod: 'PT4H', query: r.query });
  });

  it('a timespan whose query period would pass Sentinel\'s 14 days is refused', () => {
    const x = correlation(yaml.replace('timespan: 90m', 'timespan: 7d'));
    expect(kustoTarget.compileCorrelation!(x.input, { ...opts, format: 'sentinel-yaml' })).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringContaining("longer than Sentinel's 14d") });
  });

  it('Defender XDR custom detections are refused: a hit is not an event', () => {
    const x = correlation(yaml);
    const r = kustoTarget.compileCorrelation!(x.input, { platform: 'defender-xdr', format: 'defender-json', mapping: mappingOf('defender-xdr') });
    expect(r).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/^defender-json: a correlation hit is an aggregate over events/) });
  });
});
