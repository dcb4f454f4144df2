/**
 * Generated, time-ordered event streams for the correlation tests of every target (test/kusto,
 * test/spl, test/eql): base detection rules of the Security log and of process creation, correlation
 * documents over them, streams whose gaps meet the 5 s timespan's edges (equal timestamps, gaps of
 * exactly one timespan and one more second), and the contract's hits for a stream (the evaluator's
 * streaming engine, itself held to test/helpers/correlation-reference.ts).
 */
import fc from 'fast-check';
import { loadText, ruleIndex, type LoadedRule } from '../../src/collection/load.js';
import { correlateWith, correlationSetup, type CorrelationSpec } from '../../src/correlate/index.js';
import { Engine } from '../../src/eval/index.js';
import type { CorrelationRule, DetectionRule } from '../../src/model/types.js';
import type { CompileInput, CorrelationInput } from '../../src/targets/types.js';

export interface ContractHit {
  group: string[];
  t: number;
  value: number;
}

export const RUNS = Number(process.env.RULEC_CORRELATION_RUNS ?? 2000);
export const T0 = Date.parse('2026-03-01T10:00:00Z');

export const base = (name: string, eventId: number): string =>
  `title: ${name}\nname: ${name}\nlogsource: {product: windows, service: security}\ndetection:\n  selection: {EventID: ${eventId}}\n  condition: selection\n`;
export const BASE = [
  base('failed', 4625),
  base('success', 4624),
  base('logoff', 4634),
  "title: net\nname: net\nlogsource: {product: windows, category: process_creation}\ndetection:\n  selection: {Image|endswith: '\\\\net.exe'}\n  condition: selection\n",
].join('---\n');

export interface Loaded {
  input: CorrelationInput;
  bases: CompileInput[];
  loaded: LoadedRule[];
}

/** Loads the base rules and the given correlation documents; the last document is the one under test. */
export function correlation(yaml: string): Loaded {
  const loaded = loadText('test.yml', `${BASE}---\n${yaml}`);
  for (const l of loaded) {
    const errs = l.diagnostics.filter((d) => d.severity === 'error');
    if (errs.length) throw new Error(`did not load: ${JSON.stringify(errs)}`);
  }
  const index = ruleIndex(loaded);
  const bases: CompileInput[] = [];
  const resolve = (l: LoadedRule): CorrelationInput => {
    const rule = l.rule as CorrelationRule;
    const refs: CorrelationInput['refs'] = [];
    for (const ref of rule.correlation.rules) {
      const r = index.resolve(ref)!;
      if (r.rule!.kind === 'correlation') refs.push({ ref, input: resolve(r) });
      else {
        const input = { path: 'test.yml', rule: r.rule as DetectionRule, ir: r.ir! };
        bases.push(input);
        refs.push({ ref, input });
      }
    }
    return { path: 'test.yml', rule, refs };
  };
  return { input: resolve(loaded[loaded.length - 1]!), bases, loaded };
}

export function corr(type: string, rules: string[], extra: string, name = 'c'): string {
  return `title: ${name}\nname: ${name}\ncorrelation:\n  type: ${type}\n  rules: [${rules.join(', ')}]\n  timespan: 5s\n${extra}`;
}

export interface Generated {
  gap: number;
  /** Ticks below the millisecond (in ms): stored by the platform, cut by the contract. */
  sub: number;
  EventID: number;
  fields: Record<string, unknown>;
}

const maybe = <T,>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 4 });
// Gaps of 0 (equal timestamps), and of 1..6 s around the 5 s timespan, so windows meet their edges.
const security: fc.Arbitrary<Generated> = fc.record({
  gap: fc.constantFrom(0, 0, 1, 2, 3, 4, 5, 5, 6),
  sub: fc.constantFrom(0, 0, 0, 0.25, 0.75),
  EventID: fc.constantFrom(4625, 4625, 4624, 4634),
  fields: fc.record(
    {
      TargetUserName: maybe(fc.constantFrom('alice', 'Alice', 'bob', '')),
      SubjectUserName: maybe(fc.constantFrom('alice', 'bob', '')),
      IpAddress: maybe(fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '')),
      LogonType: maybe(fc.integer({ min: 0, max: 5 })),
      IpPort: maybe(fc.constantFrom('1', '22', '0.5', '-3', 'x', '007', '')),
      Computer: maybe(fc.constantFrom('pc1', 'pc2', '')),
      WorkstationName: maybe(fc.constantFrom('pc1', 'PC1', '')),
    },
    { requiredKeys: [] },
  ),
});
// Process creation events (another table): only the process rule can match them.
const processEvent: fc.Arbitrary<Generated> = fc.record({
  gap: fc.constantFrom(0, 0, 1, 2, 3, 4, 5, 5, 6),
  sub: fc.constantFrom(0, 0, 0, 0.25, 0.75),
  EventID: fc.constant(0),
  fields: fc.record(
    { Image: fc.constantFrom('C:\\Windows\\System32\\net.exe', 'C:\\Windows\\System32\\cmd.exe'), Computer: maybe(fc.constantFrom('pc1', 'pc2', '')) },
    { requiredKeys: ['Image'] },
  ),
});
const generated = fc.oneof({ arbitrary: security, weight: 3 }, { arbitrary: processEvent, weight: 1 });
export const stream = fc.array(generated, { minLength: 0, maxLength: 14 });
/** Longer streams, for properties of state carried from event to event (EQL's pending sequences). */
export const longStream = fc.array(generated, { minLength: 8, maxLength: 40, size: 'max' });
/** Long streams of logons of two users, fewer equal timestamps: chains of three rules in one group are frequent. */
export const denseStream = fc.array(
  fc.record({
    gap: fc.constantFrom(0, 1, 1, 2, 2, 3, 4, 5, 6),
    sub: fc.constantFrom(0, 0, 0.25),
    EventID: fc.constantFrom(4625, 4624, 4634),
    fields: fc.record({ TargetUserName: fc.constantFrom('alice', 'alice', 'bob', '') }),
  }),
  { minLength: 8, maxLength: 40, size: 'max' },
);

/** Events in time order: `time` in whole ms, `sub` the finer part the platform stores. */
export type Stream = { time: number; sub: number; event: Record<string, unknown> }[];

export function events(gen: Generated[]): Stream {
  let t = T0;
  return gen.map((g) => {
    t += g.gap * 1000;
    const event: Record<string, unknown> = g.EventID ? { EventID: g.EventID } : {};
    for (const [k, v] of Object.entries(g.fields)) if (v !== undefined) event[k] = v;
    return { time: t, sub: g.sub, event };
  });
}

/** Whether an event is a process creation (else a Security log event). */
export const isProcess = (event: Record<string, unknown>): boolean => 'Image' in event;

const engines = new WeakMap<LoadedRule[], { engine: Engine; specs: CorrelationSpec[] }>();

/** The evaluator and the streaming engine's specs of a loaded correlation, built once. */
export function engineOf(c: Loaded): { engine: Engine; specs: CorrelationSpec[] } {
  let e = engines.get(c.loaded);
  if (!e) engines.set(c.loaded, (e = { engine: Engine.fromLoaded(c.loaded, { unknownOrigin: 'all' }).engine, specs: correlationSetup(c.loaded).specs }));
  return e;
}

/** The evaluator's hits: the detection rules matched by the evaluator, the correlation by the streaming engine. */
export function contractHits(c: Loaded, stream: Stream): ContractHit[] {
  const key = c.input.rule.id ?? c.input.rule.name!;
  // The time as the platform writes it, to the 100 ns tick: 2026-03-01T10:00:05.0002500Z.
  const iso = (time: number, sub: number): string => new Date(time).toISOString().replace('Z', `${String(Math.round(sub * 10_000)).padStart(4, '0')}Z`);
  const evs = stream.map(({ time, sub, event }) => ({ ...event, TimeGenerated: iso(time, sub) }));
  const e = engineOf(c);
  return correlateWith(e.engine, e.specs, evs)
    .filter((h) => h.rule === key)
    .map((h) => ({ group: c.input.rule.correlation.groupBy.map((g) => h.group[g]!), t: h.window.end, value: h.value }));
}

const hitKey = (h: ContractHit): string => `${JSON.stringify(h.group)}@${h.t}`;

/** The same hits (group and window end), with values equal to within float rounding. */
export function sameHits(got: ContractHit[], want: ContractHit[]): boolean {
  if (got.length !== want.length) return false;
  const w = new Map(want.map((h) => [hitKey(h), h.value]));
  return got.every((h) => w.has(hitKey(h)) && Math.abs(w.get(hitKey(h))! - h.value) <= 1e-9 * Math.max(1, Math.abs(h.value)));
}

export const thresholds = (type: string, rules: string[], group: string, field?: string): string[] =>
  ['gte: 1', 'gte: 2', 'gte: 3', 'gt: 2', 'lt: 2', 'eq: 2', 'neq: 1', 'gte: 2\n    lte: 3'].map((cond) =>
    corr(type, rules, `${group}  condition:\n    ${cond}${field ? `\n    field: ${field}` : ''}\n`),
  );

export const BY_USER = '  group-by: [TargetUserName]\n';
export const BY_HOST = '  group-by: [Computer]\n';
export const ALIASED_USER = '  group-by: [user]\n  aliases:\n    user:\n      failed: TargetUserName\n      success: SubjectUserName\n';
export const ALIASED_HOST = '  group-by: [host]\n  aliases:\n    host:\n      failed: WorkstationName\n      net: Computer\n';
export const burst = corr('event_count', ['failed'], `${BY_USER}  condition: {gte: 2}\n`, 'burst');

/** Correlations every target's test runs, by type (a target adds its own). */
export const CASES = {
  eventCount: [...thresholds('event_count', ['failed'], BY_USER), ...thresholds('event_count', ['failed'], '').slice(0, 3)],
  valueCount: thresholds('value_count', ['failed'], BY_USER, 'IpAddress'),
  valueSum: [...thresholds('value_sum', ['failed'], BY_USER, 'LogonType').slice(0, 5), corr('value_sum', ['failed'], `${BY_USER}  condition: {field: IpPort, gte: 20}\n`)],
  valueAvg: [...thresholds('value_avg', ['failed'], BY_USER, 'IpPort').slice(0, 5), corr('value_avg', ['failed'], `${BY_USER}  condition: {field: LogonType, lt: 2.5}\n`)],
  temporal: [
    corr('temporal', ['failed', 'success'], BY_USER),
    corr('temporal', ['failed', 'success', 'logoff'], BY_USER),
    corr('temporal', ['failed', 'success', 'logoff'], `${BY_USER}  condition: {gte: 2}\n`),
    corr('temporal', ['failed', 'success'], ALIASED_USER),
  ],
  temporalOrdered: [
    corr('temporal_ordered', ['failed', 'success'], BY_USER),
    corr('temporal_ordered', ['failed', 'success', 'logoff'], BY_USER),
    corr('temporal_ordered', ['success', 'failed', 'success'], BY_USER),
    corr('temporal_ordered', ['failed', 'success'], ALIASED_USER),
  ],
  /** temporal_ordered over rules of two tables (Security and process creation). */
  temporalOrderedTwoTables: [corr('temporal_ordered', ['net', 'failed'], BY_HOST), corr('temporal_ordered', ['failed', 'net'], ALIASED_HOST)],
  chained: [`${burst}---\n${corr('temporal_ordered', ['burst', 'success'], BY_USER, 'outer')}`, `${burst}---\n${corr('event_count', ['burst'], `${BY_USER}  condition: {gte: 2}\n`, 'outer')}`],
};

/**
 * The property: on every generated stream (RUNS of them), a target's hits are the evaluator's.
 * `compiled` gives a correlation's loaded rules and query, `hits` runs the query over a stream.
 * Returns how many streams had hits, for a test to show that its streams reach them.
 */
export function assertEquivalent(
  yamls: string[],
  compiled: (yaml: string) => Loaded & { query: string },
  hits: (yaml: string, s: Stream) => ContractHit[],
  streams: fc.Arbitrary<Generated[]> = stream,
): { streamsWithHits: number } {
  for (const y of yamls) compiled(y);
  let streamsWithHits = 0;
  fc.assert(
    fc.property(fc.constantFrom(...yamls), streams, (yaml, gen) => {
      const s = events(gen);
      const got = hits(yaml, s);
      const want = contractHits(compiled(yaml), s);
      if (!sameHits(got, want)) {
        throw new Error(`query hits ${JSON.stringify(got)}\ncontract hits ${JSON.stringify(want)}\nevents ${JSON.stringify(s)}\nquery:\n${compiled(yaml).query}`);
      }
      if (want.length > 0) streamsWithHits++;
    }),
    { numRuns: RUNS },
  );
  return { streamsWithHits };
}

/**
 * temporal and temporal_ordered over long streams of one or two users' logons (denseStream), with a
 * 5 s and a 30 s timespan: chains of two and three rules in one group are frequent there, where the
 * short mixed streams of `stream` rarely complete one.
 */
export const DENSE_CASES = [...CASES.temporalOrdered, ...CASES.temporal.slice(0, 3)].flatMap((y) => [y, y.replace('timespan: 5s', 'timespan: 30s')]);
