/**
 * Correlation rules on EQL. The counting types and `temporal` are refused by name; `temporal_ordered`
 * compiles to `sequence ... with maxspan` only with the opt-in platform option
 * `temporal_ordered_as_sequence`, as an approximation whose guarantee (correlation.ts APPROXIMATION,
 * docs/targets/eql.md "Correlation rules") is asserted here on generated time-ordered streams: the
 * emitted sequence, parsed by rulec's EQL parser and run by the test interpreter as Elastic documents
 * sequences (interpret.ts runSequence; events of one millisecond in a random tiebreaker order), against
 * the evaluator's hits (the streaming engine):
 *
 * - always: every completed sequence is a witness of the correlation at its last event (its events
 *   match the rules in order, as the evaluator matches them, within the timespan, in one group);
 * - in a group where no two contributing events share a millisecond and no event matches two of the
 *   rules: the completion times are a subset of the hit times, and with two rules they are equal;
 * - and the differences are real: with three rules hits are missed, and with events of one
 *   millisecond completions and hits part (counted over the run, and pinned below).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CorrelationSpec } from '../../src/correlate/index.js';
import { rulePlatform } from '../../src/targets/eql/mapping.js';
import { checkEql } from '../../src/targets/eql/parser.js';
import { eqlTarget } from '../../src/targets/eql/target.js';
import type { LogSource } from '../../src/model/types.js';
import { BY_USER, CASES, contractHits, corr, correlation, engineOf, events, denseStream, isProcess, longStream, type Generated, type Loaded, type Stream } from '../helpers/correlation-streams.js';

/** The temporal_ordered correlations every target's test runs: rules of one table, then of two. */
const TEMPORAL_ORDERED = { oneTable: CASES.temporalOrdered, twoTables: CASES.temporalOrderedTwoTables };
import { RULES_DIR } from '../harness/equivalence.js';
import { correlationInputs } from '../../src/targets/eql/golden.js';
import { baseInputs } from '../../src/targets/types.js';
import { eqlPlatform } from './helpers.js';
import { buildDocument, runSequence, type CompletedSequence } from './interpret.js';

const RUNS = Number(process.env.RULEC_CORRELATION_RUNS ?? 2000);
const TIMEOUT = 600_000;
const OPT_IN = { temporal_ordered_as_sequence: true };
const optedIn = eqlPlatform('ecs', OPT_IN);
const shipped = eqlPlatform('ecs');

const SECURITY: LogSource = { product: 'windows', service: 'security' };
const PROCESS: LogSource = { product: 'windows', category: 'process_creation' };

type Compiled = Loaded & { query: string; spec: CorrelationSpec };
const cache = new Map<string, Compiled>();

function compiled(yaml: string): Compiled {
  let c = cache.get(yaml);
  if (c) return c;
  const x = correlation(yaml);
  const r = eqlTarget.compileCorrelation!(x.input, optedIn.opts);
  if (!r.ok) throw new Error(`did not compile: ${r.error}`);
  const spec = engineOf(x).specs.find((s) => s.key === x.input.rule.name)!;
  cache.set(yaml, (c = { ...x, query: r.query, spec }));
  return c;
}

/** The field group-by name `g` reads in the events of reference `i` (the engine's reading of aliases). */
function groupField(spec: CorrelationSpec, g: string, i: number): string {
  const a = spec.aliases[g];
  return (a && spec.refNames[i]!.map((n) => a[n]).find((f) => f !== undefined)) ?? g;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** The sequences the query completes over the documents Elasticsearch would store for the stream. */
function sequences(c: Compiled, s: Stream, tiebreakers: number[]): CompletedSequence[] {
  const mapping = optedIn.opts.mapping;
  const parsed = checkEql(c.query, { knows: (f) => c.bases.some((b) => rulePlatform('ecs', mapping, b.rule.logsource).knows(f)) });
  if (!parsed.sequence || parsed.diagnostics.length) throw new Error(`the query does not validate: ${parsed.diagnostics.map((d) => d.message).join('; ')}\n${c.query}`);
  const docs = s.map(({ time, event }, i) => {
    const ls = isProcess(event) ? PROCESS : SECURITY;
    // A date field keeps whole milliseconds: the stream's sub-millisecond ticks are cut, as the contract cuts them.
    return { doc: buildDocument(event, ls, rulePlatform('ecs', mapping, ls)).doc, time, tiebreaker: tiebreakers[i]! };
  });
  return runSequence(parsed.sequence, docs, (i) => rulePlatform('ecs', mapping, c.bases[i]!.rule.logsource));
}

interface Stats {
  cleanGroupsWithHits: number;
  missedInClean: number;
  differingInTied: number;
}

/** Checks one stream; returns what it saw for the run's counts. */
function check(c: Compiled, s: Stream, tiebreakers: number[], stats: Stats): void {
  const n = c.spec.refs.length;
  const groupBy = c.spec.groupBy;
  const refs = c.input.rule.correlation.rules;
  const matched = s.map(({ event }) => new Set(engineOf(c).engine.matches({ ...event, TimeGenerated: '2026-03-01T10:00:00Z' }).map((r) => r.title)));
  // The group an event contributes to through reference i, if any.
  const groupOf = (d: number, i: number): string | undefined => {
    if (!matched[d]!.has(refs[i]!)) return undefined;
    const values = groupBy.map((g) => text(s[d]!.event[groupField(c.spec, g, i)]));
    return values.every((v) => v !== undefined) ? JSON.stringify(values) : undefined;
  };
  const done = sequences(c, s, tiebreakers);
  const hits = contractHits(c, s);
  const context = () => `query:\n${c.query}\nevents ${JSON.stringify(s)}\ntiebreakers ${JSON.stringify(tiebreakers.slice(0, s.length))}\nsequences ${JSON.stringify(done)}\nhits ${JSON.stringify(hits)}`;

  // Always: a completed sequence is a witness of the correlation at its last event.
  for (const q of done) {
    const key = JSON.stringify(q.key);
    q.docs.forEach((d, i) => {
      if (groupOf(d, i) !== key) throw new Error(`event ${d} of sequence ${JSON.stringify(q.docs)} does not match rule ${refs[i]} in group ${key}\n${context()}`);
      if (i > 0 && s[d]!.time < s[q.docs[i - 1]!]!.time) throw new Error(`sequence ${JSON.stringify(q.docs)} goes back in time\n${context()}`);
    });
    if (q.end - s[q.docs[0]!]!.time > c.spec.timespan) throw new Error(`sequence ${JSON.stringify(q.docs)} spans more than the timespan\n${context()}`);
  }

  // Per group: its contributing events, whether two share a millisecond or one counts for two rules.
  const groups = new Map<string, { times: number[]; shared: boolean }>();
  s.forEach((_, d) => {
    const gs = refs.map((_, i) => groupOf(d, i)).filter((g): g is string => g !== undefined);
    for (const g of new Set(gs)) {
      const e = groups.get(g) ?? { times: [], shared: false };
      e.times.push(s[d]!.time);
      if (gs.filter((x) => x === g).length > 1) e.shared = true;
      groups.set(g, e);
    }
  });
  for (const [g, { times, shared }] of groups) {
    const ends = new Set(done.filter((q) => JSON.stringify(q.key) === g).map((q) => q.end));
    const hitTimes = new Set(hits.filter((h) => JSON.stringify(h.group) === g).map((h) => h.t));
    const clean = !shared && new Set(times).size === times.length;
    if (!clean) {
      if ([...ends].some((t) => !hitTimes.has(t)) || [...hitTimes].some((t) => !ends.has(t))) stats.differingInTied++;
      continue;
    }
    if (hitTimes.size) stats.cleanGroupsWithHits++;
    for (const t of ends) if (!hitTimes.has(t)) throw new Error(`group ${g}: a sequence completes at ${t}, where the correlation has no hit\n${context()}`);
    const missed = [...hitTimes].filter((t) => !ends.has(t));
    if (n === 2 && missed.length) throw new Error(`group ${g}: two rules, yet no sequence completes at the hits ${missed.join(', ')}\n${context()}`);
    stats.missedInClean += missed.length;
  }
}

function property(yamls: string[], streams: fc.Arbitrary<Generated[]> = longStream): Stats {
  for (const y of yamls) compiled(y);
  const stats: Stats = { cleanGroupsWithHits: 0, missedInClean: 0, differingInTied: 0 };
  fc.assert(
    fc.property(fc.constantFrom(...yamls), streams, fc.array(fc.nat(1000), { minLength: 40, maxLength: 40 }), (yaml, gen, tb) => {
      // Distinct tiebreakers: Elasticsearch's implicit one orders every event.
      check(compiled(yaml), events(gen), tb.map((x, i) => x * 16 + i), stats);
    }),
    { numRuns: RUNS },
  );
  if (process.env.RULEC_CORRELATION_STATS) console.log(JSON.stringify(stats));
  return stats;
}

describe('eql temporal_ordered as a sequence (opt-in): the documented guarantee on generated streams', { timeout: TIMEOUT }, () => {
  it('two rules (one table, an aliased group-by; two log sources): completions are the hits where no two events of a group share a millisecond', () => {
    const twoRules = [
      ...[...TEMPORAL_ORDERED.oneTable, ...TEMPORAL_ORDERED.twoTables].filter((y) => compiled(y).spec.refs.length === 2),
      // Without group-by (one group), and by an ip field, joined on its keyword twin (the original text).
      corr('temporal_ordered', ['failed', 'success'], ''),
      corr('temporal_ordered', ['failed', 'success'], '  group-by: [IpAddress]\n'),
    ];
    expect(twoRules.length).toBe(6);
    const stats = property(twoRules);
    // The equality is exercised, and events of one millisecond do make completions and hits part.
    expect(stats.cleanGroupsWithHits).toBeGreaterThan(RUNS / 20);
    expect(stats.differingInTied).toBeGreaterThan(0);
  });

  it('three rules: completions are a subset of the hits, and some hits are missed', () => {
    const three = TEMPORAL_ORDERED.oneTable.filter((y) => compiled(y).spec.refs.length === 3);
    // A wider timespan too: three rules of one user in 5 s are rare in the generated streams.
    const stats = property([...three, ...three.map((y) => y.replace('timespan: 5s', 'timespan: 30s'))], denseStream);
    expect(stats.cleanGroupsWithHits).toBeGreaterThan(RUNS / 20);
    expect(stats.missedInClean).toBeGreaterThan(0);
  });
});

describe('eql correlations: what compiles, what is refused and why', () => {
  const compile = (yaml: string, platform = optedIn, format = 'query') => eqlTarget.compileCorrelation!(correlation(yaml).input, { ...platform.opts, format });

  it('the counting types are refused by name: EQL has no aggregation', () => {
    for (const type of ['event_count', 'value_count', 'value_sum', 'value_avg', 'value_median']) {
      const r = compile(corr(type, ['failed'], `${BY_USER}  condition: {gte: 2${type.startsWith('value_') ? ', field: IpPort' : ''}}\n`));
      expect(r, type).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(new RegExp(`^${type} correlations are not compiled to EQL: EQL has no aggregation`)) });
    }
    expect(compile(corr('temporal', ['failed', 'success'], BY_USER))).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/^temporal correlations are not compiled to EQL: EQL's unordered `sample by` takes no time span/) });
  });

  it('temporal_ordered without the opt-in is refused with what differs and how to opt in', () => {
    expect(compile(TEMPORAL_ORDERED.oneTable[0]!, shipped)).toMatchObject({
      ok: false,
      kind: 'unsupported',
      error: expect.stringMatching(/^temporal_ordered correlations are not compiled to EQL exactly: an EQL sequence keeps one pending sequence per stage and group.*'temporal_ordered_as_sequence: true' in a --mapping file/),
    });
  });

  it('the option is a boolean: anything else is a usage error naming what it does', () => {
    const wrong = eqlPlatform('ecs', { temporal_ordered_as_sequence: 'yes' });
    expect(() => compile(TEMPORAL_ORDERED.oneTable[0]!, wrong)).toThrow(/temporal_ordered_as_sequence must be true \(compile temporal_ordered correlations to an approximate EQL sequence\) or false/);
  });

  it('opted in: one sequence, the group-by fields as join keys, their emptiness excluded, the note reported', () => {
    const r = compile(TEMPORAL_ORDERED.oneTable[0]!);
    if (!r.ok) throw new Error(r.error);
    expect(r.query).toBe(
      [
        'sequence by winlog.event_data.TargetUserName with maxspan=5s',
        '  [any where winlog.channel == "Security" and event.code == "4625" and ?winlog.event_data.TargetUserName != null and winlog.event_data.TargetUserName : "?*"]',
        '  [any where winlog.channel == "Security" and event.code == "4624" and ?winlog.event_data.TargetUserName != null and winlog.event_data.TargetUserName : "?*"]',
      ].join('\n'),
    );
    expect(r.notes).toEqual([expect.stringMatching(/^temporal_ordered approximated by an EQL sequence \(platform option temporal_ordered_as_sequence\): every completed sequence is a point where the correlation holds/)]);
    // Aliases (and rules of two log sources) join on each query's own field, by position.
    const aliased = compile(TEMPORAL_ORDERED.twoTables[1]!);
    if (!aliased.ok) throw new Error(aliased.error);
    expect(aliased.query).toMatch(/^sequence with maxspan=5s\n {2}\[any where .*\] by source\.domain\n {2}\[process where .*\] by winlog\.computer_name$/);
  });

  it('refused when a sequence cannot be what the rule says: chains, another condition, a group-by not stored as its text', () => {
    const burst = corr('event_count', ['failed'], `${BY_USER}  condition: {gte: 2}\n`, 'burst');
    expect(compile(`${burst}---\n${corr('temporal_ordered', ['burst', 'success'], BY_USER, 'outer')}`)).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringContaining("temporal_ordered over the correlation 'burst' is not compiled to EQL") });
    expect(compile(corr('temporal_ordered', ['failed', 'success'], `${BY_USER}  condition: {lt: 2}\n`))).toMatchObject({ ok: false, error: expect.stringContaining('also holds where they do not (the value 0)') });
    expect(compile(corr('temporal_ordered', ['failed', 'success'], `${BY_USER}  condition: {gt: 2}\n`))).toMatchObject({ ok: false, error: expect.stringContaining('never holds there') });
    const same = compile(corr('temporal_ordered', ['failed', 'success'], `${BY_USER}  condition: {gte: 1}\n`));
    expect(same.ok).toBe(true);
    expect(compile(corr('temporal_ordered', ['net', 'net'], '  group-by: [ProcessId]\n'))).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/^group-by field 'ProcessId' of rule 'net' is process\.pid, a long field on platform ecs-windows/) });
  });

  it('the Elastic rule of a sequence searches its interval, the timespan and a minute', () => {
    const yaml = TEMPORAL_ORDERED.oneTable[0]!.replace('timespan: 5s', 'timespan: 10m').replace('name: c\n', 'name: c\nid: 0c1e7c52-8f0d-4a43-9d4e-5a1f6f0b1c2d\nlevel: high\n');
    const r = compile(yaml, optedIn, 'elastic-ndjson');
    if (!r.ok) throw new Error(r.error);
    const rule = JSON.parse(r.output);
    expect(rule).toMatchObject({ rule_id: '0c1e7c52-8f0d-4a43-9d4e-5a1f6f0b1c2d', type: 'eql', language: 'eql', query: r.query, interval: '5m', from: 'now-16m', severity: 'high' });
    expect(rule.query).toMatch(/^sequence by .* with maxspan=10m\n/);
    const toml = compile(yaml, optedIn, 'elastic-toml');
    expect(toml.ok && toml.output).toMatch(/^from = "now-16m"$/m);
  });
});

describe('eql sequences differ from the correlation where the note says (pinned)', () => {
  const T = Date.parse('2026-03-01T10:00:00Z');
  const at = (s: number, EventID: number, user = 'alice') => ({ time: T + s * 1000, sub: 0, event: { EventID, TargetUserName: user } });
  const ends = (yaml: string, s: Stream, tb = s.map((_, i) => i)) => sequences(compiled(yaml), s, tb).map((q) => (q.end - T) / 1000);
  const hitTimes = (yaml: string, s: Stream) => contractHits(compiled(yaml), s).map((h) => (h.t - T) / 1000);

  it('three rules: an event an earlier sequence took is not taken again (failed, success, logoff, success, logoff)', () => {
    const yaml = TEMPORAL_ORDERED.oneTable[1]!;
    const s = [at(0, 4625), at(1, 4624), at(2, 4634), at(3, 4624), at(4, 4634)];
    expect(hitTimes(yaml, s)).toEqual([2, 4]);
    expect(ends(yaml, s)).toEqual([2]);
  });

  it('events of one millisecond: the tiebreaker decides, where the correlation takes them as ordered', () => {
    const yaml = TEMPORAL_ORDERED.oneTable[0]!;
    const s = [at(0, 4625), at(0, 4624)];
    expect(hitTimes(yaml, s)).toEqual([0]);
    expect(ends(yaml, s, [0, 1])).toEqual([0]);
    expect(ends(yaml, s, [1, 0])).toEqual([]);
    // A success and a failure in one millisecond: the success may end the first sequence, the failure start a second.
    const t = [at(0, 4625), at(1, 4624), at(1, 4625), at(2, 4624)];
    expect(hitTimes(yaml, t)).toEqual([1]);
    expect(ends(yaml, t)).toEqual([1, 2]);
  });
});

describe('the inline tests of the correlations in rules/, through their opted-in sequences', () => {
  it('each temporal_ordered correlation that compiles completes at exactly the hits its tests expect', () => {
    let tested = 0;
    for (const { input } of correlationInputs(RULES_DIR)) {
      const r = eqlTarget.compileCorrelation!(input, optedIn.opts);
      if (!r.ok) continue;
      const bases = baseInputs(input);
      const ls = bases[0]!.rule.logsource;
      // One log source: each test event is a document of it (the tests name no log source per event).
      expect(bases.every((b) => JSON.stringify(b.rule.logsource) === JSON.stringify(ls)), input.path).toBe(true);
      const { sequence } = checkEql(r.query);
      const platform = rulePlatform('ecs', optedIn.opts.mapping, ls);
      for (const t of input.rule.tests) {
        const docs = t.events.map((e, i) => ({ doc: buildDocument(e, ls, platform).doc, time: Date.parse(String(e['@timestamp'])), tiebreaker: i }));
        const got = runSequence(sequence!, docs, () => platform).map((q) => ({ group: Object.fromEntries(input.rule.correlation.groupBy.map((g, i) => [g, q.key[i]])), end: q.end }));
        expect(got, `${input.path}: ${t.name}`).toEqual(t.hits.map((h) => ({ group: h.group, end: h.endMs })));
        tested++;
      }
    }
    expect(tested).toBeGreaterThanOrEqual(2);
  });
});
