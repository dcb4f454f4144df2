/**
 * A whole KQL query for one rule on one view: the parameter lists (`let`), the table, the lookback
 * (`schedule.lookback`), the view's row conditions, the predicate (one `where` per top-level AND
 * operand, as the seed query is written), the columns a JSON field needs (`extend`, placed before
 * the first `where` that reads them) and the rule's output fields.
 */
import type { Node } from '../../ir/types.js';
import type { DetectionRule } from '../../model/types.js';
import { TargetFailure } from '../types.js';
import { scheduleFor } from '../schedule.js';
import { columnNameFor, identifier, isLiteralSafe, memberAccess, numberLiteral, stringLiteral, timespanLiteral } from './dialect.js';
import { fieldAccess, logSourceName, type ColumnType, type FieldAccess, type ValueAccess, type View } from './mapping.js';
import { printNode, Prec, withHasAll, type Expr, type Scope } from './printer.js';

export interface QueryOptions {
  platform: string;
  /** `//` comments (parameter descriptions); Defender custom detections take none. */
  comments: boolean;
}

/** One tabular operator of the query (`source` is the table it starts from). */
export interface QueryStage {
  kind: 'source' | 'where' | 'extend' | 'mv-apply';
  text: string;
  /** What the stage comes from: the log source's table and row conditions, a native rule's table (`native:`), the schedule's lookback, the detection, or the rule's `output:` fields. */
  origin: 'logsource' | 'native' | 'schedule' | 'detection' | 'output';
  /** The IR operand a detection `where` prints. */
  ir?: Node;
}

export interface BuiltQuery {
  text: string;
  /** The `let` statements (with their comment lines), in order: what `text` starts with. */
  parameters: string[];
  /** The operators after the parameters, in order; `text` is the parameters and these, one per line. */
  stages: QueryStage[];
  /** The column of each output field, and whether the table has it or an `extend` stage makes it. */
  outputs: { field: string; column: string; from: 'table' | 'extend' }[];
  /** Columns the query adds to the table's (extended fields, keyword counts). */
  added: ReadonlySet<string>;
}

const MAX_LINE = 110;

export function buildQuery(rule: DetectionRule, ir: Node, view: View, opts: QueryOptions): BuiltQuery {
  const scope = new QueryScope(rule, view, opts.platform);
  const conjuncts = ir.kind === 'and' ? withHasAll(ir.children) : [ir];
  const body: QueryStage[] = [];
  for (const c of conjuncts) {
    const e = printNode(c, scope);
    if (e.value === true) continue;
    body.push(...scope.takeExtends());
    body.push({ kind: 'where', text: whereLine(e), origin: 'detection', ir: c });
    if (e.value === false) break;
  }
  // Output fields are columns of the result under their Sigma names.
  const outputs = rule.output.map((f) => ({ field: f, ...scope.output(f) }));
  body.push(...scope.takeExtends('output'));

  const parameters: string[] = [];
  for (const l of scope.lets) {
    if (opts.comments && l.comment) parameters.push(`// ${l.comment}`);
    parameters.push(`let ${l.name} = dynamic([${l.values.map(stringLiteral).join(', ')}]);`);
  }
  const stages: QueryStage[] = [{ kind: 'source', text: identifier(view.table), origin: view.native ? 'native' : 'logsource' }];
  const lookback = scheduleFor(rule, 'kusto', opts.platform).lookback;
  if (lookback) stages.push({ kind: 'where', text: `| where ${identifier(view.timeColumn)} > ago(${timespanLiteral(lookback)})`, origin: 'schedule' });
  const rowConditions = [...view.where.map(rowCondition), ...(view.filter ? [view.filter] : [])];
  if (rowConditions.length) stages.push({ kind: 'where', text: `| where ${rowConditions.join(' and ')}`, origin: 'logsource' });
  stages.push(...body);
  const text = [...parameters, ...stages.map((s) => s.text)].join('\n') + '\n';
  return { text, parameters, stages, outputs, added: scope.addedColumns() };
}

function rowCondition(w: View['where'][number]): string {
  const lit = (v: string | number): string => (w.type === 'string' ? stringLiteral(String(v)) : numberLiteral(Number(v)));
  const col = identifier(w.column);
  return w.values.length === 1 ? `${col} == ${lit(w.values[0]!)}` : `${col} in (${w.values.map(lit).join(', ')})`;
}

function whereLine(e: Expr): string {
  const line = `| where ${e.text}`;
  if (line.length <= MAX_LINE || !e.parts || e.prec !== Prec.Or) return line;
  return `| where ${e.parts.join('\n    or ')}`;
}

interface Let {
  name: string;
  param: string;
  values: string[];
  comment?: string;
}

class QueryScope implements Scope {
  readonly lets: Let[] = [];
  /** Extended columns: field -> column name, in order. */
  private extended = new Map<string, { name: string; expr: string }>();
  private pending: string[] = [];
  private pendingBags = new Map<string, string[]>();
  private kwCount = 0;
  /** Column names this query introduces (the table's own are taken too). */
  private taken = new Set<string>();

  constructor(
    private readonly rule: DetectionRule,
    private readonly view: View,
    private readonly platform: string,
  ) {}

  private isTaken(name: string): boolean {
    return this.view.columns.has(name) || this.taken.has(name) || this.lets.some((l) => l.name === name);
  }

  access(field: string): FieldAccess {
    return fieldAccess(this.view, field, this.rule.logsource, this.platform);
  }

  read(field: string, a: ValueAccess): { text: string; type: ColumnType } {
    if (a.kind === 'column') return { text: identifier(a.column), type: a.type };
    return { text: identifier(this.extend(field, a)), type: 'string' };
  }

  /**
   * The column holding a JSON field's text or a joined value, extended on first use (the seed's
   * `extend FileType = ...`), so that every test of the field reads one name.
   */
  private extend(field: string, a: Extract<FieldAccess, { kind: 'json' | 'join' }>): string {
    const hit = this.extended.get(field);
    if (hit) return hit.name;
    let name = columnNameFor(field);
    while (this.isTaken(name)) name = `${name}_`;
    this.taken.add(name);
    const expr = a.kind === 'join' ? joinExpr(a) : `tostring(${a.columnType === 'dynamic' ? identifier(a.column) : `parse_json(${identifier(a.column)})`}${a.path.map((s) => (typeof s === 'number' ? `[${s}]` : memberAccess(s))).join('')})`;
    this.extended.set(field, { name, expr });
    this.pending.push(`${identifier(name)} = ${expr}`);
    return name;
  }

  /** The `extend` and `mv-apply` stages the expressions printed since the last call need. */
  takeExtends(origin: QueryStage['origin'] = 'detection'): QueryStage[] {
    const lines: QueryStage[] = [];
    if (this.pending.length) {
      const all = this.pending;
      this.pending = [];
      const line = `| extend ${all.join(', ')}`;
      lines.push({ kind: 'extend', origin, text: line.length <= MAX_LINE ? line : `| extend ${all.join(',\n    ')}` });
    }
    for (const [column, counts] of this.pendingBags) {
      const bag = identifier(column);
      lines.push({
        kind: 'mv-apply',
        origin,
        text: `| mv-apply _key = array_concat(coalesce(bag_keys(${bag}), dynamic([])), dynamic([""])) to typeof(string) on (\n    summarize ${counts.join(',\n        ')})`,
      });
    }
    this.pendingBags.clear();
    return lines;
  }

  keywordColumns(): { column: string; type: ColumnType }[] {
    if (!this.view.keywords) {
      throw new TargetFailure(
        'unsupported',
        `keyword search on ${logSourceName(this.rule.logsource)} (table ${this.view.table}, platform ${this.platform}): the mapping declares no columns that hold every value of an event, and \`where *\` would also search columns that are not event values`,
      );
    }
    return this.view.keywords.map((column) => ({ column, type: this.view.columns.get(column)! }));
  }

  /**
   * `| mv-apply _key = <the bag's keys> to typeof(string) on (summarize _kw1 = countif(<test of the
   * value>), ...)`. The keys get one extra "" entry (its value is empty): mv-apply drops a row whose
   * array is empty, and the row must stay for the rest of the rule.
   */
  bagCount(column: string, test: (value: string) => string): string {
    const name = `_kw${++this.kwCount}`;
    this.taken.add(name);
    const bag = identifier(column);
    let b = this.pendingBags.get(column);
    if (!b) this.pendingBags.set(column, (b = []));
    b.push(`${name} = countif(${test(`tostring(${bag}[_key])`)})`);
    return name;
  }

  list(param: string, values: string[]): string {
    const same = this.lets.find((l) => l.param === param && sameList(l.values, values));
    if (same) return same.name;
    // Parameter names may hold `.` and `-`; a let name must be a plain identifier.
    let base = columnNameFor(param);
    if (identifier(base) !== base) base = `${base}_list`;
    let name = base;
    for (let n = 2; this.isTaken(name); n++) name = `${base}_${n}`;
    const p = this.rule.parameters.get(param);
    const comment = p?.description?.replace(/\s+/g, ' ').trim();
    this.lets.push({ name, param, values, ...(comment ? { comment } : {}) });
    return name;
  }

  declareUnused(param: string): void {
    if (this.lets.some((l) => l.param === param)) return;
    const p = this.rule.parameters.get(param);
    if (!p) return;
    const values = p.values.map((v) => (v.type === 'string' ? v.value : v.type === 'number' ? v.text : v.type === 'boolean' ? String(v.value) : ''));
    if (values.every(isLiteralSafe)) this.list(param, values);
  }

  /** Makes an output field a column under its Sigma name; the column, and where it comes from. */
  output(field: string): { column: string; from: 'table' | 'extend' } {
    const a = this.access(field);
    if (a.kind === 'json' || a.kind === 'join') return { column: this.extend(field, a), from: 'extend' };
    if (a.kind === 'basename') throw new TargetFailure('unsupported', `output field '${field}': only its file name is stored (${a.basename})`);
    if (a.kind === 'domain') {
      if (a.column) throw new TargetFailure('unsupported', `output field '${field}' is stored as coded values in ${this.view.table}.${a.column}`);
      const value = [...a.values.keys()][0]!;
      return { column: this.pendingOutput(field, stringLiteral(value)), from: 'extend' };
    }
    if (a.column !== field) return { column: this.pendingOutput(field, identifier(a.column)), from: 'extend' };
    return { column: a.column, from: 'table' };
  }

  private pendingOutput(field: string, expr: string): string {
    // The output is named after the field (the artifacts' custom details refer to it by that name).
    const name = columnNameFor(field);
    if (this.extended.has(field) || this.isTaken(name)) {
      throw new TargetFailure('unsupported', `output field '${field}' would replace the column ${name} of the query on ${this.view.table}`);
    }
    this.extended.set(field, { name, expr });
    this.taken.add(name);
    this.pending.push(`${identifier(name)} = ${expr}`);
    return name;
  }

  addedColumns(): ReadonlySet<string> {
    return this.taken;
  }
}

/**
 * `strcat(A', iff(isnotempty(A) and isnotempty(B), sep, ""), B)`: the non-empty parts joined, A'
 * being A after its first matching rewrite (`case(A startswith from, strcat(to, substring(A, n)), ..., A)`).
 * A' is empty exactly when A is, since every rewrite's `to` is non-empty (the loader checks).
 */
export function joinExpr(a: Extract<FieldAccess, { kind: 'join' }>): string {
  const [first, second] = a.columns.map(identifier) as [string, string];
  const head = a.rewrite.length
    ? `case(${a.rewrite.map((r) => `${first} startswith ${stringLiteral(r.from)}, strcat(${stringLiteral(r.to)}, substring(${first}, ${r.from.length}))`).join(', ')}, ${first})`
    : first;
  return `strcat(${head}, iff(isnotempty(${first}) and isnotempty(${second}), ${stringLiteral(a.separator)}, ""), ${second})`;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
