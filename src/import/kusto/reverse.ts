/**
 * The Kusto target's platform mapping read backwards, for `rulec import --from kusto`: which log
 * source a table and its row conditions stand for, which Sigma field a column holds, and how one
 * predicate on a column lifts to a predicate on that field. There is no second table: everything
 * here is derived from the typed mapping the target compiles with (src/targets/kusto/mapping.ts),
 * and every column -> field answer is checked by reading the field forwards again (`fieldAccess`),
 * so a mapping that reads a field from a column is the only thing that makes the column that field.
 *
 * Exactness is the rule: a column maps back only where the forward reading is an equivalence. A
 * column that holds a value derived from a field (Defender's *FileName columns, the text after the
 * last backslash of a path) is exact for some operators only; those are lifted to the Sigma test the
 * target itself prints as that operator on that column, and the others are refused with the reason.
 */
import { loadPlatformMapping } from '../../config/mapping.js';
import type { LogSource } from '../../model/types.js';
import { TargetFailure } from '../../targets/types.js';
import { fieldAccess, kustoMapping, logSourceName, type ColumnType, type FieldAccess, type KustoMapping, type View } from '../../targets/kusto/mapping.js';
import { foldsLikeRulec } from '../../targets/kusto/printer.js';
import { joinExpr } from '../../targets/kusto/query.js';
import { parseKql, type SyntaxNode } from '../../targets/kusto/validate.js';

/** The typed mapping of a Kusto platform (backends/kusto/<platform>.yml and any --mapping files). */
export function reverseMapping(platform: string, mappingFiles: string[] = []): KustoMapping {
  return kustoMapping(loadPlatformMapping('kusto', platform, mappingFiles), platform);
}

// ---------------------------------------------------------------------------------------------
// Table and row conditions -> log source

/**
 * A row condition of the query on one column: `==` (a value set: `==` or `in`, case-sensitive as
 * the target writes row conditions), or another operator with one literal (`startswith "/"`, as a
 * view's `filter:` is written).
 */
export interface RowFilter {
  column: string;
  op?: string;
  values: (string | number)[];
}

export interface LogsourceMatch {
  ok: true;
  logsource: LogSource;
  /** Other log sources whose view selects the same rows (linux and macos share Defender's posix views). */
  alternatives: LogSource[];
  view: View;
  viewName: string;
  /**
   * The filters the view's own row conditions replace (the rule must not repeat them). A filter on a
   * view's column with a strict subset of its values (one ActionType of several) still selects the
   * view, but is not consumed: it stays a predicate of the rule.
   */
  consumedFilters: RowFilter[];
}

export interface ReverseError {
  ok: false;
  error: string;
}

interface Condition {
  column: string;
  op: string;
  values: string[];
}

const filterCache = new Map<string, Condition | null>();

/** A view's `filter:` text (`FolderPath startswith "/"`) as a condition, read by Kusto.Language; null when it is not one `Column op "literal"`. */
function filterCondition(text: string): Condition | null {
  if (filterCache.has(text)) return filterCache.get(text)!;
  const { root, diagnostics } = parseKql(`T | where ${text}`);
  let found: Condition | null = null;
  if (diagnostics.length === 0) {
    const filters = collect(root, (n) => n.kind === 'FilterOperator');
    const expr = filters[0]?.children.filter((c) => c.text === undefined && c.kind !== 'List')[0];
    const parts = expr?.children ?? [];
    if (parts.length === 3 && parts[0]!.kind === 'NameReference' && parts[1]!.text !== undefined && parts[2]!.kind === 'StringLiteralExpression') {
      const name = collect(parts[0]!, (n) => n.text !== undefined)[0]?.text;
      const lit = parts[2]!.children[0]?.valueText;
      if (name && lit !== undefined) found = { column: name, op: parts[1]!.text, values: [lit] };
    }
  }
  filterCache.set(text, found);
  return found;
}

function collect(n: SyntaxNode, pred: (n: SyntaxNode) => boolean, out: SyntaxNode[] = []): SyntaxNode[] {
  if (pred(n)) out.push(n);
  for (const c of n.children) collect(c, pred, out);
  return out;
}

/** The row conditions of a view, as the target prints them (where values, then its filter). */
export function viewConditions(view: View): RowFilter[] | undefined {
  const out: RowFilter[] = view.where.map((w) => ({ column: w.column, op: '==', values: [...w.values] }));
  if (view.filter) {
    const c = filterCondition(view.filter);
    if (!c) return undefined;
    out.push(c);
  }
  return out;
}

/**
 * How a view's conditions meet the query's filters: undefined when some condition is not implied
 * by a filter; else the filters that are the view's conditions exactly, and the number implied.
 */
function meet(view: View, filters: RowFilter[]): { consumed: RowFilter[]; implied: number } | undefined {
  const conds = viewConditions(view);
  if (!conds) return undefined;
  const consumed: RowFilter[] = [];
  for (const c of conds) {
    const want = new Set(c.values.map(String));
    let hit: RowFilter | undefined;
    let exact = false;
    for (const f of filters) {
      if (f.column !== c.column || (f.op ?? '==') !== c.op) continue;
      const got = new Set(f.values.map(String));
      // `==`: a set of values inside the view's selects a part of its rows; other operators take one literal.
      const inside = c.op === '==' ? [...got].every((x) => want.has(x)) : got.size === 1 && want.has([...got][0]!);
      if (!inside) continue;
      hit = f;
      exact = got.size === want.size;
      if (exact) break;
    }
    if (!hit) return undefined;
    if (exact) consumed.push(hit);
  }
  return { consumed, implied: conds.length };
}

/**
 * The log source a query's table and row filters stand for on a platform: the views of the table
 * whose row conditions the filters imply; the one with the most conditions wins (DeviceFileEvents
 * with ActionType == "FileCreated" is windows/file_event; with FolderPath startswith "/" too,
 * linux/file_event). An error names the log sources the table does serve, with their conditions.
 */
export function logsourceOf(m: KustoMapping, table: string, filters: RowFilter[]): LogsourceMatch | ReverseError {
  const hits: { score: number; view: View; consumed: RowFilter[]; sources: LogSource[] }[] = [];
  const served: string[] = [];
  for (const entry of m.logsources) {
    for (const view of entry.views) {
      if (view.table !== table) continue;
      served.push(`${entry.match.map(logSourceName).join(' or ')}${describeConditions(view)}`);
      const r = meet(view, filters);
      // Each condition implied counts, and one the filters state exactly counts once more.
      if (r) hits.push({ score: r.implied * 2 + r.consumed.length, view, consumed: r.consumed, sources: entry.match });
    }
  }
  if (hits.length === 0) {
    if (served.length === 0) {
      const tables = [...new Set(m.logsources.flatMap((e) => e.views.map((v) => v.table)))].sort();
      return { ok: false, error: `table ${table} is not mapped to any log source on platform ${m.platform}; mapped tables: ${tables.join(', ')}` };
    }
    return {
      ok: false,
      error: `no log source of platform ${m.platform} selects these rows of ${table}${describeFilters(filters)}; ${table} serves: ${[...new Set(served)].join('; ')}`,
    };
  }
  const top = Math.max(...hits.map((h) => h.score));
  const best = hits.find((h) => h.score === top)!;
  const seen = new Set<string>();
  const all = hits
    .filter((h) => h.score === top && sameView(h.view, best.view))
    .flatMap((h) => h.sources)
    .filter((ls) => {
      const k = logSourceName(ls);
      return seen.has(k) ? false : (seen.add(k), true);
    });
  return { ok: true, logsource: all[0]!, alternatives: all.slice(1), view: best.view, viewName: best.view.name, consumedFilters: best.consumed };
}

/** Two views (a `{like: ...}` copy has its own object) that select the same rows of the same table. */
function sameView(a: View, b: View): boolean {
  return a.table === b.table && JSON.stringify(viewConditions(a)) === JSON.stringify(viewConditions(b));
}

function describeConditions(view: View): string {
  const c = viewConditions(view) ?? [];
  return c.length ? ` (${c.map((x) => `${x.column} ${x.op === '==' && x.values.length > 1 ? 'in' : x.op} ${x.values.join(', ')}`).join(' and ')})` : ' (every row)';
}

function describeFilters(filters: RowFilter[]): string {
  return filters.length ? ` (${filters.map((f) => `${f.column} ${f.op ?? '=='} ${f.values.join(', ')}`).join(' and ')})` : '';
}

// ---------------------------------------------------------------------------------------------
// Column -> Sigma field

/** Where a predicate reads: a view of a log source, as logsourceOf found it. */
export interface ViewAt {
  logsource: LogSource;
  view: View;
}

export type FieldOf =
  | {
      exact: true;
      field: string;
      access: FieldAccess;
      /**
       * Absent: the column holds the field's value. `basename`: the column holds the text after the
       * last backslash of the field's value (exact only for the operators liftPredicate lifts).
       * `domain`: the column holds coded values, each standing for one Sigma value.
       */
      transform?: 'basename' | 'domain';
    }
  | { exact: false; why: string };

/**
 * The Sigma field a column (or a JSON property `path` inside it) holds in a view, only where the
 * mapping reads that field from it; a field of the same name found in several ways takes the
 * mapping's explicit field first, the column's own name first among them.
 */
export function sigmaFieldOf(m: KustoMapping, at: ViewAt, column: string, path: string[] = []): FieldOf {
  const { view } = at;
  const type = view.columns.get(column);
  if (!type) return { exact: false, why: `table ${view.table} has no column '${column}'` };
  const candidates: { field: string; access: FieldAccess; transform?: 'basename' | 'domain' }[] = [];
  for (const [field, a] of view.fields) {
    if (path.length === 0) {
      if (a.kind === 'column' && a.column === column) candidates.push({ field, access: a });
      else if (a.kind === 'column' && a.basename === column) candidates.push({ field, access: a, transform: 'basename' });
      else if (a.kind === 'basename' && a.basename === column) candidates.push({ field, access: a, transform: 'basename' });
      else if (a.kind === 'domain' && a.column === column) candidates.push({ field, access: a, transform: 'domain' });
    } else if (a.kind === 'json' && a.column === column && samePath(a.path, path)) candidates.push({ field, access: a });
  }
  candidates.sort((x, y) => Number(y.field === column) - Number(x.field === column));
  if (path.length > 0) {
    for (const p of view.prefixes) {
      if (p.column === column && path.length > p.path.length && samePath(path.slice(0, p.path.length), p.path)) {
        const field = p.prefix + path.slice(p.path.length).join('.');
        candidates.push({ field, access: { kind: 'json', column, columnType: p.columnType, path } });
      }
    }
    if (view.bag?.column === column && path.length === 1) candidates.push({ field: path[0]!, access: { kind: 'json', column, columnType: view.bag.columnType, path } });
  } else {
    if (view.identity) candidates.push({ field: column, access: { kind: 'column', column, type } });
    const sfx = /^(.+)_[sdbtg]$/.exec(column);
    if (view.suffixed && sfx) candidates.push({ field: sfx[1]!, access: { kind: 'column', column, type } });
  }
  // The forward reading decides: a candidate is the field only if the target reads it from here.
  for (const c of candidates) {
    let fwd: FieldAccess;
    try {
      fwd = fieldAccess(view, c.field, at.logsource, m.platform);
    } catch (e) {
      if (e instanceof TargetFailure) continue;
      throw e;
    }
    if (sameAccess(fwd, c.access)) return { exact: true, field: c.field, access: fwd, ...(c.transform ? { transform: c.transform } : {}) };
  }
  const shown = path.length ? `${column}.${path.join('.')}` : column;
  const where = `${view.table} (${logSourceName(at.logsource)} on ${m.platform})`;
  const join = [...view.fields].find(([, a]) => a.kind === 'join' && a.columns.includes(column));
  if (join && join[1].kind === 'join') {
    return { exact: false, why: `column ${column} of ${where} is one part of Sigma's ${join[0]}, which joins ${join[1].columns.join(' and ')} with '${join[1].separator}'; a test of one part is no test of ${join[0]}` };
  }
  if (view.where.some((w) => w.column === column)) {
    return { exact: false, why: `column ${column} of ${where} selects the log source's rows${describeConditions(view)}; it holds no Sigma field` };
  }
  if (column === view.timeColumn) return { exact: false, why: `column ${column} is the time column of ${where}; only a lookback (ago()) on it lifts` };
  return { exact: false, why: `${shown} of ${where} holds no Sigma field in the mapping (view ${view.name})` };
}

/**
 * The Sigma field a computed column stands for: a KQL expression (`strcat(case(RegistryKey
 * startswith ...), ...)`) that is the target's own reading of a joined field of the view
 * (TargetObject from RegistryKey and RegistryValueName, User from the account columns). The
 * expressions are compared as Kusto.Language syntax trees (literals by value, layout ignored).
 */
export function sigmaFieldOfExpression(m: KustoMapping, at: ViewAt, expression: string): FieldOf {
  const want = expressionTree(expression);
  if (want) {
    for (const [field, a] of at.view.fields) {
      if (a.kind !== 'join') continue;
      if (sameTree(want, expressionTree(joinExpr(a)))) return { exact: true, field, access: a };
    }
  }
  const joins = [...at.view.fields].filter(([, a]) => a.kind === 'join').map(([f]) => f);
  return {
    exact: false,
    why: `the expression is no field of ${at.view.table} (${logSourceName(at.logsource)} on ${m.platform})${joins.length ? `; the computed fields of the view are ${joins.join(', ')}, each read by one exact expression` : ''}`,
  };
}

function expressionTree(expression: string): SyntaxNode | undefined {
  const { root, diagnostics } = parseKql(`T | extend X = ${expression}`);
  if (diagnostics.length) return undefined;
  return collect(root, (n) => n.kind === 'SimpleNamedExpression')[0]?.children.filter((c) => c.text === undefined)[1];
}

/** Same syntax tree: node kinds, token texts, and string literals by their value (`@"\"` is `"\\"`). */
function sameTree(a: SyntaxNode | undefined, b: SyntaxNode | undefined): boolean {
  if (!a || !b || a.kind !== b.kind) return false;
  if (a.text !== undefined || b.text !== undefined) return a.kind === 'StringLiteralToken' ? a.valueText === b.valueText : a.text === b.text;
  return a.children.length === b.children.length && a.children.every((c, i) => sameTree(c, b.children[i]));
}

function samePath(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameAccess(a: FieldAccess, b: FieldAccess): boolean {
  return JSON.stringify(normalizeAccess(a)) === JSON.stringify(normalizeAccess(b));
}

function normalizeAccess(a: FieldAccess): unknown {
  return a.kind === 'domain' ? { ...a, values: [...a.values] } : a;
}

// ---------------------------------------------------------------------------------------------
// One predicate -> a Sigma field predicate

/**
 * One KQL predicate on a column: `op` as written in KQL, lower case (`==`, `=~`, `!in~`, `has_any`,
 * `matches regex`, `between`, `>=`, ...), or a function's name (`isempty`, `ipv4_is_in_range`,
 * `ipv4_is_private`, ...) with the literals after the column as `values`. `path`: a JSON property
 * inside the column (`tostring(parse_json(AdditionalFields).FileType)` is AdditionalFields, [FileType]).
 */
export interface ColumnPredicate {
  column: string;
  path?: string[];
  /** A computed column's expression (the `extend` that defines `column`), read by sigmaFieldOfExpression. */
  expression?: string;
  op: string;
  values: (string | number)[];
}

/**
 * A Sigma field test: `field|modifiers...: values` (plain texts: write a string value in Sigma's
 * notation with `toSigmaNotation(literal(v))` of src/parse/sigma-string.ts, except under `re` and
 * `cidr`; `null` is Sigma's null, the empty field).
 */
export interface SigmaTest {
  field: string;
  modifiers: string[];
  values: (string | number | null)[];
}

/** The lift: `not` (when set) of the AND of `all`; or why the predicate has no exact Sigma form. */
export type Lifted = { ok: true; not: boolean; all: SigmaTest[] } | { ok: false; why: string };

interface OpInfo {
  /** The Sigma match: eq (no modifier), a string modifier, re, cidr, a comparison, null (empty). */
  sigma: 'eq' | 'contains' | 'startswith' | 'endswith' | 'has' | 're' | 'cidr' | 'between' | 'gt' | 'gte' | 'lt' | 'lte' | 'empty' | 'null';
  cased: boolean;
  not: boolean;
  /** Several values: any of them (in, has_any), or all of them (has_all). */
  list?: 'any' | 'all';
}

const OPS: Record<string, OpInfo> = (() => {
  const o: Record<string, OpInfo> = {
    '==': { sigma: 'eq', cased: true, not: false },
    '=~': { sigma: 'eq', cased: false, not: false },
    '!=': { sigma: 'eq', cased: true, not: true },
    '!~': { sigma: 'eq', cased: false, not: true },
    in: { sigma: 'eq', cased: true, not: false, list: 'any' },
    'in~': { sigma: 'eq', cased: false, not: false, list: 'any' },
    '!in': { sigma: 'eq', cased: true, not: true, list: 'any' },
    '!in~': { sigma: 'eq', cased: false, not: true, list: 'any' },
    has_any: { sigma: 'has', cased: false, not: false, list: 'any' },
    has_all: { sigma: 'has', cased: false, not: false, list: 'all' },
    'matches regex': { sigma: 're', cased: true, not: false },
    between: { sigma: 'between', cased: true, not: false },
    '!between': { sigma: 'between', cased: true, not: true },
    '>': { sigma: 'gt', cased: true, not: false },
    '>=': { sigma: 'gte', cased: true, not: false },
    '<': { sigma: 'lt', cased: true, not: false },
    '<=': { sigma: 'lte', cased: true, not: false },
    isempty: { sigma: 'empty', cased: true, not: false },
    isnotempty: { sigma: 'empty', cased: true, not: true },
    isnull: { sigma: 'null', cased: true, not: false },
    isnotnull: { sigma: 'null', cased: true, not: true },
    ipv4_is_in_range: { sigma: 'cidr', cased: true, not: false },
    ipv4_is_in_any_range: { sigma: 'cidr', cased: true, not: false, list: 'any' },
    ipv4_is_private: { sigma: 'cidr', cased: true, not: false },
  };
  for (const s of ['contains', 'startswith', 'endswith', 'has'] as const) {
    o[s] = { sigma: s, cased: false, not: false };
    o[`${s}_cs`] = { sigma: s, cased: true, not: false };
    o[`!${s}`] = { sigma: s, cased: false, not: true };
    o[`!${s}_cs`] = { sigma: s, cased: true, not: true };
  }
  return o;
})();

/** The private IPv4 ranges of ipv4_is_private (RFC 1918, as Kusto documents the function). */
export const IPV4_PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

const NUMERIC: ReadonlySet<ColumnType> = new Set(['int', 'long', 'real', 'decimal']);

/**
 * Lifts one predicate on a column to a test of the Sigma field the column holds, exactly, or says
 * why it cannot. A value column lifts every operator of its type; a file-name column (FileName is
 * the text after the last backslash of TargetFilename) lifts `==`/`=~`/`in`/`in~` as `endswith
 * '\name'` and `endswith` as `endswith` plus `contains '\'`, and refuses the rest; a coded column
 * lifts the stored values that are exactly the values of some Sigma values.
 */
export function liftPredicate(m: KustoMapping, at: ViewAt, p: ColumnPredicate): Lifted {
  const info = OPS[p.op.toLowerCase()];
  if (!info) return { ok: false, why: `operator ${p.op} has no Sigma form (lifted: ${Object.keys(OPS).join(', ')})` };
  const of = p.expression === undefined ? sigmaFieldOf(m, at, p.column, p.path ?? []) : sigmaFieldOfExpression(m, at, p.expression);
  if (!of.exact) return { ok: false, why: of.why };
  const shown = p.path?.length ? `${p.column}.${p.path.join('.')}` : p.column;
  const refuse = (why: string): Lifted => ({ ok: false, why: `${shown} ${p.op}: ${why}` });
  const a = of.access;
  const texts = p.values.map(String);
  const ci = !info.cased && ['eq', 'contains', 'startswith', 'endswith', 'has'].includes(info.sigma);
  // KQL's ignore-case never folds ß and ẞ together, rulec's does (the printer's reason for a regex).
  if (ci && !texts.every(foldsLikeRulec)) return refuse(`KQL's case-insensitive ${p.op} does not fold ß and ẞ as Sigma's case-insensitive match does`);
  if (info.list === undefined && !['empty', 'null', 'between'].includes(info.sigma) && p.op !== 'ipv4_is_private' && p.values.length !== 1) {
    return refuse(`expected one value, got ${p.values.length}`);
  }

  if (of.transform === 'domain') return liftDomain(of.field, a, info, texts, refuse);
  if (of.transform === 'basename') return liftBasename(of.field, a, info, texts, refuse);

  // A JSON property and a joined value are text.
  const type: ColumnType = a.kind === 'column' ? a.type : 'string';
  const numeric = NUMERIC.has(type);
  const cased = info.cased && !numeric ? ['cased'] : [];
  const test = (modifiers: string[], values: (string | number | null)[]): SigmaTest => ({ field: of.field, modifiers, values });
  const lifted = (t: SigmaTest[], not = info.not): Lifted => ({ ok: true, not, all: t });
  switch (info.sigma) {
    case 'eq':
      if (numeric) {
        if (!p.values.every((v) => typeof v === 'number')) return refuse(`column ${p.column} is ${type}; compare it with numbers`);
        return lifted([test([], p.values)]);
      }
      if (type !== 'string') return refuse(`column ${p.column} is ${type}; only text and number columns lift`);
      return lifted([test(cased, texts)]);
    case 'contains':
    case 'startswith':
    case 'endswith':
      if (type !== 'string') return refuse(`column ${p.column} is ${type}; KQL matches the text of it, which is not the event's text`);
      return lifted([test([info.sigma, ...cased], texts)]);
    case 'has':
      if (type !== 'string') return refuse(`column ${p.column} is ${type}; a term match reads text`);
      return lifted([test(['has', ...(info.list === 'all' && texts.length > 1 ? ['all'] : []), ...cased], texts)]);
    case 're':
      if (type !== 'string') return refuse(`column ${p.column} is ${type}; a regex reads text`);
      return lifted([test(['re'], texts)]);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (!numeric) return refuse(`column ${p.column} is ${type}; numeric comparisons lift on number columns only`);
      if (typeof p.values[0] !== 'number') return refuse('compare with a number');
      return lifted([test([info.sigma], p.values)]);
    case 'between': {
      if (!numeric) return refuse(`column ${p.column} is ${type}; between lifts on number columns only`);
      const [lo, hi] = p.values;
      if (p.values.length !== 2 || typeof lo !== 'number' || typeof hi !== 'number') return refuse('expected (low .. high) numbers');
      return lifted([test(['gte'], [lo]), test(['lte'], [hi])]);
    }
    case 'empty':
      // A string column has no null: isempty is "" (Sigma's null is the absent or empty field).
      return lifted([test([], [null])]);
    case 'null':
      if (type === 'string') return refuse(`column ${p.column} is a string column, which is never null in KQL (isempty is the test of an empty value)`);
      return lifted([test([], [null])]);
    case 'cidr': {
      if (type !== 'string') return refuse(`column ${p.column} is ${type}; an IP function reads text`);
      // The IP functions are null (so the row is dropped) on text that is not an IPv4 address, under
      // not() too; a negated Sigma cidr keeps such an event.
      if (info.not) return refuse('not() of an IP function drops rows without an IPv4 address, which a negated cidr test keeps');
      const ranges = p.op === 'ipv4_is_private' ? IPV4_PRIVATE : texts;
      if (!ranges.every((r) => /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(r))) return refuse('expected IPv4 ranges such as 10.0.0.0/8');
      return lifted([test(['cidr'], ranges.map((r) => (r.includes('/') ? r : `${r}/32`)))]);
    }
  }
}

/** A file-name column (the text after the last backslash of the field's value; empty without one). */
function liftBasename(field: string, a: FieldAccess, info: OpInfo, names: string[], refuse: (why: string) => Lifted): Lifted {
  const cased = info.cased ? ['cased'] : [];
  const only = `the column holds only the file name of ${field}`;
  if (names.some((n) => n.includes('\\'))) return refuse(`a file name never holds a backslash; ${only}`);
  if (info.sigma === 'eq') {
    // An empty file name is a value without a backslash, which no Sigma string test states.
    if (names.some((n) => n === '')) return refuse(`an empty file name stands for a ${field} without a backslash, which has no Sigma test`);
    return { ok: true, not: info.not, all: [{ field, modifiers: ['endswith', ...cased], values: names.map((n) => `\\${n}`) }] };
  }
  if (info.sigma === 'endswith' && a.kind === 'column') {
    if (names[0] === '') return refuse('an empty suffix');
    return { ok: true, not: info.not, all: [{ field, modifiers: ['endswith', ...cased], values: names }, { field, modifiers: ['contains'], values: ['\\'] }] };
  }
  const what = info.sigma === 'has' ? `a term match on the file name is not a term match on the full ${field} (its folders hold other terms)` : `${info.sigma === 'endswith' ? 'endswith' : info.sigma} on the file name has no exact Sigma test on the full ${field}`;
  return refuse(`${what}; ${only}${a.kind === 'basename' ? ` (only ${field}'s file name is stored: only ==, =~, in and in~ lift)` : ' (==, =~, in, in~ and endswith lift)'}`);
}

/** A coded column: the stored values a predicate selects must be exactly those of some Sigma values. */
function liftDomain(field: string, a: FieldAccess, info: OpInfo, texts: string[], refuse: (why: string) => Lifted): Lifted {
  if (a.kind !== 'domain' || info.sigma !== 'eq') return refuse(`${field} is stored as coded values here; only ==, =~, in, in~ and their negations lift`);
  const up = (s: string): string => (info.cased ? s : s.toUpperCase());
  const wanted = new Set(texts.map(up));
  const keys: string[] = [];
  const covered = new Set<string>();
  for (const [k, stored] of a.values) {
    const hits = stored.filter((s) => wanted.has(up(s)));
    if (hits.length === 0) continue;
    if (hits.length !== stored.length) {
      return refuse(`${hits.join(', ')} ${hits.length === 1 ? 'is' : 'are'} part of ${field} '${k}' (${stored.join(', ')}); no Sigma value selects ${hits.length === 1 ? 'it' : 'them'} alone`);
    }
    keys.push(k);
    for (const s of stored) covered.add(up(s));
  }
  const missing = [...wanted].filter((x) => !covered.has(x));
  if (missing.length) return refuse(`${missing.join(', ')} is no stored value of ${field} (${[...a.values.values()].flat().join(', ')})`);
  return { ok: true, not: info.not, all: [{ field, modifiers: [], values: keys }] };
}
