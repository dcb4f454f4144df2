/**
 * Writing SPL text: the only place that quotes values and field names.
 *
 * - search values: `"..."` with `\\` and `\"` (the only escapes of the search language); `*` is
 *   always a wildcard, so a caller never passes a literal `*` here.
 * - search field names: bare when they are plain identifiers (letters, digits, `_`, `.`); other
 *   names never reach the search part (the printer renders those leaves in `| where`).
 * - eval strings: `"..."` with every `\` doubled and `"` escaped: Splunk removes one level of
 *   backslashes from eval strings, so a regex `\.` is written `\\.`.
 * - eval field names: bare only for identifiers that are not eval keywords; else `'name'` (a name
 *   with a `.` must be quoted, `.` being eval's concatenation).
 */
import type { Aggregate, Command, EvalExpr, EvalStage, Pipeline, Query, SearchExpr, SearchValue } from './ast.js';
import type { QueryStage } from '../types.js';

const SEARCH_FIELD = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const SEARCH_KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN']);
const EVAL_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EVAL_KEYWORDS = new Set(['and', 'or', 'not', 'xor', 'like', 'in', 'true', 'false', 'null']);

/** A field name the search part can carry bare. */
export function searchFieldOk(name: string): boolean {
  return SEARCH_FIELD.test(name) && !SEARCH_KEYWORDS.has(name.toUpperCase());
}

export function searchString(text: string): string {
  return /["\\]/.test(text) ? `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${text}"`;
}

export function evalString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function evalField(name: string): string {
  return EVAL_FIELD.test(name) && !EVAL_KEYWORDS.has(name.toLowerCase()) ? name : `'${name}'`;
}

function searchValue(v: SearchValue): string {
  if (v.kind === 'any') return '*';
  return v.kind === 'number' ? v.text : searchString(v.text);
}

/** Operands that need no parentheses: comparisons, and NOT (it binds to the next term only, tighter than OR and AND). */
function searchAtom(e: SearchExpr): string {
  return e.k === 'eq' || e.k === 'in' || e.k === 'not' ? renderSearch(e) : `(${renderSearch(e)})`;
}

/**
 * The search command evaluates NOT, then OR, then AND, so every OR and every group below a NOT is
 * parenthesized and AND is written out inside groups; only the top level uses the implicit AND.
 */
export function renderSearch(e: SearchExpr, top = false): string {
  switch (e.k) {
    case 'eq':
      return `${e.field}=${searchValue(e.value)}`;
    case 'in':
      return `${e.field} IN (${e.values.map(searchValue).join(', ')})`;
    case 'not':
      return `NOT ${e.item.k === 'not' ? `(${renderSearch(e.item)})` : searchAtom(e.item)}`;
    case 'and':
      return e.items.map(searchAtom).join(top ? ' ' : ' AND ');
    case 'or':
      return e.items.map(searchAtom).join(' OR ');
  }
}

function evalAtom(e: EvalExpr): string {
  switch (e.k) {
    case 'call':
    case 'field':
    case 'str':
    case 'num':
      return renderEval(e);
    default:
      return `(${renderEval(e)})`;
  }
}

/** The decimal text of a number without an exponent (`1e-7` -> `0.0000001`), exactly as String() rounds it. */
export function plainDecimal(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', expText] = m;
  const digits = int! + frac;
  const exp = Number(expText);
  const point = 1 + exp;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function num(n: number): string {
  const s = plainDecimal(n);
  return n < 0 ? `(${s})` : s;
}

export function renderEval(e: EvalExpr): string {
  switch (e.k) {
    case 'and':
      return e.items.map(evalAtom).join(' AND ');
    case 'or':
      return e.items.map(evalAtom).join(' OR ');
    case 'not':
      return `NOT ${evalAtom(e.item)}`;
    case 'cmp':
      return `${evalAtom(e.left)}${e.op}${evalAtom(e.right)}`;
    case 'arith':
      return `${evalAtom(e.left)}${e.op}${evalAtom(e.right)}`;
    case 'concat':
      return e.items.map(evalAtom).join('.');
    case 'call':
      return `${e.fn}(${e.args.map(renderEval).join(', ')})`;
    case 'field':
      return evalField(e.name);
    case 'str':
      return evalString(e.value);
    case 'num':
      return num(e.value);
  }
}

/**
 * The query's commands in order, each with what it comes from: the leading search holds the log
 * source's terms and the detection's searchable conditions; eval, where and fields the rest.
 */
export function renderStages(q: Query): QueryStage[] {
  const stages: QueryStage[] = [];
  const search = q.search.k === 'and' && q.search.items.length === 0 ? '' : renderSearch(q.search, true);
  if (q.datamodel) {
    stages.push({ kind: 'datamodel', text: `| datamodel ${q.datamodel.model} ${q.datamodel.dataset} search`, origin: 'logsource' });
    if (search) stages.push({ kind: 'search', text: `| search ${search}`, origin: 'detection' });
  } else {
    // A query must start with a search; `*` is every event.
    stages.push({ kind: 'search', text: search || '*', origin: 'logsource+detection' });
  }
  if (q.evals?.length) stages.push({ kind: 'eval', text: `| eval ${q.evals.map((e) => `${evalField(e.name)}=${renderEval(e.expr)}`).join(', ')}`, origin: 'detection' });
  if (q.where) stages.push({ kind: 'where', text: `| where ${renderEval(q.where)}`, origin: 'detection' });
  if (q.evals?.length) stages.push({ kind: 'fields', text: '| fields - rulec_*', origin: 'detection' });
  return stages;
}

/** The whole query, one command a line. */
export function renderQuery(q: Query): string {
  return renderStages(q)
    .map((s) => s.text)
    .join('\n');
}

// ---- correlation pipelines ------------------------------------------------------------------

function assigns(list: EvalStage[]): string {
  return list.map((e) => `${evalField(e.name)}=${renderEval(e.expr)}`).join(', ');
}

function aggregate(a: Aggregate): string {
  return `${a.fn}${a.field !== undefined ? `(${a.field})` : ''} AS ${a.as}`;
}

function byClause(by: string[]): string {
  return by.length ? ` BY ${by.join(' ')}` : '';
}

export function renderCommand(c: Command): string {
  switch (c.cmd) {
    case 'eval':
      return `| eval ${assigns(c.assigns)}`;
    case 'where':
      return `| where ${renderEval(c.expr)}`;
    case 'stats':
    case 'eventstats':
      return `| ${c.cmd} ${c.aggs.map(aggregate).join(' ')}${byClause(c.by)}`;
    case 'streamstats': {
      const opts = [
        ...(c.timeWindow !== undefined ? [`time_window=${c.timeWindow}s`] : []),
        ...(c.window !== undefined ? [`window=${c.window}`] : []),
        ...(c.current !== undefined ? [`current=${c.current}`] : []),
        ...(c.global !== undefined ? [`global=${c.global}`] : []),
      ];
      return `| streamstats ${[...opts, ...c.aggs.map(aggregate)].join(' ')}${byClause(c.by)}`;
    }
    case 'sort':
      return `| sort 0 num(${c.field})`;
    case 'table':
      return `| table ${c.fields.join(' ')}`;
    case 'rename':
      return `| rename ${c.pairs.map(([a, b]) => `${a} AS ${b}`).join(', ')}`;
    case 'appendpipe':
      // The subpipeline's first command has no pipe of its own.
      return `| appendpipe [${c.commands.map(renderCommand).join('\n').slice(2)}]`;
  }
}

/**
 * A correlation query, one command a line: a single source as its own search, several as the
 * subsearches of `| multisearch` (each `[search ...]`), then the commands.
 */
export function renderPipeline(p: Pipeline): string {
  const source = (s: Pipeline['sources'][number]): string => `${renderQuery(s.query)}\n| eval ${assigns(s.tag)}`;
  const head = p.sources.length === 1 ? source(p.sources[0]!) : ['| multisearch', ...p.sources.map((s) => `[search ${source(s)}]`)].join('\n');
  return [head, ...p.commands.map(renderCommand)].join('\n');
}
