/**
 * Lifting a KQL query into the rule model's terms, exactly or not at all. The query is read through
 * Kusto.Language's syntax tree (targets/kusto/validate.ts, the one adapter to the library), never as
 * text. What comes out is a boolean tree of leaves that are each one Sigma field item
 * (`Field|mod: values`), the query's named lists and scalars, its lookback and its output columns.
 * Anything whose meaning the model cannot carry exactly is an ImportRefusal naming the construct and
 * its line:col in the query: the lift never approximates.
 */
import { closest, listChoices } from '../../diag/diagnostic.js';
import type { ColumnType, TableSchema } from '../../targets/kusto/mapping.js';
import { foldsLikeRulec } from '../../targets/kusto/printer.js';
import { kqlStatements, type KqlStatements, type SyntaxNode } from '../../targets/kusto/validate.js';

export type RefusalKind = 'unsupported' | 'mapping' | 'invalid';

/** Why a query (or one part of it) is not imported; `offset` is in the query text. */
export class ImportRefusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    /** The construct, as a reader finds it in the query: `join`, `summarize`, `extend X = iff(...)`. */
    readonly construct: string,
    message: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** A value of a leaf: text, a number (with its text as written), a boolean, or a named list. */
export type LiftValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'param'; name: string };

/** One Sigma field item: `field|modifiers: values` (a list when `list`). */
export interface Leaf {
  kind: 'leaf';
  field: string;
  modifiers: string[];
  values: LiftValue[];
  list: boolean;
  /** Offset of the predicate in the query, for comments and messages. */
  offset: number;
}

export type Cond = { kind: 'and' | 'or'; children: Cond[] } | { kind: 'not'; child: Cond } | Leaf;

export interface LiftedParameter {
  name: string;
  values: LiftValue[];
  description?: string;
  /** `dynamic([])`: a `%name%` placeholder whose values the deployment gives (docs/rule-format.md). */
  placeholder?: boolean;
}

export interface LiftedQuery {
  table: string;
  /** The `where` clauses, in order (their AND is the detection). */
  wheres: { cond: Cond; comments: string[] }[];
  parameters: LiftedParameter[];
  /** From `<time column> > ago(span)`. */
  lookback?: string;
  /** Columns or JSON paths the query's results show (project, extend of a column or path), as field names. */
  outputs: string[];
  /** Output columns the query computes (`extend X = iff(...)`): not carried, reported. */
  notCarried: string[];
  /** Result column name -> the field it holds (extend/project aliases), for entity mappings. */
  aliases: Map<string, string>;
  /** `//` comments that belong to no where clause or parameter, in order. */
  comments: string[];
  /** With keepComputed: the computed columns predicates test, with their expressions' text. */
  computedFields: Map<string, string>;
}

export interface LiftOptions {
  /** The columns of every table of the platform. */
  tables: ReadonlyMap<string, TableSchema>;
  /**
   * Keep a predicate on a computed column (`extend X = strcat(...)`) as a test of `X`, with its
   * expression in `computedFields`, instead of refusing it: sigma mode asks the mapping whether the
   * expression is the target's own reading of a Sigma field.
   */
  keepComputed?: boolean;
  platform: string;
  timeColumn: string;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree helpers

const isToken = (n: SyntaxNode): boolean => n.text !== undefined;
const nodesOf = (n: SyntaxNode): SyntaxNode[] => n.children.filter((c) => !isToken(c));
const tokensOf = (n: SyntaxNode): SyntaxNode[] => n.children.filter(isToken);

/** Elements of a `List` of `SeparatedElement`s. */
function elements(list: SyntaxNode | undefined): SyntaxNode[] {
  if (!list) return [];
  return list.children.filter((c) => c.kind !== 'CommaToken').map((se) => (se.kind === 'SeparatedElement' ? (nodesOf(se)[0] ?? se.children[0]!) : se));
}

function firstToken(n: SyntaxNode): SyntaxNode | undefined {
  if (isToken(n)) return n;
  for (const c of n.children) {
    const t = firstToken(c);
    if (t) return t;
  }
  return undefined;
}

function nameOf(n: SyntaxNode): string {
  if (isToken(n)) return n.text!;
  if (n.kind === 'BracketedName') return nodesOf(n)[0]!.children[0]!.valueText!;
  if (n.kind === 'StringLiteralExpression') return n.children[0]!.valueText!;
  const inner = n.children[0];
  return inner ? nameOf(inner) : '';
}

/** The query text of a node, tokens joined by single spaces, shortened: how a construct is named in messages. */
function textOf(n: SyntaxNode, max = 60): string {
  const parts: string[] = [];
  // The spacing rules shrink at most three characters (` ( `) to one, so this much of the joined
  // text decides the first max+1 characters: a refused `union` or `let x = <table>` is named without
  // reading (and converting) the rest of its tree.
  const enough = 3 * max + 8;
  let length = 0;
  const walk = (x: SyntaxNode): void => {
    if (length >= enough) return;
    if (isToken(x)) {
      if (x.text) {
        parts.push(x.text);
        length += x.text.length + 1;
      }
    } else for (const c of x.children) walk(c);
  };
  walk(n);
  const s = parts.join(' ').replace(/ ?([().,[\]]) ?/g, '$1').replace(/,/g, ', ');
  return s.length > max ? s.slice(0, max - 3) + '...' : s;
}

/** The text of a node as written (its tokens with the trivia between them). */
function sourceText(n: SyntaxNode): string {
  return tokens(n)
    .map((t, i) => (i === 0 ? '' : (t.trivia ?? '')) + t.text)
    .join('');
}

/** `//` comments in a trivia string, without the slashes. */
function commentsIn(trivia: string | undefined): string[] {
  if (!trivia) return [];
  const out: string[] = [];
  for (const line of trivia.split(/\r?\n/)) {
    const i = line.indexOf('//');
    if (i >= 0) out.push(line.slice(i + 2).trim());
  }
  return out;
}

/** Every token of a subtree, in order. */
function tokens(n: SyntaxNode, out: SyntaxNode[] = []): SyntaxNode[] {
  if (isToken(n)) out.push(n);
  else for (const c of n.children) tokens(c, out);
  return out;
}

/** The name of an operator node as a KQL reader knows it (`project-away`, `summarize`, `mv-expand`). */
function operatorName(op: SyntaxNode): string {
  const t = tokensOf(op)[0] ?? firstToken(op);
  return t?.text || op.kind.replace(/Operator$/, '').toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// The lift

const refuse = (construct: string, why: string, at: SyntaxNode | number, kind: RefusalKind = 'unsupported'): never => {
  throw new ImportRefusal(kind, construct, why, typeof at === 'number' ? at : at.start);
};

/** Operators that change which rows come out (or what they are) in ways no detection rule carries. */
const REFUSED_OPERATORS: Record<string, string> = {
  SummarizeOperator: 'an aggregation over each run\'s query period (fixed windows); a correlation rule counts in sliding windows, which select other results',
  CountOperator: 'an aggregation over each run\'s query period (fixed windows); a correlation rule counts in sliding windows, which select other results',
  DistinctOperator: 'an aggregation over each run\'s query period (fixed windows); a correlation rule counts in sliding windows, which select other results',
  TopNestedOperator: 'an aggregation over each run\'s query period (fixed windows); a correlation rule counts in sliding windows, which select other results',
  MakeSeriesOperator: 'a time series over fixed bins; no rule of the model carries it',
  JoinOperator: 'a join of two tables; a detection rule reads one log source',
  LookupOperator: 'a lookup in another table; a detection rule reads one log source',
  UnionOperator: 'a union of tables; a detection rule reads one log source',
  ParseOperator: 'parse builds columns from text patterns the model cannot name',
  ParseWhereOperator: 'parse builds columns from text patterns the model cannot name',
  ParseKvOperator: 'parse builds columns from text patterns the model cannot name',
  MvExpandOperator: 'mv-expand makes several rows of one event',
  MvApplyOperator: 'mv-apply runs a sub-query per array element',
  TakeOperator: 'take keeps an arbitrary subset of the matching rows',
  TopOperator: 'top keeps a subset of the matching rows',
  SampleOperator: 'sample keeps a random subset of the matching rows',
  EvaluateOperator: 'a plugin',
  InvokeOperator: 'a function',
};

/**
 * The pipe operators the lift reads (Lifter.pipeline); any other refuses the query where it
 * stands, so a statement is parsed only up to the first other one (KqlStatements.statement).
 */
const LIFTED_OPERATORS = new Set(['where', 'filter', 'extend', 'project', 'project-rename', 'project-away', 'project-reorder', 'project-keep', 'sort', 'order']);

export function liftQuery(text: string, opts: LiftOptions): LiftedQuery {
  const query = kqlStatements(text);
  return liftStatements(query, opts, true) ?? liftStatements(query, opts, false)!;
}

/**
 * Lifts the statements in order, each parsed when it is reached: a query refused at a statement is
 * not parsed beyond it, nor beyond the first operator the lift does not read (`cut`). A syntax error
 * is refused where its statement is reached. undefined: a statement read in part was lifted
 * without a refusal, which the part read cannot tell (the cut is for queries refused at or before
 * it): the caller reads the query again, whole.
 */
function liftStatements(query: KqlStatements, opts: LiftOptions, cut: boolean): LiftedQuery | undefined {
  const l = new Lifter(opts);
  let pipe: SyntaxNode | undefined;
  let pipeCut = false;
  let skipped = false;
  for (let i = 0; ; i++) {
    // A function declaration is lifted as nothing (a predicate that calls the function is refused
    // there): read in part, a query skips it, and reads it when it is read again whole (imported).
    if (cut && query.isFunctionDeclaration(i)) {
      skipped = true;
      continue;
    }
    const table = cut ? query.tabularLet(i) : undefined;
    if (table) refuseTabularLet(table.name, table.start);
    if (cut && !pipe && (query.firstToken(i) === '(' || query.firstToken(i) === 'union')) {
      // The last statement is the query, whose pipe is lifted next: one that starts with `(` or
      // `union` does not start with a table, which its first tokens show without parsing it.
      const head = query.head(i)!;
      if (head.last) refuseSource({ kind: 'Source', start: head.tokens[0]!.start, children: head.tokens });
    }
    const s = query.statement(i, cut ? (op) => !LIFTED_OPERATORS.has(op) : undefined);
    if (!s) break;
    const syntax = s.diagnostics.find((d) => d.severity === 'Error');
    // A skipped declaration or the unread end of a query before this statement may hold an earlier
    // syntax error: reading it whole names the first one.
    if (syntax && (skipped || pipeCut)) return undefined;
    if (syntax) refuse('syntax', `not valid KQL: ${syntax.message}`, syntax.start, 'invalid');
    for (const st of s.statements) {
      if (st.kind === 'LetStatement') {
        l.let(st);
        if (s.cut) return undefined;
      } else if (st.kind === 'ExpressionStatement') {
        if (pipe) refuse('several query statements', 'the text holds several queries; import them one by one', st);
        pipe = nodesOf(st)[0];
        pipeCut = s.cut;
      } else refuse(operatorName(st), `a ${st.kind.replace(/Statement$/, '').toLowerCase()} statement`, st);
    }
  }
  if (!pipe && skipped) return undefined;
  if (!pipe) refuse('no query', 'the text holds no query (only let statements or nothing)', 0, 'invalid');
  const out = l.pipeline(pipe!, query.query);
  return pipeCut || skipped ? undefined : out;
}

/** `let name = <a table or query>`. */
function refuseTabularLet(name: string, at: number): never {
  return refuse(`let ${name} = <table>`, 'a tabular (cross-table) let statement', at);
}

/** A query whose pipe does not start with a table. */
function refuseSource(source: SyntaxNode): never {
  const name = source.kind === 'UnionExpression' || firstToken(source)?.text === 'union' ? 'union' : textOf(source, 40);
  return refuse(name, 'the query must start with one table', source);
}

interface ScalarLet {
  kind: 'scalar';
  value: LiftValue;
  node: SyntaxNode;
  /** A timespan literal (`1h`), for ago(). */
  span?: string;
}

type Field = { name: string; type: ColumnType | 'path' };

class Lifter {
  private readonly lets = new Map<string, ScalarLet | { kind: 'list'; param: LiftedParameter; node: SyntaxNode }>();
  private readonly parameters: LiftedParameter[] = [];
  private columns: TableSchema = new Map();
  private table = '';
  /** extend/project names that hold a column or JSON path. */
  private readonly aliases = new Map<string, Field>();
  /** extend/project names computed by an expression the model cannot carry: where they are. */
  private readonly computed = new Map<string, { node: SyntaxNode; why: ImportRefusal }>();
  private readonly usedComments = new Set<SyntaxNode>();
  readonly computedFields = new Map<string, string>();
  /** While a where clause is lifted (keepComputed applies to predicates only, never to result columns). */
  private inPredicate = false;

  constructor(private readonly opts: LiftOptions) {}

  let(st: SyntaxNode): void {
    const [nameNode, expr] = nodesOf(st);
    const name = nameOf(nameNode!);
    const letToken = firstToken(st)!;
    const description = commentsIn(letToken.trivia).join(' ').trim() || undefined;
    if (description) this.usedComments.add(letToken);
    if (expr!.kind === 'DynamicExpression') {
      const arr = nodesOf(expr!)[0];
      if (!arr || arr.kind !== 'JsonArrayExpression') refuse(`let ${name} = dynamic({...})`, 'a dynamic value other than a list of literals', expr!);
      const values = elements(nodesOf(arr!)[0]).map((e) => this.literal(e, `let ${name}`));
      if (values.some((v) => v.kind === 'null')) refuse(`let ${name}`, 'a null in a list', expr!);
      // An empty list is one the deployment fills in (Sentinel's templates say "add ... to the list
      // below"): a placeholder, which every build refuses until it has values, instead of a list
      // that silently matches nothing.
      const param: LiftedParameter = { name, values, ...(description ? { description } : {}), ...(values.length === 0 ? { placeholder: true } : {}) };
      this.parameters.push(param);
      this.lets.set(name, { kind: 'list', param, node: st });
      return;
    }
    if (expr!.kind === 'TimespanLiteralExpression') {
      this.lets.set(name, { kind: 'scalar', value: { kind: 'string', value: expr!.children[0]!.text! }, node: st, span: expr!.children[0]!.text! });
      return;
    }
    if (/LiteralExpression$/.test(expr!.kind) && expr!.kind !== 'DateTimeLiteralExpression' && expr!.kind !== 'GuidLiteralExpression') {
      this.lets.set(name, { kind: 'scalar', value: this.literal(expr!, `let ${name}`), node: st });
      return;
    }
    // A function is refused where a predicate calls it (as any function is); one that only computes
    // result columns selects no event.
    if (expr!.kind === 'FunctionDeclaration') return;
    if (expr!.kind === 'PipeExpression' || expr!.kind === 'NameReference' || expr!.kind === 'MaterializeExpression') refuseTabularLet(name, st.start);
    refuse(`let ${name} = ${textOf(expr!, 40)}`, 'a computed let value; only literals and dynamic([...]) lists are lifted', st);
  }

  private literal(n: SyntaxNode, where: string): LiftValue {
    switch (n.kind) {
      case 'ParenthesizedExpression':
        return this.literal(nodesOf(n)[0]!, where);
      case 'StringLiteralExpression':
        return { kind: 'string', value: n.children[0]!.valueText! };
      case 'CompoundStringLiteralExpression':
        return { kind: 'string', value: tokens(n).map((t) => t.valueText ?? '').join('') };
      case 'IntLiteralExpression':
      case 'LongLiteralExpression':
      case 'RealLiteralExpression': {
        const t = n.children[0]!.text!;
        const v = Number(t);
        if (!/^-?\d+(\.\d+)?$/.test(t) || !Number.isFinite(v)) refuse(`${where}: ${t}`, 'a number in a form other than plain decimal digits', n);
        return { kind: 'number', value: v, text: t };
      }
      case 'UnaryMinusExpression': {
        const inner = this.literal(nodesOf(n)[0]!, where);
        if (inner.kind !== 'number') refuse(`${where}: ${textOf(n)}`, 'a negated non-number', n);
        return { kind: 'number', value: -(inner as { value: number }).value, text: `-${(inner as { text: string }).text}` };
      }
      case 'BooleanLiteralExpression':
        return { kind: 'boolean', value: n.children[0]!.text === 'true' };
      case 'NullLiteralExpression':
        return { kind: 'null' };
      case 'NameReference': {
        const l = this.lets.get(nameOf(n));
        if (l?.kind === 'scalar') return l.value;
        if (l?.kind === 'list') return { kind: 'param', name: nameOf(n) };
        break;
      }
    }
    return refuse(`${where}: ${textOf(n, 40)}`, 'a computed value; only literals and let names are lifted', n);
  }

  pipeline(pipe: SyntaxNode, text: string): LiftedQuery {
    const ops: SyntaxNode[] = [];
    let cur = pipe;
    while (cur.kind === 'PipeExpression') {
      const [left, op] = nodesOf(cur);
      ops.unshift(op!);
      cur = left!;
    }
    if (cur.kind !== 'NameReference') refuseSource(cur);
    this.table = nameOf(cur);
    const cols = this.opts.tables.get(this.table);
    if (!cols) {
      const names = [...this.opts.tables.keys()];
      const near = closest(this.table, names);
      refuse(this.table, `table ${this.table} is not a table of platform ${this.opts.platform}${near ? ` (did you mean ${near}?)` : ''}; its tables: ${listChoices(names.sort())}`, cur, 'mapping');
    }
    this.columns = cols!;
    const out: LiftedQuery = { table: this.table, wheres: [], parameters: this.parameters, outputs: [], notCarried: [], aliases: new Map(), comments: [], computedFields: this.computedFields };
    for (const op of ops) {
      switch (op.kind) {
        case 'FilterOperator': {
          const expr = nodesOf(op).filter((c) => c.kind !== 'List')[0]!;
          this.inPredicate = true;
          const cond = this.where(expr, out, true);
          this.inPredicate = false;
          const comments: string[] = [];
          // The comments before `where` (on the `|` line or the lines above it) say what the clause is for.
          const bar = this.barBefore(pipe, op);
          for (const t of [bar, firstToken(op)]) {
            if (t && !this.usedComments.has(t)) {
              comments.push(...commentsIn(t.trivia));
              this.usedComments.add(t);
            }
          }
          if (cond) out.wheres.push({ cond, comments });
          break;
        }
        case 'ExtendOperator':
          for (const e of elements(nodesOf(op)[0])) this.named(e, out);
          break;
        case 'ProjectOperator':
          out.outputs.length = 0;
          for (const e of elements(nodesOf(op)[0])) this.named(e, out);
          break;
        case 'ProjectRenameOperator':
          for (const e of elements(nodesOf(op)[0])) this.named(e, out);
          break;
        case 'ProjectAwayOperator': {
          for (const e of elements(nodesOf(op)[0])) {
            const n = nameOf(e);
            const f = this.aliases.get(n)?.name ?? n;
            const i = out.outputs.indexOf(f);
            if (i >= 0) out.outputs.splice(i, 1);
          }
          break;
        }
        case 'ProjectReorderOperator':
        case 'ProjectKeepOperator':
        case 'SortOperator':
          // Column order, kept columns and row order: no row is added or dropped.
          break;
        default: {
          const why = REFUSED_OPERATORS[op.kind] ?? `operator ${operatorName(op)} is not lifted`;
          refuse(operatorName(op), why, op);
        }
      }
    }
    for (const [name, f] of this.aliases) out.aliases.set(name, f.name);
    // Comments nowhere else go to the top of the rule's detection.
    for (const t of tokens(pipe)) if (!this.usedComments.has(t)) out.comments.push(...commentsIn(t.trivia));
    void text;
    return out;
  }

  /** The `|` token that precedes `op` in the pipe chain. */
  private barBefore(pipe: SyntaxNode, op: SyntaxNode): SyntaxNode | undefined {
    let cur: SyntaxNode | undefined = pipe;
    while (cur && cur.kind === 'PipeExpression') {
      const kids: SyntaxNode[] = cur.children;
      if (kids.includes(op)) return kids.find((k) => k.kind === 'BarToken');
      cur = nodesOf(cur)[0];
    }
    return undefined;
  }

  /** `Name = expr` (or a bare `Name`) of extend / project / project-rename. */
  private named(e: SyntaxNode, out: LiftedQuery): void {
    const push = (f: string): void => {
      if (!out.outputs.includes(f)) out.outputs.push(f);
    };
    if (e.kind === 'SimpleNamedExpression') {
      const [nameNode, expr] = nodesOf(e);
      const name = nameOf(nameNode!);
      const f = this.tryField(expr!);
      if (!(f instanceof ImportRefusal)) {
        this.aliases.set(name, f);
        this.computed.delete(name);
        push(f.name);
      } else {
        this.computed.set(name, { node: e, why: f });
        this.aliases.delete(name);
        out.notCarried.push(`${name} = ${textOf(expr!, 50)}`);
      }
      return;
    }
    if (e.kind === 'NameReference') {
      const f = this.tryField(e);
      if (!(f instanceof ImportRefusal)) push(f.name);
      return;
    }
    out.notCarried.push(textOf(e, 50));
  }

  /** A column, an alias, or a JSON path below a dynamic column; the refusal for anything computed. */
  private tryField(n: SyntaxNode): Field | ImportRefusal {
    try {
      return this.field(n);
    } catch (e) {
      if (e instanceof ImportRefusal) return e;
      throw e;
    }
  }

  /** The field a predicate reads: a column, an alias of one, or a path into a dynamic column. */
  private field(n: SyntaxNode): Field {
    switch (n.kind) {
      case 'ParenthesizedExpression':
        return this.field(nodesOf(n)[0]!);
      case 'NameReference': {
        const name = nameOf(n);
        const alias = this.aliases.get(name);
        if (alias) return alias;
        const comp = this.computed.get(name);
        if (comp && this.opts.keepComputed && this.inPredicate) {
          this.computedFields.set(name, sourceText(nodesOf(comp.node)[1]!));
          return { name, type: 'string' };
        }
        if (comp) refuse(`extend ${textOf(comp.node, 50)}`, `${name} is computed by ${comp.why.construct}: ${comp.why.message}`, comp.node);
        const t = this.columns.get(name);
        if (t) return { name, type: t };
        const near = closest(name, [...this.columns.keys()]);
        return refuse(name, `${name} is not a column of ${this.table} on platform ${this.opts.platform}${near ? ` (did you mean ${near}?)` : ''}; its columns: ${listChoices([...this.columns.keys()].sort(), 20)}`, n, 'mapping');
      }
      case 'FunctionCallExpression': {
        const fn = nameOf(nodesOf(n)[0]!);
        const args = elements(nodesOf(nodesOf(n)[1]!)[0]);
        // tostring() of a JSON value is its text, which string predicates read; parse_json(tostring(x))
        // of a dynamic value is that value again.
        if ((fn === 'tostring' || fn === 'parse_json' || fn === 'todynamic') && args.length === 1) {
          const inner = this.field(args[0]!);
          if (fn !== 'tostring' && inner.type !== 'dynamic' && inner.type !== 'path') {
            refuse(textOf(n, 50), `${inner.name} is ${inner.type} on ${this.table}: a path into JSON text is read by no evaluator (it reads nested objects)`, n);
          }
          return inner;
        }
        return refuse(textOf(n, 50), `function ${fn}() in a predicate`, n);
      }
      case 'PathExpression': {
        const [base, member] = nodesOf(n);
        return this.path(this.field(base!), nameOf(member!), n);
      }
      case 'ElementExpression': {
        const [base, index] = nodesOf(n);
        const idx = nodesOf(index!)[0];
        if (idx?.kind === 'IntLiteralExpression' || idx?.kind === 'LongLiteralExpression') {
          // An element by its index is the field's `[N]` step, which the evaluator and the Kusto
          // target read as KQL does (null outside the array or on an object); an index from the end
          // (negative) has no such step.
          const text = idx.children[0]!.valueText ?? '';
          if (!/^\d+$/.test(text)) refuse(textOf(n, 50), `the array index ${text} is not a plain decimal number`, n);
          return this.path(this.field(base!), Number(text), n);
        }
        if (idx?.kind === 'UnaryMinusExpression') refuse(textOf(n, 50), 'an array index counted from the end (negative), which no field path has', n);
        if (idx?.kind !== 'StringLiteralExpression') refuse(textOf(n, 50), 'a computed key or index', n);
        return this.path(this.field(base!), idx!.children[0]!.valueText!, n);
      }
    }
    return refuse(textOf(n, 50), 'an expression where a column is expected', n);
  }

  private path(base: Field, member: string | number, at: SyntaxNode): Field {
    if (base.type !== 'dynamic' && base.type !== 'path') {
      refuse(textOf(at, 50), `${base.name} is ${base.type} on ${this.table} on platform ${this.opts.platform}: a path into JSON text is read by no evaluator (it reads nested objects)`, at);
    }
    if (typeof member === 'number') return { name: `${base.name}[${member}]`, type: 'path' };
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(member)) refuse(textOf(at, 50), `the JSON property name '${member}' is not a plain name a dotted field can hold`, at);
    return { name: `${base.name}.${member}`, type: 'path' };
  }

  /**
   * One where expression. `top` is true for the operand of a `where` (and the operands of its top
   * `and`), where a lookback on the time column may stand; it returns undefined when the whole
   * clause was the lookback.
   */
  private where(n: SyntaxNode, out: LiftedQuery, top: boolean): Cond | undefined {
    if (n.kind === 'AndExpression' || n.kind === 'OrExpression') {
      const kind = n.kind === 'AndExpression' ? 'and' : 'or';
      const parts = nodesOf(n).map((c) => this.where(c, out, top && kind === 'and'));
      const kept = parts.filter((p): p is Cond => p !== undefined);
      if (kept.length === 0) return undefined;
      if (kept.length === 1) return kept[0];
      const flat: Cond[] = [];
      for (const p of kept) if (p.kind === kind) flat.push(...p.children);
      else flat.push(p);
      return { kind, children: flat };
    }
    if (n.kind === 'ParenthesizedExpression') return this.where(nodesOf(n)[0]!, out, top);
    if (top) {
      const lb = this.lookback(n);
      if (lb) {
        if (out.lookback && out.lookback !== lb) refuse(textOf(n), `a second lookback (${out.lookback} before)`, n);
        out.lookback = lb;
        return undefined;
      }
    }
    return this.predicate(n);
  }

  /** `TimeGenerated > ago(1h)` (or >=): the lookback, as a schedule duration. */
  private lookback(n: SyntaxNode): string | undefined {
    if (n.kind !== 'GreaterThanExpression' && n.kind !== 'GreaterThanOrEqualExpression') return undefined;
    const [l, r] = nodesOf(n);
    if (l!.kind !== 'NameReference' || nameOf(l!) !== this.opts.timeColumn) return undefined;
    if (r!.kind !== 'FunctionCallExpression' || nameOf(nodesOf(r!)[0]!) !== 'ago') return undefined;
    const args = elements(nodesOf(nodesOf(r!)[1]!)[0]);
    let span: string | undefined;
    if (args.length === 1 && args[0]!.kind === 'TimespanLiteralExpression') span = args[0]!.children[0]!.text!;
    else if (args.length === 1 && args[0]!.kind === 'NameReference') {
      const l2 = this.lets.get(nameOf(args[0]!));
      if (l2?.kind === 'scalar') span = l2.span;
    }
    const m = span && /^(\d+)(s|m|h|d)$/.exec(span);
    if (!m) return refuse(textOf(n), 'a lookback other than a whole number of s, m, h or d', n);
    return span;
  }

  private timeWindow(n: SyntaxNode, field: Field): void {
    if (field.name === this.opts.timeColumn || field.type === 'datetime') {
      refuse(textOf(n), 'a time window other than a lookback (`> ago(span)` on the time column, in a top-level where)', n);
    }
  }

  private predicate(n: SyntaxNode): Cond {
    const c = this.predicateOf(n);
    // KQL's ignore-case keeps ß and ẞ apart, the model's case folding takes them as one (the Kusto
    // printer's reason to print such values as a regex): a case-insensitive test of such text is
    // not the same match.
    const check = (x: Cond): void => {
      if (x.kind === 'not') return check(x.child);
      if (x.kind !== 'leaf') return x.children.forEach(check);
      if (x.modifiers.some((m) => m === 'cased' || m === 're' || m === 'cidr')) return;
      for (const v of x.values) {
        const texts = v.kind === 'param' ? this.paramTexts(v.name) : v.kind === 'string' ? [v.value] : [];
        const bad = texts.find((t) => !foldsLikeRulec(t));
        if (bad !== undefined) refuse(textOf(n), `'${bad}': KQL's case-insensitive operators do not fold ß and ẞ together as the model's case-insensitive match does`, n);
      }
    };
    check(c);
    return c;
  }

  private predicateOf(n: SyntaxNode): Cond {
    const at = n.start;
    const leaf = (field: string, modifiers: string[], values: LiftValue[], list = false): Leaf => ({ kind: 'leaf', field, modifiers, values, list, offset: at });
    if (n.kind === 'FunctionCallExpression') return this.call(n, leaf);
    const kids = nodesOf(n);
    const op = tokensOf(n)
      .map((t) => t.text!)
      .join(' ')
      .toLowerCase();
    if (kids.length < 2) refuse(textOf(n), 'an expression that is not a comparison', n);
    let [left, right] = kids as [SyntaxNode, SyntaxNode];
    if (isLiteralNode(left) && !isLiteralNode(right)) refuse(textOf(n), 'a literal on the left of a comparison', n);
    // tolower(F) / toupper(F) compared with text of that case is a case-insensitive comparison of F.
    let folded: 'tolower' | 'toupper' | undefined;
    if (left.kind === 'FunctionCallExpression' && ['tolower', 'toupper'].includes(nameOf(nodesOf(left)[0]!))) {
      const args = elements(nodesOf(nodesOf(left)[1]!)[0]);
      if (args.length === 1) {
        folded = nameOf(nodesOf(left)[0]!) as 'tolower' | 'toupper';
        left = args[0]!;
      }
    }
    const field = this.field(left);
    this.timeWindow(n, field);
    const isText = field.type === 'string' || field.type === 'path' || field.type === 'dynamic';
    const numeric = field.type === 'int' || field.type === 'long' || field.type === 'real' || field.type === 'decimal';
    const scalar = (): LiftValue => {
      const v = this.literal(right, textOf(n));
      if (v.kind === 'param') refuse(textOf(n), `${nameOf(right)} is a list; compare with in / has_any`, right);
      return v;
    };
    const listValues = (): { values: LiftValue[]; list: boolean } => {
      // `in (a, b)`, `in (name)`, `in (dynamic([...]))`
      const items = right.kind === 'ExpressionList' ? elements(nodesOf(right)[0]) : [right];
      const values: LiftValue[] = [];
      for (const it of items) {
        if (it.kind === 'DynamicExpression') {
          const arr = nodesOf(it)[0];
          if (arr?.kind !== 'JsonArrayExpression') refuse(textOf(it), 'a dynamic value other than a list', it);
          values.push(...elements(nodesOf(arr!)[0]).map((e) => this.literal(e, textOf(n))));
        } else values.push(this.literal(it, textOf(n)));
      }
      if (values.some((v) => v.kind === 'param') && values.length > 1) refuse(textOf(n), 'a list name mixed with other values', n);
      if (values.length === 0) refuse(textOf(n), 'an empty list', n);
      return { values, list: values.length > 1 };
    };
    const textValue = (v: LiftValue): LiftValue => {
      if (v.kind === 'null') refuse(textOf(n), 'a comparison with null (write isnull / isempty)', n);
      return v;
    };
    const not = (c: Cond): Cond => ({ kind: 'not', child: c });
    if (folded) return this.foldedPredicate(n, op, folded, not);
    // A column compared with another text column: the model's fieldref (the Kusto target prints
    // `F|fieldref` back as `F =~ G`, `F contains G`...).
    const FIELDREF: Record<string, [string[], boolean]> = {
      '==': [[], true], '=~': [[], false], '!=': [[], true], '!~': [[], false],
      contains: [['contains'], false], contains_cs: [['contains'], true], '!contains': [['contains'], false], '!contains_cs': [['contains'], true],
      startswith: [['startswith'], false], startswith_cs: [['startswith'], true], '!startswith': [['startswith'], false], '!startswith_cs': [['startswith'], true],
      endswith: [['endswith'], false], endswith_cs: [['endswith'], true], '!endswith': [['endswith'], false], '!endswith_cs': [['endswith'], true],
    };
    if (right.kind === 'NameReference' && !this.lets.has(nameOf(right)) && FIELDREF[op]) {
      const other = this.field(right);
      const text = (t: string): boolean => t === 'string' || t === 'path';
      if (!text(field.type) || !text(other.type)) refuse(textOf(n), `${op} between ${field.name} (${field.type}) and ${other.name} (${other.type}); only text columns are compared as fields`, n);
      const [mods, cased] = FIELDREF[op]!;
      const l = leaf(field.name, ['fieldref', ...mods, ...(cased ? ['cased'] : [])], [{ kind: 'string', value: other.name }]);
      return op.startsWith('!') ? not(l) : l;
    }
    const eq = (cased: boolean, v: LiftValue[], list: boolean): Leaf => {
      const num = v.every((x) => x.kind === 'number');
      if (numeric && !num) refuse(textOf(n), `${field.name} is ${field.type}: a text comparison on a number column`, n);
      // KQL converts one side when text meets a number (which way, and what "05" becomes, the docs
      // do not say); the model compares the number's text. Not the same match: refused.
      if (!numeric && v.some((x) => x.kind === 'number')) refuse(textOf(n), `${field.name} is ${field.type === 'path' ? 'a JSON value' : field.type}, compared with a number: KQL converts one side, the model compares texts; compare it with text ("500121")`, n);
      // A number compared with text in KQL is a type error; numbers on a number column need no case.
      const mods = cased && !num && v.some((x) => x.kind === 'string' || x.kind === 'param') ? ['cased'] : [];
      if (v.some((x) => x.kind === 'param')) mods.push('expand');
      return leaf(field.name, mods, v, list);
    };
    const textOp = (mod: string, cased: boolean): Leaf => {
      if (!isText) refuse(textOf(n), `${op} on ${field.name}, a ${field.type} column (KQL reads its text; the model reads text fields)`, n);
      const v = textValue(scalar());
      if (v.kind !== 'string') refuse(textOf(n), `${op} with a ${v.kind}`, n);
      return leaf(field.name, cased ? [mod, 'cased'] : [mod], [v]);
    };
    const listTextOp = (mod: string[], cased: boolean): Leaf => {
      if (!isText) refuse(textOf(n), `${op} on ${field.name}, a ${field.type} column`, n);
      const { values, list } = listValues();
      if (values.some((v) => v.kind !== 'string' && v.kind !== 'param')) refuse(textOf(n), `${op} with a value that is not text`, n);
      const mods = [...mod, ...(cased ? ['cased'] : []), ...(values[0]!.kind === 'param' ? ['expand'] : [])];
      return leaf(field.name, mods, values, list);
    };
    switch (op) {
      case '==':
      case '=~':
      case '!=':
      case '!~': {
        const v = scalar();
        if (v.kind === 'null') refuse(textOf(n), 'a comparison with null (write isnull / isempty)', n);
        if (v.kind === 'boolean') {
          if (field.type !== 'bool') refuse(textOf(n), `${field.name} is ${field.type}, not bool`, n);
          const l = leaf(field.name, [], [v]);
          return op.startsWith('!') ? not(l) : l;
        }
        if (field.type === 'bool') refuse(textOf(n), `${field.name} is bool`, n);
        const l = eq(op === '==' || op === '!=', [v], false);
        return op.startsWith('!') ? not(l) : l;
      }
      case 'in':
      case 'in~':
      case '!in':
      case '!in~': {
        const { values, list } = listValues();
        if (values.some((v) => v.kind === 'null' || v.kind === 'boolean')) refuse(textOf(n), 'null or a boolean in a list', n);
        const l = eq(!op.endsWith('~'), values, list);
        return op.startsWith('!') ? not(l) : l;
      }
      case 'contains':
      case 'contains_cs':
      case 'startswith':
      case 'startswith_cs':
      case 'endswith':
      case 'endswith_cs': {
        const [base, cs] = op.split('_');
        return textOp(base!, cs === 'cs');
      }
      case '!contains':
      case '!contains_cs':
      case '!startswith':
      case '!startswith_cs':
      case '!endswith':
      case '!endswith_cs': {
        const [base, cs] = op.slice(1).split('_');
        return not(textOp(base!, cs === 'cs'));
      }
      case 'has':
      case 'has_cs':
        return listTextOp(['has'], op === 'has_cs');
      case '!has':
      case '!has_cs':
        return not(listTextOp(['has'], op === '!has_cs'));
      case 'has_any':
        return listTextOp(['has'], false);
      case 'has_all': {
        const l = listTextOp(['has', 'all'], false);
        return l.values.length === 1 && l.values[0]!.kind !== 'param' ? { ...l, modifiers: ['has'], list: false } : l;
      }
      case 'matches regex': {
        if (!isText) refuse(textOf(n), `matches regex on ${field.name}, a ${field.type} column`, n);
        const v = scalar();
        if (v.kind !== 'string') refuse(textOf(n), 'matches regex with a pattern that is not a literal', n);
        return leaf(field.name, ...this.regex((v as { value: string }).value, n));
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        if (!numeric) refuse(textOf(n), `${op} on ${field.name}, a ${field.type} column (only numbers are compared)`, n);
        const v = scalar();
        if (v.kind !== 'number') refuse(textOf(n), `${op} with a value that is not a number`, n);
        const mod = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' }[op]!;
        return leaf(field.name, [mod], [v]);
      }
    }
    if (n.kind === 'BetweenExpression' || n.kind === 'NotBetweenExpression') return this.between(n, field, numeric);
    return refuse(textOf(n), `operator ${op || n.kind}`, n);
  }

  /**
   * `tolower(F) op v`: F compared case-insensitively, when every value is already of that case and
   * ASCII (tolower of a value with a capital never equals it; beyond ASCII, .NET's tolower and the
   * model's case folding are not the same function).
   */
  private foldedPredicate(n: SyntaxNode, op: string, fn: 'tolower' | 'toupper', not: (c: Cond) => Cond): Cond {
    const ci: Record<string, string> = {
      '==': '=~', '!=': '!~', '=~': '=~', '!~': '!~', in: 'in~', '!in': '!in~', 'in~': 'in~', '!in~': '!in~',
      contains_cs: 'contains', contains: 'contains', '!contains_cs': '!contains', '!contains': '!contains',
      startswith_cs: 'startswith', startswith: 'startswith', '!startswith_cs': '!startswith', '!startswith': '!startswith',
      endswith_cs: 'endswith', endswith: 'endswith', '!endswith_cs': '!endswith', '!endswith': '!endswith',
      has_cs: 'has', has: 'has', '!has_cs': '!has', '!has': '!has', has_any: 'has_any', has_all: 'has_all',
    };
    const to = ci[op];
    if (!to) refuse(textOf(n), `${fn}() with ${op}`, n);
    const [left, right] = nodesOf(n) as [SyntaxNode, SyntaxNode];
    const arg = elements(nodesOf(nodesOf(left)[1]!)[0])[0]!;
    // The same predicate on the column itself, case-insensitive.
    const plain: SyntaxNode = { ...n, children: n.children.map((c) => (c === left ? arg : isToken(c) && c.text?.toLowerCase() === op ? { ...c, text: to } : c)) };
    const cond = this.predicate(plain);
    const check = (c: Cond): void => {
      if (c.kind === 'not') return check(c.child);
      if (c.kind !== 'leaf') return c.children.forEach(check);
      for (const v of c.values) {
        const texts = v.kind === 'param' ? this.paramTexts(v.name) : v.kind === 'string' ? [v.value] : [];
        for (const t of texts) {
          if (!/^[\x20-\x7e]*$/.test(t)) refuse(textOf(n), `${fn}() compared with non-ASCII text, which .NET's ${fn} and the model's case folding may read differently`, right);
          if ((fn === 'tolower' ? t.toLowerCase() : t.toUpperCase()) !== t) refuse(textOf(n), `${fn}() compared with '${t}', which it never equals (the value is not ${fn === 'tolower' ? 'lowercase' : 'uppercase'})`, right);
        }
      }
    };
    check(cond);
    void not;
    return cond;
  }

  private paramTexts(name: string): string[] {
    const l = this.lets.get(name);
    return l?.kind === 'list' ? l.param.values.flatMap((v) => (v.kind === 'string' ? [v.value] : [])) : [];
  }

  private between(n: SyntaxNode, field: Field, numeric: boolean): Cond {
    if (!numeric) refuse(textOf(n), `between on ${field.name}, a ${field.type} column (only numbers are compared)`, n);
    // `F between (a .. b)`: the range is a node holding the two bounds.
    const bounds: SyntaxNode[] = [];
    const walk = (x: SyntaxNode): void => {
      if (isLiteralNode(x) || x.kind === 'NameReference') bounds.push(x);
      else x.children.forEach(walk);
    };
    nodesOf(n).slice(1).forEach(walk);
    if (bounds.length !== 2) refuse(textOf(n), 'between with bounds that are not two literals', n);
    const [lo, hi] = bounds.map((b) => this.literal(b, textOf(n)));
    if (lo!.kind !== 'number' || hi!.kind !== 'number') refuse(textOf(n), 'between with bounds that are not numbers', n);
    const c: Cond = {
      kind: 'and',
      children: [
        { kind: 'leaf', field: field.name, modifiers: ['gte'], values: [lo!], list: false, offset: n.start },
        { kind: 'leaf', field: field.name, modifiers: ['lte'], values: [hi!], list: false, offset: n.start },
      ],
    };
    // `!between` on an empty (null) column is null in KQL, and the row is dropped: as `F >= lo` is false then.
    if (n.kind === 'NotBetweenExpression') {
      return { kind: 'and', children: [{ kind: 'leaf', field: field.name, modifiers: ['exists'], values: [{ kind: 'boolean', value: true }], list: false, offset: n.start }, { kind: 'not', child: c }] };
    }
    return c;
  }

  /**
   * A KQL (RE2) pattern as a rulec `re` value, when both read it the same: RE2 and rulec's regex
   * engine agree on plain syntax; inline flags other than a leading `(?i)`, `\s` (RE2: ASCII
   * whitespace only), Unicode classes, `\z`/`\A`/`\Q` and POSIX classes are refused.
   */
  private regex(p: string, n: SyntaxNode): [string[], LiftValue[]] {
    const mods = ['re'];
    // Leading flags: RE2's i, m and s read as the model's re modifiers of the same letters.
    const flags = /^\(\?([ims]+)\)/.exec(p);
    if (flags) for (const f of new Set(flags[1]!)) mods.push(f);
    const body = flags ? p.slice(flags[0].length) : p;
    const bad = (what: string): never => refuse(textOf(n), `a regular expression with RE2 syntax the model reads differently (${what})`, n);
    // One pass over the pattern, escapes taken whole: RE2's \x{HH} is the model's \uHHHH.
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c === '\\') {
        const e = body[i + 1] ?? '';
        if (e === 'x' && body[i + 2] === '{') {
          const end = body.indexOf('}', i + 3);
          const hex = end < 0 ? '' : body.slice(i + 3, end);
          if (!/^[0-9A-Fa-f]{1,4}$/.test(hex)) bad(`\\x{${hex}}`);
          out += `\\u${hex.padStart(4, '0')}`;
          i = end;
          continue;
        }
        if ('sSpPzAQEC'.includes(e) && e !== '') bad(`\\${e}`);
        out += c + e;
        i++;
        continue;
      }
      if (c === '(' && body[i + 1] === '?' && body[i + 2] !== ':') bad('an inline flag or group other than (?:');
      if (c === '[' && body.startsWith('[:', i + 1)) bad('a POSIX class');
      out += c;
    }
    return [mods, [{ kind: 'string', value: out }]];
  }

  private call(n: SyntaxNode, leaf: (field: string, modifiers: string[], values: LiftValue[], list?: boolean) => Leaf): Cond {
    const fn = nameOf(nodesOf(n)[0]!);
    const args = elements(nodesOf(nodesOf(n)[1]!)[0]);
    const one = (): Field => {
      if (args.length !== 1) refuse(textOf(n), `${fn}() with ${args.length} arguments`, n);
      return this.field(args[0]!);
    };
    const exists = (v: boolean): Leaf => leaf(one().name, ['exists'], [{ kind: 'boolean', value: v }]);
    switch (fn) {
      case 'not': {
        if (args.length !== 1) refuse(textOf(n), 'not() with several arguments', n);
        // not(null) is null in KQL and the row is dropped; only comparisons on typed columns are null.
        if (this.nullable(args[0]!)) refuse(textOf(n), 'not() over an ordering comparison on a typed column, which KQL makes null (the row is dropped) when the column is empty', n);
        const inner = this.where(args[0]!, { wheres: [], parameters: [], outputs: [], notCarried: [], aliases: new Map(), comments: [], table: '', computedFields: new Map() }, false)!;
        return { kind: 'not', child: inner };
      }
      case 'isempty':
        return leaf(one().name, [], [{ kind: 'null' }]);
      case 'isnotempty':
        return exists(true);
      case 'isnull':
      case 'isnotnull': {
        const f = one();
        if (f.type === 'string') refuse(textOf(n), `${fn}() on a string column is always ${fn === 'isnull' ? 'false' : 'true'} in KQL (text is never null); write isempty / isnotempty`, n);
        return fn === 'isnull' ? leaf(f.name, [], [{ kind: 'null' }]) : exists(true);
      }
      case 'ipv4_is_private': {
        const f = one();
        return leaf(f.name, ['cidr'], ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((value) => ({ kind: 'string', value })), true);
      }
      case 'ipv4_is_in_range':
      case 'ipv4_is_in_any_range': {
        if (args.length < 2) refuse(textOf(n), `${fn}() without a range`, n);
        const f = this.field(args[0]!);
        const values: LiftValue[] = [];
        for (const a of args.slice(1)) {
          if (a.kind === 'DynamicExpression') values.push(...elements(nodesOf(nodesOf(a)[0]!)[0]).map((e) => this.literal(e, fn)));
          else values.push(this.literal(a, fn));
        }
        const flat: LiftValue[] = [];
        for (const v of values) {
          if (v.kind === 'param') {
            const l = this.lets.get(v.name);
            if (l?.kind === 'list' && l.param.placeholder) refuse(textOf(n), `${v.name} is an empty list (a placeholder), which ${fn}() cannot take`, n);
            if (l?.kind === 'list') flat.push(...l.param.values);
          } else flat.push(v);
        }
        if (flat.some((v) => v.kind !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(v.value))) refuse(textOf(n), 'a range that is not an IPv4 address or a.b.c.d/n literal', n);
        if (fn === 'ipv4_is_in_range' && flat.length !== 1) refuse(textOf(n), 'ipv4_is_in_range with several ranges', n);
        return leaf(f.name, ['cidr'], flat, flat.length > 1);
      }
    }
    return refuse(`${fn}()`, `function ${fn}() in a predicate is not lifted`, n);
  }

  /** True when the expression holds an ordering comparison on a typed column (null when it is empty). */
  private nullable(n: SyntaxNode): boolean {
    if (/^(LessThan|GreaterThan)(OrEqual)?Expression$|Between/.test(n.kind)) return true;
    if (n.kind === 'FunctionCallExpression') {
      const fn = nameOf(nodesOf(n)[0]!);
      if (fn.startsWith('ipv4_')) return true;
    }
    return nodesOf(n).some((c) => this.nullable(c));
  }
}

function isLiteralNode(n: SyntaxNode): boolean {
  return /LiteralExpression$/.test(n.kind) || n.kind === 'DynamicExpression';
}

/** `line:col` (1-based) of an offset in a text. */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}
