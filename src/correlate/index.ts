/**
 * Correlation rules for the evaluator: a loaded collection's correlation rules as engine specs (their
 * references resolved by id or name, in dependency order), the event time they correlate by, and
 * `correlate`, the whole path from rules and events to hits (tests, other front ends).
 */
import type { LoadedRule } from '../collection/load.js';
import { readYamlFile } from '../config/mapping.js';
import { Engine, type EngineOptions } from '../eval/engine.js';
import type { EventView, JsonObject } from '../eval/event.js';
import { shapeOf } from '../eval/shape.js';
import type { CorrelationRule } from '../model/types.js';
import { parseTimestamp } from '../runtime/time.js';
import { CorrelationEngine, CorrelationInputError, type CorrelationHit, type CorrelationSpec } from './engine.js';

export { CorrelationEngine, CorrelationHit, CorrelationInputError, type Contribution, type CorrelationEngineOptions, type CorrelationMatch, type CorrelationSpec } from './engine.js';

/** The name matches and hits carry for a rule: its id, else its name, else where it is. */
export function ruleKey(r: LoadedRule): string {
  return r.rule?.id ?? r.rule?.name ?? `${r.path}#${r.index}`;
}

/** A correlation that cannot run, and why (its own errors are the loader's diagnostics). */
export interface CorrelationProblem {
  rule: LoadedRule;
  message: string;
}

export interface CorrelationSetup {
  /** In dependency order: a correlation after those it refers to. */
  specs: CorrelationSpec[];
  /** The loaded correlation rule of each spec key. */
  rules: Map<string, LoadedRule>;
  /** The detection rules and correlations some runnable correlation refers to. */
  referenced: Set<LoadedRule>;
  /** Referenced rules whose matches are reported on their own too: some correlation referring to them says `generate: true`. */
  generated: Set<LoadedRule>;
  problems: CorrelationProblem[];
}

/** The engine's reading of a correlation rule, its references already resolved. */
export function specOf(rule: CorrelationRule, key: string, refs: readonly LoadedRule[]): CorrelationSpec {
  const c = rule.correlation;
  const aliases: Record<string, Record<string, string>> = {};
  for (const [g, m] of c.aliases) aliases[g] = Object.fromEntries(m);
  const spec: CorrelationSpec = {
    key,
    type: c.type,
    refs: refs.map(ruleKey),
    refNames: refs.map((r, i) => [...new Set([c.rules[i]!, r.rule?.id, r.rule?.name].filter((n): n is string => n !== undefined))]),
    groupBy: [...c.groupBy],
    aliases,
    timespan: c.timespanSeconds * 1000,
    condition: (c.condition?.ops ?? []).map((o) => ({ op: o.op, value: o.value })),
  };
  if (c.condition?.field !== undefined) spec.field = c.condition.field;
  if (c.condition?.percentile !== undefined) spec.percentile = c.condition.percentile;
  return spec;
}

/**
 * The runnable correlations of a collection. `runnable` says which detection rules the evaluator
 * could compile (default: those with IR); a correlation referring to one that cannot run, or to a
 * correlation that cannot, is a problem, not silently left out.
 */
export function correlationSetup(loaded: readonly LoadedRule[], runnable: (r: LoadedRule) => boolean = (r) => r.ir !== undefined): CorrelationSetup {
  const byRef = new Map<string, LoadedRule>();
  for (const r of loaded) {
    if (!r.rule) continue;
    if (r.rule.name !== undefined && !byRef.has(r.rule.name)) byRef.set(r.rule.name, r);
  }
  // Ids win over names (an id is unique by definition; a name could shadow another rule's id).
  for (const r of loaded) if (r.rule?.id !== undefined) byRef.set(r.rule.id, r);
  const out: CorrelationSetup = { specs: [], rules: new Map(), referenced: new Set(), generated: new Set(), problems: [] };
  const state = new Map<LoadedRule, 'visiting' | 'ok' | 'failed'>();
  const visit = (r: LoadedRule): boolean => {
    const s = state.get(r);
    if (s === 'ok') return true;
    if (s === 'failed') return false;
    const rule = r.rule as CorrelationRule;
    if (s === 'visiting') {
      out.problems.push({ rule: r, message: `correlation '${rule.title}' refers to itself through its chain of rules` });
      state.set(r, 'failed');
      return false;
    }
    if (r.diagnostics.some((d) => d.severity === 'error')) {
      state.set(r, 'failed');
      return false;
    }
    state.set(r, 'visiting');
    const refs: LoadedRule[] = [];
    let why: string | undefined;
    for (const ref of rule.correlation.rules) {
      const target = byRef.get(ref);
      if (!target?.rule) why ??= `it refers to rule '${ref}', which is not in the loaded rules`;
      else if (target.rule.kind === 'correlation') {
        if (!visit(target)) why ??= `it refers to correlation '${ref}', which cannot run`;
      } else if (target.rule.kind !== 'detection') why ??= `it refers to '${ref}', a ${target.rule.kind} rule (a correlation refers to detection or correlation rules)`;
      else if (!runnable(target)) why ??= `it refers to rule '${ref}', which the evaluator cannot run (see its error)`;
      if (target) refs.push(target);
    }
    if (why !== undefined) {
      if (state.get(r) !== 'failed') out.problems.push({ rule: r, message: `correlation '${rule.title}' cannot run: ${why}` });
      state.set(r, 'failed');
      return false;
    }
    const key = ruleKey(r);
    out.specs.push(specOf(rule, key, refs));
    out.rules.set(key, r);
    for (const t of refs) {
      out.referenced.add(t);
      if (rule.correlation.generate) out.generated.add(t);
    }
    state.set(r, 'ok');
    return true;
  };
  for (const r of loaded) if (r.rule?.kind === 'correlation') visit(r);
  return out;
}

/** The time fields of backends/eval/time-fields.yml, by event shape. */
export interface TimeFields {
  windows: string[];
  flat: string[];
}

let defaultTimeFields: TimeFields | undefined;

const TIME_FILE = new URL('../../backends/eval/time-fields.yml', import.meta.url);

export function timeFields(): TimeFields {
  if (defaultTimeFields) return defaultTimeFields;
  const data = readYamlFile(TIME_FILE) as Partial<Record<keyof TimeFields, unknown>> | null;
  const list = (k: keyof TimeFields): string[] => {
    const v = data?.[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${TIME_FILE.pathname}: '${k}' must be a list of field names`);
    return v as string[];
  };
  defaultTimeFields = { windows: list('windows'), flat: list('flat') };
  return defaultTimeFields;
}

/**
 * An event's time in ms since the epoch, from the first of `fields` (default: its shape's list) that
 * the event has; or why there is none. A field that is there but holds no timestamp is an error, not
 * a reason to read the next one.
 */
export function eventTime(raw: JsonObject, view: Pick<EventView, 'get'>, fields?: readonly string[]): { time: number } | { error: string } {
  const names = fields ?? timeFields()[shapeOf(raw)];
  for (const f of names) {
    const v = view.get(f);
    if (v === undefined || v === null || v === '') continue;
    const t = typeof v === 'string' ? parseTimestamp(v) : undefined;
    if (t === undefined || !Number.isFinite(t)) {
      return { error: `its time field ${f} holds ${JSON.stringify(v)}, not a timestamp (ISO 8601, e.g. 2024-05-01T22:10:03.123Z)` };
    }
    return { time: t };
  }
  return { error: `it has no time field (looked for ${names.join(', ')}; name another with --time-field)` };
}

export interface CorrelateOptions extends EngineOptions {
  /** Time fields to read instead of the shape's list. */
  timeFields?: readonly string[];
  reorder?: number;
}

/**
 * Run a collection's correlations over events (in time order): every detection rule matched by the
 * evaluator, every correlation by the engine. Throws on an event without a time that some
 * correlation needs, or out of order, naming its index.
 */
export function correlate(rules: readonly LoadedRule[], events: readonly JsonObject[], opts: CorrelateOptions = {}): CorrelationHit<EventView>[] {
  const { engine: matcher, problems } = Engine.fromLoaded(rules, { unknownOrigin: 'all', ...opts });
  const failed = new Set(problems.map((p) => `${p.path}:${p.line}`));
  const setup = correlationSetup(rules, (r) => r.ir !== undefined && !failed.has(`${r.path}:${r.rule!.at.line}`));
  if (setup.problems.length > 0) throw new Error(setup.problems.map((p) => p.message).join('\n'));
  return correlateWith(matcher, setup.specs, events, opts);
}

/** `correlate` with the evaluator and the specs already built (one collection, many streams). */
export function correlateWith(matcher: Engine, specs: readonly CorrelationSpec[], events: Iterable<JsonObject>, opts: Omit<CorrelateOptions, keyof EngineOptions> = {}): CorrelationHit<EventView>[] {
  const engine = new CorrelationEngine<EventView>(specs, { field: (v, name) => v.get(name), reorder: opts.reorder ?? 0 });
  const hits: CorrelationHit<EventView>[] = [];
  let index = 0;
  for (const raw of events) {
    index++;
    const matched: { rule: string; view: EventView }[] = [];
    matcher.evaluate(raw, (rule, view) => {
      const key = ruleKey(rule.source);
      if (engine.wants(key)) matched.push({ rule: key, view });
    });
    if (matched.length === 0) continue;
    const t = eventTime(raw, matched[0]!.view, opts.timeFields);
    if ('error' in t) throw new Error(`event ${index}: ${t.error}`);
    for (const m of matched) {
      try {
        hits.push(...engine.push({ rule: m.rule, event: m.view, time: t.time, position: index }));
      } catch (e) {
        if (e instanceof CorrelationInputError) throw new Error(`event ${index}: ${e.message}`);
        throw e;
      }
    }
  }
  hits.push(...engine.flush());
  return hits;
}
