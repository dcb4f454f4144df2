/**
 * Correlation rules as one SPL search (docs/semantics.md "Correlation rules"; docs/targets/spl.md
 * "Correlation rules"). Each referenced detection rule is searched as the rule compiler writes it
 * (printQuery: same source, same where-clauses), then tagged by one `| eval`: `rulec_rule` (the
 * reference), `rulec_g<i>` (its group-by field, after the rule's alias, when it holds one value) and
 * `rulec_v` (the aggregated field). Several references are the subsearches of `| multisearch`. Then:
 *
 * 1. `rulec_t`, the event's time in whole milliseconds;
 * 2. the value at each evaluation point (group, rulec_t), over the group's events in the closed window
 *    [t - span, t]: `streamstats time_window` over the results sorted by time. Splunk's documentation
 *    does not say whether that window holds a result exactly `time_window` older, so `_time` is
 *    rewritten to twice the milliseconds since the first result (as seconds) and the window is
 *    `2000 * span + 1` seconds: no result is ever exactly at its edge, and a result is in it exactly
 *    when it is at most `span` older. Results of one timestamp are all in before the point is read:
 *    counts (`count`, `dc`) grow within a timestamp, so the point keeps the largest
 *    (`stats max(...) BY group, rulec_t`); sums are added up per timestamp first (`stats` before the
 *    window), as are temporal_ordered's rules;
 * 3. the hit transition: sorted by time, `streamstats window=1 current=false global=false` gives each
 *    point the previous point of its group; a point is a hit when its condition holds and the previous
 *    one, if within the span, did not.
 *
 * A chained correlation: every rule of the chain is a source, tagged with the correlation it feeds
 * (`rulec_corr`); a listed correlation's commands run in an `appendpipe` over the results, and its
 * hits, re-tagged as events of the correlation listing it at their window end, are appended.
 *
 * Nothing Splunk approximates is used (`estdc`, `perc`); percentiles are refused (the contract's
 * nearest rank is not what Splunk documents for its percentile functions).
 */
import type { CorrelationRule, DetectionRule } from '../../model/types.js';
import { refuseNative, TargetFailure, type CompileInput, type CorrelationInput } from '../types.js';
import type { Command, EvalExpr, EvalStage, Pipeline, Source } from './ast.js';
import { platformMapping, resolveLogSource, splunkField, SPLUNK_FIELD_NAME, type PlatformMapping, type SourceEntry } from './mapping.js';
import { printQuery } from './printer.js';

export interface CompiledCorrelation {
  pipeline: Pipeline;
  /** The notes of the referenced rules' queries (reported approximations), each naming its rule. */
  notes: string[];
}

/** The fields of a hit after its group-by fields. */
export const HIT_COLUMNS = ['WindowStart', 'WindowEnd', 'Value'] as const;

/** Types whose value counts events once each: an event two references select would count twice. */
const COUNTING = new Set(['event_count', 'value_count', 'value_sum', 'value_avg']);

// A text field is a number when it is written as one (docs/semantics.md section 4).
const DECIMAL = '^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?\\z';

const S = (value: string): EvalExpr => ({ k: 'str', value });
const N = (value: number): EvalExpr => ({ k: 'num', value });
const F = (name: string): EvalExpr => ({ k: 'field', name });
const call = (fn: string, ...args: EvalExpr[]): EvalExpr => ({ k: 'call', fn, args });
const cmp = (op: '==' | '!=' | '<' | '<=' | '>' | '>=', left: EvalExpr, right: EvalExpr): EvalExpr => ({ k: 'cmp', op, left, right });
const and = (items: EvalExpr[]): EvalExpr => (items.length === 1 ? items[0]! : { k: 'and', items });
/** The field's value when it holds exactly one (mvcount of a field without a value is null: no value either). */
const single = (field: string, then: EvalExpr = F(field)): EvalExpr => call('if', cmp('==', call('mvcount', F(field)), N(1)), then, call('null'));

/** The field an event of the referenced rule holds for group-by name `g` (its alias, else `g`). */
function aliased(rule: CorrelationRule, g: string, ref: string, target: { id?: string; name?: string }): string {
  const a = rule.correlation.aliases.get(g);
  if (!a) return g;
  return a.get(ref) ?? (target.name !== undefined ? a.get(target.name) : undefined) ?? (target.id !== undefined ? a.get(target.id) : undefined) ?? g;
}

/** The comparisons of the condition on `rulec_value` (temporal: every rule by default). */
function condition(rule: CorrelationRule): EvalExpr {
  const c = rule.correlation;
  const ops = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '==', neq: '!=' } as const;
  const list = c.condition?.ops ?? [];
  if (list.length === 0) {
    if (c.type === 'temporal') return cmp('>=', F('rulec_value'), N(new Set(c.rules).size));
    if (c.type === 'temporal_ordered') return cmp('>=', F('rulec_value'), N(c.rules.length));
    throw new TargetFailure('unsupported', `a ${c.type} correlation needs a condition`);
  }
  return and(list.map((o) => cmp(ops[o.op], F('rulec_value'), N(o.value))));
}

/** Two log source entries whose searches no event can both pass: a prefix field both name with no value in common. */
function disjoint(a: SourceEntry, b: SourceEntry): boolean {
  return a.prefix.some((p) => {
    const q = b.prefix.find((x) => x.field === p.field);
    if (!q) return false;
    const va = p.values.map(String);
    const vb = q.values.map(String);
    // A `*` in a value is a wildcard (source="XmlWinEventLog:*"): no exact comparison then.
    return ![...va, ...vb].some((v) => v.includes('*')) && !va.some((v) => vb.some((w) => w.toLowerCase() === v.toLowerCase()));
  });
}

export function compileSplCorrelation(input: CorrelationInput, platform: string, mapping: unknown, index?: readonly string[]): CompiledCorrelation {
  const b = new Builder(platformMapping(mapping, platform), index, chained(input));
  const commands = b.correlation(input);
  const dm = b.sources.find((s) => s.query.datamodel);
  if (b.sources.length > 1 && dm) {
    const tag = dm.tag.find((t) => t.name === 'rulec_rule')!.expr;
    throw new TargetFailure(
      'unsupported',
      `the ${b.sources.length} rule searches of this correlation would run under multisearch, which takes only streaming searches, and rule '${tag.k === 'str' ? tag.value : ''}' searches the data model ${dm.query.datamodel!.model}.${dm.query.datamodel!.dataset} ('| datamodel' is a generating command)`,
    );
  }
  return { pipeline: { sources: b.sources, commands }, notes: [...b.notes] };
}

const chained = (input: CorrelationInput): boolean => input.refs.some((r) => !('ir' in r.input));

/**
 * The sources of a correlation and of the correlations it lists, and its commands. In a chain every
 * source also says which correlation it feeds (`rulec_corr`), and each listed correlation's hits are
 * appended to the results (`appendpipe`) as its events, at their window end.
 */
class Builder {
  readonly sources: Source[] = [];
  readonly notes = new Set<string>();
  private corrs = 0;

  constructor(
    private readonly pm: PlatformMapping,
    private readonly index: readonly string[] | undefined,
    private readonly chain: boolean,
  ) {}

  correlation(input: CorrelationInput): Command[] {
    const rule = input.rule;
    const c = rule.correlation;
    if (c.type === 'value_percentile' || c.type === 'value_median') {
      throw new TargetFailure(
        'unsupported',
        `${c.type} is not compiled to SPL: Splunk documents perc and upperperc as approximations and does not define which value exactperc and median return (the contract's is the nearest rank, the lower middle value of an even count), so no Splunk function is known to give the contract's percentile`,
      );
    }
    for (const g of c.groupBy) {
      if (!SPLUNK_FIELD_NAME.test(g)) throw new TargetFailure('unsupported', `group-by name '${g}' cannot name a Splunk field (letters, digits, '_', '.' and ':' only)`);
      if ((HIT_COLUMNS as readonly string[]).includes(g) || g.startsWith('rulec_')) throw new TargetFailure('unsupported', `group-by name '${g}' is named like a field the correlation query writes (${HIT_COLUMNS.join(', ')}, rulec_*)`);
    }
    const valueField = c.type.startsWith('value_') ? c.condition?.field : undefined;
    if (c.type.startsWith('value_') && valueField === undefined) throw new TargetFailure('unsupported', `${c.type} needs condition.field`);
    const numeric = c.type === 'value_sum' || c.type === 'value_avg';
    const id = `c${++this.corrs}`;
    const corrTag: EvalStage[] = this.chain ? [{ name: 'rulec_corr', expr: S(id) }] : [];

    const head: Command[] = [];
    // The log source entry of each distinct reference (undefined: a correlation, whose hits are no indexed event).
    const seen = new Map<string, SourceEntry | undefined>();
    for (const { ref, input: refInput } of input.refs) {
      // One source per distinct reference: temporal types read which rules an event matched, not how often it is listed.
      if (seen.has(ref)) continue;
      if (!('ir' in refInput)) {
        seen.set(ref, undefined);
        head.push({ cmd: 'appendpipe', commands: [...this.correlation(refInput), { cmd: 'eval', assigns: [...corrTag, ...hitTag(rule, ref, refInput, valueField, numeric)] }] });
        continue;
      }
      const entry = resolve(this.pm, ref, refInput);
      if (COUNTING.has(c.type)) {
        for (const [other, o] of seen) {
          if (o && !disjoint(entry, o)) {
            throw new TargetFailure(
              'unsupported',
              `${c.type} over rules '${other}' and '${ref}', whose searches can select the same event (${o.key} and ${entry.key}): an event matching both counts once, and a multisearch returns it once per rule`,
            );
          }
        }
      }
      seen.set(ref, entry);
      const src = source(this.pm, entry, ref, refInput, rule, valueField, numeric, this.index, this.notes);
      src.tag.splice(1, 0, ...corrTag);
      this.sources.push(src);
    }
    const own: Command[] = this.chain ? [{ cmd: 'where', expr: cmp('==', F('rulec_corr'), S(id)) }] : [];
    return [...head, ...own, ...prepare(rule), ...windowed(rule), ...transition(rule)];
  }
}

/**
 * A listed correlation's hit as an event of the correlation listing it: at its window end, its group
 * values read by the outer group-by (and condition.field) names, which must be inner group-by names.
 */
function hitTag(rule: CorrelationRule, ref: string, inner: CorrelationInput, valueField: string | undefined, numeric: boolean): EvalStage[] {
  const names = inner.rule.correlation.groupBy;
  const column = (field: string, what: string): string => {
    if (!names.includes(field)) throw new TargetFailure('unsupported', `${what} '${field}' is not a group-by field of correlation '${ref}', whose hits hold only ${names.join(', ') || 'no field'}`);
    return field;
  };
  const tag: EvalStage[] = [
    { name: 'rulec_rule', expr: S(ref) },
    { name: '_time', expr: F('WindowEnd') },
  ];
  rule.correlation.groupBy.forEach((g, i) => tag.push({ name: `rulec_g${i + 1}`, expr: F(column(aliased(rule, g, ref, inner.rule), 'group-by field')) }));
  if (valueField !== undefined) {
    const f = column(valueField, 'field');
    tag.push({ name: 'rulec_v', expr: numeric ? call('if', call('match', F(f), S(DECIMAL)), call('tonumber', F(f)), call('null')) : F(f) });
  }
  return tag;
}

/** Run f; a failure of a referenced rule's own query, log source or fields names the rule. */
function naming<T>(ref: string, input: CompileInput, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TargetFailure) throw new TargetFailure(e.kind, `referenced rule '${ref}' (${input.path}): ${e.message}`);
    throw e;
  }
}

function resolve(pm: PlatformMapping, ref: string, input: CompileInput): SourceEntry {
  return naming(ref, input, () => {
    refuseNative(input, 'spl');
    return resolveLogSource(pm, input.rule.logsource);
  });
}

/** A referenced rule's search, tagged: `rulec_rule`, the group fields `rulec_g<i>` and the value `rulec_v`. */
function source(pm: PlatformMapping, entry: SourceEntry, ref: string, input: CompileInput, rule: CorrelationRule, valueField: string | undefined, numeric: boolean, index: readonly string[] | undefined, notes: Set<string>): Source {
  const at = <T,>(f: () => T): T => naming(ref, input, f);
  const target: DetectionRule = input.rule;
  const q = at(() => printQuery(input.ir, pm, entry, index ?? pm.index));
  for (const n of q.notes) notes.add(`referenced rule '${ref}': ${n}`);
  const tag: EvalStage[] = [{ name: 'rulec_rule', expr: S(ref) }];
  rule.correlation.groupBy.forEach((g, i) => {
    const field = at(() => splunkField(pm, entry, aliased(rule, g, ref, target)));
    tag.push({ name: `rulec_g${i + 1}`, expr: single(field) });
  });
  if (valueField !== undefined) {
    const field = at(() => splunkField(pm, entry, valueField));
    // A number is one value written as a decimal (docs/semantics.md 8.4); anything else adds none.
    tag.push({ name: 'rulec_v', expr: numeric ? single(field, call('if', call('match', F(field), S(DECIMAL)), call('tonumber', F(field)), call('null'))) : single(field) });
  }
  return { query: q.query, tag };
}

const groupFields = (rule: CorrelationRule): string[] => rule.correlation.groupBy.map((_, i) => `rulec_g${i + 1}`);

/** Events with every group value, and their time in whole milliseconds. */
function prepare(rule: CorrelationRule): Command[] {
  const g = groupFields(rule);
  const out: Command[] = [];
  if (g.length) out.push({ cmd: 'where', expr: and(g.map((f) => call('isnotnull', F(f)))) });
  // Splunk's _time holds at most microseconds; half of one absorbs the float's error before the cut.
  out.push({ cmd: 'eval', assigns: [{ name: 'rulec_t', expr: call('floor', { k: 'arith', op: '+', left: { k: 'arith', op: '*', left: F('_time'), right: N(1000) }, right: N(0.0005) }) }] });
  return out;
}

/** `_time` rewritten so that no result is at the edge of the time window (see the file comment), then sorted. */
function timeline(extra: EvalStage[] = []): Command[] {
  return [
    { cmd: 'eventstats', aggs: [{ fn: 'min', field: 'rulec_t', as: 'rulec_t0' }], by: [] },
    { cmd: 'eval', assigns: [{ name: '_time', expr: { k: 'arith', op: '*', left: N(2), right: { k: 'arith', op: '-', left: F('rulec_t'), right: F('rulec_t0') } } }, ...extra] },
    { cmd: 'sort', field: '_time' },
  ];
}

const windowSeconds = (rule: CorrelationRule): number => 2000 * rule.correlation.timespanSeconds + 1;

/** The value at each point (group, rulec_t): `rulec_value`. */
function windowed(rule: CorrelationRule): Command[] {
  const c = rule.correlation;
  const g = groupFields(rule);
  const points = [...g, 'rulec_t'];
  const tw = windowSeconds(rule);
  switch (c.type) {
    case 'event_count':
    case 'value_count':
    case 'temporal': {
      const agg = c.type === 'event_count' ? ({ fn: 'count', as: 'rulec_value' } as const) : ({ fn: 'dc', field: c.type === 'temporal' ? 'rulec_rule' : 'rulec_v', as: 'rulec_value' } as const);
      return [...timeline(), { cmd: 'streamstats', timeWindow: tw, aggs: [agg], by: g }, { cmd: 'stats', aggs: [{ fn: 'max', field: 'rulec_value', as: 'rulec_value' }], by: points }];
    }
    case 'value_sum':
    case 'value_avg':
      return [
        { cmd: 'stats', aggs: [{ fn: 'sum', field: 'rulec_v', as: 'rulec_s' }, { fn: 'count', field: 'rulec_v', as: 'rulec_c' }], by: points },
        ...timeline(),
        { cmd: 'streamstats', timeWindow: tw, aggs: [{ fn: 'sum', field: 'rulec_s', as: 'rulec_ws' }, { fn: 'sum', field: 'rulec_c', as: 'rulec_wc' }], by: g },
        {
          cmd: 'eval',
          assigns: [{ name: 'rulec_value', expr: call('if', cmp('>', F('rulec_wc'), N(0)), c.type === 'value_sum' ? F('rulec_ws') : { k: 'arith', op: '/', left: F('rulec_ws'), right: F('rulec_wc') }, call('null')) }],
        },
      ];
    case 'temporal_ordered': {
      // Walking forward: rulec_f<k> at a point holding rule k is the latest start (rule 1's time) of a
      // chain r1..rk ending there, the most recent rulec_f<k-1> in the window; the sequence holds at t
      // when a chain ending at t starts within the span.
      const n = c.rules.length;
      const has = c.rules.map((r, k): EvalStage => ({ name: `rulec_h${k + 1}`, expr: call('if', cmp('==', F('rulec_rule'), S(r)), N(1), N(0)) }));
      const out: Command[] = [
        { cmd: 'eval', assigns: has },
        { cmd: 'stats', aggs: has.map((h) => ({ fn: 'max', field: h.name, as: h.name })), by: points },
        ...timeline([{ name: 'rulec_f1', expr: call('if', cmp('==', F('rulec_h1'), N(1)), F('rulec_t'), call('null')) }]),
      ];
      for (let k = 2; k <= n; k++) {
        out.push(
          { cmd: 'streamstats', timeWindow: tw, aggs: [{ fn: 'max', field: `rulec_f${k - 1}`, as: `rulec_m${k - 1}` }], by: g },
          { cmd: 'eval', assigns: [{ name: `rulec_f${k}`, expr: call('if', cmp('==', F(`rulec_h${k}`), N(1)), F(`rulec_m${k - 1}`), call('null')) }] },
        );
      }
      out.push({
        cmd: 'eval',
        assigns: [{ name: 'rulec_value', expr: call('if', cmp('>=', F(`rulec_f${n}`), { k: 'arith', op: '-', left: F('rulec_t'), right: N(c.timespanSeconds * 1000) }), N(n), N(0)) }],
      });
      return out;
    }
    default:
      throw new TargetFailure('unsupported', `correlation type ${c.type} is not compiled to SPL`);
  }
}

/** The hit transition, then the hit's fields. */
function transition(rule: CorrelationRule): Command[] {
  const g = groupFields(rule);
  const span = rule.correlation.timespanSeconds * 1000;
  const t = F('rulec_t');
  const minus = (e: EvalExpr, n: number): EvalExpr => ({ k: 'arith', op: '-', left: e, right: N(n) });
  return [
    { cmd: 'sort', field: 'rulec_t' },
    { cmd: 'eval', assigns: [{ name: 'rulec_holds', expr: call('if', condition(rule), N(1), N(0)) }] },
    {
      cmd: 'streamstats',
      window: 1,
      current: false,
      global: false,
      aggs: [
        { fn: 'max', field: 'rulec_holds', as: 'rulec_ph' },
        { fn: 'max', field: 'rulec_t', as: 'rulec_pt' },
      ],
      by: g,
    },
    {
      cmd: 'where',
      expr: and([cmp('==', F('rulec_holds'), N(1)), { k: 'not', item: and([cmp('==', call('coalesce', F('rulec_ph'), N(0)), N(1)), cmp('>=', F('rulec_pt'), minus(t, span))]) }]),
    },
    {
      cmd: 'eval',
      assigns: [
        { name: 'WindowStart', expr: { k: 'arith', op: '/', left: minus(t, span), right: N(1000) } },
        { name: 'WindowEnd', expr: { k: 'arith', op: '/', left: t, right: N(1000) } },
        { name: 'Value', expr: F('rulec_value') },
      ],
    },
    // rename, not eval: it names a dotted field (dns.question.name) as written.
    ...(g.length ? [{ cmd: 'rename', pairs: rule.correlation.groupBy.map((name, i): [string, string] => [`rulec_g${i + 1}`, name]) } as Command] : []),
    { cmd: 'table', fields: [...rule.correlation.groupBy, ...HIT_COLUMNS] },
  ];
}
