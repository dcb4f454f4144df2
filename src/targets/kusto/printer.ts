/**
 * IR -> KQL boolean expression. One function per IR leaf kind (`printStr` is where `contains`
 * becomes KQL), plus the boolean nodes. Every expression carries its precedence, so parentheses
 * are placed explicitly, and whether it can evaluate to null: KQL typed columns are null when
 * empty and comparisons with null are null, `where` drops null rows and `not(null)` is null, so a
 * `not` over a nullable expression is written `not(coalesce(e, false))` to keep the logic
 * two-valued (docs/semantics.md section 2).
 */
import { compileNode, EventView } from '../../eval/index.js';
import type { CidrLeaf, FieldRefLeaf, GlobLeaf, HasLeaf, KeywordLeaf, Leaf, Node, NullLeaf, NumLeaf, OrNode, RegexLeaf, StrLeaf, BoolLeaf, ExistsLeaf, TimePart } from '../../ir/types.js';
import { fold } from '../../runtime/fold.js';
import { TargetFailure } from '../types.js';
import { identifier, isLiteralSafe, numberLiteral, re2Literal, regexLiteral, stringLiteral } from './dialect.js';
import type { ColumnType, FieldAccess, ValueAccess } from './mapping.js';
import { globToRe2, jsRegexToRe2 } from './re2.js';

export const enum Prec {
  Or = 0,
  And = 1,
  Atom = 2,
}

export interface Expr {
  text: string;
  prec: Prec;
  /** The expression can be null (typed column comparisons, range functions). */
  nullable: boolean;
  /** For an `or`: its operands, already parenthesized (lets the query layout break long lines). */
  parts?: string[];
  /** Set for the constants `true` / `false` (folded away by and/or/not). */
  value?: boolean;
  /** An equality `lhs =~ rhs` / `lhs == rhs`: sibling equalities on one side merge into `in~` / `in`. */
  eq?: { lhs: string; op: '=~' | '=='; rhs: string };
}

/** `lhs =~ value` / `lhs == value`; a value KQL's ignore-case does not fold as rulec does is an anchored `(?is)` regex (foldsLikeRulec). */
function equality(lhs: string, ci: boolean, value: string): Expr {
  if (ci && !foldsLikeRulec(value)) return regexMatch(lhs, `(?is)^${re2Literal(value)}$`);
  const op = ci ? '=~' : '==';
  const rhs = stringLiteral(value);
  return { text: `${lhs} ${op} ${rhs}`, prec: Prec.Atom, nullable: false, eq: { lhs, op, rhs } };
}

/**
 * KQL's case-insensitive operators (`=~`, `in~`, `contains`, ...) compare by .NET ordinal ignore-case,
 * simple uppercase mapping: `ẞ` (U+1E9E) has no other uppercase and `ß` none at all, so they never
 * meet, while rulec folds `ẞ` to `ß` (docs/semantics.md section 3). RE2's `(?i)` folds them together
 * (Unicode simple case folding), so a case-insensitive value holding either is written as a regex.
 */
export function foldsLikeRulec(value: string): boolean {
  return !/[\u00df\u1e9e]/.test(value);
}

/** What the printer needs from the query being assembled: field reads, keyword columns, named lists. */
export interface Scope {
  access(field: string): FieldAccess;
  /** A KQL expression reading a column or JSON field, with its type (JSON fields are strings). */
  read(field: string, access: ValueAccess): { text: string; type: ColumnType };
  /** Columns that hold every value of an event, with their types; throws when the view has none. */
  keywordColumns(): { column: string; type: ColumnType }[];
  /**
   * A count, per row, of the values of a dynamic bag column for which `test` (given a value's text)
   * holds; returns the name of the column holding it.
   */
  bagCount(column: string, test: (value: string) => string): string;
  /** Declares `let <name> = dynamic([...])` and returns the name to use. */
  list(param: string, values: string[]): string;
  /** Declares the parameter's list for readers of the query even though no exact list form exists. */
  declareUnused(param: string): void;
}

const atom = (text: string, nullable = false): Expr => ({ text, prec: Prec.Atom, nullable });
const TRUE: Expr = { text: 'true', prec: Prec.Atom, nullable: false, value: true };
const FALSE: Expr = { text: 'false', prec: Prec.Atom, nullable: false, value: false };

function unsupported(msg: string): never {
  throw new TargetFailure('unsupported', msg);
}

export function printNode(n: Node, s: Scope): Expr {
  switch (n.kind) {
    case 'const':
      return n.value ? TRUE : FALSE;
    case 'and':
      return printAnd(n.children, s);
    case 'or':
      return n.param ? printParamGroup(n, s) : printOr(n.children, s);
    case 'not':
      return printNot(n.child, s);
    default:
      return printLeaf(n, s);
  }
}

function printLeaf(n: Leaf, s: Scope): Expr {
  if (n.kind !== 'keyword') {
    const a = s.access(n.field);
    if (a.kind === 'domain') {
      if (n.kind === 'fieldref') unsupported(`field '${n.field}' has a fixed set of stored values in this table; it cannot be compared with field '${n.other}'`);
      return printDomain(n, a);
    }
    if (a.kind === 'basename') {
      const name = n.kind === 'str' && n.op === 'suffix' ? fileNameOf(n.value) : undefined;
      if (name === undefined) unsupported(basenameOnly(n.field, a.basename));
      return equality(identifier(a.basename), (n as StrLeaf).case === 'ci', name);
    }
  }
  switch (n.kind) {
    case 'str':
      return printStr(n, s);
    case 'glob':
      return printGlob(n, s);
    case 'regex':
      return printRegex(n, s);
    case 'cidr':
      return printCidr([n], s);
    case 'num':
      return printNum(n, s);
    case 'bool':
      return printBool(n, s);
    case 'exists':
      return printExists(n, s);
    case 'null':
      return printNull(n, s);
    case 'fieldref':
      return printFieldref(n, s);
    case 'keyword':
      return printKeyword(n, s);
    case 'has':
      return printHas(n, s);
  }
}

// ---------------------------------------------------------------------------------------------
// Boolean nodes

function wrap(e: Expr, min: Prec): string {
  return e.prec < min ? `(${e.text})` : e.text;
}

function printAnd(children: Node[], s: Scope): Expr {
  const es: Expr[] = [];
  for (const c of hasGroups(children, s)) {
    const e = Array.isArray(c) ? printHasGroup(c as HasLeaf[], 'has_all', s) : printNode(c, s);
    if (e.value === false) return FALSE;
    if (e.value !== true) es.push(e);
  }
  if (es.length === 0) return TRUE;
  if (es.length === 1) return es[0]!;
  return chunked(es, Prec.And);
}

/**
 * Kusto's parser nests `a or b or c ...` one level per operand and refuses queries nested too deep
 * (KS245), so long chains are split into parenthesized groups of at most CHUNK operands: the same
 * boolean (and/or are associative), nested only logarithmically.
 */
const CHUNK = 16;

function chunked(es: Expr[], prec: Prec.And | Prec.Or): Expr {
  const op = prec === Prec.And ? ' and ' : ' or ';
  // `and` binds tighter than `or`: parenthesize `and` operands of `or` for the reader, `or` operands of `and` for meaning.
  const part = (e: Expr): string => (prec === Prec.Or ? (e.prec === Prec.And ? `(${e.text})` : e.text) : wrap(e, Prec.Atom));
  let parts = es.map(part);
  while (parts.length > CHUNK) {
    const groups: string[] = [];
    for (let i = 0; i < parts.length; i += CHUNK) {
      const g = parts.slice(i, i + CHUNK);
      groups.push(g.length === 1 ? g[0]! : `(${g.join(op)})`);
    }
    parts = groups;
  }
  return { text: parts.join(op), prec, nullable: es.some((e) => e.nullable), ...(prec === Prec.Or ? { parts } : {}) };
}

function printOr(children: Node[], s: Scope): Expr {
  // Sibling CIDR tests of one field and family become one `ipv4_is_in_any_range` call, printed
  // where the first of them stands.
  const groups = new Map<string, CidrLeaf[]>();
  const items: (Node | CidrLeaf[] | HasLeaf[])[] = [];
  for (const c of children) {
    if (c.kind === 'cidr' && s.access(c.field).kind !== 'domain') {
      const k = `${c.family}/${c.field}`;
      const g = groups.get(k);
      if (g) g.push(c);
      else {
        const ng = [c];
        groups.set(k, ng);
        items.push(ng);
      }
    } else items.push(c);
  }
  const printed: Expr[] = [];
  for (const it of hasGroups(items, s)) {
    const e = Array.isArray(it) ? (it[0]!.kind === 'has' ? printHasGroup(it as HasLeaf[], 'has_any', s) : printCidr(it as CidrLeaf[], s)) : printNode(it, s);
    if (e.value === true) return TRUE;
    if (e.value !== false) printed.push(e);
  }
  const es = mergeEqualities(printed);
  if (es.length === 0) return FALSE;
  if (es.length === 1) return es[0]!;
  return chunked(es, Prec.Or);
}

/** `F =~ "a" or F =~ "b"` -> `F in~ ("a", "b")`: `in~` is defined as that disjunction. */
function mergeEqualities(es: Expr[]): Expr[] {
  const groups = new Map<string, Expr[]>();
  for (const e of es) {
    if (!e.eq) continue;
    const k = `${e.eq.op} ${e.eq.lhs}`;
    const g = groups.get(k);
    if (g) g.push(e);
    else groups.set(k, [e]);
  }
  const out: Expr[] = [];
  for (const e of es) {
    const g = e.eq ? groups.get(`${e.eq.op} ${e.eq.lhs}`)! : undefined;
    if (!g || g.length === 1) out.push(e);
    else if (g[0] === e) out.push(atom(`${e.eq!.lhs} ${e.eq!.op === '=~' ? 'in~' : 'in'} (${g.map((x) => x.eq!.rhs).join(', ')})`));
  }
  return out;
}

function printNot(child: Node, s: Scope): Expr {
  if (child.kind === 'has' && hasLiteral(child, s)) return atom(`${textOf(child.field, s)} !${hasOp(child)} ${stringLiteral(child.value)}`);
  const e = printNode(child, s);
  if (e.value !== undefined) return e.value ? FALSE : TRUE;
  return atom(e.nullable ? `not(coalesce(${e.text}, false))` : `not(${e.text})`);
}

/**
 * An `or` that expands a rule parameter. It is rendered by name when a list form matches exactly
 * the same events as the expansion:
 * - equality: `F in~ (name)`, the membership form of `F =~ v1 or F =~ v2 ...`;
 * - suffixes that are file extensions (`.ext`: one dot, at the start): `extract(@"(\.[^.]*)$", 1, F) in~ (name)`.
 *   Proof: if F ends with `.ext`, the last dot of F is the dot of `.ext` (no dot follows it), so the
 *   text from F's last dot to its end is `.ext`; conversely if that text is `.ext`, F ends with it.
 *   RE2 `[^.]` also matches newlines, `$` is the end of the text, and `extract` gives "" when F has
 *   no dot, which is not in the list. Case folding never maps a character to or from `.`.
 * - suffixes `\name` on a field with a file-name column: `FileName in~ (names)`, the membership
 *   form of the file-name test each of them is (see printStr).
 * Otherwise the expansion is printed (`has_any` would be a term match, not a suffix), and the list
 * is still declared so the query keeps the rule's vocabulary.
 */
function printParamGroup(n: OrNode, s: Scope): Expr {
  const name = n.param!.name;
  const leaves = n.children;
  const first = leaves[0];
  if (first && first.kind === 'str' && leaves.every((c) => c.kind === 'str' && c.field === first.field && c.op === first.op && c.case === first.case)) {
    const strs = leaves as StrLeaf[];
    const a = s.access(first.field);
    const values = strs.map((c) => c.value);
    const safe = values.every((v) => v !== '' && isLiteralSafe(v) && (first.case === 'cs' || foldsLikeRulec(v)));
    const op = first.case === 'ci' ? 'in~' : 'in';
    const base = a.kind === 'basename' ? a.basename : a.kind === 'column' ? a.basename : undefined;
    if (safe && a.kind !== 'basename' && a.kind !== 'domain' && first.op === 'eq') {
      return atom(`${textOf(first.field, s)} ${op} (${s.list(name, values)})`);
    }
    if (safe && a.kind !== 'basename' && a.kind !== 'domain' && first.op === 'suffix' && values.every((v) => /^\.[^.]*$/.test(v))) {
      const f = base && values.every((v) => !v.includes('\\')) ? identifier(base) : textOf(first.field, s);
      return atom(`extract(@"(\\.[^.]*)$", 1, ${f}) ${op} (${s.list(name, values)})`);
    }
    const names = values.map(fileNameOf);
    if (base && first.op === 'suffix' && names.every((x) => x !== undefined && (first.case === 'cs' || foldsLikeRulec(x)))) {
      return atom(`${identifier(base)} ${op} (${s.list(name, names as string[])})`);
    }
  }
  if (first && first.kind === 'has' && first.case === 'ci' && leaves.every((c) => c.kind === 'has' && c.field === first.field && c.case === 'ci' && hasLiteral(c, s))) {
    return atom(`${textOf(first.field, s)} has_any (${s.list(name, (leaves as HasLeaf[]).map((c) => c.value))})`);
  }
  s.declareUnused(name);
  return printOr(leaves, s);
}

// ---------------------------------------------------------------------------------------------
// Reading fields

/** The file name a suffix `\name` stands for (no other backslash), when a literal can hold it. */
function fileNameOf(suffix: string): string | undefined {
  return /^\\[^\\]+$/.test(suffix) && isLiteralSafe(suffix) ? suffix.slice(1) : undefined;
}

function basenameOnly(field: string, column: string): string {
  return `field '${field}': only its file name is stored here (${column}), which answers exactly only \`endswith '\\name'\` tests`;
}

/** A field's value expression; fields stored as a file name or as coded values cannot be read. */
function readValue(field: string, s: Scope): { text: string; type: ColumnType } {
  const a = s.access(field);
  if (a.kind === 'basename') return unsupported(basenameOnly(field, a.basename));
  if (a.kind === 'domain') return unsupported(`field '${field}' has a fixed set of stored values here and cannot be used this way`);
  return s.read(field, a);
}

/** The field as text: string columns as they are, numbers and booleans through `tostring`. */
function textOf(field: string, s: Scope): string {
  const r = readValue(field, s);
  switch (r.type) {
    case 'string':
      return r.text;
    case 'datetime':
    case 'timespan':
      return unsupported(`field '${field}' is a ${r.type} column; KQL's text of it is not the event's text, so string matching on it would not be exact (time parts such as |hour work)`);
    default:
      return `tostring(${r.text})`;
  }
}

/** A string matched by a regex (also the route for values a KQL literal cannot carry). */
function regexMatch(subject: string, re2: string): Expr {
  return atom(`${subject} matches regex ${regexLiteral(re2)}`);
}

// ---------------------------------------------------------------------------------------------
// Leaves

const STR_OPS = { prefix: 'startswith', suffix: 'endswith', contains: 'contains' } as const;

/** `str`: `=~` / `==`, `startswith`, `endswith`, `contains` and their `_cs` forms. */
function printStr(n: StrLeaf, s: Scope): Expr {
  const a = s.access(n.field);
  const v = n.value;
  if (v === '') return n.op === 'eq' ? atom(emptyTest(n.field, s)) : TRUE;
  // `\name` at the end of a path is the whole file name: an exact test on the basename column.
  const name = n.op === 'suffix' && a.kind === 'column' && a.basename ? fileNameOf(v) : undefined;
  if (name !== undefined) return equality(identifier((a as { basename: string }).basename), n.case === 'ci', name);
  const f = textOf(n.field, s);
  if (!isLiteralSafe(v) || (n.case === 'ci' && !foldsLikeRulec(v))) {
    const lit = re2Literal(v);
    const body = n.op === 'eq' ? `^${lit}$` : n.op === 'prefix' ? `^${lit}` : n.op === 'suffix' ? `${lit}$` : lit;
    return regexMatch(f, `(?${n.case === 'ci' ? 'i' : ''}s)${body}`);
  }
  if (n.op === 'eq') return equality(f, n.case === 'ci', v);
  return atom(`${f} ${STR_OPS[n.op]}${n.case === 'cs' ? '_cs' : ''} ${stringLiteral(v)}`);
}

/**
 * `has`: KQL's own term match, whose documented terms are those of docs/semantics.md section 4a,
 * so `has` / `has_cs` are exact by construction. A value KQL cannot write as a literal, or whose
 * ignore-case KQL folds otherwise (foldsLikeRulec), is the same match as an RE2 regex: the value
 * between a non-term character (or the text's end) on each side where it starts or ends with a term
 * character. (Under `(?i)` RE2's `[^A-Za-z0-9]` also excludes the Kelvin sign, as rulec's folding
 * to `k` does, and the long s `ſ`, which rulec keeps: a residual difference, docs/targets/kusto.md.)
 */
function printHas(n: HasLeaf, s: Scope): Expr {
  const f = textOf(n.field, s);
  if (hasLiteral(n, s)) return atom(`${f} ${hasOp(n)} ${stringLiteral(n.value)}`);
  const term = /[A-Za-z0-9]/;
  // The ends are read folded: a value starting with the Kelvin sign starts with a term character.
  const v = n.case === 'ci' ? fold(n.value) : n.value;
  const open = term.test(v[0]!) ? '(?:^|[^A-Za-z0-9])' : '';
  const close = term.test(v[v.length - 1]!) ? '(?:[^A-Za-z0-9]|$)' : '';
  return regexMatch(f, `(?${n.case === 'ci' ? 'i' : ''}s)${open}${re2Literal(n.value)}${close}`);
}

const hasOp = (n: HasLeaf): string => (n.case === 'cs' ? 'has_cs' : 'has');

/** The value can be KQL's literal operand of `has`, with KQL's folding the same as rulec's. */
function hasLiteral(n: HasLeaf, s: Scope): boolean {
  const a = s.access(n.field);
  return a.kind !== 'domain' && a.kind !== 'basename' && isLiteralSafe(n.value) && (n.case === 'cs' || foldsLikeRulec(n.value));
}

/**
 * Case-insensitive `has` leaves of one field among siblings, gathered where the first of them
 * stands: an `or` of them is `has_any`, an `and` `has_all` (KQL has no `_cs` form of either).
 */
function hasGroups<T extends Node | CidrLeaf[] | HasLeaf[]>(items: readonly T[], s: Scope): (T | HasLeaf[])[] {
  const groups = new Map<string, HasLeaf[]>();
  const out: (T | HasLeaf[])[] = [];
  for (const it of items) {
    if (!Array.isArray(it) && (it as Node).kind === 'has') {
      const h = it as unknown as HasLeaf;
      if (h.case === 'ci' && hasLiteral(h, s)) {
        const g = groups.get(h.field);
        if (g) {
          g.push(h);
          continue;
        }
        const ng = [h];
        groups.set(h.field, ng);
        out.push(ng);
        continue;
      }
    }
    out.push(it);
  }
  return out.map((it) => (Array.isArray(it) && it.length === 1 && (it[0] as Node).kind === 'has' ? (it[0] as unknown as T) : it));
}

/**
 * Top-level conjuncts (one `| where` each) with the case-insensitive `has` leaves of one field
 * gathered into one `and` where the first stands, so that `has|all` is one `has_all` line.
 */
export function withHasAll(conjuncts: readonly Node[]): Node[] {
  const groups = new Map<string, HasLeaf[]>();
  const out: (Node | HasLeaf[])[] = [];
  for (const c of conjuncts) {
    if (c.kind !== 'has' || c.case !== 'ci') out.push(c);
    else if (groups.has(c.field)) groups.get(c.field)!.push(c);
    else {
      const g = [c];
      groups.set(c.field, g);
      out.push(g);
    }
  }
  return out.map((c) => (!Array.isArray(c) ? c : c.length === 1 ? c[0]! : { kind: 'and', children: c }));
}

function printHasGroup(group: HasLeaf[], op: 'has_any' | 'has_all', s: Scope): Expr {
  return atom(`${textOf(group[0]!.field, s)} ${op} (${group.map((h) => stringLiteral(h.value)).join(', ')})`);
}

/** `glob`: an anchored RE2 match, `(?is)^...$` (`(?s)^...$` when cased); `*` alone matches everything. */
function printGlob(n: GlobLeaf, s: Scope): Expr {
  if (n.pattern.every((t) => typeof t !== 'string' && t.wildcard === '*')) return TRUE;
  return regexMatch(textOf(n.field, s), globToRe2(n.pattern, n.case === 'ci', true));
}

/** `regex`: the rule's ECMAScript pattern rewritten for RE2 (re2.ts), unanchored as KQL's `matches regex` is. */
function printRegex(n: RegexLeaf, s: Scope): Expr {
  const r = jsRegexToRe2(n.pattern, n.flags);
  if (!r.ok) unsupported(`the regex of field '${n.field}' cannot run in KQL (RE2) with the same meaning: ${r.reason}`);
  return regexMatch(textOf(n.field, s), r.source);
}

/** A dotted quad without leading zeros: the only IPv4 text rulec's `cidr` accepts. */
const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_TEXT = `^(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}$`;
/**
 * IPv6 text in rulec's alphabet: colon-separated groups of up to four hex digits, maybe ending in a
 * dotted quad, then an optional zone. Group counts and the single `::` are left to KQL's parser,
 * which (like rulec's) rejects the rest, returning null; a null verdict counts as no match.
 */
const IPV6_TEXT = `(?s)^(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET})(?:%.*)?$`;

/**
 * `cidr`: `ipv4_is_in_range` / `ipv6_is_in_range` (several networks of one family:
 * `ipv4_is_in_any_range`). KQL's parsers accept more than rulec's address text (leading zeros,
 * `a.b.c.d/n` on the left, IPv4 in the IPv6 functions) and return null for what they reject, so
 * the address text is first matched against rulec's syntax (IPV4_TEXT, IPV6_TEXT); the IPv6 zone is
 * dropped as rulec does.
 */
function printCidr(group: CidrLeaf[], s: Scope): Expr {
  const first = group[0]!;
  const f = textOf(first.field, s);
  const nets = group.map((c) => stringLiteral(`${c.network}/${c.prefix}`));
  if (first.family === 4) {
    const call = nets.length === 1 ? `ipv4_is_in_range(${f}, ${nets[0]})` : `ipv4_is_in_any_range(${f}, ${nets.join(', ')})`;
    return { text: `${f} matches regex ${regexLiteral(IPV4_TEXT)} and ${call}`, prec: Prec.And, nullable: false };
  }
  const addr = `extract(@"^[^%]*", 0, ${f})`;
  const call = nets.length === 1 ? `ipv6_is_in_range(${addr}, ${nets[0]})` : `ipv6_is_in_any_range(${addr}, ${nets.join(', ')})`;
  return { text: `${f} matches regex ${regexLiteral(IPV6_TEXT)} and ${call}`, prec: Prec.And, nullable: true };
}

const NUM_OPS = { eq: '==', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;
const DECIMAL_TEXT = '^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$';
const PART_FUNCS: Record<TimePart, (t: string) => string> = {
  minute: (t) => `datetime_part("minute", ${t})`,
  hour: (t) => `hourofday(${t})`,
  day: (t) => `dayofmonth(${t})`,
  week: (t) => `week_of_year(${t})`,
  month: (t) => `getmonth(${t})`,
  year: (t) => `getyear(${t})`,
};

/** The decimal texts equal to `v` (`4688` -> `^4688(?:\.0+)?$`), when the set has a short exact regex. */
function decimalTextsOf(v: number, exact?: string): string | undefined {
  if (exact !== undefined) return `^${re2Literal(exact)}(?:\\.0+)?$`;
  const t = String(v);
  if (/e/i.test(t)) return undefined;
  if (v === 0) return '^-?0(?:\\.0+)?$';
  if (Number.isInteger(v)) return `^${re2Literal(t)}(?:\\.0+)?$`;
  return `^${re2Literal(t)}0*$`;
}

/**
 * `num`: numeric columns compare directly; text compares only when it is a decimal number (no
 * leading zeros, no exponent), as rulec reads numbers; `part` takes a datetime column's UTC part.
 */
function printNum(n: NumLeaf, s: Scope): Expr {
  const r = readValue(n.field, s);
  const op = NUM_OPS[n.op];
  const v = n.exact ?? numberLiteral(n.value);
  // An integer beyond 2^53 (lowering keeps its text) is exact only where KQL compares it as a long.
  const longOnly = (how: string): void => {
    if (n.exact === undefined) return;
    if (how) unsupported(`'${n.field}' ${how}, a 64-bit float that cannot hold the integer ${n.exact} exactly`);
    const x = BigInt(n.exact);
    // -2^63 too: the literal is the negation of 2^63, which is beyond the range.
    if (x > 2n ** 63n - 1n || x < -(2n ** 63n - 1n)) unsupported(`the integer ${n.exact} is beyond what a Kusto long literal holds (±9223372036854775807), so '${n.field}' cannot be compared with it exactly`);
  };
  if (n.part) {
    if (r.type !== 'datetime') {
      unsupported(`|${n.part} on field '${n.field}' needs a datetime column; it is ${r.type === 'string' ? 'text' : r.type} here, and KQL's todatetime() reads other text forms than rulec's timestamps`);
    }
    return atom(`${PART_FUNCS[n.part](r.text)} ${op} ${v}`, true);
  }
  switch (r.type) {
    case 'int':
    case 'long':
    case 'real':
    case 'decimal':
      longOnly(r.type === 'real' ? 'is a real column' : '');
      // `null == x` is false in KQL; the ordering comparisons are null.
      return atom(`${r.text} ${op} ${v}`, n.op !== 'eq');
    case 'bool':
    case 'datetime':
    case 'timespan':
      // A boolean or a time is never a number (docs/semantics.md `num`).
      return FALSE;
    default: {
      const text = r.type === 'string' ? r.text : `tostring(${r.text})`;
      const exact = n.op === 'eq' ? decimalTextsOf(n.value, n.exact) : undefined;
      if (exact) return regexMatch(text, exact);
      longOnly('is text, which KQL compares as a number through todouble()');
      return { text: `${text} matches regex ${regexLiteral(DECIMAL_TEXT)} and todouble(${text}) ${op} ${v}`, prec: Prec.And, nullable: false };
    }
  }
}

/** `bool`: `== true` on a bool column (K7: never `=~`); text equal to true/false ignoring case. */
function printBool(n: BoolLeaf, s: Scope): Expr {
  const r = readValue(n.field, s);
  if (r.type === 'bool') return atom(`${r.text} == ${n.value}`);
  if (r.type === 'string') return atom(`${r.text} =~ "${n.value}"`);
  if (r.type === 'dynamic') return atom(`tostring(${r.text}) =~ "${n.value}"`);
  // A number, time or guid column never holds a boolean.
  return FALSE;
}

/** Empty = absent, null or "": `isempty` on text, `isnull` on typed columns. */
function emptyTest(field: string, s: Scope): string {
  const r = readValue(field, s);
  return r.type === 'string' || r.type === 'dynamic' ? `isempty(${r.text})` : `isnull(${r.text})`;
}

function printExists(n: ExistsLeaf, s: Scope): Expr {
  return atom(emptyTest(n.field, s).replace(/^is/, 'isnot'));
}

function printNull(n: NullLeaf, s: Scope): Expr {
  return atom(emptyTest(n.field, s));
}

/** `fieldref`: the `str` comparison with the other field's text as the literal. */
function printFieldref(n: FieldRefLeaf, s: Scope): Expr {
  const l = textOf(n.field, s);
  const r = textOf(n.other, s);
  if (n.op === 'eq') return atom(`${l} ${n.case === 'ci' ? '=~' : '=='} ${r}`);
  return atom(`${l} ${STR_OPS[n.op]}${n.case === 'cs' ? '_cs' : ''} ${r}`);
}

/**
 * `keyword`: a substring (or unanchored glob) of any value of the event. `where * contains` would
 * also search columns that are not event values (Type, TenantId, TimeGenerated...), so the search
 * runs over the columns the view declares as holding the event's values.
 */
function printKeyword(n: KeywordLeaf, s: Scope): Expr {
  const ci = n.case === 'ci';
  const plain = n.pattern.every((t) => typeof t === 'string');
  const lit = n.pattern.join('');
  let one: (text: string) => string;
  if (plain && lit !== '' && isLiteralSafe(lit) && (!ci || foldsLikeRulec(lit))) one = (t) => `${t} contains${ci ? '' : '_cs'} ${stringLiteral(lit)}`;
  else {
    const re = regexLiteral(globToRe2(n.pattern, ci, false));
    one = (t) => `${t} matches regex ${re}`;
  }
  // A dynamic bag holds one value per key: its values are counted one by one (its JSON text would
  // also hold its keys and escapes).
  const parts = s
    .keywordColumns()
    .map(({ column, type }) =>
      type === 'dynamic' ? `${s.bagCount(column, one)} > 0` : one(type === 'string' ? identifier(column) : `tostring(${identifier(column)})`),
    );
  if (parts.length === 1) return atom(parts[0]!);
  return { text: parts.join(' or '), prec: Prec.Or, nullable: false, parts };
}

/**
 * A leaf on a field with a closed set of stored values (a value map or a constant): the leaf is
 * decided for each Sigma value by the evaluator itself, and the query tests for the stored values
 * of those it accepts. Exact because each stored value stands for exactly one Sigma value.
 */
function printDomain(n: Leaf & { field: string }, a: Extract<FieldAccess, { kind: 'domain' }>): Expr {
  const test = compileNode(n);
  const accepted: string[] = [];
  for (const [sigma, stored] of a.values) if (test(new EventView({ [n.field]: sigma }))) accepted.push(...(a.column ? stored : [sigma]));
  const onEmpty = test(new EventView({}));
  if (!a.column) return accepted.length ? TRUE : FALSE;
  const col = identifier(a.column);
  const parts: string[] = [];
  if (onEmpty) parts.push(`isempty(${col})`);
  if (accepted.length === 1) parts.push(`${col} == ${stringLiteral(accepted[0]!)}`);
  else if (accepted.length > 1) parts.push(`${col} in (${accepted.map(stringLiteral).join(', ')})`);
  if (parts.length === 0) return FALSE;
  if (parts.length === 1) return atom(parts[0]!);
  return { text: parts.join(' or '), prec: Prec.Or, nullable: false, parts };
}
