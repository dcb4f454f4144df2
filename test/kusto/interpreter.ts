/**
 * A test-only interpreter of the KQL that the Kusto target emits, over one row. The query is parsed
 * by Microsoft's Kusto.Language (through the target's adapter) and its syntax tree is evaluated with
 * KQL's semantics as documented, independently of the printer:
 *
 * - three-valued logic: typed nulls, `null == x` false, `null != x` true, ordering comparisons with
 *   null are null, `not(null)` is null, `where` keeps only true;
 * - case-insensitive string operators (`=~`, `in~`, `contains`...) compare with .NET ordinal
 *   ignore-case, modelled as simple uppercase mapping per code point;
 * - `matches regex` and `extract` run RE2 (modelled by rewriting the RE2 pattern into a JS regex with
 *   the `u` flag: RE2's `.`, `\s`, `(?m)` anchors and `\x{...}` keep their RE2 meaning);
 * - the IP functions return null for text they cannot parse; IPv4 text may have leading zeros and a
 *   /prefix, and the IPv6 functions take IPv4 text as IPv4-mapped (more lenient than rulec);
 * - `mv-apply` runs its `summarize ... countif()` subquery over one row per array element, and drops
 *   a record whose array is empty;
 * - `strcat` converts each argument to text (null gives ""), `iff` and `case` take a null predicate
 *   as false, `substring` counts UTF-16 units (.NET characters) from 0 and gives "" past the end;
 * - `let` functions with scalar parameters (defaults allowed) and a body of `let`s and one
 *   expression, which sees the names declared before it but not the row's columns;
 * - dynamic values: `parse_json` (and its aliases `todynamic`, `toobject`, `parsejson`) parses JSON
 *   text and keeps other text as a dynamic string; a missing member, a member of a non-object and
 *   an index outside an array are null; a negative index counts from the end;
 * - every expression of one `extend` or `project` reads the operator's input row (Kusto.Language
 *   reports a column set earlier in the same extend as an unknown name), a later operator the result;
 * - a value the documentation leaves undefined (Unmodelled: `parse_urlquery` of text that is not
 *   `key=value&...`) is not guessed: the column computed from it fails where it is read.
 *
 * The operators and functions rulec emits are implemented, and those of the native queries that
 * `rulec import --from kusto` accepts (test/kusto/native-ops.ts: negated startswith/endswith;
 * `between`, `ipv4_is_private`, the `project` family, a few conversions and arithmetic), and what
 * the originals of the Sentinel corpus compute besides (`replace`, `replace_regex`,
 * `parse_urlquery`); anything else throws, and the equivalence harness reports it.
 */
import { parseIpv6, inNetwork } from '../../src/runtime/ip.js';
import { parseKql, type SyntaxNode } from '../../src/targets/kusto/validate.js';
import { boundedTest } from '../helpers/bounded-regex.js';
import { IPV4_PRIVATE_RANGES, NATIVE_STRING_OPS } from './native-ops.js';

export type Dyn = { dyn: unknown };
export type KValue = null | string | number | boolean | { dt: number } | { ts: number } | Dyn;
export type Row = Record<string, KValue>;

const isDyn = (v: KValue): v is Dyn => typeof v === 'object' && v !== null && 'dyn' in v;
const isDt = (v: KValue): v is { dt: number } => typeof v === 'object' && v !== null && 'dt' in v;
const isTs = (v: KValue): v is { ts: number } => typeof v === 'object' && v !== null && 'ts' in v;

export class KqlError extends Error {}

/**
 * A value whose KQL semantics are not documented for this input (e.g. `parse_urlquery` of text that
 * is not `key=value&...`): the interpreter does not guess it. A column computed from one holds no
 * value: reading it fails, but a row can still pass operators that never read it (a computed column
 * never drops a row), so an output column cannot void the verdict.
 */
export class Unmodelled extends KqlError {}

export function fail(msg: string): never {
  throw new KqlError(msg);
}

export const tokensOf = (n: SyntaxNode): SyntaxNode[] => n.children.filter((c) => c.text !== undefined);
export const nodesOf = (n: SyntaxNode): SyntaxNode[] => n.children.filter((c) => c.text === undefined);

/** Elements of a `List` of `SeparatedElement`s. */
export function elements(list: SyntaxNode | undefined): SyntaxNode[] {
  if (!list) return [];
  return list.children.map((se) => (se.kind === 'SeparatedElement' ? nodesOf(se)[0] ?? se.children[0]! : se));
}

export function nameOf(n: SyntaxNode): string {
  // NameDeclaration / NameReference -> TokenName (IdentifierToken) or BracketedName (['x']).
  if (n.text !== undefined) return n.text;
  if (n.kind === 'BracketedName') return nodesOf(n)[0]!.children[0]!.valueText!;
  if (n.kind === 'StringLiteralExpression') return n.children[0]!.valueText!;
  const inner = n.children[0];
  if (!inner) fail(`empty name in ${n.kind}`);
  return nameOf(inner);
}

export interface CompiledQuery {
  table: string;
  /** True when the row passes every operator of the query. */
  /**
   * True when the row passes every operator of the query. `exhaustive`: evaluate every condition
   * and both sides of and/or even when the verdict is known, so that coverage checks reach every
   * construct of the query (the verdict is unchanged).
   */
  run(row: Row, now: number, opts?: { exhaustive?: boolean }): boolean;
}

/** Parses a query once; throws on syntax errors (the emitted query must parse cleanly). */
export function compileKql(text: string): CompiledQuery {
  const { root, diagnostics } = parseKql(text);
  if (diagnostics.length) fail(`syntax: ${diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const statements = elements(root.children.find((c) => c.kind === 'List' && c.children.some((x) => x.kind === 'SeparatedElement')));
  const lets: SyntaxNode[] = [];
  let pipe: SyntaxNode | undefined;
  for (const st of statements) {
    if (st.kind === 'LetStatement') lets.push(st);
    else if (st.kind === 'ExpressionStatement') pipe = nodesOf(st)[0];
    else fail(`unsupported statement ${st.kind}`);
  }
  if (!pipe) fail('no query statement');
  // The pipeline: the table name, then operators, left to right.
  const ops: SyntaxNode[] = [];
  let cur = pipe;
  while (cur.kind === 'PipeExpression') {
    const [left, op] = nodesOf(cur);
    ops.unshift(op!);
    cur = left!;
  }
  if (cur.kind !== 'NameReference') fail(`the query must start with a table, found ${cur.kind}`);
  const table = nameOf(cur);
  return {
    table,
    run(row: Row, now: number, opts?: { exhaustive?: boolean }): boolean {
      const env = new Env({ ...row }, now, {}, opts?.exhaustive === true);
      for (const st of lets) env.let(st);
      let pass = true;
      for (const op of ops) {
        switch (op.kind) {
          case 'FilterOperator': {
            const cond = nodesOf(op).filter((c) => c.kind !== 'List');
            if (env.eval(cond[0]!) !== true) {
              if (!env.exhaustive) return false;
              pass = false;
            }
            break;
          }
          case 'ExtendOperator': {
            // Every expression reads the input row: a column the same extend sets is not visible to
            // the expressions after it (Kusto.Language: `extend X = 1, U = X + 1` is KS142, unknown
            // name; `extend C = "x", U = C` gives U the input column C).
            const computed = elements(nodesOf(op)[0]).map((e): [string, Computed] => {
              // `extend C` names its column after the column it reads: C stays as it is.
              if (e.kind === 'NameReference') return [nameOf(e), env.column(e)];
              if (e.kind !== 'SimpleNamedExpression') fail(`extend of ${e.kind} (a generated column name) is not modelled`);
              const [name, expr] = nodesOf(e);
              return [nameOf(name!), env.compute(expr!)];
            });
            for (const [name, c] of computed) env.setColumn(name, c);
            break;
          }
          case 'ProjectOperator':
          case 'ProjectAwayOperator':
          case 'ProjectRenameOperator':
          case 'ProjectKeepOperator':
          case 'ProjectReorderOperator':
            env.project(op);
            break;
          case 'MvApplyOperator':
            if (!env.mvApply(op)) return false;
            break;
          default:
            fail(`unsupported operator ${op.kind}`);
        }
      }
      return pass;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Values

/** .NET ordinal ignore-case: simple uppercase mapping per code point (kept when not one code point). */
export function upperFold(s: string): string {
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += [...u].length === 1 ? u : ch;
  }
  return out;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n);
}

function toStr(v: KValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isDt(v)) return new Date(v.dt).toISOString();
  if (isTs(v)) return `${v.ts}ms`;
  const d = v.dyn;
  if (d === null || d === undefined) return '';
  if (typeof d === 'string') return d;
  if (typeof d === 'number' || typeof d === 'boolean') return toStr(d);
  return JSON.stringify(d);
}

function str(v: KValue, what: string): string {
  if (typeof v === 'string') return v;
  fail(`${what} needs a string, got ${JSON.stringify(v)}`);
}

function num(v: KValue): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (isDt(v)) return v.dt;
  if (isTs(v)) return v.ts;
  fail(`expected a number, got ${JSON.stringify(v)}`);
}

function equal(a: KValue, b: KValue): boolean {
  if (a === null || b === null) return false;
  if (isDt(a) || isDt(b) || isTs(a) || isTs(b)) return num(a) === num(b);
  if (typeof a !== typeof b) fail(`== between ${typeof a} and ${typeof b}`);
  return a === b;
}

function list(vals: KValue[]): KValue[] {
  const out: KValue[] = [];
  for (const v of vals) {
    if (isDyn(v) && Array.isArray(v.dyn)) for (const x of v.dyn) out.push(x as KValue);
    else out.push(v);
  }
  return out;
}

function and(a: KValue, b: () => KValue): KValue {
  if (a === false) return false;
  const r = b();
  if (r === false) return false;
  if (a === null || r === null) return null;
  return true;
}

function or(a: KValue, b: () => KValue): KValue {
  if (a === true) return true;
  const r = b();
  if (r === true) return true;
  if (a === null || r === null) return null;
  return false;
}

// ---------------------------------------------------------------------------------------------
// RE2, modelled in JS

const re2Cache = new Map<string, RegExp>();

/** An RE2 pattern as a JS regex with RE2's meaning (see the module comment). */
export function re2ToJs(pattern: string): RegExp {
  const hit = re2Cache.get(pattern);
  if (hit) return hit;
  let p = pattern;
  const flags = new Set<string>();
  for (let m = /^\(\?([ims]+)\)/.exec(p); m; m = /^\(\?([ims]+)\)/.exec(p)) {
    for (const f of m[1]!) flags.add(f);
    p = p.slice(m[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === 'x' && p[i + 2] === '{') {
        const end = p.indexOf('}', i);
        out += `\\u{${p.slice(i + 3, end)}}`;
        i = end;
      } else if (n === 's') {
        out += inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
        i++;
      } else if (n === 'S') {
        if (inClass) fail('\\S inside a class is not modelled');
        out += '[^\\t\\n\\f\\r ]';
        i++;
      } else if (n !== undefined && /[A-Za-z]/.test(n) && !'dDwWbBtnrfv'.includes(n)) {
        fail(`RE2 escape \\${n} is not modelled`);
      } else {
        out += c + (n ?? '');
        i++;
      }
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (p[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (c === '{' || c === '}') {
      // RE2 takes a brace that starts no repetition {n}, {n,}, {n,m} as itself; JS with `u` rejects it.
      const rep = c === '{' ? /^\{\d+(?:,\d*)?\}/.exec(p.slice(i)) : null;
      if (rep) {
        out += rep[0];
        i += rep[0].length - 1;
      } else out += `\\${c}`;
      continue;
    }
    if (c === '.') out += flags.has('s') ? '[^]' : '[^\\n]';
    else if (c === '^' && flags.has('m')) out += '(?<=^|\\n)';
    else if (c === '$' && flags.has('m')) out += '(?=\\n|$)';
    else if (c === '(' && p.startsWith('(?P<', i)) {
      // RE2's named group (?P<name>re) is JS's (?<name>re).
      out += '(?<';
      i += 3;
    } else if (c === '(' && p[i + 1] === '?' && /^\(\?[ims]+\)/.test(p.slice(i))) fail('inline flags after the start are not modelled');
    else out += c;
  }
  const re = new RegExp(out, `u${flags.has('i') ? 'i' : ''}`);
  re2Cache.set(pattern, re);
  return re;
}

// ---------------------------------------------------------------------------------------------
// IP functions: KQL parses the address (IPv4 also with a /prefix, leading zeros allowed), null if it cannot.

function kqlIpv4(text: string): { bytes: Uint8Array; prefix: number } | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return null;
    bytes[i] = n;
  }
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  return prefix > 32 ? null : { bytes, prefix };
}

function kqlIpv6(text: string): { bytes: Uint8Array; prefix: number } | null {
  const [addr, pre, ...rest] = text.split('/');
  if (rest.length) return null;
  let bytes: Uint8Array | undefined;
  const v4 = kqlIpv4(addr!);
  if (v4 && v4.prefix === 32) {
    bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(v4.bytes, 12);
  } else if (addr!.includes(':') && !addr!.includes('%')) bytes = parseIpv6(addr!);
  if (!bytes) return null;
  const prefix = pre === undefined ? 128 : Number(pre);
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= 128 ? { bytes, prefix } : null;
}

function inAnyRange(parse: (t: string) => { bytes: Uint8Array; prefix: number } | null, ip: KValue, ranges: KValue[]): KValue {
  const a = parse(str(ip, 'ip function'));
  if (!a) return null;
  let any = false;
  for (const r of ranges) {
    const n = parse(str(r, 'ip range'));
    if (!n) return null;
    if (inNetwork(a.bytes, n.bytes, Math.min(a.prefix, n.prefix))) any = true;
  }
  return any;
}

// ---------------------------------------------------------------------------------------------
// Time

/** ISO 8601 week of a UTC time (week 1 holds the year's first Thursday), independently of src/runtime. */
function isoWeekOf(ms: number): number {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const jan4 = Date.UTC(year, 0, 4);
  const jan4day = (new Date(jan4).getUTCDay() + 6) % 7;
  const week1Thursday = jan4 - jan4day * 86_400_000 + 3 * 86_400_000;
  return 1 + Math.round((thursday - week1Thursday) / (7 * 86_400_000));
}

function timespanOf(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(d|h|m|s|ms)$/.exec(text);
  if (!m) fail(`timespan ${text}`);
  const n = Number(m[1]);
  return n * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as 'd' | 'h' | 'm' | 's' | 'ms'];
}

// ---------------------------------------------------------------------------------------------
// Expressions

/**
 * KQL's `has`, from Microsoft Learn ("String operators", "has operator"): a string's terms are its
 * maximal runs of ASCII letters and digits, and `has` holds when the right side is a whole term of
 * the left. A right side with other characters in it is a phrase (docs/semantics.md 4a): it occurs
 * in the left side, and no term continues it past an end that is a term character. Terms are cut on
 * the left side as written; ignore-case compares by ordinal ignore-case (upperFold).
 */
function kqlHas(lhs: string, rhs: string, ci: boolean): boolean {
  const isTerm = (ch: string | undefined): boolean => ch !== undefined && /^[A-Za-z0-9]$/.test(ch);
  const units = (x: string): string[] => [...x].flatMap((c) => (c.length === 2 ? [c, ''] : [c]));
  // Compare code point by code point so that positions in `lhs` stay those of the text as written.
  const a = units(lhs);
  const b = [...rhs];
  const same = (x: string, y: string): boolean => (ci ? upperFold(x) === upperFold(y) : x === y);
  for (let i = 0; i + b.length <= a.length; i++) {
    let ok = true;
    let j = i;
    for (const ch of b) {
      if (a[j] === undefined || !same(a[j]!, ch)) {
        ok = false;
        break;
      }
      j += ch.length;
    }
    if (!ok) continue;
    if (isTerm(b[0]) && isTerm(a[i - 1])) continue;
    if (isTerm(b[b.length - 1]) && isTerm(a[j])) continue;
    return true;
  }
  return false;
}
/**
 * `parse_urlquery(q)` (MS Learn): `{"Query Parameters": {"k1": "v1", ...}}` for a query of the
 * documented form `key=value&...`. Whether values are percent-decoded (or `+` read as a space), and
 * what a part without `=`, an empty key or a repeated key gives, is not documented: Unmodelled.
 */
function parseUrlQuery(q: string): KValue {
  const params: Record<string, string> = {};
  for (const part of q.split('&')) {
    const i = part.indexOf('=');
    const key = part.slice(0, i);
    if (i <= 0 || /[%+]/.test(part) || Object.prototype.hasOwnProperty.call(params, key)) {
      throw new Unmodelled(`parse_urlquery(${JSON.stringify(q)}): the documentation defines key=value parts joined by & (not ${JSON.stringify(part)}${i > 0 && !/[%+]/.test(part) ? ', a repeated key' : ''})`);
    }
    params[key] = part.slice(i + 1);
  }
  return { dyn: { 'Query Parameters': params } };
}

/**
 * `replace_regex(source, regex, rewrite)` (MS Learn): every non-overlapping match of the RE2 regex
 * replaced by the rewrite, where `\0` is the whole match and `\1`... `\9` the capture groups.
 */
function replaceRegex(source: string, regex: string, rewrite: string): string {
  const re = re2ToJs(regex);
  return source.replace(new RegExp(re.source, `${re.flags}g`), (...args: unknown[]) => {
    // The replacer's arguments: the match, its groups (undefined when not taking part), then the offset.
    const groups = args.slice(0, args.findIndex((x) => typeof x === 'number'));
    return rewrite.replace(/\\(\d)/g, (_, d: string) => (groups[Number(d)] as string | undefined) ?? '');
  });
}

const AGGREGATES = new Set(['count', 'countif', 'maxif', 'sumif', 'make_set', 'make_set_if', 'make_list_if']);

const STRING_OPS: Record<string, (a: string, b: string) => boolean> = {
  has: (a, b) => kqlHas(a, b, true),
  '!has': (a, b) => !kqlHas(a, b, true),
  has_cs: (a, b) => kqlHas(a, b, false),
  '!has_cs': (a, b) => !kqlHas(a, b, false),
  '=~': (a, b) => upperFold(a) === upperFold(b),
  '!~': (a, b) => upperFold(a) !== upperFold(b),
  contains: (a, b) => upperFold(a).includes(upperFold(b)),
  '!contains': (a, b) => !upperFold(a).includes(upperFold(b)),
  contains_cs: (a, b) => a.includes(b),
  '!contains_cs': (a, b) => !a.includes(b),
  startswith: (a, b) => upperFold(a).startsWith(upperFold(b)),
  startswith_cs: (a, b) => a.startsWith(b),
  endswith: (a, b) => upperFold(a).endsWith(upperFold(b)),
  endswith_cs: (a, b) => a.endsWith(b),
};

/** What a row's expressions may read beyond the row: the group of a `summarize`, the previous row of a serialized set. */
export interface RowContext {
  /** The rows of the group an aggregate function (`count()`, `maxif()`...) reads. */
  group?: Row[];
  /** The previous row for `prev()`: null on the first row, undefined where the rows are not serialized. */
  prev?: Row | null;
}

/** A computed column: its value, or why the interpreter has none (Unmodelled). */
type Computed = { value: KValue } | { unknown: string };

/**
 * A function of a `let` (MS Learn, "User-defined functions"): `let f = (a:string, k:string = "x")
 * { let y = ...; expr };`. Scalar parameters with optional defaults; the body sees its parameters
 * and the names declared before the function, not the columns of the row it is called on
 * (Kusto.Language: a column name in the body is KS142, unknown name).
 */
interface UserFunction {
  params: { name: string; default?: SyntaxNode }[];
  lets: SyntaxNode[];
  body: SyntaxNode;
  vars: ReadonlyMap<string, KValue>;
  funcs: ReadonlyMap<string, UserFunction>;
}

export class Env {
  readonly vars = new Map<string, KValue>();
  readonly funcs = new Map<string, UserFunction>();
  /** Columns computed from an Unmodelled value, with the reason: reading one fails. */
  readonly unknown = new Map<string, string>();

  constructor(
    readonly row: Row,
    private readonly now: number,
    readonly context: RowContext = {},
    readonly exhaustive = false,
  ) {}

  /** An environment over another row that sees the same `let` names. */
  private child(row: Row, context: RowContext = {}): Env {
    const e = new Env(row, this.now, context, this.exhaustive);
    for (const [k, x] of this.vars) e.vars.set(k, x);
    for (const [k, f] of this.funcs) e.funcs.set(k, f);
    return e;
  }

  /** A `let` statement: a scalar (evaluated now) or a function (kept with the names it sees). */
  let(st: SyntaxNode): void {
    const [nameNode, expr] = nodesOf(st);
    const name = nameOf(nameNode!);
    if (expr!.kind !== 'FunctionDeclaration') {
      this.vars.set(name, this.eval(expr!));
      return;
    }
    const [paramsNode, bodyNode] = nodesOf(expr!);
    const params = elements(nodesOf(paramsNode!).find((c) => c.kind === 'List')).map((p) => {
      const [decl, def] = nodesOf(p);
      const [pname, type] = nodesOf(decl!);
      if (type?.kind !== 'PrimitiveTypeExpression') fail(`${name}(): the tabular parameter ${nameOf(pname!)} is not modelled`);
      return { name: nameOf(pname!), ...(def ? { default: nodesOf(def)[0]! } : {}) };
    });
    const inner = nodesOf(bodyNode!);
    const body = inner.find((c) => c.kind !== 'List') ?? fail(`${name}() has no body expression`);
    const lets = inner.filter((c) => c.kind === 'List').flatMap((l) => elements(l));
    this.funcs.set(name, { params, lets, body, vars: new Map(this.vars), funcs: new Map(this.funcs) });
  }

  /** A call of a `let` function: the arguments are evaluated on the caller's row, the body on none. */
  private callUser(name: string, fn: UserFunction, args: SyntaxNode[]): KValue {
    if (args.length > fn.params.length) fail(`${name}() takes ${fn.params.length} arguments, called with ${args.length}`);
    const inner = new Env({}, this.now, {}, this.exhaustive);
    for (const [k, x] of fn.vars) inner.vars.set(k, x);
    for (const [k, f] of fn.funcs) inner.funcs.set(k, f);
    fn.params.forEach((p, i) => {
      if (i < args.length) inner.vars.set(p.name, this.eval(args[i]!));
      else if (p.default) inner.vars.set(p.name, inner.eval(p.default));
      else fail(`${name}() needs a value for its parameter ${p.name}`);
    });
    for (const st of fn.lets) inner.let(st);
    return inner.eval(fn.body);
  }

  /** The value of a computed column, or why it has none. */
  compute(expr: SyntaxNode): Computed {
    try {
      return { value: this.eval(expr) };
    } catch (e) {
      if (e instanceof Unmodelled) return { unknown: e.message };
      throw e;
    }
  }

  /** A column read whole (`project C`, `extend C`): its value, or why it has none. */
  column(ref: SyntaxNode): Computed {
    const unknown = this.vars.has(nameOf(ref)) ? undefined : this.unknown.get(nameOf(ref));
    return unknown === undefined ? { value: this.eval(ref) } : { unknown };
  }

  setColumn(name: string, c: Computed): void {
    if ('value' in c) {
      this.row[name] = c.value;
      this.unknown.delete(name);
    } else {
      this.row[name] = null;
      this.unknown.set(name, c.unknown);
    }
  }

  /**
   * `mv-apply x = <array> to typeof(string) on (summarize a = countif(p), ...)`: the subquery runs
   * over one row per element, and its single summary row's columns are added to the record. A
   * record whose array is empty yields no subtable, so it is dropped (returns false).
   */
  mvApply(op: SyntaxNode): boolean {
    const exprs = elements(nodesOf(op).filter((c) => c.kind === 'List')[1]);
    if (exprs.length !== 1 || exprs[0]!.kind !== 'MvApplyExpression') fail('mv-apply with one expansion is modelled');
    const [named, toType] = nodesOf(exprs[0]!);
    const [nameDecl, arrayExpr] = nodesOf(named!);
    const name = nameOf(nameDecl!);
    const arr = this.eval(arrayExpr!);
    const items = isDyn(arr) && Array.isArray(arr.dyn) ? (arr.dyn as unknown[]) : [];
    if (items.length === 0) return false;
    const asString = toType !== undefined && JSON.stringify(toType).includes('StringKeyword');
    const sub = nodesOf(op).find((c) => c.kind === 'MvApplySubqueryExpression')!;
    const summarize = nodesOf(sub)[0]!;
    if (summarize.kind !== 'SummarizeOperator') fail(`mv-apply subquery ${summarize.kind} is not modelled`);
    const aggs = elements(nodesOf(summarize).filter((c) => c.kind === 'List')[1]);
    const results: Record<string, number> = {};
    for (const a of aggs) {
      const [aggName, call] = nodesOf(a);
      const [fn, argList] = nodesOf(call!);
      if (nameOf(fn!) !== 'countif') fail(`aggregate ${nameOf(fn!)} is not modelled`);
      const pred = elements(nodesOf(argList!)[0])[0]!;
      let count = 0;
      for (const item of items) {
        const value: KValue = asString ? toStr({ dyn: item }) : { dyn: item };
        const inner = this.child({ ...this.row, [name]: value });
        if (inner.eval(pred) === true) count++;
      }
      results[nameOf(aggName!)] = count;
    }
    Object.assign(this.row, results);
    return true;
  }

  eval(n: SyntaxNode): KValue {
    switch (n.kind) {
      case 'StringLiteralExpression':
        return n.children[0]!.valueText!;
      case 'LongLiteralExpression':
      case 'IntLiteralExpression':
      case 'RealLiteralExpression': {
        const t = n.children[0]!.text!;
        if (/^(long|int|real)\(null\)$/.test(t)) return null;
        const m = /^real\((.*)\)$/.exec(t);
        return Number(m ? m[1] : t);
      }
      case 'BooleanLiteralExpression':
        return n.children[0]!.text === 'true';
      case 'TimespanLiteralExpression':
        return { ts: timespanOf(n.children[0]!.text!) };
      case 'UnaryMinusExpression': {
        const v = num(this.eval(nodesOf(n)[0]!));
        return v === null ? null : -v;
      }
      case 'ParenthesizedExpression':
        return this.eval(nodesOf(n)[0]!);
      case 'NameReference': {
        const name = nameOf(n);
        if (this.vars.has(name)) return this.vars.get(name)!;
        const unknown = this.unknown.get(name);
        if (unknown !== undefined) return fail(`${name} has no modelled value: ${unknown}`);
        if (Object.prototype.hasOwnProperty.call(this.row, name)) return this.row[name]!;
        return fail(`unknown name ${name}`);
      }
      case 'DynamicExpression':
        return { dyn: this.json(nodesOf(n)[0]!) };
      case 'PathExpression': {
        const [base, member] = nodesOf(n);
        // `d.[k]`: the member named by an expression.
        if (member!.kind === 'BracketedExpression') return this.element(this.eval(base!), this.eval(nodesOf(member!)[0]!));
        return this.member(this.eval(base!), nameOf(member!));
      }
      case 'ElementExpression': {
        const [base, sel] = nodesOf(n);
        const key = this.eval(nodesOf(sel!)[0]!);
        return this.element(this.eval(base!), key);
      }
      case 'AndExpression': {
        const [l, r] = nodesOf(n);
        if (this.exhaustive) {
          const [a, b] = [this.eval(l!), this.eval(r!)];
          return and(a, () => b);
        }
        return and(this.eval(l!), () => this.eval(r!));
      }
      case 'OrExpression': {
        const [l, r] = nodesOf(n);
        if (this.exhaustive) {
          const [a, b] = [this.eval(l!), this.eval(r!)];
          return or(a, () => b);
        }
        return or(this.eval(l!), () => this.eval(r!));
      }
      case 'FunctionCallExpression':
        return this.call(n);
      case 'HasAnyExpression':
      case 'HasAllExpression': {
        const [l, exprList] = nodesOf(n);
        const a = str(this.eval(l!), n.kind);
        const items = list(elements(nodesOf(exprList!)[0]).map((e) => this.eval(e))).map((x) => str(x, n.kind));
        return n.kind === 'HasAnyExpression' ? items.some((x) => kqlHas(a, x, true)) : items.every((x) => kqlHas(a, x, true));
      }
      case 'InExpression':
      case 'InCsExpression':
      case 'NotInExpression':
      case 'NotInCsExpression':
        return this.inList(n);
      case 'BetweenExpression':
      case 'NotBetweenExpression':
        return this.between(n);
      case 'SubtractExpression':
      case 'AddExpression':
      case 'MultiplyExpression':
      case 'DivideExpression': {
        const [l, r] = nodesOf(n);
        const a = this.eval(l!);
        const b = this.eval(r!);
        if (a === null || b === null) return null;
        // Operands here are reals or a real and a long (rulec writes 100.0): no integer division.
        if (n.kind === 'DivideExpression') return num(a)! / num(b)!;
        if (n.kind === 'MultiplyExpression') return num(a)! * num(b)!;
        const sign = n.kind === 'SubtractExpression' ? -1 : 1;
        // datetime -/+ timespan is a datetime; datetime - datetime a timespan.
        if (isDt(a) && isTs(b)) return { dt: a.dt + sign * b.ts };
        if (isDt(a) && isDt(b) && sign < 0) return { ts: a.dt - b.dt };
        if (isTs(a) && isTs(b)) return { ts: a.ts + sign * b.ts };
        if (typeof a === 'number' && typeof b === 'number') return a + sign * b;
        return fail(`${n.kind} of ${JSON.stringify(a)} and ${JSON.stringify(b)} is not modelled`);
      }
      default:
        if (n.children.length === 3 && n.children[1]!.text !== undefined) return this.binary(n);
        if (n.kind === 'MatchesRegexExpression') return this.binary(n);
        return fail(`unsupported expression ${n.kind}`);
    }
  }

  /**
   * An aggregate over the rows of the summarize group: `count()`, `countif(p)` (rows where p is
   * true), `maxif(x, p)` and `sumif(x, p)` (over the non-null x of the rows where p is true; maxif of
   * no value is null, sumif of no value 0), `make_set(x)`, `make_set_if(x, p)` (distinct non-null
   * values, as a dynamic array), `make_list_if(x, p)` (every non-null value).
   */
  private aggregate(name: string, args: SyntaxNode[]): KValue {
    const group = this.context.group;
    if (!group) fail(`${name}() outside summarize`);
    const envs = group.map((r) => this.child(r));
    const where = (i: number): Env[] => envs.filter((e) => e.eval(args[i]!) === true);
    switch (name) {
      case 'count':
        return envs.length;
      case 'countif':
        return where(0).length;
      case 'maxif':
      case 'sumif': {
        const vals = where(1).map((e) => e.eval(args[0]!)).filter((x) => x !== null);
        if (name === 'sumif') return vals.reduce<number>((a, x) => a + num(x)!, 0);
        if (vals.length === 0) return null;
        let best = vals[0]!;
        for (const x of vals) if (num(x)! > num(best)!) best = x;
        return best;
      }
      case 'make_list_if': {
        const out: unknown[] = [];
        for (const e of where(1)) {
          const x = e.eval(args[0]!);
          if (x !== null) out.push(isDyn(x) ? x.dyn : x);
        }
        return { dyn: out };
      }
      case 'make_set':
      case 'make_set_if': {
        const rows = name === 'make_set' ? envs : where(1);
        const out: unknown[] = [];
        const seen = new Set<string>();
        for (const e of rows) {
          const x = e.eval(args[0]!);
          if (x === null) continue;
          const key = JSON.stringify(x);
          if (!seen.has(key)) seen.add(key), out.push(isDyn(x) ? x.dyn : x);
        }
        return { dyn: out };
      }
    }
    return fail(`aggregate ${name} is not modelled`);
  }

  private json(n: SyntaxNode): unknown {
    switch (n.kind) {
      case 'JsonArrayExpression':
        return elements(nodesOf(n)[0]).map((e) => this.json(e));
      case 'StringLiteralExpression':
      case 'LongLiteralExpression':
      case 'RealLiteralExpression':
      case 'BooleanLiteralExpression':
        return this.eval(n);
      default:
        return fail(`unsupported dynamic literal ${n.kind}`);
    }
  }

  /** Numbers (`/` is not modelled: long / long truncates), datetime +/- timespan; null in, null out. */
  private arithmetic(op: string, a: KValue, b: KValue): KValue {
    if (a === null || b === null) return null;
    if (isDt(a) && isTs(b) && (op === '+' || op === '-')) return { dt: op === '+' ? a.dt + b.ts : a.dt - b.ts };
    if (isTs(a) && isDt(b) && op === '+') return { dt: a.ts + b.dt };
    if (isDt(a) && isDt(b) && op === '-') return { ts: a.dt - b.dt };
    if (isTs(a) && isTs(b) && (op === '+' || op === '-')) return { ts: op === '+' ? a.ts + b.ts : a.ts - b.ts };
    if (typeof a === 'number' && typeof b === 'number') return op === '+' ? a + b : op === '-' ? a - b : a * b;
    return fail(`arithmetic ${op} on ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
  }

  /** `b[key]`: an array element by its index (negative from the end; null outside the array), or a member. */
  private element(b: KValue, key: KValue): KValue {
    if (typeof key === 'number') {
      if (b === null || !isDyn(b) || !Array.isArray(b.dyn)) return { dyn: null };
      const i = key < 0 ? b.dyn.length + key : key;
      return { dyn: i >= 0 && i < b.dyn.length ? (b.dyn[i] as unknown) : null };
    }
    return this.member(b, str(key, 'element access'));
  }

  private member(base: KValue, key: string): KValue {
    if (base === null) return { dyn: null };
    if (!isDyn(base)) fail(`member access on a non-dynamic value`);
    const o = base.dyn;
    if (o === null || typeof o !== 'object' || Array.isArray(o) || !Object.prototype.hasOwnProperty.call(o, key)) return { dyn: null };
    return { dyn: (o as Record<string, unknown>)[key] };
  }

  private binary(n: SyntaxNode): KValue {
    const [l, r] = nodesOf(n);
    const op = tokensOf(n)
      .map((t) => t.text)
      .join(' ');
    const a = this.eval(l!);
    const b = this.eval(r!);
    if (op === 'matches regex') return boundedTest(re2ToJs(str(b, 'regex')), str(a, 'matches regex'));
    const sop = STRING_OPS[op] ?? NATIVE_STRING_OPS[op];
    if (sop) return sop(str(a, op), str(b, op));
    switch (op) {
      case '+':
      case '-':
      case '*':
        return this.arithmetic(op, a, b);
      case '==':
        return equal(a, b);
      case '!=':
        return a === null || b === null ? true : !equal(a, b);
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const x = num(a);
        const y = num(b);
        if (x === null || y === null) return null;
        return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
      }
    }
    return fail(`unsupported operator ${op} (${n.kind})`);
  }

  private inList(n: SyntaxNode): KValue {
    const [l, exprList] = nodesOf(n);
    const op = tokensOf(n)[0]!.text!;
    const a = this.eval(l!);
    const items = list(elements(nodesOf(exprList!)[0]).map((e) => this.eval(e)));
    const ci = op.endsWith('~');
    const hit = items.some((x) => (ci ? upperFold(str(a, op)) === upperFold(str(x, op)) : equal(a, x)));
    return op.startsWith('!') ? !hit : hit;
  }

  /** `x between (lo .. hi)`, inclusive; null when any side is null. */
  private between(n: SyntaxNode): KValue {
    const [l, couple] = nodesOf(n);
    const [lo, hi] = nodesOf(couple!);
    const x = num(this.eval(l!));
    const a = num(this.eval(lo!));
    const b = num(this.eval(hi!));
    if (x === null || a === null || b === null) return null;
    const inside = x >= a && x <= b;
    return n.kind === 'NotBetweenExpression' ? !inside : inside;
  }

  /**
   * The project family changes the columns, not which rows pass: `project` keeps the listed columns
   * (computing `name = expr`), `project-away` drops, `project-keep` keeps, `project-rename` renames;
   * a later operator reading a dropped column then fails as Kusto would reject it.
   */
  project(op: SyntaxNode): void {
    const items = elements(nodesOf(op).find((c) => c.kind === 'List'));
    const row = this.row as Record<string, KValue>;
    const named = (e: SyntaxNode): [string, SyntaxNode] => {
      const [name, expr] = nodesOf(e);
      return [nameOf(name!), expr!];
    };
    switch (op.kind) {
      case 'ProjectOperator': {
        // Like extend, every expression reads the input row; a column with no modelled value is
        // carried as such.
        const out: [string, Computed][] = items.map((e) => {
          if (e.kind === 'SimpleNamedExpression') {
            const [name, expr] = named(e);
            return [name, this.compute(expr)];
          }
          if (e.kind !== 'NameReference') fail(`project of ${e.kind} is not modelled`);
          return [nameOf(e), this.column(e)];
        });
        for (const k of Object.keys(row)) delete row[k];
        this.unknown.clear();
        for (const [name, c] of out) this.setColumn(name, c);
        break;
      }
      case 'ProjectAwayOperator':
        for (const e of items) {
          delete row[nameOf(e)];
          this.unknown.delete(nameOf(e));
        }
        break;
      case 'ProjectKeepOperator': {
        const keep = new Set(items.map(nameOf));
        for (const k of Object.keys(row)) if (!keep.has(k)) delete row[k];
        for (const k of [...this.unknown.keys()]) if (!keep.has(k)) this.unknown.delete(k);
        break;
      }
      case 'ProjectRenameOperator':
        for (const e of items) {
          const [name, expr] = named(e);
          const old = nameOf(expr);
          // A typed null is a value: only a column the row lacks is unknown.
          if (!Object.prototype.hasOwnProperty.call(row, old)) fail(`unknown name ${old}`);
          row[name] = row[old]!;
          delete row[old];
          const unknown = this.unknown.get(old);
          this.unknown.delete(old);
          if (unknown === undefined) this.unknown.delete(name);
          else this.unknown.set(name, unknown);
        }
        break;
    }
  }

  private call(n: SyntaxNode): KValue {
    const [fn, argList] = nodesOf(n);
    const name = nameOf(fn!);
    const args = elements(nodesOf(argList!)[0]);
    const v = (i: number): KValue => this.eval(args[i]!);
    const user = this.funcs.get(name);
    if (user) return this.callUser(name, user, args);
    if (AGGREGATES.has(name)) return this.aggregate(name, args);
    switch (name) {
      case 'prev': {
        if (this.context.prev === undefined) fail('prev() needs serialized rows (after sort or serialize)');
        if (args.length !== 1) fail('prev() with an offset or default is not modelled');
        if (this.context.prev === null) return null;
        return this.child(this.context.prev).eval(args[0]!);
      }
      case 'array_sort_asc': {
        // Numbers ascending (the only arrays rulec sorts); nulls would go last.
        const x = v(0);
        if (!isDyn(x) || !Array.isArray(x.dyn)) return { dyn: null };
        if (!x.dyn.every((e) => typeof e === 'number')) fail('array_sort_asc of non-numbers is not modelled');
        return { dyn: [...(x.dyn as number[])].sort((a, b) => a - b) };
      }
      case 'bin': {
        // bin(datetime, timespan): rounded down to a multiple of the span (from the epoch).
        const x = v(0);
        const span = v(1);
        if (x === null) return null;
        if (!isDt(x) || !isTs(span)) fail('bin() of a datetime by a timespan is modelled');
        return { dt: Math.floor(x.dt / span.ts) * span.ts };
      }
      case 'max_of': {
        const xs = args.map((_, i) => num(v(i)));
        return xs.some((x) => x === null) ? null : Math.max(...(xs as number[]));
      }
      case 'ceiling': {
        const x = num(v(0));
        return x === null ? null : Math.ceil(x);
      }
      case 'array_length': {
        const x = v(0);
        return isDyn(x) && Array.isArray(x.dyn) ? x.dyn.length : null;
      }
      case 'not': {
        const x = v(0);
        return x === null ? null : !x;
      }
      case 'isempty':
      case 'isnotempty': {
        const x = v(0);
        const empty = x === null || x === '' || (isDyn(x) && (x.dyn === null || x.dyn === undefined || x.dyn === ''));
        return name === 'isempty' ? empty : !empty;
      }
      case 'isnull':
      case 'isnotnull': {
        const x = v(0);
        const isNull = x === null || (isDyn(x) && (x.dyn === null || x.dyn === undefined));
        return name === 'isnull' ? isNull : !isNull;
      }
      case 'tostring':
        return toStr(v(0));
      case 'toint':
      case 'tolong': {
        const x = v(0);
        if (x === null) return null;
        if (typeof x === 'number') return Math.trunc(x);
        const t = toStr(x).trim();
        return /^[+-]?\d+$/.test(t) ? Number(t) : null;
      }
      case 'tolower':
        return toStr(v(0)).toLowerCase();
      case 'toupper':
        return toStr(v(0)).toUpperCase();
      case 'strlen':
        return toStr(v(0)).length;
      case 'todouble':
      case 'toreal': {
        const x = v(0);
        if (x === null) return null;
        if (typeof x === 'number') return x;
        const t = toStr(x);
        return /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(t) ? Number(t) : null;
      }
      case 'parse_json':
      case 'todynamic':
      case 'toobject':
      case 'parsejson': {
        const x = v(0);
        if (isDyn(x)) return x;
        const t = toStr(x);
        try {
          return { dyn: JSON.parse(t) };
        } catch {
          return { dyn: t };
        }
      }
      case 'parse_urlquery':
      case 'parseurlquery':
        return parseUrlQuery(toStr(v(0)));
      case 'replace_regex':
        return replaceRegex(toStr(v(0)), str(v(1), 'replace_regex regex'), str(v(2), 'replace_regex rewrite'));
      case 'replace':
        // The deprecated alias keeps its own argument order (Kusto.Language: regex, rewrite, source).
        return replaceRegex(toStr(v(2)), str(v(0), 'replace regex'), str(v(1), 'replace rewrite'));
      case 'extract': {
        const re = re2ToJs(str(v(0), 'extract regex'));
        const group = num(v(1))!;
        const m = re.exec(str(v(2), 'extract source'));
        return m ? (m[group] ?? '') : '';
      }
      case 'extract_all': {
        // Every match: its one capture group's text, or the array of its groups' texts; null for none.
        const re = re2ToJs(str(v(0), 'extract_all regex'));
        const text = toStr(v(args.length - 1));
        const all = [...text.matchAll(new RegExp(re.source, `${re.flags}g`))];
        if (all.length === 0) return null;
        if (args.length !== 2) fail('extract_all with a captureGroups list is not modelled');
        return { dyn: all.map((m) => (m.length === 2 ? (m[1] ?? '') : m.length > 2 ? m.slice(1).map((g) => g ?? '') : m[0])) };
      }
      case 'column_ifexists': {
        // The column when the row has it, else the default (Kusto decides this from the schema).
        const name = str(v(0), 'column_ifexists');
        return Object.prototype.hasOwnProperty.call(this.row, name) ? this.row[name]! : v(1);
      }
      case 'strcat':
        return args.map((_, i) => toStr(v(i))).join('');
      case 'iff':
      case 'iif':
        return v(0) === true ? v(1) : v(2);
      case 'case': {
        for (let i = 0; i + 1 < args.length; i += 2) if (v(i) === true) return v(i + 1);
        return v(args.length - 1);
      }
      case 'substring': {
        const t = toStr(v(0));
        const start = Math.max(0, num(v(1)) ?? 0);
        return args.length > 2 ? t.slice(start, start + Math.max(0, num(v(2)) ?? 0)) : t.slice(start);
      }
      case 'coalesce': {
        for (let i = 0; i < args.length; i++) {
          const x = v(i);
          if (x !== null && x !== '' && !(isDyn(x) && (x.dyn === null || x.dyn === undefined))) return x;
        }
        return null;
      }
      case 'bag_keys': {
        const x = v(0);
        return isDyn(x) && x.dyn !== null && typeof x.dyn === 'object' && !Array.isArray(x.dyn) ? { dyn: Object.keys(x.dyn) } : { dyn: null };
      }
      case 'array_concat': {
        const out: unknown[] = [];
        for (let i = 0; i < args.length; i++) {
          const x = v(i);
          if (!isDyn(x) || !Array.isArray(x.dyn)) return { dyn: null };
          out.push(...x.dyn);
        }
        return { dyn: out };
      }
      case 'ipv4_is_in_range':
        return inAnyRange(kqlIpv4, v(0), [v(1)]);
      case 'ipv4_is_private':
        return inAnyRange(kqlIpv4, v(0), IPV4_PRIVATE_RANGES);
      case 'ipv4_is_in_any_range':
        // The ranges are arguments or one dynamic array of them.
        return inAnyRange(kqlIpv4, v(0), list(args.slice(1).map((_, i) => v(i + 1))));
      case 'ipv6_is_in_range':
        return inAnyRange(kqlIpv6, v(0), [v(1)]);
      case 'ipv6_is_in_any_range':
        return inAnyRange(kqlIpv6, v(0), args.slice(1).map((_, i) => v(i + 1)));
      case 'ago': {
        const t = v(0);
        if (!isTs(t)) fail('ago() takes a timespan');
        return { dt: this.now - t.ts };
      }
      case 'hourofday':
      case 'dayofmonth':
      case 'getmonth':
      case 'getyear':
      case 'week_of_year':
      case 'datetime_part': {
        const x = name === 'datetime_part' ? v(1) : v(0);
        if (x === null) return null;
        if (!isDt(x)) fail(`${name} takes a datetime`);
        const d = new Date(x.dt);
        if (name === 'datetime_part') {
          const part = str(v(0), 'datetime_part');
          if (part !== 'minute') fail(`datetime_part ${part} is not modelled`);
          return d.getUTCMinutes();
        }
        if (name === 'hourofday') return d.getUTCHours();
        if (name === 'dayofmonth') return d.getUTCDate();
        if (name === 'getmonth') return d.getUTCMonth() + 1;
        if (name === 'getyear') return d.getUTCFullYear();
        return isoWeekOf(x.dt);
      }
      default:
        return fail(`unsupported function ${name}`);
    }
  }
}
