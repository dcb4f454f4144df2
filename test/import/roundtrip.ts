/**
 * The round trip of an imported KQL rule (issue 13, "Proof"): over events generated from the rule's
 * own literals and their near misses, three verdicts must agree:
 *
 * - the original KQL, run by the project's KQL test interpreter;
 * - the KQL that rulec's Kusto target builds from the imported rule (in process), run the same way;
 * - the evaluator on the imported rule.
 *
 * Both queries read the same row: the event as the platform stores it (test/kusto/rows.ts, through
 * the view the target compiles the rule against), so this is the equivalence harness of
 * test/harness/ with the original query as one more backend verdict.
 */
import fc from 'fast-check';
import { loadText } from '../../src/collection/load.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import { fieldPath } from '../../src/eval/event.js';
import type { Node } from '../../src/ir/types.js';
import { parsePlaceholderPairs } from '../../src/parse/placeholders.js';
import type { DetectionRule } from '../../src/model/types.js';
import type { CompileInput } from '../../src/targets/types.js';
import type { Fixture } from '../harness/fixtures.js';
import { UndecidedRegex } from '../helpers/bounded-regex.js';
import { kustoMapping, logSourceName, viewsFor } from '../../src/targets/kusto/mapping.js';
import { kustoBackend } from '../kusto/backend.js';
import { compileKql } from '../kusto/interpreter.js';
import { UnstorableEvent } from '../kusto/rows.js';

export interface RoundTripCase {
  /** For messages. */
  name: string;
  /** The original query. */
  kql: string;
  /** The imported rule, as YAML text. */
  rule: string;
  /** The Kusto platform whose tables the query reads. */
  platform: string;
  /** Deployment values of the rule's `%name%` placeholders (an empty `dynamic([])` list of the query). */
  placeholders?: Record<string, string[]>;
}

export interface Disagreement {
  event: Record<string, unknown>;
  original: boolean | string;
  built: boolean | string;
  evaluator: boolean;
}

export interface RoundTripReport {
  /** The query the Kusto target built from the rule. */
  built: string;
  events: number;
  /** Events all three select, and events none selects. */
  selected: number;
  rejected: number;
  /** Events the platform could not store, or whose regex V8 could not decide in time: no verdict. */
  skipped: number;
  /** The first disagreement found (fast-check shrinks it); undefined when all agree. */
  disagreement?: Disagreement;
}

/** The rule of a case, loaded as `rulec` loads it; throws with the diagnostics when it does not load. */
export function inputOf(c: RoundTripCase): CompileInput {
  // As `--placeholder name=value` gives them, one value a flag.
  const pairs = parsePlaceholderPairs(Object.entries(c.placeholders ?? {}).flatMap(([name, values]) => values.map((v) => `${name}=${v}`)));
  if ('error' in pairs) throw new Error(`${c.name}: ${pairs.error}`);
  const [r] = loadText(`${c.name}.yml`, c.rule, { placeholders: pairs.values });
  const errors = r?.diagnostics.filter((d) => d.severity === 'error') ?? [];
  if (!r?.ir || errors.length) throw new Error(`${c.name}: the rule does not load: ${(errors.length ? errors : r?.diagnostics ?? []).map((d) => d.message).join('; ') || 'no match IR'}`);
  return { path: `${c.name}.yml`, rule: r.rule as DetectionRule, ir: r.ir };
}

/** The literals a rule compares a field with; `negated`: the texts of tests under an odd number of `not`s. */
export interface Literals {
  texts: Set<string>;
  numbers: Set<number>;
  negated: Set<string>;
}

/** Each field the rule reads, with the literals it compares it with (texts and numbers). */
export function literalsByField(ir: Node): Map<string, Literals> {
  const out = new Map<string, Literals>();
  const of = (f: string) => {
    let e = out.get(f);
    if (!e) out.set(f, (e = { texts: new Set(), numbers: new Set(), negated: new Set() }));
    return e;
  };
  const walk = (n: Node, negated = false): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        n.children.forEach((c) => walk(c, negated));
        return;
      case 'not':
        walk(n.child, !negated);
        return;
      case 'str':
      case 'has':
        of(n.field).texts.add(n.value);
        if (negated) of(n.field).negated.add(n.value);
        return;
      case 'glob':
        for (const t of n.pattern) if (typeof t === 'string') of(n.field).texts.add(t);
        return;
      case 'regex':
        // The literal runs of the pattern, so that matches happen.
        for (const run of n.pattern.split(/[\\^$.*+?()[\]{}|]+/)) if (run) of(n.field).texts.add(run);
        return;
      case 'num':
        of(n.field).numbers.add(n.value);
        return;
      case 'cidr':
        of(n.field).texts.add(n.network);
        return;
      case 'fieldref':
        of(n.field);
        of(n.other);
        return;
      case 'bool':
      case 'exists':
      case 'null':
        of(n.field);
        return;
      default:
        return;
    }
  };
  walk(ir);
  return out;
}

const flipCase = (s: string): string => [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');

/**
 * A field's value: one of its literals as written, case-changed, with a prefix or suffix that keeps
 * or breaks a term boundary (`x`, `.`, a folder), cut by one character, two literals joined, or a
 * short random text; numbers: the literals, their neighbours, or small integers.
 */
function valueOf(lits: Literals): fc.Arbitrary<unknown> {
  const texts = [...lits.texts];
  const numbers = [...lits.numbers];
  const random = fc.string({ unit: fc.constantFrom('a', 'B', '1', '.', '\\', ' ', '-', 'é', 'ß', 'x'), maxLength: 6 });
  const options: fc.WeightedArbitrary<unknown>[] = [];
  const push = (weight: number, ...arbs: fc.Arbitrary<unknown>[]): void => void options.push(...arbs.map((arbitrary) => ({ arbitrary, weight })));
  push(1, random);
  if (texts.length) {
    const lit = fc.constantFrom(...texts);
    const edge = fc.constantFrom('', 'x', 'X', '0', '.', ' ', '-', '\\', 'C:\\Windows\\', '_');
    // The literal itself is drawn most, so that rules ANDing several fields still match often.
    push(
      1,
      lit,
      lit,
      lit,
      lit,
      lit.map(flipCase),
      fc.tuple(edge, lit, edge).map(([a, b, c]) => a + b + c),
      lit.map((s) => s.slice(1)),
      lit.map((s) => s.slice(0, -1)),
      fc.tuple(lit, fc.constantFrom('', ' ', '.', 'x'), lit).map(([a, s, b]) => a + s + b),
      fc.shuffledSubarray(texts, { minLength: 1 }).map((a) => a.join(' ')),
    );
    // Every literal of the field, in any order (a rule that ANDs several tests of one field), all
    // but one of them, and every literal but those of negated tests (`has_all` of five terms and a
    // `!has` of a sixth): drawn more as the field has more literals, so that such rules still
    // select events.
    const join = (a: string[]): fc.Arbitrary<string> => fc.tuple(fc.shuffledSubarray(a, { minLength: a.length }), fc.constantFrom(' ', '', '/')).map(([x, sep]) => x.join(sep));
    const weight = Math.min(texts.length, 4);
    push(weight, join(texts));
    push(1, fc.tuple(fc.nat(texts.length - 1), fc.constantFrom(' ', '/')).map(([i, sep]) => texts.filter((_, j) => j !== i).join(sep)));
    const positive = texts.filter((t) => !lits.negated.has(t));
    if (positive.length && positive.length < texts.length) push(weight, join(positive));
  }
  if (numbers.length) {
    const n = fc.constantFrom(...numbers);
    push(1, n, n.map((x) => x + 1), n.map((x) => x - 1), fc.integer({ min: -2, max: 70_000 }), n.map(String));
  }
  return fc.oneof(...options);
}

/**
 * Events for a rule: each field it reads set or left out; a dotted field (`AdditionalFields.FileType`,
 * `InitiatedBy.user.userPrincipalName`: JSON sub-fields) as nested objects, sometimes with the
 * property missing or the parent a text; an index step (`TargetResources[0].displayName`) as an
 * array, sometimes too short, longer, or an object in its place.
 */
export function eventsFor(ir: Node): fc.Arbitrary<Record<string, unknown>> {
  const byField = literalsByField(ir);
  return objectOf([...byField].map(([field, lits]) => [fieldPath(field), valueOf(lits)]));
}

type Member = [ReadonlyArray<string | number>, fc.Arbitrary<unknown>];

/** A record of the fields given by their paths; nested paths grouped under their first name. */
function objectOf(fields: Member[]): fc.Arbitrary<Record<string, unknown>> {
  const groups = new Map<string, Member[]>();
  for (const [path, a] of fields) {
    const key = path[0]!;
    if (typeof key === 'number') throw new Error(`an index where a property name is expected: [${key}]`);
    groups.set(key, [...(groups.get(key) ?? []), [path.slice(1), a]]);
  }
  const entries = [...groups].map(([name, members]): [string, fc.Arbitrary<unknown>] => [name, valueBelow(members)]);
  // Each field is left out one time in five: often enough for the missing-field cases, rarely
  // enough that rules ANDing several fields still match.
  const record = Object.fromEntries(entries.map(([k, a]) => [k, fc.option(a, { nil: undefined, freq: 5 })]));
  return fc.record(record as Record<string, fc.Arbitrary<unknown>>).map((ev) => {
    for (const k of Object.keys(ev)) if (ev[k] === undefined) delete ev[k];
    return ev;
  });
}

/** The value of a name whose own value or paths below it are read. */
function valueBelow(members: Member[]): fc.Arbitrary<unknown> {
  const own = members.find(([p]) => p.length === 0);
  // A field that is itself read wins over paths below it.
  if (own) return own[1];
  if (members.every(([p]) => typeof p[0] === 'number')) {
    const last = Math.max(...members.map(([p]) => p[0] as number));
    const elements = Array.from({ length: last + 1 }, (_, i) => {
      const at = members.filter(([p]) => p[0] === i).map(([p, a]): Member => [p.slice(1), a]);
      return at.length ? valueBelow(at) : fc.constant({ other: 'x' });
    });
    const arr = fc.tuple(...elements);
    return fc.oneof(arr, arr, arr, arr.map((a) => a.slice(0, last)), arr.map((a) => [...a, { other: 'y' }]), fc.constant({ other: 'x' }), fc.constant('text'));
  }
  const obj = objectOf(members);
  return fc.oneof(obj, obj, obj, fc.constant({ other: 'x' }), fc.constant('text'));
}

/** Runs the round trip over `runs` generated events (at least 1,000 per rule for the issue). */
export function roundTrip(c: RoundTripCase, runs = 1000, seed?: number): RoundTripReport {
  const input = inputOf(c);
  let backend = kustoBackend(c.platform);
  let compiled = backend.compile(input);
  if (!compiled.ok) throw new Error(`${c.name}: the Kusto target refuses the imported rule: ${compiled.error}`);
  // A rule imported with --fields sigma names a log source, whose first view may read another table
  // than the original (windows/process_creation: DeviceProcessEvents before SecurityEvent): the rule
  // is built on the view of the original's table (its source pinned, as --mapping does), so that
  // both queries read the same stored row.
  const table = compileKql(c.kql).table;
  if (compileKql(compiled.query).table !== table) {
    const view = viewsFor(kustoMapping(backend.mapping, c.platform), input.rule.logsource).find((v) => v.table === table);
    if (!view?.source) throw new Error(`${c.name}: no view of ${logSourceName(input.rule.logsource)} on ${c.platform} reads ${table}, the table of the original query`);
    backend = kustoBackend(c.platform, { source: view.source });
    compiled = backend.compile(input);
    if (!compiled.ok) throw new Error(`${c.name}: the Kusto target refuses the imported rule on ${table}: ${compiled.error}`);
  }
  const built = compiled.query;
  const evaluate = compileNode(input.ir);
  const report: RoundTripReport = { built, events: 0, selected: 0, rejected: 0, skipped: 0 };
  const verdict = (query: string, fixture: Fixture): boolean | string => {
    try {
      return backend.verdict(query, fixture, input);
    } catch (e) {
      if (e instanceof UnstorableEvent || e instanceof UndecidedRegex) throw e;
      return `interpreter error: ${(e as Error).message}`;
    }
  };
  try {
    fc.assert(
      fc.property(eventsFor(input.ir), (event) => {
        const fixture: Fixture = { source: c.name, logsource: input.rule.logsource, note: '', event };
        let original: boolean | string;
        let rebuilt: boolean | string;
        try {
          original = verdict(c.kql, fixture);
          rebuilt = verdict(built, fixture);
        } catch (e) {
          if (e instanceof UnstorableEvent || e instanceof UndecidedRegex) {
            report.skipped++;
            return true;
          }
          throw e;
        }
        const expected = evaluate(new EventView(event));
        report.events++;
        if (original !== expected || rebuilt !== expected) {
          report.disagreement = { event, original, built: rebuilt, evaluator: expected };
          return false;
        }
        if (expected) report.selected++;
        else report.rejected++;
        return true;
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
    );
  } catch (e) {
    if (!report.disagreement) throw e;
  }
  return report;
}
