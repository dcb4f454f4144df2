import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorrelationEngine, CorrelationHit, CorrelationInputError, type CorrelationMatch, type CorrelationSpec } from '../../src/correlate/engine.js';
import { referenceHits, type RefHit } from '../helpers/correlation-reference.js';

type Ev = Record<string, unknown>;

const S = 1000;

function spec(over: Partial<CorrelationSpec> & Pick<CorrelationSpec, 'type'>): CorrelationSpec {
  const refs = over.refs ?? ['a'];
  return {
    key: 'C',
    refs,
    refNames: refs.map((r) => [r]),
    groupBy: ['g'],
    aliases: {},
    timespan: 10 * S,
    condition: [],
    ...over,
  };
}

/** Matches of events: `[seconds, rules, fields]`; one object per event, shared by its rules' matches. */
function matchesOf(rows: [number, string[], Ev][]): CorrelationMatch<Ev>[] {
  return rows.flatMap(([sec, rules, ev], i) => rules.map((rule) => ({ rule, event: ev, time: sec * S, position: i + 1 })));
}

function run(specs: CorrelationSpec[], matches: CorrelationMatch<Ev>[], opts: { reorder?: number } = {}): CorrelationHit<Ev>[] {
  const engine = new CorrelationEngine<Ev>(specs, opts);
  const out: CorrelationHit<Ev>[] = [];
  for (const m of matches) out.push(...engine.push(m));
  out.push(...engine.flush());
  return out;
}

const brief = (h: CorrelationHit<Ev>): string =>
  `${h.rule} ${JSON.stringify(h.group)} @${h.window.end / S} [${h.window.start / S}] =${h.value} events ${h.events.map((e) => (e.event instanceof CorrelationHit ? 'hit' : e.position)).join(',')}`;

describe('correlation engine: event_count', () => {
  const count3 = spec({ type: 'event_count', condition: [{ op: 'gte', value: 3 }] });

  it('counts the closed window [t - timespan, t]: an event exactly timespan before t is in, one a second older is out', () => {
    const inside = run([count3], matchesOf([[0, ['a'], { g: 'h1' }], [5, ['a'], { g: 'h1' }], [10, ['a'], { g: 'h1' }]]));
    expect(inside.map(brief)).toEqual(['C {"g":"h1"} @10 [0] =3 events 1,2,3']);
    const outside = run([count3], matchesOf([[0, ['a'], { g: 'h1' }], [5, ['a'], { g: 'h1' }], [11, ['a'], { g: 'h1' }]]));
    expect(outside).toEqual([]);
  });

  it('a burst gives one hit; the hit re-arms once the condition stops holding', () => {
    const rows: [number, string[], Ev][] = [0, 1, 2, 3, 4].map((s) => [s, ['a'], { g: 'h' }]);
    // 30 s later the window holds one event: not holding; then three more: a second hit.
    rows.push([34, ['a'], { g: 'h' }], [35, ['a'], { g: 'h' }], [36, ['a'], { g: 'h' }]);
    expect(run([count3], matchesOf(rows)).map(brief)).toEqual(['C {"g":"h"} @2 [-8] =3 events 1,2,3', 'C {"g":"h"} @36 [26] =3 events 6,7,8']);
  });

  it('a previous point that held but is older than the timespan does not hold back a hit', () => {
    const c = spec({ type: 'event_count', condition: [{ op: 'gte', value: 1 }], timespan: 5 * S });
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [3, ['a'], { g: 'h' }], [9, ['a'], { g: 'h' }]])).map((h) => h.window.end / S)).toEqual([0, 9]);
  });

  it('events of one timestamp are one evaluation point, evaluated once they are all in', () => {
    const rows: [number, string[], Ev][] = [[7, ['a'], { g: 'h' }], [7, ['a'], { g: 'h' }], [7, ['a'], { g: 'h' }], [7, ['a'], { g: 'h' }]];
    const c = spec({ type: 'event_count', condition: [{ op: 'eq', value: 4 }] });
    expect(run([c], matchesOf(rows)).map(brief)).toEqual(['C {"g":"h"} @7 [-3] =4 events 1,2,3,4']);
  });

  it('an event matched by two referenced rules is one event', () => {
    const c = spec({ type: 'event_count', refs: ['a', 'b'], condition: [{ op: 'gte', value: 2 }] });
    expect(run([c], matchesOf([[0, ['a', 'b'], { g: 'h' }]]))).toEqual([]);
    expect(run([c], matchesOf([[0, ['a', 'b'], { g: 'h' }], [1, ['b'], { g: 'h' }]])).map(brief)).toEqual(['C {"g":"h"} @1 [-9] =2 events 1,2']);
  });

  it('groups are apart and interleave; absent, null and empty group values do not contribute', () => {
    const rows: [number, string[], Ev][] = [
      [0, ['a'], { g: 'x' }],
      [1, ['a'], { g: 'y' }],
      [2, ['a'], { g: 'X' }],
      [3, ['a'], {}],
      [4, ['a'], { g: null }],
      [5, ['a'], { g: '' }],
      [6, ['a'], { g: 'x' }],
      [7, ['a'], { g: 'y' }],
    ];
    const c = spec({ type: 'event_count', condition: [{ op: 'gte', value: 2 }] });
    expect(run([c], matchesOf(rows)).map(brief)).toEqual(['C {"g":"x"} @6 [-4] =2 events 1,7', 'C {"g":"y"} @7 [-3] =2 events 2,8']);
    const all = spec({ type: 'event_count', groupBy: [], condition: [{ op: 'gte', value: 8 }] });
    expect(run([all], matchesOf(rows)).map(brief)).toEqual(['C {} @7 [-3] =8 events 1,2,3,4,5,6,7,8']);
  });

  it('a number or boolean group value is its text; two group-by fields make one tuple', () => {
    const c = spec({ type: 'event_count', groupBy: ['g', 'u'], condition: [{ op: 'gte', value: 2 }] });
    const rows: [number, string[], Ev][] = [
      [0, ['a'], { g: 1, u: true }],
      [1, ['a'], { g: '1', u: 'true' }],
      [2, ['a'], { g: 1, u: 'TRUE' }],
    ];
    expect(run([c], matchesOf(rows)).map(brief)).toEqual(['C {"g":"1","u":"true"} @1 [-9] =2 events 1,2']);
  });

  it('ranges: every comparison given must hold', () => {
    const c = spec({ type: 'event_count', condition: [{ op: 'gte', value: 2 }, { op: 'lt', value: 4 }] });
    const rows: [number, string[], Ev][] = [0, 1, 2, 3, 4].map((s) => [s, ['a'], { g: 'h' }]);
    expect(run([c], matchesOf(rows)).map((h) => h.value)).toEqual([2]);
    const neq = spec({ type: 'event_count', condition: [{ op: 'neq', value: 1 }] });
    expect(run([neq], matchesOf(rows)).map((h) => h.value)).toEqual([2]);
  });
});

describe('correlation engine: input', () => {
  const c = spec({ type: 'event_count', condition: [{ op: 'gte', value: 1 }] });

  it('refuses a match without a time and one earlier than the latest seen, keeping its state', () => {
    const engine = new CorrelationEngine<Ev>([c]);
    expect(engine.push({ rule: 'a', event: { g: 'h' }, time: 5 * S })).toEqual([]);
    expect(() => engine.push({ rule: 'a', event: { g: 'h' }, time: NaN })).toThrow(CorrelationInputError);
    expect(() => engine.push({ rule: 'a', event: { g: 'h' }, time: 4 * S })).toThrow(/is before 1970-01-01T00:00:05.000Z, the latest time seen/);
    expect(engine.flush().map((h) => h.events.length)).toEqual([1]);
  });

  it('with a reorder window, matches up to that much late are put back in order; later ones are refused', () => {
    const matches = matchesOf([[5, ['a'], { g: 'h' }], [3, ['a'], { g: 'h' }], [4, ['a'], { g: 'h' }]]);
    const count = spec({ type: 'event_count', condition: [{ op: 'gte', value: 3 }] });
    expect(run([count], matches, { reorder: 2 * S }).map(brief)).toEqual(['C {"g":"h"} @5 [-5] =3 events 2,3,1']);
    expect(() => run([count], matches, { reorder: 1 * S })).toThrow(/less the reorder window/);
  });

  it('matches of rules no correlation refers to are ignored', () => {
    expect(run([c], matchesOf([[0, ['z'], { g: 'h' }]]))).toEqual([]);
  });

  it('drops a group once it has had no event for a timespan: state is bounded by the active groups', () => {
    const engine = new CorrelationEngine<Ev>([spec({ type: 'event_count', timespan: 10 * S, condition: [{ op: 'gte', value: 1000 }] })]);
    for (let i = 0; i < 10_000; i++) engine.push({ rule: 'a', event: { g: `host${i}` }, time: i * S });
    // Groups of the last 10 s and the one evaluated at the latest time.
    expect(engine.activeGroups()).toBeLessThanOrEqual(12);
  });

  it('a group holds only its window: a long stream in one group keeps a timespan of events', () => {
    for (const type of ['event_count', 'value_count', 'temporal_ordered', 'value_median'] as const) {
      const engine = new CorrelationEngine<Ev>([spec({ type, refs: ['a', 'b'], field: 'v', timespan: 10 * S, condition: [{ op: 'gte', value: 1e9 }] })]);
      let most = 0;
      for (let i = 0; i < 20_000; i++) {
        engine.push({ rule: i % 2 ? 'a' : 'b', event: { g: 'h', v: i }, time: i * S });
        most = Math.max(most, engine.heldEvents());
      }
      // The window [t - 10 s, t] holds 11 events, and the next one arrives before the oldest leaves.
      expect(most, type).toBeLessThanOrEqual(12);
    }
  });

  it('a correlation that refers to itself through a chain is refused', () => {
    expect(() => new CorrelationEngine([spec({ type: 'event_count', key: 'p', refs: ['q'] }), spec({ type: 'event_count', key: 'q', refs: ['p'] })])).toThrow(/refers to itself/);
  });
});

describe('correlation engine: value_*', () => {
  const rows: [number, string[], Ev][] = [
    [0, ['a'], { g: 'h', v: 'alice' }],
    [1, ['a'], { g: 'h', v: 'Alice' }],
    [2, ['a'], { g: 'h', v: 'alice' }],
    [3, ['a'], { g: 'h' }],
    [4, ['a'], { g: 'h', v: 10 }],
    [5, ['a'], { g: 'h', v: '10' }],
  ];

  it('value_count counts distinct texts, case-sensitively; events without the field add none', () => {
    const c = spec({ type: 'value_count', field: 'v', condition: [{ op: 'gte', value: 3 }] });
    expect(run([c], matchesOf(rows)).map(brief)).toEqual(['C {"g":"h"} @4 [-6] =3 events 1,2,3,4,5']);
  });

  it('value_sum, value_avg over numbers and decimal texts only; no number: no value, condition false', () => {
    const nums: [number, string[], Ev][] = [
      [0, ['a'], { g: 'h', v: 'abc' }],
      [1, ['a'], { g: 'h', v: '0x10' }],
      [2, ['a'], { g: 'h', v: 2 }],
      [3, ['a'], { g: 'h', v: '2.5' }],
      [4, ['a'], { g: 'h', v: true }],
      [5, ['a'], { g: 'h', v: '05' }],
    ];
    const lt = spec({ type: 'value_sum', field: 'v', condition: [{ op: 'lt', value: 100 }] });
    expect(run([lt], matchesOf(nums)).map((h) => [h.window.end / S, h.value])).toEqual([[2, 2]]);
    const avg = spec({ type: 'value_avg', field: 'v', condition: [{ op: 'gt', value: 2.2 }] });
    expect(run([avg], matchesOf(nums)).map((h) => [h.window.end / S, h.value])).toEqual([[3, 2.25]]);
  });

  it('value_percentile is the nearest rank; value_median the 50th (the lower middle of an even count)', () => {
    const nums: [number, string[], Ev][] = [5, 1, 4, 2, 3, 6].map((v, i) => [i, ['a'], { g: 'h', v }]);
    // All of a prefix at one time: one evaluation point over its values.
    const values = (c: CorrelationSpec): number[] =>
      nums.map((_, n) => run([{ ...c, condition: [{ op: 'gte', value: -1 }] }], matchesOf(nums.slice(0, n + 1).map(([, r, ev]) => [0, r, ev])))[0]!.value);
    // Prefix values: [5], [1 5], [1 4 5], [1 2 4 5], [1 2 3 4 5], [1 2 3 4 5 6].
    expect(values(spec({ type: 'value_median', field: 'v' }))).toEqual([5, 1, 4, 2, 3, 3]);
    expect(values(spec({ type: 'value_percentile', field: 'v', percentile: 90 }))).toEqual([5, 5, 5, 5, 5, 6]);
    expect(values(spec({ type: 'value_percentile', field: 'v', percentile: 100 }))).toEqual([5, 5, 5, 5, 5, 6]);
  });
});

describe('correlation engine: temporal', () => {
  it('temporal counts distinct referenced rules in the window; the default condition is all of them', () => {
    const c = spec({ type: 'temporal', refs: ['a', 'b', 'c'] });
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [1, ['c'], { g: 'h' }], [9, ['b'], { g: 'h' }]])).map(brief)).toEqual([
      'C {"g":"h"} @9 [-1] =3 events 1,2,3',
    ]);
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [1, ['c'], { g: 'h' }], [11, ['b'], { g: 'h' }]]))).toEqual([]);
    // One event matching two of the rules counts for both.
    expect(run([c], matchesOf([[0, ['a', 'b'], { g: 'h' }], [1, ['c'], { g: 'h' }]])).map((h) => h.value)).toEqual([3]);
  });

  it('temporal_ordered holds when the rules matched in their order, equal times counting as ordered', () => {
    const c = spec({ type: 'temporal_ordered', refs: ['a', 'b'] });
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [3, ['b'], { g: 'h' }]])).map(brief)).toEqual(['C {"g":"h"} @3 [-7] =2 events 1,2']);
    expect(run([c], matchesOf([[0, ['b'], { g: 'h' }], [3, ['a'], { g: 'h' }]]))).toEqual([]);
    expect(run([c], matchesOf([[3, ['b'], { g: 'h' }], [3, ['a'], { g: 'h' }]])).map((h) => h.value)).toEqual([2]);
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [11, ['b'], { g: 'h' }]]))).toEqual([]);
    // b, a, b: the second b follows the a.
    expect(run([c], matchesOf([[0, ['b'], { g: 'h' }], [1, ['a'], { g: 'h' }], [2, ['b'], { g: 'h' }]])).map((h) => h.window.end / S)).toEqual([2]);
  });

  it('temporal_ordered with three rules takes the latest match of each earlier rule', () => {
    const c = spec({ type: 'temporal_ordered', refs: ['a', 'b', 'c'], timespan: 5 * S });
    // a@0 is too old for c@6; a@2 then b@4 then c@6 is inside.
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [1, ['b'], { g: 'h' }], [2, ['a'], { g: 'h' }], [6, ['c'], { g: 'h' }]]))).toEqual([]);
    expect(run([c], matchesOf([[0, ['a'], { g: 'h' }], [2, ['a'], { g: 'h' }], [4, ['b'], { g: 'h' }], [6, ['c'], { g: 'h' }]])).map(brief)).toEqual([
      'C {"g":"h"} @6 [1] =3 events 2,3,4',
    ]);
  });
});

describe('correlation engine: aliases and chains', () => {
  it('an alias reads another field for the rules it names', () => {
    const c = spec({ type: 'temporal', refs: ['a', 'b'], refNames: [['a', 'rule-a'], ['b', 'rule-b']], groupBy: ['ip'], aliases: { ip: { 'rule-a': 'src', 'rule-b': 'dst' } } });
    const rows: [number, string[], Ev][] = [
      [0, ['a'], { src: '10.0.0.1', dst: '10.0.0.9' }],
      [1, ['b'], { src: '10.0.0.7', dst: '10.0.0.1' }],
    ];
    expect(run([c], matchesOf(rows)).map(brief)).toEqual(['C {"ip":"10.0.0.1"} @1 [-9] =2 events 1,2']);
  });

  it('a chained correlation counts the hits of another, each at its window end with its group as fields', () => {
    const inner = spec({ type: 'event_count', key: 'burst', refs: ['a'], groupBy: ['g', 'u'], timespan: 2 * S, condition: [{ op: 'gte', value: 2 }] });
    const outer = spec({ type: 'value_count', key: 'spread', refs: ['burst'], groupBy: ['g'], field: 'u', timespan: 60 * S, condition: [{ op: 'gte', value: 2 }] });
    const rows: [number, string[], Ev][] = [
      [0, ['a'], { g: 'h', u: 'x' }],
      [1, ['a'], { g: 'h', u: 'x' }],
      [20, ['a'], { g: 'h', u: 'y' }],
      [21, ['a'], { g: 'h', u: 'y' }],
    ];
    const hits = run([outer, inner], matchesOf(rows));
    expect(hits.map(brief)).toEqual(['burst {"g":"h","u":"x"} @1 [-1] =2 events 1,2', 'burst {"g":"h","u":"y"} @21 [19] =2 events 3,4', 'spread {"g":"h"} @21 [-39] =2 events hit,hit']);
  });
});

// ---- engine == reference, on generated streams ----

const RULES = ['a', 'b', 'c'];
const G = fc.constantFrom<unknown>('x', 'y', 'X', '', null, undefined, 1, '1');
const V = fc.constantFrom<unknown>(1, 2, '3', '2.5', 0.1, 0.2, -1, 'abc', 'x', 'X', undefined, '', 1e308, '007');
const streamArb = fc.array(
  fc.record({
    dt: fc.constantFrom(0, 0, 0, 1, 1, 2, 3, 5, 10),
    rules: fc.subarray(RULES, { minLength: 1 }),
    g: G,
    h: G,
    v: V,
  }),
  { maxLength: 40 },
);

function opsArb(lo: number, hi: number): fc.Arbitrary<{ op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq'; value: number }[]> {
  const one = fc.record({ op: fc.constantFrom('gt' as const, 'gte' as const, 'lt' as const, 'lte' as const, 'eq' as const, 'neq' as const), value: fc.integer({ min: lo, max: hi }) });
  return fc.array(one, { minLength: 1, maxLength: 2 });
}

function specArb(type: CorrelationSpec['type']): fc.Arbitrary<CorrelationSpec> {
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  const refs = temporal ? fc.array(fc.constantFrom(...RULES), { minLength: 2, maxLength: 3 }) : fc.subarray(RULES, { minLength: 1, maxLength: 2 });
  const condition = temporal ? fc.oneof(fc.constant<{ op: 'gte'; value: number }[]>([]), opsArb(0, 3)) : type.startsWith('value_') && type !== 'value_count' ? opsArb(-2, 6) : opsArb(0, 6);
  return fc
    .record({
      refs,
      groupBy: fc.constantFrom<string[]>([], ['g'], ['g', 'h']),
      alias: fc.boolean(),
      timespan: fc.integer({ min: 1, max: 6 }),
      condition,
      percentile: fc.constantFrom(1, 25, 50, 90, 99.5, 100),
    })
    .map((r) => {
      const s = spec({ type, refs: r.refs, groupBy: r.groupBy, timespan: r.timespan * S, condition: r.condition });
      // Rule b reads the group's `g` from its `h`.
      if (r.alias && r.groupBy.includes('g')) s.aliases = { g: { b: 'h' } };
      if (type !== 'event_count' && type !== 'temporal' && type !== 'temporal_ordered') s.field = 'v';
      if (type === 'value_percentile') s.percentile = r.percentile;
      return s;
    });
}

function streamMatches(stream: { dt: number; rules: string[]; g: unknown; h: unknown; v: unknown }[]): CorrelationMatch<Ev>[] {
  let t = 1_700_000_000_000;
  return stream.flatMap((e, i) => {
    t += e.dt * S;
    const ev: Ev = {};
    if (e.g !== undefined) ev.g = e.g;
    if (e.h !== undefined) ev.h = e.h;
    if (e.v !== undefined) ev.v = e.v;
    return e.rules.map((rule) => ({ rule, event: ev, time: t, position: i }));
  });
}

const canon = (rule: string, group: Record<string, string>, end: number, value: number, events: unknown[]): string =>
  `${rule}|${JSON.stringify(group)}|${end}|${value}|${events.map((p) => (typeof p === 'number' ? p : 'hit')).sort().join(',')}`;
const engineCanon = (h: CorrelationHit<Ev>): string => canon(h.rule, h.group, h.window.end, h.value, h.events.map((e) => e.position));
const refCanon = (h: RefHit): string => canon(h.rule, h.group, h.end, h.value, h.events);
const field = (e: unknown, n: string): unknown => (e as Ev)[n];

describe('correlation engine == the reference, on generated streams', () => {
  for (const type of ['event_count', 'value_count', 'temporal', 'temporal_ordered', 'value_sum', 'value_avg', 'value_percentile', 'value_median'] as const) {
    it(`${type}: 2,000 streams`, () => {
      fc.assert(
        fc.property(specArb(type), streamArb, (s, stream) => {
          const matches = streamMatches(stream);
          const got = run([s], matches).map(engineCanon).sort();
          const want = referenceHits([s], matches, field).map(refCanon).sort();
          expect(got).toEqual(want);
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('chained: a correlation over the hits of another, 1,000 streams', () => {
    const inner = fc.oneof(specArb('event_count'), specArb('temporal'), specArb('value_count'));
    fc.assert(
      fc.property(inner, specArb('event_count'), fc.boolean(), streamArb, (a, b, alsoDirect, stream) => {
        const innerSpec = { ...a, key: 'inner' };
        const outer = { ...b, key: 'outer', refs: alsoDirect ? ['inner', 'a'] : ['inner'], refNames: alsoDirect ? [['inner'], ['a']] : [['inner']], aliases: {}, groupBy: b.groupBy.filter((g) => innerSpec.groupBy.includes(g)) };
        const matches = streamMatches(stream);
        const got = run([outer, innerSpec], matches).map(engineCanon).sort();
        const want = referenceHits([innerSpec, outer], matches, field).map(refCanon).sort();
        expect(got).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('value_percentile names its percentile', () => {
  const doc = (condition: string): string => `title: Rare
correlation:
  type: value_percentile
  rules: [x]
  group-by: [Computer]
  timespan: 1h
  condition: ${condition}
`;
  it('is an error without condition.percentile, or with one out of (0, 100]', async () => {
    const { errorsOf } = await import('../helpers/rules.js');
    expect(errorsOf(doc('{field: Bytes, gte: 5}')).map((e) => e.message)).toEqual([
      "a value_percentile correlation needs 'condition.percentile', the percentile (above 0, up to 100) of condition.field whose value the condition compares, e.g. 'percentile: 95'",
    ]);
    expect(errorsOf(doc('{field: Bytes, gte: 5, percentile: 0}')).length).toBeGreaterThan(0);
    expect(errorsOf(doc('{field: Bytes, gte: 5, percentile: 95}'))).toEqual([]);
  });
});
