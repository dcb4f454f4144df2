/**
 * Correlation rules for the evaluator: a loaded collection's correlation rules as engine specs (their
 * references resolved by id or name, in dependency order), the event time they correlate by, and
 * `correlate`, the whole path from rules and events to hits (tests, other front ends).
 */
import type { LoadedRule } from '../collection/load.js';
import { Engine, type EngineOptions } from '../eval/engine.js';
import type { EventView, JsonObject } from '../eval/event.js';
import { shapeOf } from '../eval/shape.js';
import type { CorrelationRule } from '../model/types.js';
import { CorrelationEngine, CorrelationInputError, readEventTime, type CorrelationHit, type CorrelationSpec } from './engine.js';
import { specOf, timeFields } from './spec.js';

export { fieldsRead, specOf, timeFields, type ResolvedRef, type TimeFields } from './spec.js';
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
  /** Every rule a spec refers to (detection or correlation), by its key. */
  byKey: Map<string, LoadedRule>;
  /** The detection rules and correlations some runnable correlation refers to. */
  referenced: Set<LoadedRule>;
  /** Referenced rules whose matches are reported on their own too: some correlation referring to them says `generate: true`. */
  generated: Set<LoadedRule>;
  problems: CorrelationProblem[];
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
  const out: CorrelationSetup = { specs: [], rules: new Map(), byKey: new Map(), referenced: new Set(), generated: new Set(), problems: [] };
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
    out.specs.push(specOf(rule, key, refs.map((t) => ({ key: ruleKey(t), id: t.rule?.id, name: t.rule?.name }))));
    out.rules.set(key, r);
    for (const t of refs) {
      out.byKey.set(ruleKey(t), t);
      out.referenced.add(t);
      if (rule.correlation.generate) out.generated.add(t);
    }
    state.set(r, 'ok');
    return true;
  };
  for (const r of loaded) if (r.rule?.kind === 'correlation') visit(r);
  return out;
}

/**
 * An event's time in ms since the epoch, from the first of `fields` (default: its shape's list) that
 * the event has; or why there is none. A field that is there but holds no timestamp is an error, not
 * a reason to read the next one.
 */
export function eventTime(raw: JsonObject, view: Pick<EventView, 'get'>, fields?: readonly string[]): { time: number } | { error: string } {
  const t = readEventTime((name) => view.get(name), fields ?? timeFields()[shapeOf(raw)]);
  return typeof t === 'number' ? { time: t } : { error: t };
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
