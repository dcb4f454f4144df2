/**
 * Generated, time-ordered event streams for the correlation equivalence tests of every target
 * (test/kusto/correlation.test.ts, test/eql/correlation.test.ts): four base rules (failed, success
 * and logoff Security logons; `net`, a process creation), correlations over them, streams of Security
 * and process events whose gaps make window edges frequent (equal timestamps, one timespan apart, one
 * second more, sub-millisecond ticks), and the contract's hits for a stream: the detection rules
 * matched by the evaluator, the correlation by the streaming engine.
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

export const T0 = Date.parse('2026-03-01T10:00:00Z');

export const base = (name: string, eventId: number): string =>
  `title: ${name}\nname: ${name}\nlogsource: {product: windows, service: security}\ndetection:\n  selection: {EventID: ${eventId}}\n  condition: selection\n`;
const BASE = [
  base('failed', 4625),
  base('success', 4624),
  base('logoff', 4634),
  "title: net\nname: net\nlogsource: {product: windows, category: process_creation}\ndetection:\n  selection: {Image|endswith: '\\\\net.exe'}\n  condition: selection\n",
].join('---\n');

export interface LoadedCorrelation {
  input: CorrelationInput;
  bases: CompileInput[];
  loaded: LoadedRule[];
  /** The evaluator and the engine's specs, built on first use. */
  engine?: Engine;
  specs?: CorrelationSpec[];
}

/** Loads the base rules and the given correlation documents; the last document is the one under test. */
export function correlation(yaml: string): LoadedCorrelation {
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

/** A correlation document over the base rules, with a 5 s timespan. */
export function corr(type: string, rules: string[], extra: string, name = 'c'): string {
  return `title: ${name}\nname: ${name}\ncorrelation:\n  type: ${type}\n  rules: [${rules.join(', ')}]\n  timespan: 5s\n${extra}`;
}

export const BY_USER = '  group-by: [TargetUserName]\n';
export const BY_HOST = '  group-by: [Computer]\n';
/** `user` is TargetUserName in failed logons and SubjectUserName in successful ones. */
export const BY_ALIASED_USER = '  group-by: [user]\n  aliases:\n    user:\n      failed: TargetUserName\n      success: SubjectUserName\n';
/** `host` is WorkstationName in failed logons (Security) and Computer in `net` (process creation). */
export const BY_ALIASED_HOST = '  group-by: [host]\n  aliases:\n    host:\n      failed: WorkstationName\n      net: Computer\n';

/** The temporal_ordered correlations of the equivalence tests: rules of one table, then of two. */
export const TEMPORAL_ORDERED = {
  oneTable: [
    corr('temporal_ordered', ['failed', 'success'], BY_USER),
    corr('temporal_ordered', ['failed', 'success', 'logoff'], BY_USER),
    corr('temporal_ordered', ['success', 'failed', 'success'], BY_USER),
    corr('temporal_ordered', ['failed', 'success'], BY_ALIASED_USER),
  ],
  twoTables: [corr('temporal_ordered', ['net', 'failed'], BY_HOST), corr('temporal_ordered', ['failed', 'net'], BY_ALIASED_HOST)],
};

export interface Generated {
  gap: number;
  /** Ticks below the millisecond (in ms): stored by the platform, cut by the contract. */
  sub: number;
  EventID: number;
  fields: Record<string, unknown>;
}

const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 4 });
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

/** Events in time order: `time` in whole ms, `sub` the ticks below it. */
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

/** Whether a stream event is a process creation (else a Security event): the log source it is stored under. */
export const isProcessEvent = (event: Record<string, unknown>): boolean => 'Image' in event;

/** The contract's hits of the correlation under test (the evaluator's detections, the streaming engine's hits). */
export function contractHits(c: LoadedCorrelation, s: Stream): ContractHit[] {
  const key = c.input.rule.id ?? c.input.rule.name!;
  // The time as a platform writes it, to the 100 ns tick: 2026-03-01T10:00:05.0002500Z.
  const iso = (time: number, sub: number): string => new Date(time).toISOString().replace('Z', `${String(Math.round(sub * 10_000)).padStart(4, '0')}Z`);
  const evs = s.map(({ time, sub, event }) => ({ ...event, TimeGenerated: iso(time, sub) }));
  c.engine ??= Engine.fromLoaded(c.loaded, { unknownOrigin: 'all' }).engine;
  c.specs ??= correlationSetup(c.loaded).specs;
  return correlateWith(c.engine, c.specs, evs)
    .filter((h) => h.rule === key)
    .map((h) => ({ group: c.input.rule.correlation.groupBy.map((g) => h.group[g]!), t: h.window.end, value: h.value }));
}
