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
import { AhoCorasick, HitBuffer } from './aho.js';
import { checkNode, compileNode, type Matcher, type RegexCache } from './compile.js';
import { EventView, type FieldMap, type JsonObject } from './event.js';
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
import { allTexts } from '../runtime/values.js';
import { eventFields } from './shape.js';
import { requiredEventIds, witnessOf, type Witness } from './witness.js';

/**
 * What a rule compiles to, built when the scan first needs it and shared by the copies of the rule
 * (CompiledRule.withIndex). Most rules of a corpus never need it in a scan: the rules of log
 * sources the input does not have are never routed (no witness, no EventIDs), and most routed rules
 * are never a candidate of the witness index (no matcher): compiling every rule up front was most
 * of a scan's start-up, and was paid again on every worker thread.
 */
interface Lazy {
  match: Matcher | undefined;
  witnessDone: boolean;
  witness: Witness;
  eventIdsDone: boolean;
  eventIds: ReadonlySet<number> | undefined;
}

export class CompiledRule {
  private constructor(
    /** Position in the engine's rule list (detections of one event come in this order). */
    readonly index: number,
    readonly id: string | undefined,
    readonly title: string,
    readonly level: string | undefined,
    readonly path: string,
    readonly logsource: LogSource,
    readonly route: RuleRoute,
    /** The rule's effective IR (filters applied). */
    readonly ir: Node,
    /** The loaded document it came from. */
    readonly source: LoadedRule,
    private readonly lazy: Lazy,
    private readonly regexes: RegexCache | undefined,
  ) {}

  static create(
    index: number,
    ir: Node,
    meta: { id: string | undefined; title: string; level: string | undefined; path: string; logsource: LogSource },
    source: LoadedRule,
    data: RoutingData,
    regexes: RegexCache | undefined,
  ): CompiledRule {
    const lazy: Lazy = { match: undefined, witnessDone: false, witness: undefined, eventIdsDone: false, eventIds: undefined };
    return new CompiledRule(index, meta.id, meta.title, meta.level, meta.path, meta.logsource, routeOf(meta.logsource, data), ir, source, lazy, regexes);
  }

  /** The same rule at another position (Engine over a chosen subset); what it compiled to is shared. */
  withIndex(index: number): CompiledRule {
    return new CompiledRule(index, this.id, this.title, this.level, this.path, this.logsource, this.route, this.ir, this.source, this.lazy, this.regexes);
  }

  get match(): Matcher {
    return (this.lazy.match ??= compileNode(this.ir, this.regexes));
  }

  get witness(): Witness {
    const lazy = this.lazy;
    if (!lazy.witnessDone) {
      lazy.witness = witnessOf(this.ir);
      lazy.witnessDone = true;
    }
    return lazy.witness;
  }

  /** EventIDs a match requires (from the rule's own conditions), if any. */
  get eventIds(): ReadonlySet<number> | undefined {
    const lazy = this.lazy;
    if (!lazy.eventIdsDone) {
      lazy.eventIds = requiredEventIds(this.ir);
      lazy.eventIdsDone = true;
    }
    return lazy.eventIds;
  }

  /** Throws what compiling the rule would (checkNode); the regexes it compiles are kept for that. */
  check(): void {
    checkNode(this.ir, this.regexes ?? new Map());
  }
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
  /**
   * Events that carry no log source (no Channel or known provider): `all` rules see them (the
   * default: a rule's inline tests and regression events are such flat events, each meant for its
   * rule), or only the rules `unconstrained` by a log source (`rulec scan`: a flat event could be
   * anything, and a Zeek rule must not match a PowerShell event).
   */
  unknownOrigin?: 'all' | 'unconstrained';
}

/** A rule matched an event: the rule and the event as rules saw it (flattened, renamed). */
export type DetectionSink = (rule: CompiledRule, event: EventView) => void;

/**
 * The witness index of one set of routed rules: per field that some clause names, one automaton
 * over that field's literals and the any-field ones (keywords, and dotted paths, which may lie
 * anywhere), run over the folded text of that field; and, when there are any-field literals, one
 * automaton of those alone for every other field. A hit of pattern p in a field counts for exactly
 * the (rule, clause) pairs of p in that field's index: no hit is looked at for a field it is not
 * about.
 */
interface Index {
  fields: Map<string, FieldIndex>;
  /** For the fields no clause names, when some literal may be in any field. */
  any: FieldIndex | undefined;
  /** any.aho.canSkip(), asked once. */
  anySkips: boolean;
  /**
   * Whether an any-field literal can occur in the text of a number or boolean: when not, those
   * values of unnamed fields are not scanned (most numbers of an event are ids and counters).
   */
  anyInScalars: boolean;
}

interface FieldIndex {
  aho: AhoCorasick;
  /** The (rule, clause bit) pairs of pattern p of `aho` are pairs[start[p]] to pairs[start[p + 1]]. */
  start: Int32Array;
  pairs: Int32Array;
}

/**
 * Scans the raw texts of a field's value, nested values included (the automaton folds as it
 * reads), reading every unit or skipping (AhoCorasick.canSkip).
 */
function scanValue(automaton: AhoCorasick, v: unknown, hits: HitBuffer, skip: boolean): void {
  if (typeof v !== 'string') for (const t of typeof v === 'object' ? allTexts(v) : [String(v)]) scanValue(automaton, t, hits, skip);
  else if (skip) automaton.scanSkipping(v, hits);
  else automaton.scanInto(v, hits);
}

/** Could `literal` (folded, coarse) occur in the text of some number or boolean? */
function mayOccurInScalar(literal: string): boolean {
  return /^[0-9.e+-]+$/.test(literal) || ['-infinity', 'nan', 'true', 'false'].some((t) => t.includes(literal));
}

/** Builds one FieldIndex: literals numbered as they come, each with its (rule, clause bit) pairs. */
class FieldIndexBuilder {
  private readonly ids = new Map<string, number>();
  private readonly pairs: number[][] = [];

  add(text: string, rule: number, bit: number): void {
    let p = this.ids.get(text);
    if (p === undefined) {
      p = this.pairs.length;
      this.ids.set(text, p);
      this.pairs.push([]);
    }
    this.pairs[p]!.push(rule, bit);
  }

  get size(): number {
    return this.pairs.length;
  }

  build(): FieldIndex {
    // One flat array rather than one per pattern: thousands of small typed arrays are scattered
    // in memory, and each hit would touch another one.
    const start = new Int32Array(this.pairs.length + 1);
    for (let p = 0; p < this.pairs.length; p++) start[p + 1] = start[p]! + this.pairs[p]!.length;
    const pairs = new Int32Array(start[this.pairs.length]!);
    this.pairs.forEach((x, p) => pairs.set(x, start[p]!));
    return { aho: new AhoCorasick([...this.ids.keys()], true), start, pairs };
  }
}

interface RouteEntry {
  /** The channel and EventIDs this entry is for. */
  origin: EventOrigin;
  /** Routed rules without a witness: always evaluated. */
  always: number[];
  /** inRoute[rule] = 1 routed, 2 routed when the route's `where` values hold; 0 not routed. */
  inRoute: Uint8Array;
  /** With the index off: every routed rule, in order. */
  all: number[];
  /** The rules with a witness that the index of this route covers (see routeEntry). */
  indexed: number[];
  renames: [string, string][];
  /** Built on first use (most routes never see an event). */
  index: Index | undefined;
}

export class Engine {
  readonly rules: CompiledRule[];
  private readonly data: RoutingData;
  private readonly useIndex: boolean;
  private readonly useRouting: boolean;
  private readonly onlyUnconstrained: boolean;
  /** Events evaluated that carried no log source to route by (see EngineOptions.unknownOrigin). */
  eventsWithoutOrigin = 0;
  private readonly routes = new Map<string, RouteEntry>();
  /** Channel as written -> EventID -> entry, for the common case. */
  private readonly quickRoutes = new Map<string, Map<number, RouteEntry>>();
  /** Indexes shared by routes with the same witness rules (Sysmon 1 and Security 4688, ...). */
  private readonly indexes = new Map<string, Index>();
  // Per-event scratch, reused: which rules were seen (by event epoch), which patterns (by field
  // epoch), the candidates, the automaton's hits.
  private readonly seenRule: Uint32Array;
  private epoch = 0;
  /** Per rule: the clause bits hit so far in this event; `full` when all are. */
  private readonly clauses: Uint8Array;
  private readonly full: Uint8Array;
  private seenPattern: Uint32Array = new Uint32Array(0);
  private patternEpoch = 0;
  private candidates: Int32Array = new Int32Array(64);
  private readonly hits = new HitBuffer();

  constructor(rules: CompiledRule[], opts: EngineOptions = {}) {
    this.rules = rules;
    this.data = opts.routingData ?? defaultRoutingData();
    this.useIndex = opts.index ?? true;
    this.useRouting = opts.routing ?? true;
    this.onlyUnconstrained = opts.unknownOrigin === 'unconstrained';
    this.seenRule = new Uint32Array(rules.length);
    this.clauses = new Uint8Array(rules.length);
    // Filled as rules are routed (routeEntry): a rule's witness is worked out when an event may need it.
    this.full = new Uint8Array(rules.length);
  }

  /**
   * The detection rules of a loaded collection (filters applied; correlation rules and rules that
   * did not load are left out), each compiled when an event first needs it. Rules whose matcher
   * cannot be built are found up front and returned as problems, never thrown; `check: false`
   * keeps every rule unchecked (the caller checked the same list: a scan worker), and a rule that
   * cannot compile then throws when an event first needs it.
   */
  static fromLoaded(
    loaded: readonly LoadedRule[],
    opts: EngineOptions & { check?: boolean } = {},
    onRule: (done: number, total: number) => void = () => {},
  ): { engine: Engine; problems: RuleProblem[] } {
    const data = opts.routingData ?? defaultRoutingData();
    const regexes: RegexCache = new Map();
    const rules: CompiledRule[] = [];
    const effective = effectiveIr(loaded);
    for (const [r, ir] of effective) {
      onRule(rules.length, effective.size);
      const rule = r.rule as DetectionRule;
      rules.push(CompiledRule.create(rules.length, ir, { id: rule.id, title: rule.title, level: rule.level, path: r.path, logsource: rule.logsource }, r, data, regexes));
    }
    const { ok, problems } = opts.check === false ? { ok: rules, problems: [] } : Engine.check(rules);
    return { engine: new Engine(ok, { ...opts, routingData: data }), problems };
  }

  /**
   * The rules that compile (renumbered in order), and a problem for each that does not: what
   * fromLoaded does unless given `check: false`. Apart so that a scan's main thread can check the
   * rules while its workers build theirs unchecked from the same list.
   */
  static check(rules: readonly CompiledRule[]): { ok: CompiledRule[]; problems: RuleProblem[] } {
    const ok: CompiledRule[] = [];
    const problems: RuleProblem[] = [];
    for (const r of rules) {
      try {
        r.check();
        ok.push(r.index === ok.length ? r : r.withIndex(ok.length));
      } catch (e) {
        problems.push({ path: r.path, line: (r.source.rule as DetectionRule | undefined)?.at.line ?? 1, id: r.source.id, title: r.source.title, message: (e as Error).message });
      }
    }
    return { ok, problems };
  }

  /**
   * An engine over bare IR (tests, benchmarks, other front ends): each entry is a rule's effective
   * IR with its log source and the metadata detections report. Throws what compileNode throws.
   */
  static fromIr(entries: readonly IrRule[], opts: EngineOptions = {}): Engine {
    const data = opts.routingData ?? defaultRoutingData();
    const regexes: RegexCache = new Map();
    const rules = entries.map((e, index) => {
      const source: LoadedRule = { path: e.path ?? '<ir>', index: 0, diagnostics: [] };
      if (e.id !== undefined) source.id = e.id;
      const rule = CompiledRule.create(index, e.ir, { id: e.id, title: e.title ?? `rule ${index + 1}`, level: e.level, path: source.path, logsource: e.logsource ?? {} }, source, data, regexes);
      rule.check();
      return rule;
    });
    return new Engine(rules, { ...opts, routingData: data });
  }

  /** Rules whose log source is Windows but has no routing data: they match only events without a channel. */
  unroutedRules(): { rule: CompiledRule; reason: string }[] {
    return this.rules.flatMap((rule) => (rule.route.kind === 'unrouted' ? [{ rule, reason: rule.route.reason }] : []));
  }

  /**
   * Evaluate one event (any shape); `sink` receives each matching rule, in rule order. Not
   * reentrant: a sink must not evaluate another event on the same engine (scratch buffers are
   * shared), which is checked.
   */
  evaluate(raw: JsonObject, sink: DetectionSink): void {
    if (this.busy) throw new Error('Engine.evaluate was called from its own sink; queue the event instead');
    this.busy = true;
    try {
      this.evaluateOne(raw, sink);
    } finally {
      this.busy = false;
    }
  }

  private busy = false;

  private evaluateOne(raw: JsonObject, sink: DetectionSink): void {
    const event = eventFields(raw);
    const route = this.routeOfEvent(event);
    const origin = route.origin;
    if (origin.channel === undefined) this.eventsWithoutOrigin++;
    if (route.renames.length > 0) applyRenames(event, route.renames);
    const view = new EventView(event);
    if (!this.useIndex) {
      for (const i of route.all) this.consider(i, route, origin, view, sink);
      return;
    }
    const index = (route.index ??= this.buildIndex(route));
    const epoch = this.nextEpoch();
    const { seenRule, seenPattern, hits, clauses, full } = this;
    const inRoute = route.inRoute;
    let cands: Int32Array = this.candidates;
    let n = 0;
    for (const r of route.always) cands[n++] = r;
    const { fields, any } = index;
    for (const [key, v] of event) {
      if (v === undefined || v === null) continue;
      let fi = fields.get(key);
      hits.length = 0;
      if (fi !== undefined) scanValue(fi.aho, v, hits, false);
      else if (any !== undefined) {
        // A field no clause names, for any-field literals only: those are usually long enough to
        // skip through the text.
        fi = any;
        if (typeof v === 'string' || typeof v === 'object' || index.anyInScalars) scanValue(any.aho, v, hits, index.anySkips);
      } else continue;
      if (hits.length === 0) continue;
      const stamp = this.nextPatternEpoch();
      const { start, pairs } = fi;
      for (let h = 0; h < hits.length; h++) {
        const p = hits.ids[h]!;
        if (seenPattern[p] === stamp) continue;
        seenPattern[p] = stamp;
        for (let j = start[p]!, end = start[p + 1]!; j < end; j += 2) {
          const r = pairs[j]!;
          if (inRoute[r] === 0) continue;
          if (seenRule[r] !== epoch) {
            seenRule[r] = epoch;
            clauses[r] = 0;
          }
          const had = clauses[r]!;
          const now = had | pairs[j + 1]!;
          if (now === had) continue;
          clauses[r] = now;
          // A rule is a candidate once every one of its clauses has a hit.
          if (now === full[r]) {
            if (n === cands.length) cands = this.growCandidates();
            cands[n++] = r;
          }
        }
      }
    }
    const list = cands.subarray(0, n);
    if (n > route.always.length) list.sort();
    for (let k = 0; k < n; k++) this.consider(list[k]!, route, origin, view, sink);
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
    const withWitness = route.indexed;
    const key = withWitness.join(',');
    let index = this.indexes.get(key);
    if (index) return index;
    if (this.indexes.size >= 256) this.indexes.clear();
    const named = new Map<string, FieldIndexBuilder>();
    const anywhere: [string, number, number][] = [];
    for (const i of withWitness) {
      this.rules[i]!.witness!.forEach((clause, c) => {
        for (const { field, text } of clause) {
          // A dotted field may resolve to a nested value: look for it in every field.
          if (field === undefined || field.includes('.')) anywhere.push([text, i, 1 << c]);
          else {
            let b = named.get(field);
            if (!b) named.set(field, (b = new FieldIndexBuilder()));
            b.add(text, i, 1 << c);
          }
        }
      });
    }
    let any: FieldIndexBuilder | undefined;
    if (anywhere.length > 0) {
      any = new FieldIndexBuilder();
      for (const b of [...named.values(), any]) for (const [text, rule, bit] of anywhere) b.add(text, rule, bit);
    }
    const fields = new Map<string, FieldIndex>();
    for (const [field, b] of named) fields.set(field, b.build());
    const anyIndex = any?.build();
    index = {
      fields,
      any: anyIndex,
      anySkips: anyIndex?.aho.canSkip() ?? false,
      anyInScalars: anywhere.some(([text]) => mayOccurInScalar(text)),
    };
    this.indexes.set(key, index);
    let most = any?.size ?? 0;
    for (const b of named.values()) most = Math.max(most, b.size);
    if (this.seenPattern.length < most) this.seenPattern = new Uint32Array(most);
    if (this.candidates.length < this.rules.length) this.candidates = new Int32Array(this.rules.length);
    return index;
  }

  private growCandidates(): Int32Array {
    const next = new Int32Array(this.candidates.length * 2);
    next.set(this.candidates);
    this.candidates = next;
    return next;
  }

  private nextPatternEpoch(): number {
    this.patternEpoch++;
    if (this.patternEpoch === 0xffffffff) {
      this.seenPattern.fill(0);
      this.patternEpoch = 1;
    }
    return this.patternEpoch;
  }

  private nextEpoch(): number {
    this.epoch++;
    if (this.epoch === 0xffffffff) {
      this.seenRule.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }

  /** The route entry of an event; the usual string Channel and number EventID skip building a key. */
  private routeOfEvent(event: FieldMap): RouteEntry {
    if (!this.useRouting) return this.routeEntry({ channel: undefined, eventIds: [] });
    const c = event.get('Channel');
    const id = event.get('EventID');
    if (typeof c === 'string' && c !== '' && typeof id === 'number') {
      const hit = this.quickRoutes.get(c)?.get(id);
      if (hit) return hit;
      const entry = this.routeEntry(originOf(event, this.data));
      let byId = this.quickRoutes.get(c);
      if (!byId) {
        if (this.quickRoutes.size >= 256) this.quickRoutes.clear();
        this.quickRoutes.set(c, (byId = new Map()));
      }
      if (byId.size < 4096) byId.set(id, entry);
      return entry;
    }
    return this.routeEntry(originOf(event, this.data));
  }

  private routeEntry(origin: EventOrigin): RouteEntry {
    const key = `${origin.channel ?? ''}\u0000${origin.eventIds.join(',')}`;
    let entry = this.routes.get(key);
    if (entry) return entry;
    const inRoute = new Uint8Array(this.rules.length);
    const always: number[] = [];
    const all: number[] = [];
    const indexed: number[] = [];
    for (const r of this.rules) {
      const v = origin.channel === undefined && this.onlyUnconstrained && r.route.kind !== 'all' ? 'no' : admits(r.route, origin);
      if (v === 'no') continue;
      // The index covers the rules the log source admits, before their own EventID conditions:
      // events of one channel then share an index whatever their EventID (hostile input with
      // endless EventIDs cannot make it build one automaton per EventID).
      const witness = r.witness;
      if (witness !== undefined) {
        indexed.push(r.index);
        this.full[r.index] = (1 << witness.length) - 1;
      }
      if (r.eventIds && !origin.eventIds.some((x) => r.eventIds!.has(x))) continue;
      inRoute[r.index] = v === 'yes' ? 1 : 2;
      all.push(r.index);
      if (witness === undefined) always.push(r.index);
    }
    entry = { origin, always, inRoute, all, indexed, renames: renamesFor(origin, this.data), index: undefined };
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
