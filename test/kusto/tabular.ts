/**
 * A test-only interpreter of whole KQL queries over tables: what the Kusto target emits for
 * correlation rules. Scalar expressions are the row interpreter's (interpreter.ts); this adds the
 * tabular operators as documented (MS Learn, "Tabular operators"):
 *
 * - `let` of a tabular expression, of a function with a body of `let`s and one expression
 *   (called as `f()`), and of scalars;
 * - `union a, b`: the rows of each, columns by name, absent columns null;
 * - `where`, `extend`, `project` (every expression reads the operator's input row, as
 *   Kusto.Language scopes it: a column the same extend sets is an unknown name to the next one);
 * - `summarize aggs by cols`: one row per distinct value of the by-columns (no row from an empty
 *   input), aggregates over the group's rows;
 * - `join kind=inner|leftouter (right) on cols`: every pair of rows with equal key values; the
 *   right's columns follow the left's, a name the left has gets the suffix 1; leftouter keeps a left
 *   row without a match, with nulls for the right's columns;
 * - `sort by e asc|desc, ...`: sorted (asc: nulls first) and serialized; `prev(e)` reads the
 *   previous row of a serialized set (null on the first); where, extend and project keep the order.
 *
 * Only what rulec emits is implemented; anything else throws.
 */
import { parseKql, type SyntaxNode } from '../../src/targets/kusto/validate.js';
import { elements, Env, fail, nameOf, nodesOf, type KValue, type Row } from './interpreter.js';

export interface Table {
  columns: string[];
  rows: Row[];
  serialized?: boolean;
}

type Binding = { kind: 'table'; table: Table } | { kind: 'scalar'; value: KValue } | { kind: 'function'; body: SyntaxNode };

/** Runs a query over named tables; returns the result table. Throws on syntax errors. */
export function runKql(text: string, tables: ReadonlyMap<string, Table>, now: number): Table {
  let statements = parsedQueries.get(text);
  if (!statements) {
    const { root, diagnostics } = parseKql(text);
    if (diagnostics.length) fail(`syntax: ${diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
    statements = elements(root.children.find((c) => c.kind === 'List' && c.children.some((x) => x.kind === 'SeparatedElement')));
    parsedQueries.set(text, statements);
  }
  return new Scope(tables, now).block(statements, undefined);
}

/** Parsing with Kusto.Language is the slow part; a property test runs one query over many streams. */
const parsedQueries = new Map<string, SyntaxNode[]>();

class Scope {
  private readonly bindings = new Map<string, Binding>();

  constructor(
    private readonly tables: ReadonlyMap<string, Table>,
    private readonly now: number,
    private readonly parent?: Scope,
  ) {}

  private lookup(name: string): Binding | undefined {
    return this.bindings.get(name) ?? this.parent?.lookup(name);
  }

  /** Statements (`let`s, then one expression), possibly followed by a last expression node. */
  block(statements: SyntaxNode[], last: SyntaxNode | undefined): Table {
    let result: Table | undefined;
    for (const st of statements) {
      if (st.kind === 'LetStatement') this.let(st);
      else if (st.kind === 'ExpressionStatement') result = this.tabular(nodesOf(st)[0]!);
      else fail(`unsupported statement ${st.kind}`);
    }
    if (last) result = this.tabular(last);
    if (!result) fail('no query statement');
    return result;
  }

  private let(st: SyntaxNode): void {
    const [name, expr] = nodesOf(st);
    const n = nameOf(name!);
    if (expr!.kind === 'FunctionDeclaration') {
      const [params, body] = nodesOf(expr!);
      if (elements(nodesOf(params!)[0]).length) fail('functions with parameters are not modelled');
      this.bindings.set(n, { kind: 'function', body: body! });
    } else if (expr!.kind === 'DynamicExpression' || expr!.kind.endsWith('LiteralExpression')) {
      this.bindings.set(n, { kind: 'scalar', value: this.env({}).eval(expr!) });
    } else this.bindings.set(n, { kind: 'table', table: this.tabular(expr!) });
  }

  private env(row: Row, context = {}): Env {
    const e = new Env(row, this.now, context);
    const scalars = (s: Scope | undefined): void => {
      if (!s) return;
      scalars(s.parent);
      for (const [k, b] of s.bindings) if (b.kind === 'scalar') e.vars.set(k, b.value);
    };
    scalars(this);
    return e;
  }

  private tabular(n: SyntaxNode): Table {
    switch (n.kind) {
      case 'ParenthesizedExpression':
        return this.tabular(nodesOf(n)[0]!);
      case 'NameReference': {
        const name = nameOf(n);
        const b = this.lookup(name);
        if (b?.kind === 'table') return b.table;
        const t = this.tables.get(name);
        if (t) return t;
        return fail(`unknown table ${name}`);
      }
      case 'FunctionCallExpression': {
        const name = nameOf(nodesOf(n)[0]!);
        const b = this.lookup(name);
        if (b?.kind !== 'function') fail(`unknown function ${name}`);
        const body = b.body;
        const inner = nodesOf(body);
        const lets = inner.filter((c) => c.kind === 'List').flatMap((l) => elements(l));
        const expr = inner.find((c) => c.kind !== 'List');
        return new Scope(this.tables, this.now, this).block(lets, expr);
      }
      case 'UnionOperator':
        return this.union(n);
      case 'PipeExpression': {
        const [left, op] = nodesOf(n);
        return this.operator(this.tabular(left!), op!);
      }
      default:
        return fail(`unsupported tabular expression ${n.kind}`);
    }
  }

  private union(n: SyntaxNode): Table {
    const lists = nodesOf(n).filter((c) => c.kind === 'List');
    const parts = elements(lists[lists.length - 1]).map((e) => this.tabular(e));
    const columns = [...new Set(parts.flatMap((p) => p.columns))];
    const rows = parts.flatMap((p) => p.rows.map((r) => Object.fromEntries(columns.map((c) => [c, c in r ? r[c]! : null]))));
    return { columns, rows };
  }

  private operator(t: Table, op: SyntaxNode): Table {
    switch (op.kind) {
      case 'UnionOperator':
        return fail('union after a pipe is not modelled');
      case 'FilterOperator': {
        const cond = nodesOf(op).filter((c) => c.kind !== 'List')[0]!;
        return { ...t, rows: t.rows.filter((r, i) => this.env(r, this.rowContext(t, i)).eval(cond) === true) };
      }
      case 'ExtendOperator':
        return this.extend(t, elements(nodesOf(op)[0]), false);
      case 'ProjectOperator':
        return this.extend(t, elements(nodesOf(op)[0]), true);
      case 'SummarizeOperator':
        return this.summarize(t, op);
      case 'JoinOperator':
        return this.join(t, op);
      case 'SortOperator':
        return this.sort(t, op);
      default:
        return fail(`unsupported operator ${op.kind}`);
    }
  }

  private rowContext(t: Table, i: number, rows: Row[] = t.rows): { prev?: Row | null } {
    return t.serialized ? { prev: i === 0 ? null : rows[i - 1]! } : {};
  }

  /** extend (keeps every column) or project (keeps only the ones it names). */
  private extend(t: Table, items: SyntaxNode[], project: boolean): Table {
    const columns: string[] = project ? [] : [...t.columns];
    const out: Row[] = [];
    for (const [i, r] of t.rows.entries()) {
      const row: Row = project ? {} : { ...r };
      // prev() reads the previous row as this operator made it.
      const env = this.env({ ...r }, this.rowContext(t, i, out));
      for (const item of items) {
        if (item.kind === 'NameReference') {
          const c = nameOf(item);
          if (!(c in r)) fail(`project of unknown column ${c}`);
          row[c] = r[c]!;
        } else if (item.kind === 'SimpleNamedExpression') {
          const [name, expr] = nodesOf(item);
          row[nameOf(name!)] = env.eval(expr!);
        } else fail(`unsupported ${project ? 'project' : 'extend'} item ${item.kind}`);
      }
      out.push(row);
    }
    for (const item of items) {
      const c = item.kind === 'NameReference' ? nameOf(item) : nameOf(nodesOf(item)[0]!);
      if (!columns.includes(c)) columns.push(c);
    }
    return { columns, rows: out, ...(t.serialized ? { serialized: true } : {}) };
  }

  private summarize(t: Table, op: SyntaxNode): Table {
    const lists = nodesOf(op).filter((c) => c.kind === 'List');
    const aggs = elements(lists[1]);
    const byClause = nodesOf(op).find((c) => c.kind === 'SummarizeByClause');
    const by = byClause ? elements(nodesOf(byClause)[0]).map((e) => (e.kind === 'NameReference' ? nameOf(e) : fail(`summarize by ${e.kind} is not modelled`))) : [];
    const groups = new Map<string, Row[]>();
    for (const r of t.rows) {
      const key = JSON.stringify(by.map((c) => r[c] ?? null));
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(r);
    }
    if (by.length === 0 && groups.size === 0) groups.set('[]', []);
    const columns = [...by];
    const rows: Row[] = [];
    for (const g of groups.values()) {
      const row: Row = Object.fromEntries(by.map((c) => [c, g[0]![c] ?? null]));
      for (const a of aggs) {
        if (a.kind !== 'SimpleNamedExpression') fail('an aggregate needs a name');
        const [name, expr] = nodesOf(a);
        row[nameOf(name!)] = this.env(g[0] ?? {}, { group: g }).eval(expr!);
      }
      rows.push(row);
    }
    for (const a of aggs) columns.push(nameOf(nodesOf(a)[0]!));
    return { columns, rows };
  }

  private join(left: Table, op: SyntaxNode): Table {
    const parts = nodesOf(op);
    const params = elements(parts.find((c) => c.kind === 'List'));
    const kindParam = params.find((p) => p.kind === 'NamedParameter' && nameOf(nodesOf(p)[0]!) === 'kind');
    const kind = kindParam ? nodesOf(kindParam)[1]!.children[0]!.text! : 'innerunique';
    if (kind !== 'inner' && kind !== 'leftouter') fail(`join kind=${kind} is not modelled`);
    const right = this.tabular(parts.find((c) => c.kind === 'ParenthesizedExpression')!);
    const on = parts.find((c) => c.kind === 'JoinOnClause')!;
    const keys = elements(nodesOf(on)[0]).map((e) => (e.kind === 'NameReference' ? nameOf(e) : fail(`join on ${e.kind} is not modelled`)));
    const rename = new Map<string, string>();
    const columns = [...left.columns];
    for (const c of right.columns) {
      let n = c;
      for (let i = 1; columns.includes(n); i++) n = `${c}${i}`;
      rename.set(c, n);
      columns.push(n);
    }
    const keyOf = (r: Row): string | undefined => {
      const vals = keys.map((k) => r[k] ?? null);
      return vals.some((v) => v === null) ? undefined : JSON.stringify(vals);
    };
    const index = new Map<string, Row[]>();
    for (const r of right.rows) {
      const k = keyOf(r);
      if (k === undefined) continue;
      let l = index.get(k);
      if (!l) index.set(k, (l = []));
      l.push(r);
    }
    const rows: Row[] = [];
    for (const l of left.rows) {
      const k = keyOf(l);
      const matches = k === undefined ? [] : (index.get(k) ?? []);
      for (const r of matches) {
        const row: Row = { ...l };
        for (const c of right.columns) row[rename.get(c)!] = r[c] ?? null;
        rows.push(row);
      }
      if (matches.length === 0 && kind === 'leftouter') {
        const row: Row = { ...l };
        for (const c of right.columns) row[rename.get(c)!] = null;
        rows.push(row);
      }
    }
    return { columns, rows };
  }

  private sort(t: Table, op: SyntaxNode): Table {
    const lists = nodesOf(op).filter((c) => c.kind === 'List');
    const keys = elements(lists[lists.length - 1]).map((o) => {
      const [expr, ordering] = nodesOf(o);
      const text = JSON.stringify(ordering ?? {});
      return { expr: expr!, desc: !text.includes('AscKeyword') };
    });
    const cmp = (a: KValue, b: KValue): number => {
      if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
      const x = typeof a === 'object' ? ('dt' in a ? a.dt : 'ts' in a ? a.ts : fail('sort by dynamic')) : a;
      const y = typeof b === 'object' ? ('dt' in b ? b.dt : 'ts' in b ? b.ts : fail('sort by dynamic')) : b;
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const decorated = t.rows.map((r) => ({ r, k: keys.map((k) => this.env(r).eval(k.expr)) }));
    decorated.sort((a, b) => {
      for (const [i, k] of keys.entries()) {
        const c = cmp(a.k[i]!, b.k[i]!);
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    });
    return { columns: t.columns, rows: decorated.map((d) => d.r), serialized: true };
  }
}
