/**
 * Correlation rules on EQL (docs/targets/eql.md, "Correlation rules"). EQL returns events and
 * sequences, never a number computed over a window, so the counting types are refused by name.
 * `temporal_ordered` is an EQL `sequence ... with maxspan` only as an opt-in approximation
 * (`temporal_ordered_as_sequence: true`), reported on every rule that uses it: Elasticsearch matches
 * sequences with a state machine that keeps one pending sequence per stage and join key, where the
 * correlation (docs/semantics.md section 8) takes any choice of events. What is equal and what may
 * differ is stated in APPROXIMATION and proved by test/eql/correlation.test.ts.
 */
import { and } from '../../ir/build.js';
import type { Node } from '../../ir/types.js';
import type { CompareOp, CorrelationType } from '../../model/types.js';
import { specOf } from '../../correlate/spec.js';
import { guard, refuseNative, TargetFailure, type CompileInput, type CompileResult, type CorrelationInput, type TargetOptions } from '../types.js';
import { ARTIFACT_FORMATS, elasticRule, renderArtifact, type ArtifactFormat } from './artifacts.js';
import { eqlField, timeValue } from './dialect.js';
import { platformOf, Router, rulePlatform, type Platform } from './mapping.js';
import { printQuery } from './printer.js';
import { rawRouteNote } from './target.js';

const COUNT = 'EQL has no aggregation: a query returns events or sequences, never the number of events (or distinct values, sum, mean, percentile) in a window';

/** What an EQL sequence does that the temporal_ordered contract does not. */
const SEQUENCE_DIFFERS =
  'an EQL sequence keeps one pending sequence per stage and group (a later event replaces an earlier one, and an event taken by one sequence is not taken by another) and orders events of one millisecond by a tiebreaker, while the correlation takes any choice of events and equal times as ordered: with three rules or more a sequence misses hits, and events of one millisecond can make it complete where the correlation has no new hit, or miss one';

const REASONS: Record<Exclude<CorrelationType, 'temporal_ordered'>, string> = {
  event_count: COUNT,
  value_count: COUNT,
  value_sum: COUNT,
  value_avg: COUNT,
  value_percentile: COUNT,
  value_median: COUNT,
  temporal: "EQL's unordered `sample by` takes no time span, and a `sequence` requires an order the temporal type does not",
};

/** The note every opted-in rule carries: the guarantee test/eql/correlation.test.ts asserts. */
export const APPROXIMATION =
  'temporal_ordered approximated by an EQL sequence (platform option temporal_ordered_as_sequence): every completed sequence is a point where the correlation holds; when no two events of a group share a millisecond and no event matches two of the rules, the sequences complete at a subset of the hits, with two rules at exactly the hits; with three rules or more a hit whose events an earlier sequence took is missed, and events of one millisecond are ordered by a tiebreaker';

const OPT_IN = "opt in to an approximation with 'temporal_ordered_as_sequence: true' in a --mapping file (docs/targets/eql.md, \"Correlation rules\")";

function compare(value: number, op: CompareOp, lit: number): boolean {
  return op === 'gt' ? value > lit : op === 'gte' ? value >= lit : op === 'lt' ? value < lit : op === 'lte' ? value <= lit : op === 'eq' ? value === lit : value !== lit;
}

export function compileEqlCorrelation(input: CorrelationInput, opts: TargetOptions): CompileResult {
  return guard(() => {
    const rule = input.rule;
    const c = rule.correlation;
    if (c.type !== 'temporal_ordered') throw new TargetFailure('unsupported', `${c.type} correlations are not compiled to EQL: ${REASONS[c.type]}`);
    const bases: CompileInput[] = [];
    for (const r of input.refs) {
      if (!('ir' in r.input)) throw new TargetFailure('unsupported', `temporal_ordered over the correlation '${r.ref}' is not compiled to EQL: the queries of a sequence are event queries, and a correlation's hits are not events`);
      refuseNative(r.input, 'eql');
      bases.push(r.input);
    }
    const platforms = bases.map((b) => rulePlatform(opts.platform, opts.mapping, b.rule.logsource));
    if (!platforms.every((p) => p.temporalOrderedAsSequence)) throw new TargetFailure('unsupported', `temporal_ordered correlations are not compiled to EQL exactly: ${SEQUENCE_DIFFERS}; ${OPT_IN}`);
    // At least two: the loader refuses a temporal_ordered correlation of one rule, and a sequence has two queries or more.
    const n = c.rules.length;
    // The value is n or 0: a condition is the default one exactly when it holds at n and not at 0.
    const ops = c.condition?.ops ?? [];
    const holds = (v: number): boolean => ops.every((o) => compare(v, o.op, o.value));
    if (ops.length && !(holds(n) && !holds(0))) {
      throw new TargetFailure('unsupported', `temporal_ordered with condition ${ops.map((o) => `${o.op}: ${o.value}`).join(', ')} is not compiled to EQL: a sequence finds the points where all ${n} rules occur in order (the value ${n}), and this condition ${holds(0) ? 'also holds where they do not (the value 0)' : 'never holds there'}`);
    }
    return compileSequence(input, bases, platforms, opts);
  });
}

function compileSequence(input: CorrelationInput, bases: CompileInput[], platforms: Platform[], opts: TargetOptions): CompileResult {
  const rule = input.rule;
  const c = rule.correlation;
  // Aliases are read as the engine reads them (a group-by name, per rule, by the names `rules` gives it).
  const spec = specOf(rule, 'c', input.refs.map((r) => ({ key: r.ref, id: r.input.rule.id, name: r.input.rule.name })));
  const fieldOf = (g: string, i: number): string => {
    const a = spec.aliases[g];
    return (a && spec.refNames[i]!.map((x) => a[x]).find((x) => x !== undefined)) ?? g;
  };
  const notes: string[] = [];
  const buildNotes: string[] = [];
  const index = new Set<string>();
  const stages = bases.map((b, i) => {
    const platform = platforms[i]!;
    const ref = input.refs[i]!.ref;
    const keys = c.groupBy.map((g) => joinKey(platform, b, fieldOf(g, i), ref));
    // The contract leaves out events whose group-by field is absent, null or empty; EQL joins on any value.
    const ir: Node = and([b.ir, ...c.groupBy.map((g): Node => ({ kind: 'exists', field: fieldOf(g, i) }))]);
    let printed;
    try {
      printed = printQuery(ir, { platform, logsource: b.rule.logsource, notes, buildNotes });
    } catch (e) {
      if (e instanceof TargetFailure) throw new TargetFailure(e.kind, `referenced rule '${ref}' (${b.path}): ${e.message}`);
      throw e;
    }
    if (!platform.ecs && platformOf(opts.platform, opts.mapping) instanceof Router) {
      buildNotes.push(rawRouteNote(platform.name));
    }
    for (const x of printed.index) index.add(x);
    return { query: printed.query, keys };
  });
  const shared = stages.every((s) => s.keys.join() === stages[0]!.keys.join());
  const head = ['sequence', ...(shared && stages[0]!.keys.length ? [`by ${stages[0]!.keys.join(', ')}`] : []), `with maxspan=${timeValue(c.timespanSeconds)}`].join(' ');
  const query = [head, ...stages.map((s) => `  [${s.query}]${!shared && s.keys.length ? ` by ${s.keys.join(', ')}` : ''}`)].join('\n');
  notes.push(APPROXIMATION);
  const reported = { notes: [...new Set(notes)], ...(buildNotes.length ? { buildNotes: [...new Set(buildNotes)] } : {}) };
  if (opts.format === 'query') return { ok: true, query, output: query + '\n', ext: 'eql', ...reported };
  const format = opts.format as ArtifactFormat;
  const artifact = elasticRule(rule, input.path, query, opts.index ?? [...index], opts.enable === true, c.timespanSeconds);
  reported.notes.push(...artifact.notes);
  return { ok: true, query, output: renderArtifact(format, artifact.rule).replace(/\n?$/, '\n'), ext: ARTIFACT_FORMATS[format], ...reported };
}

/**
 * The join key of a group-by field in one referenced rule. Group values are compared as texts; EQL
 * joins on the stored value, which is that text only in a keyword field (an ip or long field
 * normalizes it, a value-mapped field translates it).
 */
function joinKey(platform: Platform, b: CompileInput, sigma: string, ref: string): string {
  let t;
  try {
    t = platform.field(sigma, b.rule.logsource);
  } catch (e) {
    if (e instanceof TargetFailure) throw new TargetFailure(e.kind, `referenced rule '${ref}' (${b.path}): ${e.message}`);
    throw e;
  }
  if (t.values) throw new TargetFailure('unsupported', `group-by field '${sigma}' of rule '${ref}' is stored translated (${t.field}, platform ${platform.name}): the correlation groups by the event's own text`);
  const field = t.text ?? t.field;
  const type = t.text !== undefined ? platform.typeOf(t.text) : t.type;
  if (type !== 'keyword' && type !== 'numeric_keyword') {
    throw new TargetFailure('unsupported', `group-by field '${sigma}' of rule '${ref}' is ${field}, a ${type} field on platform ${platform.name}: the correlation compares group values as text, and EQL joins on the stored ${type} value (declare a keyword field for it with --mapping)`);
  }
  return eqlField(field, t.text === undefined && t.optional === true);
}
