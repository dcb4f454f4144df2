// The import comes first: the ts target inlines this file's declarations with their leading comments.
import { resolveField, type JsonObject } from '../eval/event.js';
import { parseTimestamp } from '../runtime/time.js';

/**
 * The streaming correlation engine: docs/semantics.md, "Correlation rules". Fed the matches of the
 * referenced rules in time order, it keeps per correlation and group only the events of the current
 * window, and reports a hit at an evaluation point (a distinct timestamp of the group) once every
 * match at that timestamp is in, that is when time moves past it or at `flush()`.
 *
 * Plain data in, plain data out, and no import beyond the event view's field lookup: the ts target
 * inlines this file into generated bundles, so the generated engine is this one.
 */

export type CorrelationKind =
  | 'event_count'
  | 'value_count'
  | 'temporal'
  | 'temporal_ordered'
  | 'value_sum'
  | 'value_avg'
  | 'value_percentile'
  | 'value_median';

export type CorrelationOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

/** A correlation as the engine runs it (built from a rule by src/correlate/index.ts). */
export interface CorrelationSpec {
  /** The name matches and hits use for this correlation: a correlation referring to it lists this key. */
  key: string;
  type: CorrelationKind;
  /** The referenced rules' keys, in the order of `correlation.rules`. */
  refs: string[];
  /**
   * Per reference, the names an alias may give it (as written in `rules`, the rule's id and name):
   * `aliases[group field][name]` is the field the group-by name reads in that rule's events.
   */
  refNames: string[][];
  groupBy: string[];
  aliases: Record<string, Record<string, string>>;
  /** Milliseconds. */
  timespan: number;
  /** All must hold; none given: temporal and temporal_ordered take `gte` the number of distinct referenced rules. */
  condition: { op: CorrelationOp; value: number }[];
  /** The field value_* types aggregate. */
  field?: string;
  /** value_percentile's percentile, 0-100 (value_median: 50). */
  percentile?: number;
}

/** A match of a referenced rule: which rule (its key), the event, its time (ms since the epoch), where it was read. */
export interface CorrelationMatch<E = unknown> {
  rule: string;
  event: E;
  time: number;
  /** Where the event is (file and line for scan); kept with the hit's events, never read. */
  position?: unknown;
}

/** One event in a hit's window: the event (or, for a chained correlation, the hit), its time and position, the referenced rules it matched. */
export interface Contribution<E = unknown> {
  event: E | CorrelationHit<E>;
  time: number;
  position: unknown;
  rules: string[];
}

/** A correlation hit (the pseudo-event of a chained correlation: its fields are `group`). */
export class CorrelationHit<E = unknown> {
  constructor(
    /** The correlation's key. */
    readonly rule: string,
    /** Group-by name -> value. */
    readonly group: Record<string, string>,
    /** [start, end], closed, in ms: end is the evaluation point, start end - timespan. */
    readonly window: { start: number; end: number },
    readonly value: number,
    readonly events: Contribution<E>[],
  ) {}
}

/** A match the engine cannot take: time missing or not a number, or earlier than the latest time seen. */
export class CorrelationInputError extends Error {
  constructor(
    message: string,
    readonly match: CorrelationMatch<unknown>,
  ) {
    super(message);
  }
}

export interface CorrelationEngineOptions<E> {
  /** A field's value in an event (default: the evaluator's lookup on a JSON object, a key then a dotted path). */
  field?: (event: E, name: string) => unknown;
  /**
   * Accept matches up to this many ms earlier than the latest seen, put back in time order before the
   * engine sees them (a bounded reorder buffer: hits then wait this long too). Default 0: input in time order.
   */
  reorder?: number;
}

/** One event in a group's window. */
interface Entry {
  time: number;
  event: unknown;
  position: unknown;
  /** Indexes into the spec's refs. */
  refs: number[];
  /** value_count: the field's text; undefined when it has none. */
  text: string | undefined;
  /** value_*: the field's number; undefined when it has none. */
  num: number | undefined;
}

interface GroupState {
  key: string;
  values: string[];
  entries: Entry[];
  head: number;
  /** Time of the newest entry. */
  last: number;
  /** Previous evaluation point and whether the condition held there. */
  pointTime: number;
  pointHeld: boolean;
  /** Has entries at the correlation's current time, not yet evaluated. */
  dirty: boolean;
  /** Per reference: the times of its matches in the window, ascending (temporal, temporal_ordered; empty for the others). */
  refTimes: number[][];
  refHeads: number[];
  /** value_count: text -> entries holding it (a shared empty map for the other types). */
  distinct: Map<string, number>;
  /** value_*: numeric entries, and their running sum while it is exact (every value and partial sum a safe integer). */
  nums: number;
  sum: number;
  sumExact: boolean;
  /** value_percentile / value_median: the window's numbers, ascending. */
  sorted: number[];
}

const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** The state a group of a type that does not read it shares (never written). */
const NO_TIMES: number[][] = [];
const NO_HEADS: number[] = [];
const NO_TEXTS = new Map<string, number>();

/** The text of a group-by or value_count value: a scalar's text; nothing for empty, arrays and objects. */
function valueText(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** The number of a value_* field: a JSON number or a decimal text (semantics.md section 4); nothing else. */
function valueNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMBER_TEXT.test(v)) return Number(v);
  return undefined;
}

function holds(value: number, op: CorrelationOp, lit: number): boolean {
  switch (op) {
    case 'gt':
      return value > lit;
    case 'gte':
      return value >= lit;
    case 'lt':
      return value < lit;
    case 'lte':
      return value <= lit;
    case 'eq':
      return value === lit;
    case 'neq':
      return value !== lit;
  }
}

/** Index of the first element > x in an ascending array (from `lo`). */
function upperBound(a: readonly number[], x: number, lo: number): number {
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One correlation's state: its groups, and when each was touched, oldest first (for expiry). */
class Correlation {
  readonly groups = new Map<string, GroupState>();
  /**
   * (group, time) each time a group gets an event at a new time, in time order: a group whose newest
   * time has left every window is dropped when its last entry here comes up. (Not the Map's own order:
   * iterating a Map from the front after many deletions walks their holes, which made expiry quadratic.)
   */
  readonly touched: { g: GroupState; time: number }[] = [];
  touchedHead = 0;
  /** Groups with entries at `now`, in the order first touched. */
  readonly dirty: GroupState[] = [];
  now = -Infinity;
  /** Correlations fed by this one's hits. */
  readonly dependents: Correlation[] = [];
  /** Distinct referenced rules: the default threshold of temporal and temporal_ordered. */
  readonly distinctRefs: number;
  /** The first index of each distinct reference key (temporal counts rules, not list positions). */
  readonly firstRefs: number[];
  readonly condition: { op: CorrelationOp; value: number }[];
  /** Per reference, per group-by name, the field read. */
  readonly groupFields: string[][];
  /** The type reads which rules matched when (temporal, temporal_ordered). */
  readonly byRef: boolean;

  constructor(readonly spec: CorrelationSpec) {
    this.firstRefs = spec.refs.flatMap((k, i) => (spec.refs.indexOf(k) === i ? [i] : []));
    this.distinctRefs = this.firstRefs.length;
    const ordered = spec.type === 'temporal_ordered';
    this.byRef = ordered || spec.type === 'temporal';
    this.condition = spec.condition.length > 0 ? spec.condition : [{ op: 'gte', value: ordered ? spec.refs.length : this.distinctRefs }];
    this.groupFields = spec.refs.map((_, i) =>
      spec.groupBy.map((g) => {
        const alias = spec.aliases[g];
        if (alias) for (const n of spec.refNames[i] ?? []) if (Object.prototype.hasOwnProperty.call(alias, n)) return alias[n]!;
        return g;
      }),
    );
  }
}

export class CorrelationEngine<E = JsonObject> {
  /** Correlations in dependency order: a correlation comes after every correlation it refers to. */
  private readonly order: Correlation[] = [];
  /** Rule key -> the correlations referring to it, with the reference indexes. */
  private readonly byRule = new Map<string, { c: Correlation; refs: number[] }[]>();
  private readonly field: (event: E, name: string) => unknown;
  private readonly reorder: number;
  /** The latest time the engine has moved to. */
  private now = -Infinity;
  /** Reorder buffer: matches not yet released, ascending by time then arrival. */
  private readonly pending: { m: CorrelationMatch<E>; seq: number }[] = [];
  private seq = 0;
  private latest = -Infinity;
  private out: CorrelationHit<E>[] = [];

  constructor(specs: readonly CorrelationSpec[], opts: CorrelationEngineOptions<E> = {}) {
    this.field = opts.field ?? ((e: E, name: string) => resolveField(e as unknown as JsonObject, name));
    this.reorder = opts.reorder ?? 0;
    const byKey = new Map<string, CorrelationSpec>();
    for (const s of specs) {
      if (byKey.has(s.key)) throw new Error(`two correlations have the key '${s.key}'`);
      byKey.set(s.key, s);
    }
    const built = new Map<string, Correlation>();
    const visiting = new Set<string>();
    const visit = (s: CorrelationSpec): Correlation => {
      const done = built.get(s.key);
      if (done) return done;
      if (visiting.has(s.key)) throw new Error(`correlation '${s.key}' refers to itself through ${[...visiting].join(' -> ')}`);
      visiting.add(s.key);
      const c = new Correlation(s);
      for (const r of new Set(s.refs)) {
        const inner = byKey.get(r);
        if (inner) visit(inner).dependents.push(c);
      }
      visiting.delete(s.key);
      built.set(s.key, c);
      this.order.push(c);
      return c;
    };
    for (const s of specs) visit(s);
    for (const c of this.order) {
      for (const key of new Set(c.spec.refs)) {
        const refs = c.spec.refs.flatMap((k, i) => (k === key ? [i] : []));
        const list = this.byRule.get(key) ?? [];
        list.push({ c, refs });
        this.byRule.set(key, list);
      }
    }
  }

  /** Whether matches of this rule key feed some correlation (other matches may be left out). */
  wants(rule: string): boolean {
    return this.byRule.has(rule);
  }

  /**
   * Take one match; returns the hits now complete (of earlier timestamps). Throws
   * CorrelationInputError, and takes nothing, for a time that is not a finite number or earlier than
   * the latest time seen (less the reorder window).
   */
  push(m: CorrelationMatch<E>): CorrelationHit<E>[] {
    if (typeof m.time !== 'number' || !Number.isFinite(m.time)) throw new CorrelationInputError('the event has no time to correlate by', m);
    if (this.reorder <= 0) {
      if (m.time < this.now) throw new CorrelationInputError(outOfOrder(m.time, this.now, 0), m);
      this.take(m);
    } else {
      const bound = this.latest - this.reorder;
      if (m.time < bound) throw new CorrelationInputError(outOfOrder(m.time, this.latest, this.reorder), m);
      const entry = { m, seq: this.seq++ };
      // Stable: after every pending match of the same time.
      let i = this.pending.length;
      while (i > 0 && this.pending[i - 1]!.m.time > m.time) i--;
      this.pending.splice(i, 0, entry);
      if (m.time > this.latest) this.latest = m.time;
      const release = this.latest - this.reorder;
      let n = 0;
      while (n < this.pending.length && this.pending[n]!.m.time <= release) n++;
      for (const p of this.pending.splice(0, n)) this.take(p.m);
    }
    return this.drain();
  }

  /** End of input: evaluate what is pending; returns the last hits. State is kept (more input may follow in time order). */
  flush(): CorrelationHit<E>[] {
    for (const p of this.pending.splice(0)) this.take(p.m);
    for (const c of this.order) this.evaluateDirty(c);
    return this.drain();
  }

  /** How many groups hold state (memory is proportional to this and the events in their windows). */
  activeGroups(): number {
    let n = 0;
    for (const c of this.order) n += c.groups.size;
    return n;
  }

  /** How many events the windows hold, all groups together (each expires once its window has passed). */
  heldEvents(): number {
    let n = 0;
    for (const c of this.order) for (const g of c.groups.values()) n += g.entries.length - g.head;
    return n;
  }

  private drain(): CorrelationHit<E>[] {
    if (this.out.length === 0) return [];
    const out = this.out;
    this.out = [];
    return out;
  }

  private take(m: CorrelationMatch<E>): void {
    if (m.time > this.now) this.advance(m.time);
    const targets = this.byRule.get(m.rule);
    if (!targets) return;
    for (const { c, refs } of targets) for (const i of refs) this.add(c, i, m.event, m.time, m.position);
  }

  /** Time moves to `t`: every pending evaluation point (all earlier) is evaluated, in dependency order, and stale groups dropped. */
  private advance(t: number): void {
    this.now = t;
    for (const c of this.order) {
      this.evaluateDirty(c);
      const horizon = t - c.spec.timespan;
      const q = c.touched;
      while (c.touchedHead < q.length && q[c.touchedHead]!.time < horizon) {
        const { g, time } = q[c.touchedHead]!;
        q[c.touchedHead++] = undefined as unknown as { g: GroupState; time: number };
        // A later touch of the group is further on in the queue.
        if (g.last === time && !g.dirty && c.groups.get(g.key) === g) c.groups.delete(g.key);
      }
      if (c.touchedHead > 1024 && c.touchedHead * 2 > q.length) {
        q.splice(0, c.touchedHead);
        c.touchedHead = 0;
      }
    }
  }

  private evaluateDirty(c: Correlation): void {
    for (const g of c.dirty) {
      g.dirty = false;
      this.evaluate(c, g);
    }
    c.dirty.length = 0;
  }

  private add(c: Correlation, refIndex: number, event: unknown, time: number, position: unknown): void {
    const spec = c.spec;
    const fields = c.groupFields[refIndex]!;
    const values: string[] = [];
    for (const f of fields) {
      const text = valueText(this.read(event, f));
      if (text === undefined) return;
      values.push(text);
    }
    const key = values.length === 0 ? '' : values.length === 1 ? values[0]! : JSON.stringify(values);
    let g = c.groups.get(key);
    if (g === undefined) {
      g = {
        key,
        values,
        entries: [],
        head: 0,
        last: time,
        pointTime: -Infinity,
        pointHeld: false,
        dirty: false,
        // Only what the type reads: 100,000 groups of every structure cost twice the memory and time.
        refTimes: c.byRef ? spec.refs.map(() => []) : NO_TIMES,
        refHeads: c.byRef ? spec.refs.map(() => 0) : NO_HEADS,
        distinct: spec.type === 'value_count' ? new Map() : NO_TEXTS,
        nums: 0,
        sum: 0,
        sumExact: true,
        sorted: [],
      };
      c.groups.set(key, g);
      c.touched.push({ g, time });
    } else if (g.last !== time) c.touched.push({ g, time });
    g.last = time;
    if (time > c.now) c.now = time;
    if (!g.dirty) {
      g.dirty = true;
      c.dirty.push(g);
    }
    const times = c.byRef ? g.refTimes[refIndex]! : undefined;
    const tail = g.entries.length > g.head ? g.entries[g.entries.length - 1]! : undefined;
    // The same event through another referenced rule: one event, counted for both rules.
    if (tail !== undefined && tail.event === event && tail.time === time) {
      if (!tail.refs.includes(refIndex)) {
        tail.refs.push(refIndex);
        times?.push(time);
      }
      return;
    }
    const entry: Entry = { time, event, position, refs: [refIndex], text: undefined, num: undefined };
    times?.push(time);
    if (spec.field !== undefined) {
      const v = this.read(event, spec.field);
      if (spec.type === 'value_count') {
        entry.text = valueText(v);
        if (entry.text !== undefined) g.distinct.set(entry.text, (g.distinct.get(entry.text) ?? 0) + 1);
      } else {
        entry.num = valueNumber(v);
        if (entry.num !== undefined) {
          g.nums++;
          g.sum += entry.num;
          if (!Number.isSafeInteger(entry.num) || !Number.isSafeInteger(g.sum)) g.sumExact = false;
          if (spec.type === 'value_percentile' || spec.type === 'value_median') g.sorted.splice(upperBound(g.sorted, entry.num, 0), 0, entry.num);
        }
      }
    }
    g.entries.push(entry);
  }

  private read(event: unknown, name: string): unknown {
    return event instanceof CorrelationHit ? event.group[name] : this.field(event as E, name);
  }

  /** Evaluate group `g` at its newest time. */
  private evaluate(c: Correlation, g: GroupState): void {
    const spec = c.spec;
    const t = g.last;
    const start = t - spec.timespan;
    this.expire(c, g, start);
    const value = this.valueAt(c, g, t, start);
    const held = value !== undefined && c.condition.every((k) => holds(value, k.op, k.value));
    const heldBefore = g.pointHeld && g.pointTime >= start;
    g.pointTime = t;
    g.pointHeld = held;
    if (!held || heldBefore) return;
    const events: Contribution<E>[] = [];
    for (let i = g.head; i < g.entries.length; i++) {
      const e = g.entries[i]!;
      events.push({ event: e.event as E | CorrelationHit<E>, time: e.time, position: e.position, rules: e.refs.map((r) => spec.refs[r]!) });
    }
    const group: Record<string, string> = {};
    spec.groupBy.forEach((name, i) => (group[name] = g.values[i]!));
    const hit = new CorrelationHit<E>(spec.key, group, { start, end: t }, value!, events);
    this.out.push(hit);
    for (const d of c.dependents) {
      const refs = d.spec.refs.flatMap((k, i) => (k === spec.key ? [i] : []));
      for (const i of refs) this.add(d, i, hit, t, hit);
    }
  }

  /** Drop the entries before `start`, undoing what they added. */
  private expire(c: Correlation, g: GroupState, start: number): void {
    const spec = c.spec;
    while (g.head < g.entries.length && g.entries[g.head]!.time < start) {
      const e = g.entries[g.head]!;
      g.entries[g.head] = undefined as unknown as Entry;
      g.head++;
      if (e.text !== undefined) {
        const n = g.distinct.get(e.text)! - 1;
        if (n === 0) g.distinct.delete(e.text);
        else g.distinct.set(e.text, n);
      }
      if (e.num !== undefined) {
        g.nums--;
        g.sum -= e.num;
        if (spec.type === 'value_percentile' || spec.type === 'value_median') g.sorted.splice(lowerBound(g.sorted, e.num), 1);
      }
    }
    if (g.head > 64 && g.head * 2 > g.entries.length) {
      g.entries = g.entries.slice(g.head);
      g.head = 0;
    }
    for (let r = 0; r < g.refTimes.length; r++) {
      const times = g.refTimes[r]!;
      let h = g.refHeads[r]!;
      while (h < times.length && times[h]! < start) h++;
      if (h > 64 && h * 2 > times.length) {
        g.refTimes[r] = times.slice(h);
        h = 0;
      }
      g.refHeads[r] = h;
    }
  }

  private valueAt(c: Correlation, g: GroupState, t: number, start: number): number | undefined {
    const spec = c.spec;
    switch (spec.type) {
      case 'event_count':
        return g.entries.length - g.head;
      case 'value_count':
        return g.distinct.size;
      case 'temporal': {
        let n = 0;
        for (const r of c.firstRefs) if (this.refCount(g, r) > 0) n++;
        return n;
      }
      case 'temporal_ordered':
        return ordered(g, t, start) ? spec.refs.length : 0;
      case 'value_sum':
      case 'value_avg': {
        if (g.nums === 0) return undefined;
        // A running sum of fractions drifts from the sum of the window's values, as does one past 2^53:
        // then the window is summed again, in order, as the semantics read it.
        if (!g.sumExact) {
          let sum = 0;
          let exact = true;
          for (let i = g.head; i < g.entries.length; i++) {
            const n = g.entries[i]!.num;
            if (n === undefined) continue;
            sum += n;
            if (!Number.isSafeInteger(n) || !Number.isSafeInteger(sum)) exact = false;
          }
          g.sum = sum;
          g.sumExact = exact;
        }
        const sum = g.sum;
        return spec.type === 'value_sum' ? sum : sum / g.nums;
      }
      case 'value_percentile':
      case 'value_median': {
        const n = g.sorted.length;
        if (n === 0) return undefined;
        const p = spec.type === 'value_median' ? 50 : (spec.percentile ?? 50);
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        return g.sorted[Math.max(0, Math.ceil((p / 100) * n) - 1)]!;
      }
    }
  }

  private refCount(g: GroupState, r: number): number {
    return g.refTimes[r]!.length - g.refHeads[r]!;
  }
}

/**
 * temporal_ordered at `t`: matches of the referenced rules r1..rn in the window, in time order (equal
 * times count as ordered), the last at `t`. Going back from rn, the latest eligible match of each rule
 * leaves the most room for the ones before it.
 */
function ordered(g: GroupState, t: number, start: number): boolean {
  const n = g.refTimes.length;
  const last = g.refTimes[n - 1]!;
  if (last.length <= g.refHeads[n - 1]! || last[last.length - 1] !== t) return false;
  let cur = t;
  for (let r = n - 2; r >= 0; r--) {
    const times = g.refTimes[r]!;
    const i = upperBound(times, cur, g.refHeads[r]!) - 1;
    if (i < g.refHeads[r]! || times[i]! < start) return false;
    cur = times[i]!;
  }
  return true;
}

/**
 * An event's time in ms from the first of `names` it has (`get` reads a field), or why it has none:
 * a field that is there but holds no timestamp is an error, not a reason to read the next one.
 */
export function readEventTime(get: (name: string) => unknown, names: readonly string[]): number | string {
  for (const f of names) {
    const v = get(f);
    if (v === undefined || v === null || v === '') continue;
    const t = typeof v === 'string' ? parseTimestamp(v) : undefined;
    if (t === undefined || !Number.isFinite(t)) return `its time field ${f} holds ${JSON.stringify(v)}, not a timestamp (ISO 8601, e.g. 2024-05-01T22:10:03.123Z)`;
    return t;
  }
  return `it has no time field (looked for ${names.join(', ')}; name another with --time-field)`;
}

function outOfOrder(time: number, latest: number, reorder: number): string {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return (
    `the event's time ${iso(time)} is before ${iso(latest)}, the latest time seen${reorder > 0 ? ` less the reorder window (${reorder} ms)` : ''}: ` +
    'correlations read events in time order (sort the input, or allow a reorder window)'
  );
}
