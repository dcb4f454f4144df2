/**
 * Correlation rules on SPL: the emitted query, parsed by rulec's SPL parser and run by the test
 * interpreter (interpret.ts runPipeline, Splunk's documented semantics of each command) over the
 * events Splunk would index for a generated, time-ordered stream, returns exactly the hits (group,
 * window end, value) of the evaluator for the same stream, for every type SPL compiles, with window
 * edges (events exactly one timespan apart, one second more, equal timestamps, sub-millisecond
 * times) and interleaved groups made frequent by the generator (test/helpers/correlation-streams.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { platformMapping, resolveLogSource } from '../../src/targets/spl/mapping.js';
import { renderPipeline } from '../../src/targets/spl/dialect.js';
import { parsePipeline } from '../../src/targets/spl/parser.js';
import { splTarget, validateQuery } from '../../src/targets/spl/target.js';
import {
  ALIASED_HOST,
  ALIASED_USER,
  burst,
  BY_HOST,
  BY_USER,
  CASES as SHARED,
  assertEquivalent,
  DENSE_CASES,
  denseStream,
  contractHits,
  corr,
  correlation,
  events,
  isProcess,
  RUNS,
  T0,
  stream,
  type ContractHit,
  type Stream,
} from '../helpers/correlation-streams.js';
import { runPipeline, type TimedEvent } from './interpret.js';
import { splunkEvent } from './model.js';

const TIMEOUT = 600_000;
const PLATFORM = 'sysmon';
const mapping = loadPlatformMapping('spl', PLATFORM);
const pm = platformMapping(mapping, PLATFORM);
const opts = { platform: PLATFORM, format: 'query', mapping };

type Compiled = ReturnType<typeof correlation> & { query: string };
const cache = new Map<string, Compiled>();

function compiled(yaml: string): Compiled {
  let c = cache.get(yaml);
  if (c) return c;
  const x = correlation(yaml);
  const r = splTarget.compileCorrelation!(x.input, opts);
  if (!r.ok) throw new Error(`did not compile: ${r.error}`);
  cache.set(yaml, (c = { ...x, query: r.query }));
  return c;
}

const SECURITY = resolveLogSource(pm, { product: 'windows', service: 'security' });
const PROCESS = resolveLogSource(pm, { product: 'windows', category: 'process_creation' });

/** The hits the query returns over the stream as Splunk indexes it: one index, every event with its own _time. */
function splHits(yaml: string, s: Stream): ContractHit[] {
  const c = compiled(yaml);
  const indexed: TimedEvent[] = s.map(({ time, sub, event }) => ({ event: splunkEvent(event, pm, isProcess(event) ? PROCESS : SECURITY), time: (time + sub) / 1000 }));
  const rows = runPipeline(parsePipeline(c.query), indexed);
  const groups = c.input.rule.correlation.groupBy;
  return rows.map((r) => {
    const end = r.get('WindowEnd');
    const start = r.get('WindowStart');
    if (typeof end !== 'number' || typeof start !== 'number') throw new Error(`a hit without its window: ${JSON.stringify([...r])}`);
    expect(Math.round((end - start) * 1000)).toBe(c.input.rule.correlation.timespanSeconds * 1000);
    return { group: groups.map((g) => r.get(g) as string), t: Math.round(end * 1000), value: r.get('Value') as number };
  });
}

function equivalent(yamls: string[]): void {
  assertEquivalent(yamls, compiled, splHits);
}

/** The correlations of each property below, in order; the parser test reads them all. */
const CASES: string[][] = [
  SHARED.eventCount,
  SHARED.valueCount,
  SHARED.valueSum,
  SHARED.valueAvg,
  [...SHARED.temporal, corr('temporal', ['failed', 'success'], ALIASED_USER.replace(/\buser\b/g, 'user.name'))],
  [...SHARED.temporalOrdered, corr('temporal_ordered', ['failed', 'success'], '')],
  [
    corr('event_count', ['failed', 'net'], `${BY_HOST}  condition: {gte: 2}\n`),
    corr('value_count', ['failed', 'net'], `${BY_HOST}  condition: {field: Computer, gte: 1}\n`),
    corr('temporal', ['failed', 'net'], BY_HOST),
    corr('temporal_ordered', ['net', 'failed'], BY_HOST),
    corr('temporal_ordered', ['failed', 'net'], ALIASED_HOST),
  ],
  [
    ...SHARED.chained,
    `${burst}---\n${corr('temporal', ['burst', 'success'], ALIASED_USER.replace('failed:', 'burst:'), 'outer')}`,
    `${burst}---\n${corr('event_count', ['burst', 'failed'], `${BY_USER}  condition: {gte: 3}\n`, 'outer')}`,
  ],
];

describe('spl correlation queries select the contract hits', { timeout: TIMEOUT }, () => {
  it('event_count (one group, no group-by, ranges)', () => {
    equivalent(CASES[0]!);
  });

  it('temporal and temporal_ordered on long streams of one or two users: chains of two and three rules complete', () => {
    const { streamsWithHits } = assertEquivalent(DENSE_CASES, compiled, splHits, denseStream);
    expect(streamsWithHits).toBeGreaterThan(RUNS / 4);
  });

  it('value_count', () => {
    equivalent(CASES[1]!);
  });

  it('value_sum, of an integer field and of decimal text', () => {
    equivalent(CASES[2]!);
  });

  it('value_avg, of decimal text and of an integer field', () => {
    equivalent(CASES[3]!);
  });

  it('temporal (default condition: every rule), and an aliased group-by (a dotted name too)', () => {
    equivalent(CASES[4]!);
  });

  it('temporal_ordered (equal timestamps are ordered, a rule listed twice), and an aliased group-by', () => {
    equivalent(CASES[5]!);
  });

  it('rules of two log sources: one multisearch, each event once (counting types too)', () => {
    equivalent(CASES[6]!);
  });

  it('chained correlations: a burst of failures, then a success; bursts counted; a burst with its own rule', () => {
    equivalent(CASES[7]!);
  });

  it('every query passes --validate (the SPL parser), and prints back the same', () => {
    for (const c of CASES.flat().map(compiled)) {
      expect(validateQuery(c.query, true)).toEqual([]);
      expect(renderPipeline(parsePipeline(c.query))).toBe(c.query);
      const bases = new Set(c.bases.map((b) => b.rule.name));
      expect(parsePipeline(c.query).sources.length).toBeGreaterThanOrEqual(bases.size);
    }
  });
});

describe('spl correlation refusals', () => {
  const refused = (yaml: string): ReturnType<NonNullable<typeof splTarget.compileCorrelation>> => splTarget.compileCorrelation!(correlation(yaml).input, opts);

  it('a counting type over rules of one source: an event matching both would count twice', () => {
    expect(refused(corr('event_count', ['failed', 'success'], `${BY_USER}  condition: {gte: 2}\n`))).toMatchObject({
      ok: false,
      kind: 'unsupported',
      error: expect.stringMatching(/^event_count over rules 'failed' and 'success', whose searches can select the same event/),
    });
  });

  it('percentiles: Splunk defines no nearest-rank percentile', () => {
    for (const y of [corr('value_percentile', ['failed'], `${BY_USER}  condition: {field: LogonType, percentile: 95, gte: 3}\n`), corr('value_median', ['failed'], `${BY_USER}  condition: {field: LogonType, gte: 2}\n`)]) {
      expect(refused(y)).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/^value_(percentile|median) is not compiled to SPL: Splunk documents perc and upperperc as approximations/) });
    }
  });

  it('a chained correlation whose group-by is not one of the inner correlation\'s', () => {
    expect(refused(`${burst}---\n${corr('temporal_ordered', ['burst', 'success'], BY_HOST, 'outer')}`)).toMatchObject({
      ok: false,
      kind: 'unsupported',
      error: "group-by field 'Computer' is not a group-by field of correlation 'burst', whose hits hold only TargetUserName",
    });
  });

  it('a group-by name no Splunk field can have', () => {
    const r = splTarget.compileCorrelation!(correlation(corr('event_count', ['failed'], '  group-by: [bad-name]\n  condition: {gte: 2}\n')).input, opts);
    expect(r).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringContaining("group-by name 'bad-name' cannot name a Splunk field") });
  });
});

describe('spl correlation saved searches', { timeout: TIMEOUT }, () => {
  // A stream stretched 30 times (gaps up to 3 minutes) and timespans of 150 s: the first run's search
  // reads all of it, the next one's starts inside it, where its lookback cuts the events off.
  const STRETCH = 30;
  const YAMLS = [
    corr('event_count', ['failed'], `${BY_USER}  condition: {gte: 2}\n`),
    corr('temporal_ordered', ['failed', 'success'], BY_USER),
    `${burst}---\n${corr('temporal_ordered', ['burst', 'success'], BY_USER, 'outer')}`,
  ].map((y) => y.replace(/timespan: 5s/g, 'timespan: 150s'));
  const saved = new Map<string, { query: string; lookback: number; output: string }>();
  const savedSearch = (yaml: string): { query: string; lookback: number; output: string } => {
    let s = saved.get(yaml);
    if (s) return s;
    const r = splTarget.compileCorrelation!(compiled(yaml).input, { ...opts, format: 'savedsearches' });
    if (!r.ok) throw new Error(r.error);
    const m = /^dispatch\.earliest_time = -(\d+)m$/m.exec(r.output);
    saved.set(yaml, (s = { query: r.query, lookback: Number(m![1]) * 60, output: r.output }));
    return s;
  };

  it('hourly, over the hour and twice the timespans of the chain; the query reports the hits of the last hour', () => {
    expect(savedSearch(YAMLS[0]!).output).toMatch(/^cron_schedule = \d+ \* \* \* \*$/m);
    expect(YAMLS.map((y) => savedSearch(y).lookback / 60)).toEqual([65, 65, 70]);
    expect(savedSearch(YAMLS[0]!).query.split('\n').at(-1)).toBe('| where WindowEnd>=now()-3600');
    expect(validateQuery(savedSearch(YAMLS[2]!).query, true)).toEqual([]);
  });

  const base = T0 / 1000;
  const runs = [base + 1200, base + 4800];
  /** Each run's hits over the events its dispatch times select, and the contract's, as comparable texts. */
  const check = (yaml: string, s: Stream): void => {
    const c = compiled(yaml);
    const { query, lookback } = savedSearch(yaml);
    const indexed: TimedEvent[] = s.map(({ time, sub, event }) => ({ event: splunkEvent(event, pm, isProcess(event) ? PROCESS : SECURITY), time: (time + sub) / 1000 }));
    const got: string[] = [];
    for (const now of runs) {
      // dispatch.earliest_time is inclusive, latest_time (now) exclusive.
      const window = indexed.filter((e) => e.time >= now - lookback && e.time < now);
      for (const r of runPipeline(parsePipeline(query), window, now)) got.push(`${JSON.stringify(c.input.rule.correlation.groupBy.map((g) => r.get(g)))}@${Math.round((r.get('WindowEnd') as number) * 1000)}=${r.get('Value')}`);
    }
    const want = contractHits(c, s).map((h) => `${JSON.stringify(h.group)}@${h.t}=${h.value}`);
    expect(got.sort()).toEqual(want.sort());
  };

  it('consecutive runs report every hit once, their lookback holding every event a hit depends on', () => {
    fc.assert(
      fc.property(fc.constantFrom(...YAMLS), stream, (yaml, gen) => check(yaml, events(gen).map((e) => ({ ...e, time: T0 + (e.time - T0) * STRETCH })))),
      { numRuns: Math.max(100, RUNS / 4) },
    );
  });

  it('the point before a hit reads events up to twice the timespan old', () => {
    // At 1300 s (second run): 3 failures in [1150, 1300], but the point at 1160 already held with the
    // failure at 1010, which a lookback of less than 2 x 150 s would cut off (a false hit at 1300).
    const at = (s: number): Stream[number] => ({ time: T0 + s * 1000, sub: 0, event: { EventID: 4625, TargetUserName: 'alice' } });
    check(YAMLS[0]!, [at(1010), at(1160), at(1300)]);
  });
});
