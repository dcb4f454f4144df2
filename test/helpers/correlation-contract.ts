/**
 * The correlation contract (docs/semantics.md, "Correlation rules"), read literally and computed
 * the slow way: for every group, every distinct event time t, the window [t - span, t] is
 * collected from scratch. A test oracle for the targets' correlation queries, written from the
 * contract's text independently of the streaming engine (src/correlate/), which it can be checked
 * against as well.
 *
 * Events are flat records with a time in ms; `matches[i]` lists the referenced rules (by reference
 * text) event i matches. A chained reference is given as a correlation whose hits become the
 * pseudo-events of the outer one.
 */
import type { CorrelationRule } from '../../src/model/types.js';

export interface ContractEvent {
  time: number;
  fields: Record<string, unknown>;
  /** The references of the correlation this event matches (detection rules). */
  matches: string[];
}

export interface ContractHit {
  group: string[];
  /** The window end, ms. */
  t: number;
  value: number;
}

/** A correlation with, for a referenced correlation, its own rule and references (by reference text). */
export interface ContractRule {
  rule: CorrelationRule;
  chained: Map<string, ContractRule>;
}

const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** A value as group or distinct-value text; absent, null and empty are none. */
function text(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && DECIMAL.test(v)) return Number(v);
  return undefined;
}

function fieldFor(rule: CorrelationRule, g: string, ref: string): string {
  return rule.correlation.aliases.get(g)?.get(ref) ?? g;
}

export function contractHits(c: ContractRule, events: ContractEvent[]): ContractHit[] {
  const rule = c.rule;
  const corr = rule.correlation;
  const span = corr.timespanSeconds * 1000;
  // (event identity, rule, group, time, fields) of each contribution.
  const contributions: { id: number; ref: string; group: string[]; time: number; fields: Record<string, unknown> }[] = [];
  let id = 0;
  const add = (ev: ContractEvent, refs: string[]): void => {
    const myId = id++;
    for (const ref of refs) {
      const group = corr.groupBy.map((g) => text(ev.fields[fieldFor(rule, g, ref)]));
      if (group.some((v) => v === undefined)) continue;
      contributions.push({ id: myId, ref, group: group as string[], time: ev.time, fields: ev.fields });
    }
  };
  const pseudo: ContractEvent[] = [];
  for (const [ref, inner] of c.chained) {
    for (const h of contractHits(inner, events)) {
      pseudo.push({ time: h.t, fields: Object.fromEntries(inner.rule.correlation.groupBy.map((g, i) => [g, h.group[i]])), matches: [ref] });
    }
  }
  for (const ev of events) {
    const refs = ev.matches.filter((r) => corr.rules.includes(r) && !c.chained.has(r));
    if (refs.length) add(ev, refs);
  }
  for (const ev of pseudo) add(ev, ev.matches);

  const groups = new Map<string, typeof contributions>();
  for (const x of contributions) {
    const k = JSON.stringify(x.group);
    let l = groups.get(k);
    if (!l) groups.set(k, (l = []));
    l.push(x);
  }
  const hits: ContractHit[] = [];
  for (const list of groups.values()) {
    const points = [...new Set(list.map((x) => x.time))].sort((a, b) => a - b);
    let prev: { t: number; holds: boolean } | undefined;
    for (const t of points) {
      const win = list.filter((x) => x.time >= t - span && x.time <= t);
      const value = valueAt(rule, win, t);
      const holds = value !== undefined && conditionHolds(rule, value);
      const prevHolds = prev !== undefined && prev.t >= t - span && prev.holds;
      if (holds && !prevHolds) hits.push({ group: list[0]!.group, t, value: value! });
      prev = { t, holds };
    }
  }
  return hits;
}

function valueAt(rule: CorrelationRule, win: { id: number; ref: string; time: number; fields: Record<string, unknown> }[], t: number): number | undefined {
  const corr = rule.correlation;
  const byEvent = new Map(win.map((x) => [x.id, x]));
  const field = corr.condition?.field;
  switch (corr.type) {
    case 'event_count':
      return byEvent.size;
    case 'value_count':
      return new Set([...byEvent.values()].map((x) => text(x.fields[field!])).filter((v) => v !== undefined)).size;
    case 'value_sum':
    case 'value_avg': {
      const nums = [...byEvent.values()].map((x) => numeric(x.fields[field!])).filter((v): v is number => v !== undefined);
      if (nums.length === 0) return undefined;
      const sum = nums.reduce((a, b) => a + b, 0);
      return corr.type === 'value_sum' ? sum : sum / nums.length;
    }
    case 'temporal':
      return new Set(win.map((x) => x.ref)).size;
    case 'temporal_ordered': {
      // Some e1..en of r1..rn with time(e1) <= ... <= time(en) = t: every choice is tried.
      const n = corr.rules.length;
      const chain = (k: number, notAfter: number): boolean =>
        k < 0 || win.some((x) => x.ref === corr.rules[k] && x.time <= notAfter && (k < n - 1 || x.time === t) && chain(k - 1, x.time));
      if (!chain(n - 1, t)) return undefined;
      return n;
    }
    default:
      throw new Error(`contract: ${corr.type} is not modelled`);
  }
}

function conditionHolds(rule: CorrelationRule, v: number): boolean {
  const c = rule.correlation;
  const ops = c.condition?.ops.length ? c.condition.ops : c.type.startsWith('temporal') ? [{ op: 'gte' as const, value: c.rules.length }] : [];
  return ops.every(({ op, value }) =>
    op === 'gt' ? v > value : op === 'gte' ? v >= value : op === 'lt' ? v < value : op === 'lte' ? v <= value : op === 'eq' ? v === value : v !== value,
  );
}
