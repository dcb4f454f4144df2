/**
 * A naive reading of docs/semantics.md "Correlation rules", for tests: every value recomputed from
 * all the events at every evaluation point, no state carried, no expiry. The streaming engine
 * (src/correlate/engine.ts) must give exactly its hits; so must every target's query.
 */
import type { CorrelationMatch, CorrelationSpec } from '../../src/correlate/engine.js';

export interface RefHit {
  rule: string;
  group: Record<string, string>;
  start: number;
  end: number;
  value: number;
  /** The contributing events' positions, in window order. */
  events: unknown[];
}

/** A hit as a chained correlation sees it: an event whose fields are its group. */
interface Contribution {
  time: number;
  event: unknown;
  position: unknown;
  refs: Set<number>;
  fields: (name: string) => unknown;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

function number(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

function compare(value: number, op: string, lit: number): boolean {
  return op === 'gt' ? value > lit : op === 'gte' ? value >= lit : op === 'lt' ? value < lit : op === 'lte' ? value <= lit : op === 'eq' ? value === lit : value !== lit;
}

/**
 * Hits of `specs` (any order; chains resolved here) over `matches` (time order), with `field`
 * reading an event's field. Hits are in evaluation order per correlation.
 */
export function referenceHits(specs: readonly CorrelationSpec[], matches: readonly CorrelationMatch<unknown>[], field: (event: unknown, name: string) => unknown): RefHit[] {
  const byKey = new Map(specs.map((s) => [s.key, s]));
  const done = new Map<string, RefHit[]>();
  const all: RefHit[] = [];
  const run = (spec: CorrelationSpec): RefHit[] => {
    const have = done.get(spec.key);
    if (have) return have;
    // Inputs per reference index: matches of a rule, or hits of a correlation as pseudo-events.
    const inputs: { refIndex: number; time: number; event: unknown; position: unknown; fields: (name: string) => unknown }[] = [];
    spec.refs.forEach((ref, i) => {
      const inner = byKey.get(ref);
      if (inner) {
        for (const h of run(inner)) inputs.push({ refIndex: i, time: h.end, event: h, position: h, fields: (n) => h.group[n] });
      } else {
        for (const m of matches) if (m.rule === ref) inputs.push({ refIndex: i, time: m.time, event: m.event, position: m.position, fields: (n) => field(m.event, n) });
      }
    });
    // Stable by time: matches keep their input order, hits come after the matches of their time.
    const order = new Map<unknown, number>();
    matches.forEach((m, i) => order.has(m.event) || order.set(m.event, i));
    inputs.sort((a, b) => a.time - b.time || (order.get(a.event) ?? Infinity) - (order.get(b.event) ?? Infinity));
    // Groups: one contribution per event and group, whichever references it came through.
    const groups = new Map<string, { values: string[]; contributions: Contribution[] }>();
    for (const inp of inputs) {
      const values: string[] = [];
      let ok = true;
      for (const g of spec.groupBy) {
        const alias = spec.aliases[g];
        const name = (alias && spec.refNames[inp.refIndex]!.map((n) => alias[n]).find((x) => x !== undefined)) ?? g;
        const t = text(inp.fields(name));
        if (t === undefined) ok = false;
        else values.push(t);
      }
      if (!ok) continue;
      const key = JSON.stringify(values);
      const grp = groups.get(key) ?? { values, contributions: [] };
      groups.set(key, grp);
      const same = grp.contributions.find((c) => c.event === inp.event);
      if (same) same.refs.add(inp.refIndex);
      else grp.contributions.push({ time: inp.time, event: inp.event, position: inp.position, refs: new Set([inp.refIndex]), fields: inp.fields });
    }
    const hits: RefHit[] = [];
    const distinctRefs = [...new Set(spec.refs)];
    const condition = spec.condition.length > 0 ? spec.condition : [{ op: 'gte', value: spec.type === 'temporal_ordered' ? spec.refs.length : distinctRefs.length }];
    const readField = (c: Contribution): unknown => c.fields(spec.field!);
    for (const { values, contributions } of groups.values()) {
      const points = [...new Set(contributions.map((c) => c.time))].sort((a, b) => a - b);
      let prev: { t: number; held: boolean } | undefined;
      for (const t of points) {
        const start = t - spec.timespan;
        const win = contributions.filter((c) => c.time >= start && c.time <= t);
        let value: number | undefined;
        switch (spec.type) {
          case 'event_count':
            value = win.length;
            break;
          case 'value_count':
            value = new Set(win.map((c) => text(readField(c))).filter((x) => x !== undefined)).size;
            break;
          case 'temporal':
            value = distinctRefs.filter((r) => win.some((c) => [...c.refs].some((i) => spec.refs[i] === r))).length;
            break;
          case 'temporal_ordered': {
            // Exhaustive: some choice of matches r1..rn, times non-decreasing, the last at t.
            const n = spec.refs.length;
            const timesOf = (i: number): number[] => win.filter((c) => c.refs.has(i)).map((c) => c.time);
            const can = (i: number, notAfter: number): boolean => i < 0 || timesOf(i).some((x) => x <= notAfter && can(i - 1, x));
            value = timesOf(n - 1).includes(t) && can(n - 2, t) ? n : 0;
            break;
          }
          default: {
            const nums = win.map((c) => number(readField(c))).filter((x): x is number => x !== undefined);
            if (nums.length === 0) break;
            if (spec.type === 'value_sum' || spec.type === 'value_avg') {
              let sum = 0;
              for (const x of nums) sum += x;
              value = spec.type === 'value_sum' ? sum : sum / nums.length;
            } else {
              const sorted = [...nums].sort((a, b) => a - b);
              const p = spec.type === 'value_median' ? 50 : spec.percentile!;
              value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
            }
          }
        }
        const held = value !== undefined && condition.every((k) => compare(value!, k.op, k.value));
        const heldBefore = prev !== undefined && prev.held && prev.t >= start;
        if (held && !heldBefore) {
          const group: Record<string, string> = {};
          spec.groupBy.forEach((g, i) => (group[g] = values[i]!));
          hits.push({ rule: spec.key, group, start, end: t, value: value!, events: win.map((c) => c.position) });
        }
        prev = { t, held };
      }
    }
    done.set(spec.key, hits);
    all.push(...hits);
    return hits;
  };
  for (const s of specs) run(s);
  return all;
}
