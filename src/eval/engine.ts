/**
 * The scanning engine: a rule set compiled once, then events evaluated one at a time, detections
 * delivered to a callback (rule, event) as they are found. Correlation rules (a later issue) plug
 * in as a consumer of that stream, keeping their own state per group and window.
 *
 * Per event: flatten its shape (shape.ts), find its channel and EventID, apply that log's field
 * renames, then evaluate only
 *   1. the rules whose log source serves that channel and EventID (route.ts), and among those
 *   2. the rules whose witness (witness.ts) occurs in the folded text of some value of the event,
 *      found in one pass by Aho-Corasick (aho.ts), plus the routed rules without a witness.
 * The index never changes a verdict: `index: false` evaluates every routed rule, and the tests
 * check both give the same detections.
 */
import { effectiveIr } from '../collection/filters.js';
import type { LoadedRule } from '../collection/load.js';
import type { Node } from '../ir/types.js';
import type { DetectionRule, LogSource } from '../model/types.js';
import { AhoCorasick } from './aho.js';
import { compileNode, type Matcher } from './compile.js';
import { EventView, type JsonObject } from './event.js';
import {
  admits,
  applyRenames,
  defaultRoutingData,
  originOf,
  renamesFor,
  routeOf,
  whereHolds,
  type EventOrigin,
  type RoutingData,
  type RuleRoute,
} from './route.js';
import { flattenEvent } from './shape.js';
import { requiredEventIds, witnessOf, type Witness } from './witness.js';

export interface CompiledRule {
  /** Position in the engine's rule list (detections of one event come in this order). */
  index: number;
  id: string | undefined;
  title: string;
  level: string | undefined;
  path: string;
  logsource: LogSource;
  route: RuleRoute;
  match: Matcher;
  witness: Witness;
  /** EventIDs a match requires (from the rule's own conditions), if any. */
  eventIds: ReadonlySet<number> | undefined;
  /** The loaded document it came from. */
  source: LoadedRule;
}

/** A rule the engine could not compile (e.g. a regex the linear engine refuses), with the reason. */
export interface RuleProblem {
  path: string;
  line: number;
  id: string | undefined;
  title: string | undefined;
  message: string;
}

export interface EngineOptions {
  /** Prefilter with the witness index (default true). Off, every routed rule is evaluated. */
  index?: boolean;
  /** Log-source routing (default true). Off, every rule sees every event. */
  routing?: boolean;
  routingData?: RoutingData;
}

/** A rule matched an event: the rule and the event as rules saw it (flattened, renamed). */
export type DetectionSink = (rule: CompiledRule, event: EventView) => void;

/**
 * The witness index of one set of routed rules: one automaton over every witness literal, run
 * over the folded text of each top-level field of the event; a hit counts for the rules whose
 * witness names that field, or any field (keywords, and dotted paths, which may lie anywhere).
 */
interface Index {
  aho: AhoCorasick;
  /** Per pattern: rules whose witness holds it in any value. */
  anyRules: (number[] | undefined)[];
  /** Per pattern: field -> rules whose witness holds it in that field. */
  fieldRules: (Map<string, number[]> | undefined)[];
  /** Top-level fields worth scanning; every field when `scanAll`. */
  fields: Set<string>;
  scanAll: boolean;
}

interface RouteEntry {
  /** Routed rules without a witness: always evaluated. */
  always: number[];
  /** inRoute[rule] = 1 routed, 2 routed when the route's `where` values hold; 0 not routed. */
  inRoute: Uint8Array;
  /** With the index off: every routed rule, in order. */
  all: number[];
  renames: [string, string][];
  /** Built on first use (most routes never see an event). */
  index: Index | undefined;
}

export class Engine {
  readonly rules: CompiledRule[];
  private readonly data: RoutingData;
  private readonly useIndex: boolean;
  private readonly useRouting: boolean;
  private readonly routes = new Map<string, RouteEntry>();
  /** Indexes shared by routes with the same witness rules (Sysmon 1 and Security 4688, ...). */
  private readonly indexes = new Map<string, Index>();
  // Per-event scratch, reused: which rules were seen, by epoch.
  private readonly seenRule: Uint32Array;
  private epoch = 0;

  constructor(rules: CompiledRule[], opts: EngineOptions = {}) {
    this.rules = rules;
    this.data = opts.routingData ?? defaultRoutingData();
    this.useIndex = opts.index ?? true;
    this.useRouting = opts.routing ?? true;
    this.seenRule = new Uint32Array(rules.length);
  }

  /**
   * Compile the detection rules of a loaded collection (filters applied; correlation rules and
   * rules that did not load are left out). Rules whose matcher cannot be built are returned as
   * problems, never thrown.
   */
  static fromLoaded(loaded: readonly LoadedRule[], opts: EngineOptions = {}): { engine: Engine; problems: RuleProblem[] } {
    const data = opts.routingData ?? defaultRoutingData();
    const rules: CompiledRule[] = [];
    const problems: RuleProblem[] = [];
    for (const [r, ir] of effectiveIr(loaded)) {
      const rule = r.rule as DetectionRule;
      try {
        rules.push(compileRule(rules.length, r, rule, ir, data));
      } catch (e) {
        problems.push({ path: r.path, line: rule.at.line, id: r.id, title: r.title, message: (e as Error).message });
      }
    }
    return { engine: new Engine(rules, { ...opts, routingData: data }), problems };
  }

  /**
   * An engine over bare IR (tests, benchmarks, other front ends): each entry is a rule's effective
   * IR with its log source and the metadata detections report. Throws what compileNode throws.
   */
  static fromIr(entries: readonly IrRule[], opts: EngineOptions = {}): Engine {
    const data = opts.routingData ?? defaultRoutingData();
    const rules = entries.map((e, index) => {
      const source: LoadedRule = { path: e.path ?? '<ir>', index: 0, diagnostics: [] };
      if (e.id !== undefined) source.id = e.id;
      return build(index, e.ir, { id: e.id, title: e.title ?? `rule ${index + 1}`, level: e.level, path: source.path, logsource: e.logsource ?? {} }, source, data);
    });
    return new Engine(rules, { ...opts, routingData: data });
  }

  /** Rules whose log source is Windows but has no routing data: they match only events without a channel. */
  unroutedRules(): { rule: CompiledRule; reason: string }[] {
    return this.rules.flatMap((rule) => (rule.route.kind === 'unrouted' ? [{ rule, reason: rule.route.reason }] : []));
  }

  /** Evaluate one event (any shape); `sink` receives each matching rule, in rule order. */
  evaluate(raw: JsonObject, sink: DetectionSink): void {
    let event = flattenEvent(raw);
    const origin: EventOrigin = this.useRouting ? originOf(event, this.data) : { channel: undefined, eventIds: [] };
    const route = this.routeEntry(origin);
    if (route.renames.length > 0) event = applyRenames(event, route.renames);
    const view = new EventView(event);
    if (!this.useIndex) {
      for (const i of route.all) this.consider(i, route, origin, view, sink);
      return;
    }
    const index = (route.index ??= this.buildIndex(route));
    const epoch = this.nextEpoch();
    const candidates = route.always.slice();
    const { seenRule } = this;
    const { anyRules, fieldRules, fields, scanAll } = index;
    const inRoute = route.inRoute;
    const mark = (rules: readonly number[]): void => {
      for (const r of rules) {
        if (inRoute[r] !== 0 && seenRule[r] !== epoch) {
          seenRule[r] = epoch;
          candidates.push(r);
        }
      }
    };
    let key = '';
    const hit = (p: number): void => {
      const any = anyRules[p];
      if (any) mark(any);
      const byField = fieldRules[p];
      if (byField) {
        const rules = byField.get(key);
        if (rules) mark(rules);
      }
    };
    for (key in event) {
      if (!scanAll && !fields.has(key)) continue;
      for (const t of view.foldedValuesOf(key)) index.aho.scan(t, hit);
    }
    if (candidates.length > route.always.length) candidates.sort((a, b) => a - b);
    for (const i of candidates) this.consider(i, route, origin, view, sink);
  }

  /** The rules matching one event, in order (convenience over `evaluate`). */
  matches(raw: JsonObject): CompiledRule[] {
    const out: CompiledRule[] = [];
    this.evaluate(raw, (r) => out.push(r));
    return out;
  }

  private consider(i: number, route: RouteEntry, origin: EventOrigin, view: EventView, sink: DetectionSink): void {
    const rule = this.rules[i]!;
    if (route.inRoute[i] === 2 && !whereHolds(rule.route, origin, view)) return;
    if (rule.match(view)) sink(rule, view);
  }

  private buildIndex(route: RouteEntry): Index {
    const withWitness = route.all.filter((i) => this.rules[i]!.witness !== undefined);
    const key = withWitness.join(',');
    let index = this.indexes.get(key);
    if (index) return index;
    const ids = new Map<string, number>();
    const anyRules: (number[] | undefined)[] = [];
    const fieldRules: (Map<string, number[]> | undefined)[] = [];
    const fields = new Set<string>();
    let scanAll = false;
    const push = (list: number[], i: number): void => {
      if (list[list.length - 1] !== i) list.push(i);
    };
    for (const i of withWitness) {
      for (const { field, text } of this.rules[i]!.witness!) {
        let p = ids.get(text);
        if (p === undefined) {
          p = ids.size;
          ids.set(text, p);
          anyRules.push(undefined);
          fieldRules.push(undefined);
        }
        if (field === undefined || field.includes('.')) {
          scanAll = true;
          push((anyRules[p] ??= []), i);
        } else {
          fields.add(field);
          const m = (fieldRules[p] ??= new Map());
          let list = m.get(field);
          if (!list) m.set(field, (list = []));
          push(list, i);
        }
      }
    }
    index = { aho: new AhoCorasick([...ids.keys()], true), anyRules, fieldRules, fields, scanAll };
    this.indexes.set(key, index);
    return index;
  }

  private nextEpoch(): number {
    this.epoch++;
    if (this.epoch === 0xffffffff) {
      this.seenRule.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }

  private routeEntry(origin: EventOrigin): RouteEntry {
    const key = `${origin.channel ?? ''}\u0000${origin.eventIds.join(',')}`;
    let entry = this.routes.get(key);
    if (entry) return entry;
    const inRoute = new Uint8Array(this.rules.length);
    const always: number[] = [];
    const all: number[] = [];
    for (const r of this.rules) {
      const v = admits(r.route, origin);
      if (v === 'no') continue;
      if (r.eventIds && !origin.eventIds.some((x) => r.eventIds!.has(x))) continue;
      inRoute[r.index] = v === 'yes' ? 1 : 2;
      all.push(r.index);
      if (r.witness === undefined) always.push(r.index);
    }
    entry = { always, inRoute, all, renames: renamesFor(origin, this.data), index: undefined };
    // Unbounded channel/EventID variety in hostile input must not grow memory without limit.
    if (this.routes.size >= 4096) this.routes.clear();
    this.routes.set(key, entry);
    return entry;
  }
}

/** A rule given as IR (see Engine.fromIr). */
export interface IrRule {
  ir: Node;
  logsource?: LogSource;
  id?: string;
  title?: string;
  level?: string;
  path?: string;
}

function compileRule(index: number, r: LoadedRule, rule: DetectionRule, ir: Node, data: RoutingData): CompiledRule {
  return build(index, ir, { id: rule.id, title: rule.title, level: rule.level, path: r.path, logsource: rule.logsource }, r, data);
}

function build(
  index: number,
  ir: Node,
  meta: { id: string | undefined; title: string; level: string | undefined; path: string; logsource: LogSource },
  source: LoadedRule,
  data: RoutingData,
): CompiledRule {
  return {
    index,
    ...meta,
    route: routeOf(meta.logsource, data),
    match: compileNode(ir),
    witness: witnessOf(ir),
    eventIds: requiredEventIds(ir),
    source,
  };
}
