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
