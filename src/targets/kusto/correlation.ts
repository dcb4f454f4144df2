/**
 * Correlation rules as one KQL query (docs/semantics.md "Correlation rules"; docs/targets/kusto.md
 * "Correlation rules"). Each referenced detection rule is its own query, compiled by the rule
 * compiler (compileKustoQuery: same table choice, same where-clauses), as a `let` that projects the
 * contributing event: `_rule` (the reference), `_time` (the view's time column), the group-by fields
 * (as text, after the rule's alias) and the aggregated field. A chained correlation is a `let` of
 * its hits, each a pseudo-event at its window end. Then:
 *
 * 1. the evaluation points: the distinct (group, time) of the contributing events;
 * 2. the value at each point, over the events of its group in the closed window [t - span, t]: a
 *    self-join on the group and `between`, then `summarize` (temporal_ordered: one left join per
 *    rule, walking the order backwards from a last-rule event at t, each step the latest event of
 *    the previous rule no later than the step after it);
 * 3. the hit transition: `sort` the points by group and time (which serializes them) and keep a
 *    point whose condition holds when the previous point of its group, if within the span, did not
 *    (`prev()`).
 *
 * Nothing KQL approximates is used (dcount, percentile): distinct values are counted with make_set,
 * percentiles ranked over make_list. A pair of references
 * whose events one row could satisfy twice is refused for the counting types, where the contract
 * counts such an event once and a union would count it twice.
 */
import type { CorrelationRule, DetectionRule } from '../../model/types.js';
import { TargetFailure, type CompileInput, type CorrelationInput, type TargetOptions } from '../types.js';
import { columnNameFor, identifier, numberLiteral, regexLiteral, stringLiteral } from './dialect.js';
import type { ColumnType, View } from './mapping.js';
import { compileKustoQuery } from './target.js';

export interface CompiledCorrelation {
  text: string;
  /** The views the referenced detection rules read (through chains too). */
  views: View[];
  /** The columns of a hit: the group-by fields, then the window and the value. */
  groupColumns: string[];
  notes: string[];
}

/** The columns every correlation query leaves: group-by columns, then these. */
export const HIT_COLUMNS = ['WindowStart', 'WindowEnd', 'Value'] as const;

/** Types whose value counts events once each: a row two references select would count twice. */
const COUNTING = new Set(['event_count', 'value_count', 'value_sum', 'value_avg']);

// A text field is a number when it is written as one (the printer's `num` on text reads the same).
const DECIMAL_TEXT = '^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$';

const TEXT_TYPES: ReadonlySet<ColumnType> = new Set(['string', 'int', 'long', 'bool']);
const NUMBER_TYPES: ReadonlySet<ColumnType> = new Set(['int', 'long', 'real']);

const RESERVED = new Set(['_rule', '_time', '_t', '_v', '_vals', '_value', '_n', '_sum', '_last', '_holds', '_hit', '_all', ...HIT_COLUMNS]);

export function compileKustoCorrelation(input: CorrelationInput, opts: TargetOptions, comments: boolean): CompiledCorrelation {
  const b = new Builder(opts, comments);
  const hits = b.correlation(input);
  const text = [...b.lets, hits].join('\n') + '\n';
  return { text, views: b.views, groupColumns: groupColumns(input.rule), notes: b.notes };
}

/** A duration in seconds as a KQL timespan literal (`600s` is written `10m`). */
export function spanLiteral(seconds: number): string {
  for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (seconds % n === 0) return `${seconds / n}${unit}`;
  return `${seconds}s`;
}

function groupColumns(rule: CorrelationRule): string[] {
  const cols = rule.correlation.groupBy.map(columnNameFor);
  for (const [i, c] of cols.entries()) {
    const g = rule.correlation.groupBy[i]!;
    if (RESERVED.has(c)) throw new TargetFailure('unsupported', `group-by field '${g}' is named like a column the correlation query uses (${[...RESERVED].join(', ')})`);
    const j = cols.indexOf(c);
    if (j !== i) throw new TargetFailure('unsupported', `group-by fields '${rule.correlation.groupBy[j]}' and '${g}' both become the column ${c}`);
  }
  return cols;
}

/** The field an event of the referenced rule holds for group-by name `g` (its alias, else `g`). */
function aliased(rule: CorrelationRule, g: string, ref: string, target: { id?: string; name?: string }): string {
  const a = rule.correlation.aliases.get(g);
  if (!a) return g;
  return a.get(ref) ?? (target.name !== undefined ? a.get(target.name) : undefined) ?? (target.id !== undefined ? a.get(target.id) : undefined) ?? g;
}

class Builder {
  readonly lets: string[] = [];
  readonly views: View[] = [];
  readonly notes: string[] = [];
  private readonly names = new Set<string>();
  private eventSets = 0;

  constructor(
    private readonly opts: TargetOptions,
    private readonly comments: boolean,
  ) {}

  /**
   * A `let` name: `rule_<name>` for a detection rule with a name, else the fallback. The prefix keeps
   * it apart from tables and functions (`let count = ...` would hide the `count()` aggregate).
   */
  private name(prefix: string, wanted: string | undefined, fallback: string): string {
    let base = wanted !== undefined ? `${prefix}${columnNameFor(wanted)}` : fallback;
    if (identifier(base) !== base) base = fallback;
    let n = base;
    for (let i = 2; this.names.has(n); i++) n = `${base}_${i}`;
    this.names.add(n);
    return n;
  }

  /** The hits of a correlation: a tabular expression with its group columns, WindowStart, WindowEnd and Value. */
  correlation(input: CorrelationInput): string {
    const rule = input.rule;
    const c = rule.correlation;
    const groups = groupColumns(rule);
    const valueField = c.type.startsWith('value_') ? c.condition?.field : undefined;
    if (c.type.startsWith('value_') && valueField === undefined) throw new TargetFailure('unsupported', `${c.type} needs condition.field`);
    const numeric = c.type === 'value_sum' || c.type === 'value_avg' || c.type === 'value_percentile' || c.type === 'value_median';

    const parts: string[] = [];
    const tables = new Map<string, string>();
    for (const { ref, input: refInput } of input.refs) {
      const fields = c.groupBy.map((g) => ({ g, col: columnNameFor(g), field: aliased(rule, g, ref, refInput.rule) }));
      if ('ir' in refInput) {
        const { name, view } = this.base(ref, refInput, fields, valueField, numeric);
        if (COUNTING.has(c.type)) {
          const other = tables.get(view.table);
          if (other !== undefined) {
            throw new TargetFailure(
              'unsupported',
              `${c.type} over rules '${other}' and '${ref}', which both read table ${view.table}: an event matching both counts once, and KQL has no row identity to tell it from two events`,
            );
          }
          tables.set(view.table, ref);
        }
        parts.push(name);
      } else {
        parts.push(this.chained(ref, refInput, fields, valueField, numeric));
      }
    }
    const span = spanLiteral(c.timespanSeconds);
    const events = this.name('', undefined, `events_${++this.eventSets}`);
    const present = groups.map((g) => `isnotempty(${identifier(g)})`);
    this.lets.push(`let ${events} = ${parts.length === 1 ? parts[0]! : `union ${parts.join(', ')}`}${present.length ? `\n| where ${present.join(' and ')}` : ''};`);
    // Without group-by every event is of one group; joins need a key, so the group is a constant.
    const keys = groups.length ? groups.map(identifier) : ['_all'];
    const keyList = keys.join(', ');
    const src = groups.length ? events : `${events} | extend _all = 1`;
    const lines: string[] = [];
    if (c.type === 'temporal_ordered') {
      const n = c.rules.length;
      const last = stringLiteral(c.rules[n - 1]!);
      lines.push(`${src}`, `| summarize _last = countif(_rule == ${last}) by ${keyList}, _time`);
      // Walking back from a last-rule event at t: each earlier rule's latest event in [t - span, bound].
      let bound = '_time';
      for (let k = n - 2; k >= 0; k--) {
        const b = `_b${n - 1 - k}`;
        lines.push(
          `| join kind=leftouter (${src} | where _rule == ${stringLiteral(c.rules[k]!)} | project ${keyList}, _t = _time) on ${keyList}`,
          `| summarize ${b} = maxif(_t, _t between ((_time - ${span}) .. ${bound})) by ${keyList}, _time, _last`,
        );
        bound = b;
      }
      // A bound within the window, not merely non-null: maxif over no row is read as no bound either way.
      lines.push(`| extend _value = iff(_last > 0${n > 1 ? ` and ${bound} >= _time - ${span}` : ''}, ${n}, long(null))`);
    } else {
      lines.push(
        `${src}`,
        `| summarize by ${keyList}, _time`,
        `| join kind=inner (${src} | project ${keyList}, _t = _time${c.type === 'temporal' ? ', _rule' : ''}${valueField !== undefined ? ', _v' : ''}) on ${keyList}`,
        `| where _t between ((_time - ${span}) .. _time)`,
      );
      switch (c.type) {
        case 'event_count':
          lines.push(`| summarize _value = count() by ${keyList}, _time`);
          break;
        case 'value_count':
          lines.push(`| summarize _value = array_length(make_set_if(_v, isnotempty(_v))) by ${keyList}, _time`);
          break;
        case 'temporal':
          lines.push(`| summarize _value = array_length(make_set(_rule)) by ${keyList}, _time`);
          break;
        case 'value_sum':
        case 'value_avg':
          lines.push(
            `| summarize _n = countif(isnotnull(_v)), _sum = sumif(_v, isnotnull(_v)) by ${keyList}, _time`,
            `| extend _value = iff(_n > 0, ${c.type === 'value_sum' ? '_sum' : '_sum / _n'}, real(null))`,
          );
          break;
        case 'value_percentile':
        case 'value_median': {
          // Nearest rank over the sorted numbers, computed as the contract does: percentile() would
          // estimate (t-digest), so the numbers are listed and indexed instead.
          const p = c.type === 'value_median' ? 50 : c.condition?.percentile;
          if (p === undefined) throw new TargetFailure('unsupported', 'value_percentile needs condition.percentile');
          lines.push(
            `| summarize _vals = make_list_if(_v, isnotnull(_v)) by ${keyList}, _time`,
            '| extend _n = array_length(_vals)',
            `| extend _value = iff(_n > 0, todouble(array_sort_asc(_vals)[max_of(0, tolong(ceiling(${numberLiteral(p)} / 100.0 * _n)) - 1)]), real(null))`,
          );
          break;
        }
        default:
          throw new TargetFailure('unsupported', `correlation type ${c.type} is not compiled to KQL`);
      }
    }
    const ops = conditionOf(rule);
    lines.push(
      `| extend _holds = coalesce(${ops.map((o) => `_value ${o}`).join(' and ')}, false)`,
      `| sort by ${keys.map((k) => `${k} asc`).join(', ')}, _time asc`,
      `| extend _hit = _holds and not(coalesce(${keys.map((k) => `prev(${k}) == ${k}`).join(' and ')} and prev(_time) >= _time - ${span} and prev(_holds), false))`,
      `| where _hit`,
      `| project ${[...groups.map(identifier), `WindowStart = _time - ${span}`, 'WindowEnd = _time', 'Value = _value'].join(', ')}`,
    );
    return lines.join('\n');
  }

  /** A referenced detection rule as a `let` projecting its contributing events. */
  private base(ref: string, input: CompileInput, fields: { g: string; col: string; field: string }[], valueField: string | undefined, numeric: boolean): { name: string; view: View } {
    const wanted = [...new Set([...fields.map((f) => f.field), ...(valueField !== undefined ? [valueField] : [])])];
    // The rule's own output fields are not part of a hit; its lookback is the correlation's to choose.
    const rule: DetectionRule = { ...input.rule, output: wanted, schedule: undefined };
    let q;
    try {
      q = compileKustoQuery({ ...input, rule }, { ...this.opts, format: 'query' }, this.comments);
    } catch (e) {
      if (e instanceof TargetFailure) throw new TargetFailure(e.kind, `referenced rule '${ref}' (${input.path}): ${e.message}`);
      throw e;
    }
    this.views.push(q.view);
    // The rule alone may read another table: the fields the correlation needs chose this one.
    if (q.passed.length) this.notes.push(`referenced rule '${ref}' reads ${q.view.table}; ${q.passed.map((p) => `${p.view.table}: ${p.error.message.replace(/; mapped fields: .*$/, '')}`).join('; ')}`);
    const column = new Map(q.outputs.map((o) => [o.field, o]));
    const typeOf = (f: string): ColumnType => (column.get(f)!.from === 'table' ? q.view.columns.get(column.get(f)!.column)! : 'string');
    // The contract's times are whole milliseconds (finer digits cut); KQL datetimes hold 100 ns ticks.
    const project = [`_rule = ${stringLiteral(ref)}`, `_time = bin(${identifier(q.view.timeColumn)}, 1ms)`];
    for (const f of fields) {
      const t = typeOf(f.field);
      if (!TEXT_TYPES.has(t)) throw new TargetFailure('unsupported', `group-by field '${f.field}' of rule '${ref}' is a ${t} column (${column.get(f.field)!.column} of ${q.view.table}); group values are compared as text, which KQL writes exactly for string, int, long and bool`);
      project.push(`${identifier(f.col)} = tostring(${identifier(column.get(f.field)!.column)})`);
    }
    if (valueField !== undefined) {
      const col = identifier(column.get(valueField)!.column);
      const t = typeOf(valueField);
      if (!numeric) {
        if (!TEXT_TYPES.has(t)) throw new TargetFailure('unsupported', `field '${valueField}' of rule '${ref}' is a ${t} column; its distinct values are compared as text, which KQL writes exactly for string, int, long and bool`);
        project.push(`_v = tostring(${col})`);
      } else if (NUMBER_TYPES.has(t)) project.push(`_v = todouble(${col})`);
      else if (t === 'string') project.push(`_v = iff(${col} matches regex ${regexLiteral(DECIMAL_TEXT)}, todouble(${col}), real(null))`);
      else throw new TargetFailure('unsupported', `field '${valueField}' of rule '${ref}' is a ${t} column, not a number`);
    }
    const name = this.name('rule_', input.rule.name, `rule_${this.names.size + 1}`);
    const body = q.stages.filter((s) => s.origin !== 'schedule').map((s) => s.text);
    body.push(`| project ${project.join(', ')}`);
    if (q.parameters.length === 0) {
      this.lets.push(`let ${name} = ${body.join('\n')};`);
      return { name, view: q.view };
    }
    // The rule's parameter lists stay inside its own body, where their names cannot meet another rule's.
    this.lets.push(`let ${name} = () {\n${[...q.parameters, ...body].join('\n')}\n};`);
    return { name: `${name}()`, view: q.view };
  }

  /** A referenced correlation: its hits as pseudo-events at their window end, holding its group values. */
  private chained(ref: string, input: CorrelationInput, fields: { g: string; col: string; field: string }[], valueField: string | undefined, numeric: boolean): string {
    const inner = input.rule.correlation;
    const hits = this.correlation(input);
    const innerCols = groupColumns(input.rule);
    const column = (field: string, what: string): string => {
      const k = inner.groupBy.indexOf(field);
      if (k < 0) throw new TargetFailure('unsupported', `${what} '${field}' is not a group-by field of correlation '${ref}', whose hits hold only ${inner.groupBy.join(', ') || 'no field'}`);
      return identifier(innerCols[k]!);
    };
    const project = [`_rule = ${stringLiteral(ref)}`, '_time = WindowEnd', ...fields.map((f) => `${identifier(f.col)} = ${column(f.field, 'group-by field')}`)];
    if (valueField !== undefined) {
      const col = column(valueField, 'field');
      project.push(numeric ? `_v = iff(${col} matches regex ${regexLiteral(DECIMAL_TEXT)}, todouble(${col}), real(null))` : `_v = ${col}`);
    }
    const name = this.name('correlation_', input.rule.name, `correlation_${this.names.size + 1}`);
    this.lets.push(`let ${name} = ${hits}\n| project ${project.join(', ')};`);
    return name;
  }
}

/** `>= 5`, `< 10`...: the condition's comparisons on the value (temporal: all the rules by default). */
function conditionOf(rule: CorrelationRule): string[] {
  const c = rule.correlation;
  const sym = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '==', neq: '!=' } as const;
  const ops = c.condition?.ops ?? [];
  if (ops.length === 0) {
    // temporal counts distinct rules; temporal_ordered's value is the number listed.
    if (c.type === 'temporal') return [`>= ${new Set(c.rules).size}`];
    if (c.type === 'temporal_ordered') return [`>= ${c.rules.length}`];
    throw new TargetFailure('unsupported', `a ${c.type} correlation needs a condition`);
  }
  return ops.map((o) => `${sym[o.op]} ${numberLiteral(o.value)}`);
}
