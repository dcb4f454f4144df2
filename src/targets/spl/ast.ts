/**
 * The SPL rulec emits, as structure: an optional `| datamodel` generator, one `search` expression
 * and one optional `| where` stage. The printer builds it, dialect.ts writes it, parser.ts reads
 * the text back into the same structure (so every emitted query is checked by a round trip).
 */

/** A value of a search term: `"text"` (with `*` wildcards), a bare number, or `*` (any value). */
export type SearchValue = { kind: 'string'; text: string } | { kind: 'number'; text: string } | { kind: 'any' };

export type SearchExpr =
  | { k: 'and'; items: SearchExpr[] }
  | { k: 'or'; items: SearchExpr[] }
  | { k: 'not'; item: SearchExpr }
  /** `field=value`: some value of the field matches the whole value (wildcards `*`), ASCII case-insensitively. */
  | { k: 'eq'; field: string; value: SearchValue }
  /** `field IN (v1, v2)`: the OR of `field=v`. */
  | { k: 'in'; field: string; values: SearchValue[] };

export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/';

export type EvalExpr =
  | { k: 'and'; items: EvalExpr[] }
  | { k: 'or'; items: EvalExpr[] }
  | { k: 'not'; item: EvalExpr }
  | { k: 'cmp'; op: CmpOp; left: EvalExpr; right: EvalExpr }
  | { k: 'arith'; op: ArithOp; left: EvalExpr; right: EvalExpr }
  | { k: 'concat'; items: EvalExpr[] }
  | { k: 'call'; fn: string; args: EvalExpr[] }
  | { k: 'field'; name: string }
  | { k: 'str'; value: string }
  | { k: 'num'; value: number };

/** `name=expr` of the `| eval` command: a helper field the where stage reads (rulec names them `rulec_*`). */
export interface EvalStage {
  name: string;
  expr: EvalExpr;
}

export interface Query {
  datamodel?: { model: string; dataset: string };
  /** The search; `{k: 'and', items: []}` when nothing is searched. */
  search: SearchExpr;
  /** One `| eval a=..., b=...` command; its helper fields are removed after the where stage (`| fields - rulec_*`). */
  evals?: EvalStage[];
  where?: EvalExpr;
}

export const TRUE_SEARCH: SearchExpr = { k: 'and', items: [] };

/** Eval functions the printer uses, with their arity (min, max). */
export const EVAL_FUNCTIONS: Record<string, readonly [number, number]> = {
  isnull: [1, 1],
  isnotnull: [1, 1],
  mvfind: [2, 2],
  mvfilter: [1, 1],
  mvcount: [1, 1],
  match: [2, 2],
  tonumber: [1, 1],
  lower: [1, 1],
  coalesce: [1, 8],
  len: [1, 1],
  replace: [3, 3],
  floor: [1, 1],
  if: [3, 3],
  substr: [2, 3],
  true: [0, 0],
  null: [0, 0],
  false: [0, 0],
  /** The time the search runs (a scheduled search: its scheduled time), in epoch seconds. */
  now: [0, 0],
};

/** Every field name a query reads or writes: search terms, eval helpers and the fields of the where stage. */
export function queryFields(q: Query): Set<string> {
  const out = new Set<string>();
  const search = (e: SearchExpr): void => {
    if (e.k === 'and' || e.k === 'or') e.items.forEach(search);
    else if (e.k === 'not') search(e.item);
    else out.add(e.field);
  };
  const evalExpr = (e: EvalExpr): void => {
    switch (e.k) {
      case 'and':
      case 'or':
      case 'concat':
        return e.items.forEach(evalExpr);
      case 'not':
        return evalExpr(e.item);
      case 'cmp':
      case 'arith':
        evalExpr(e.left);
        return evalExpr(e.right);
      case 'call':
        return e.args.forEach(evalExpr);
      case 'field':
        out.add(e.name);
        return;
      case 'str':
      case 'num':
        return;
    }
  };
  search(q.search);
  for (const s of q.evals ?? []) {
    out.add(s.name);
    evalExpr(s.expr);
  }
  if (q.where) evalExpr(q.where);
  return out;
}

// ---- correlation pipelines (correlation.ts) --------------------------------------------------

/** A statistical function of `stats`, `eventstats` and `streamstats`, with the field it writes (`max(x) AS y`). */
export interface Aggregate {
  /** `count` counts results; `dc` counts distinct values (exact, unlike `estdc`); `sum`, `max`, `min` of numbers. */
  fn: 'count' | 'dc' | 'sum' | 'max' | 'min';
  field?: string;
  as: string;
}

/** The commands a correlation query runs after its sources. */
export type Command =
  | { cmd: 'eval'; assigns: EvalStage[] }
  | { cmd: 'where'; expr: EvalExpr }
  | { cmd: 'stats' | 'eventstats'; aggs: Aggregate[]; by: string[] }
  /** `timeWindow` in seconds; `window` a number of results; `current`, `global` as Splunk's defaults when absent. */
  | { cmd: 'streamstats'; timeWindow?: number; window?: number; current?: boolean; global?: boolean; aggs: Aggregate[]; by: string[] }
  /** `sort 0 num(field)`: every result (0: no limit), ascending, the field compared as a number. */
  | { cmd: 'sort'; field: string }
  | { cmd: 'table'; fields: string[] }
  /** `rename a AS b, ...`: each field a takes the name b. */
  | { cmd: 'rename'; pairs: [string, string][] }
  /** `appendpipe [...]`: the commands run over a copy of the results, their output appended (a chained correlation's hits). */
  | { cmd: 'appendpipe'; commands: Command[] };

/** A referenced rule's search, then the `| eval` that tags its events (`rulec_rule`, group and value fields). */
export interface Source {
  query: Query;
  tag: EvalStage[];
}

/** A correlation query: one source, or several under `| multisearch`, then the commands. */
export interface Pipeline {
  sources: Source[];
  commands: Command[];
}

/** The fields a pipeline's eval, where, stats and table stages name (the sources' are queryFields). */
export function pipelineFields(p: Pipeline): Set<string> {
  const out = new Set<string>();
  for (const s of p.sources) {
    for (const f of queryFields(s.query)) out.add(f);
    for (const f of queryFields({ search: TRUE_SEARCH, evals: s.tag })) out.add(f);
  }
  for (const c of p.commands) {
    switch (c.cmd) {
      case 'eval':
        for (const f of queryFields({ search: TRUE_SEARCH, evals: c.assigns })) out.add(f);
        break;
      case 'where':
        for (const f of queryFields({ search: TRUE_SEARCH, where: c.expr })) out.add(f);
        break;
      case 'stats':
      case 'eventstats':
      case 'streamstats':
        for (const a of c.aggs) {
          if (a.field !== undefined) out.add(a.field);
          out.add(a.as);
        }
        c.by.forEach((f) => out.add(f));
        break;
      case 'sort':
        out.add(c.field);
        break;
      case 'table':
        c.fields.forEach((f) => out.add(f));
        break;
      case 'rename':
        c.pairs.flat().forEach((f) => out.add(f));
        break;
      case 'appendpipe':
        for (const f of pipelineFields({ sources: [], commands: c.commands })) out.add(f);
        break;
    }
  }
  return out;
}
