/**
 * IR -> EQL. One function per IR leaf kind; each picks the EQL form that matches exactly what the
 * evaluator matches (docs/semantics.md) for the type the platform gives the field, or throws a
 * TargetFailure that says why there is none.
 *
 * Missing fields. EQL compares a missing field as null and `not null` is null, so the printer keeps
 * every leaf two-valued where it matters: a leaf that matches an empty field gets `?F == null or`, and
 * a leaf under an odd number of `not`s gets `?F != null and` (docs/targets/eql.md, "Missing fields").
 */
import { isLeaf, type CidrLeaf, type GlobLeaf, type GlobToken, type HasLeaf, type KeywordLeaf, type Leaf, type Node, type NumLeaf, type RegexLeaf, type StrLeaf } from '../../ir/types.js';
import type { LogSource } from '../../model/types.js';
import { fold } from '../../runtime/fold.js';
import { formatIp, parseIp, parseIpv4 } from '../../runtime/ip.js';
import { TargetFailure } from '../types.js';
import { asciiFoldExact } from './case.js';
import { eqlField, eqlString, isLikeSafe, wildcardPattern } from './dialect.js';
import type { FieldTarget, Platform } from './mapping.js';
import { globToLucene, RegexUnsupported, termToLucene, toLucene, type LuceneRegex } from './regex.js';

/** A small EQL expression tree, printed with the fewest parentheses EQL's precedence allows. */
export type Expr =
  | { k: 'or' | 'and'; items: Expr[] }
  | { k: 'not'; e: Expr }
  | { k: 'const'; v: boolean }
  /** A comparison or function call; `list` lets an `or` merge siblings into one list lookup. */
  | { k: 'atom'; text: string; list?: ListForm };

/** Comparisons that EQL can write with a list of values on the right. */
type ListKind = ':' | 'like' | '==' | 'in~' | 'regex' | 'regex~' | 'cidrMatch';

interface ListForm {
  kind: ListKind;
  field: string;
  items: string[];
}

const TRUE: Expr = { k: 'const', v: true };
const FALSE: Expr = { k: 'const', v: false };

/** Flatten, fold constants and drop repeated atoms (`?F != null` guards of one field). */
function and(items: Expr[]): Expr {
  const out: Expr[] = [];
  const seen = new Set<string>();
  for (const e of items) {
    if (e.k === 'const') {
      if (!e.v) return FALSE;
      continue;
    }
    for (const x of e.k === 'and' ? e.items : [e]) {
      if (x.k === 'atom') {
        if (seen.has(x.text)) continue;
        seen.add(x.text);
      }
      out.push(x);
    }
  }
  return out.length === 0 ? TRUE : out.length === 1 ? out[0]! : { k: 'and', items: out };
}

function or(items: Expr[]): Expr {
  const out: Expr[] = [];
  for (const e of items) {
    if (e.k === 'const') {
      if (e.v) return TRUE;
      continue;
    }
    if (e.k === 'or') out.push(...e.items);
    else out.push(e);
  }
  return out.length === 0 ? FALSE : out.length === 1 ? out[0]! : { k: 'or', items: out };
}

function not(e: Expr): Expr {
  if (e.k === 'const') return { k: 'const', v: !e.v };
  if (e.k === 'not') return e.e;
  return { k: 'not', e };
}

function atom(text: string): Expr {
  return { k: 'atom', text };
}

function listText(l: ListForm): string {
  const [first] = l.items;
  if (l.items.length === 1) {
    switch (l.kind) {
      case 'in~':
        return `${l.field} in~ (${first})`;
      case 'cidrMatch':
        return `cidrMatch(${l.field}, ${first})`;
      default:
        return `${l.field} ${l.kind} ${first}`;
    }
  }
  const items = l.items.join(', ');
  switch (l.kind) {
    case '==':
      return `${l.field} in (${items})`;
    case 'cidrMatch':
      return `cidrMatch(${l.field}, ${items})`;
    default:
      return `${l.field} ${l.kind} (${items})`;
  }
}

/** A comparison that an `or` may merge with its siblings on the same field and operator. */
function listAtom(kind: ListKind, field: string, item: string): Expr {
  const list: ListForm = { kind, field, items: [item] };
  return { k: 'atom', text: listText(list), list };
}

const PREC = { or: 1, and: 2, not: 3, atom: 4, const: 4 } as const;

export function printExpr(e: Expr, parent = 0): string {
  let s: string;
  switch (e.k) {
    case 'const':
      return e.v ? 'true' : 'false';
    case 'atom':
      return e.text;
    case 'not':
      s = `not ${printExpr(e.e, PREC.not)}`;
      break;
    case 'and':
    case 'or':
      s = e.items.map((x) => printExpr(x, PREC[e.k])).join(` ${e.k} `);
      break;
  }
  return PREC[e.k] < parent || (e.k === 'not' && parent === PREC.not) ? `(${s})` : s;
}

// ---------------------------------------------------------------------------------------------

export interface PrintContext {
  platform: Platform;
  logsource: LogSource;
  /** Opt-in approximations applied (reported to the user). */
  notes: string[];
  /** Approximations of the platform's defaults, reported once per build rather than per rule. */
  buildNotes: string[];
}

/** What a leaf rendered to, and how it behaves on a missing field (EQL null). */
interface Rendered {
  expr: Expr;
  /** The field the null-guards test. */
  field: FieldTarget;
  /** The rendering is null when the field is missing (comparisons and functions are). */
  nullable: boolean;
  /** The leaf matches an empty field (rulec semantics), so a missing field must give true. */
  matchesEmpty: boolean;
}

export function printNode(n: Node, ctx: PrintContext, neg = false): Expr {
  switch (n.kind) {
    case 'const':
      return n.value ? TRUE : FALSE;
    case 'and':
      return and(n.children.map((c) => printNode(c, ctx, neg)));
    case 'or': {
      const parts = n.children.map((c): Expr | Rendered => (isLeaf(c) ? printLeaf(c, ctx) : printNode(c, ctx, neg)));
      return or(mergeLeaves(parts).map((p) => ('expr' in p ? guard(p, neg) : p)));
    }
    case 'not':
      // `exists` and `null` are each other's negation and never null: print the positive one.
      if (n.child.kind === 'exists' || n.child.kind === 'null') return printExists(n.child.field, ctx, n.child.kind === 'exists').expr;
      return not(printNode(n.child, ctx, !neg));
    default:
      return guard(printLeaf(n, ctx), neg);
  }
}

/** Sibling comparisons of one field with one operator become one list lookup: `F : ("a", "b")`. */
function mergeLeaves(parts: (Expr | Rendered)[]): (Expr | Rendered)[] {
  const out: (Expr | Rendered)[] = [];
  const groups = new Map<string, { at: number; items: string[] }>();
  for (const p of parts) {
    if ('expr' in p && p.expr.k === 'atom' && p.expr.list && p.nullable && !p.matchesEmpty) {
      const l = p.expr.list;
      const key = `${l.kind} ${l.field}`;
      const g = groups.get(key);
      if (g) {
        g.items.push(...l.items);
        continue;
      }
      groups.set(key, { at: out.length, items: [...l.items] });
    }
    out.push(p);
  }
  for (const g of groups.values()) {
    if (g.items.length < 2) continue;
    const prev = out[g.at] as Rendered;
    const merged: ListForm = { ...(prev.expr as { list: ListForm }).list, items: g.items };
    out[g.at] = { ...prev, expr: { k: 'atom', text: listText(merged), list: merged } };
  }
  return out;
}

function guard(r: Rendered, neg: boolean): Expr {
  if (r.expr.k === 'const' || !r.nullable) return r.expr;
  const f = eqlField(r.field.field, true);
  if (r.matchesEmpty) return or([atom(`${f} == null`), r.expr]);
  if (neg) return and([atom(`${f} != null`), r.expr]);
  return r.expr;
}

function printLeaf(n: Leaf, ctx: PrintContext): Rendered {
  switch (n.kind) {
    case 'str':
      return printStr(n, ctx);
    case 'glob':
      return printGlob(n, ctx);
    case 'regex':
      return printRegex(n, ctx);
    case 'cidr':
      return printCidr(n, ctx);
    case 'num':
      return printNum(n, ctx);
    case 'bool':
      return printBool(n.field, n.value, 'ci', ctx);
    case 'exists':
      return printExists(n.field, ctx, false);
    case 'null':
      return printExists(n.field, ctx, true);
    case 'fieldref':
      throw new TargetFailure(
        'unsupported',
        `'${n.field}|fieldref: ${n.other}' compares two fields, which EQL cannot do (Elasticsearch EQL: "You cannot compare a field to another field")`,
      );
    case 'keyword':
      return printKeyword(n, ctx);
    case 'has':
      return printHas(n, ctx);
  }
}

/**
 * A keyword search has no exact EQL form: EQL searches named fields only. A platform whose documents
 * keep the raw event text in a keyword field may opt in (`keyword_search: {field}`) to a substring
 * search of that text, which is an approximation (it also matches keys, markup and text that spans
 * two values) and is reported as a note.
 */
function printKeyword(n: KeywordLeaf, ctx: PrintContext): Rendered {
  const field = ctx.platform.keywordField;
  if (field === undefined) {
    throw new TargetFailure(
      'unsupported',
      `a keyword (field-less) search is not expressible on platform ${ctx.platform.name}: EQL searches named fields only, and no field of this platform holds the raw event text in a form EQL can search (message and event.original are not searchable by EQL); name the field the value appears in, or opt in to an approximate search of a raw-text keyword field with 'keyword_search: {field: <name>}' in a --mapping file`,
    );
  }
  const t: FieldTarget = { sigma: '(keywords)', field, type: ctx.platform.typeOf(field) };
  if (!isTextual(t)) return unsupportedType(t, 'a keyword search');
  const note = `keyword search approximated as a substring search of ${field} (platform option keyword_search)`;
  if (!ctx.notes.includes(note)) ctx.notes.push(note);
  const star: GlobToken = { wildcard: '*' };
  return printGlobOn(t, [star, ...n.pattern, star], n.case, ctx);
}

/**
 * Where a leaf reads a Sigma field. An ip field with a text twin answers text comparisons from the
 * twin (exact text semantics) and networks from the ip field (`network: true`).
 */
function target(field: string, ctx: PrintContext, network = false): FieldTarget {
  const t = ctx.platform.field(field, ctx.logsource);
  if (t.text === undefined || network) return t;
  return { sigma: t.sigma, field: t.text, type: ctx.platform.typeOf(t.text) };
}

const describeTarget = (t: FieldTarget): string => (t.sigma === t.field ? `'${t.field}'` : `'${t.sigma}' (${t.field})`);

function rendered(expr: Expr, field: FieldTarget, matchesEmpty = false, nullable = true): Rendered {
  return { expr, field, nullable, matchesEmpty };
}

/**
 * A field reference: `?`-prefixed when the field comes from the platform's fallback namespace, which
 * the index mapping may not have (EQL rejects a query naming an unmapped field; `?F` reads as null).
 */
function ref(t: FieldTarget): string {
  return eqlField(t.field, t.optional === true);
}

function isTextual(t: FieldTarget): boolean {
  return t.type === 'keyword' || t.type === 'numeric_keyword';
}

function unsupportedType(t: FieldTarget, what: string): never {
  throw new TargetFailure('unsupported', `${what} cannot be matched against ${describeTarget(t)}, which platform data types as ${t.type}`);
}

// --- str ----------------------------------------------------------------------------------

function printStr(n: StrLeaf, ctx: PrintContext): Rendered {
  const t = target(n.field, ctx);
  if (n.op === 'eq' && n.value === '') return printExists(n.field, ctx, true);
  if (n.op !== 'eq' && n.value === '') return rendered(TRUE, t);
  if (t.values) return printMappedValue(t, n.op, n.value, n.case);
  switch (t.type) {
    case 'keyword':
    case 'numeric_keyword':
      return rendered(textComparison(t, n.op, n.value, n.case, ctx), t);
    case 'long':
    case 'double':
      return printStrOnNumber(t, n);
    case 'ip':
      return printStrOnIp(t, n);
    case 'boolean':
      return printStrOnBool(t, n, ctx);
    default:
      return unsupportedType(t, `the text '${n.value}'`);
  }
}

/**
 * True when Elasticsearch's ASCII case folding matches `s` the way rulec folds it; with the platform
 * option fold_kelvin_sign: false, also when they differ only in the KELVIN SIGN that rulec matches for
 * `k`; with ascii_case_folding, whenever they differ. Both are approximations, reported to the user.
 */
function asciiFoldOk(s: string, ctx: PrintContext): boolean {
  if (asciiFoldExact(s)) return true;
  if (!ctx.platform.foldKelvinSign && asciiFoldExact(s, true)) {
    if (!ctx.buildNotes.includes(KELVIN_NOTE)) ctx.buildNotes.push(KELVIN_NOTE);
    return true;
  }
  if (!ctx.platform.asciiCaseFolding) return false;
  const note = 'case-insensitive text comparisons use ASCII case folding (platform option ascii_case_folding): non-ASCII case partners and the KELVIN SIGN are not matched';
  if (!ctx.notes.includes(note)) ctx.notes.push(note);
  return true;
}

/** Reported once per build: it concerns most rules that hold a `k`. */
export const KELVIN_NOTE =
  "case-insensitive 'k' / 'K' is matched with Elasticsearch's ASCII case folding, which does not match the KELVIN SIGN (U+212A) as rulec's folding does (platform option fold_kelvin_sign: false; set it to true for [Kk\\u{212A}] regexes)";

function textComparison(t: FieldTarget, op: StrLeaf['op'], value: string, cs: 'ci' | 'cs', ctx: PrintContext): Expr {
  const f = ref(t);
  const ci = cs === 'ci';
  if (ci && !asciiFoldOk(value, ctx)) return regexAtom(f, globToLucene(tokensOf(op, value), true));
  const v = eqlString(value);
  if (isLikeSafe(value)) {
    const pattern = op === 'eq' ? value : op === 'prefix' ? `${value}*` : op === 'suffix' ? `*${value}` : `*${value}*`;
    if (ci) return listAtom(':', f, eqlString(pattern));
    if (op === 'eq') return listAtom('==', f, v);
    return listAtom('like', f, eqlString(pattern));
  }
  // The value holds `*` or `?`, which `:` and `like` would read as wildcards and cannot escape, or
  // U+0001, which Elasticsearch's LIKE translation would read as its escape character.
  const tilde = ci ? '~' : '';
  switch (op) {
    case 'eq':
      return ci ? listAtom('in~', f, v) : listAtom('==', f, v);
    case 'prefix':
      return atom(`startsWith${tilde}(${f}, ${v})`);
    case 'suffix':
      return atom(`endsWith${tilde}(${f}, ${v})`);
    case 'contains':
      return atom(`stringContains${tilde}(${f}, ${v})`);
  }
}

function tokensOf(op: StrLeaf['op'], value: string): GlobToken[] {
  const star: GlobToken = { wildcard: '*' };
  switch (op) {
    case 'eq':
      return [value];
    case 'prefix':
      return [value, star];
    case 'suffix':
      return [star, value];
    case 'contains':
      return [star, value, star];
  }
}

function regexAtom(f: string, r: LuceneRegex): Expr {
  if (!r.satisfiable) return FALSE;
  return listAtom(r.insensitive ? 'regex~' : 'regex', f, eqlString(r.source));
}

/** The text of a number in a long / double field is canonical: only such a literal can equal it. */
function printStrOnNumber(t: FieldTarget, n: StrLeaf): Rendered {
  if (n.op === 'eq' && isCanonicalNumber(n.value, t.type === 'long')) return rendered(listAtom('==', ref(t), n.value), t);
  throw new TargetFailure(
    'unsupported',
    n.op === 'eq'
      ? `'${n.value}' is not the text of a number, so it can never equal ${describeTarget(t)}, which platform data types as ${t.type}; write the number`
      : `EQL cannot match the text pattern '${n.value}' (${n.op}) against the numeric field ${describeTarget(t)}`,
  );
}

function isCanonicalNumber(s: string, integer: boolean): boolean {
  if (!/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/.test(s) || s === '-0') return false;
  if (integer) return !s.includes('.') && Number.isSafeInteger(Number(s));
  return String(Number(s)) === s;
}

/**
 * An `ip` field holds an address, not a text: equality works for an address written in its one
 * text form, and a prefix of whole IPv4 octets is a network.
 */
function printStrOnIp(t: FieldTarget, n: StrLeaf): Rendered {
  const f = ref(t);
  const v = n.case === 'ci' ? n.value.toLowerCase() : n.value;
  if (n.op === 'eq') {
    const a = parseIp(v);
    if (a && formatIp(a) === v) return rendered(listAtom('==', f, eqlString(v)), t);
  }
  if (n.op === 'prefix') {
    const m = /^((?:(?:0|[1-9]\d{0,2})\.){1,3})$/.exec(v);
    const octets = m ? v.slice(0, -1).split('.').map(Number) : [];
    if (m && octets.every((o) => o <= 255)) {
      const network = [...octets, 0, 0, 0].slice(0, 4).join('.');
      return rendered(listAtom('cidrMatch', f, eqlString(`${network}/${octets.length * 8}`)), t);
    }
  }
  throw new TargetFailure(
    'unsupported',
    `${describeTarget(t)} is an ip field: only an address written in canonical form ('${n.op}' '${n.value}' is not) or a prefix of whole IPv4 octets (such as '10.' or '192.168.') can be matched; use 'cidr' for networks`,
  );
}

function printStrOnBool(t: FieldTarget, n: StrLeaf, ctx: PrintContext): Rendered {
  const v = n.case === 'ci' ? fold(n.value) : n.value;
  if (n.op === 'eq' && (v === 'true' || v === 'false')) return printBool(t.sigma, v === 'true', n.case, ctx);
  throw new TargetFailure('unsupported', `${describeTarget(t)} is a boolean field: it can only equal 'true' or 'false', not ${n.op} '${n.value}'`);
}

/** A field whose values are translated at ingest (Initiated true -> network.direction egress). */
function printMappedValue(t: FieldTarget, op: StrLeaf['op'], value: string, cs: 'ci' | 'cs'): Rendered {
  const stored = t.values!.get(fold(value));
  if (op !== 'eq' || cs !== 'ci' || stored === undefined) {
    throw new TargetFailure(
      'unsupported',
      `${describeTarget(t)} holds translated values (${[...t.values!].map(([a, b]) => `${a} -> ${b}`).join(', ')}): only case-insensitive equality with one of ${[...t.values!.keys()].join(', ')} can be expressed`,
    );
  }
  return rendered(listAtom('==', ref(t), eqlString(stored)), t);
}

// --- glob -----------------------------------------------------------------------------------

function printGlob(n: GlobLeaf, ctx: PrintContext): Rendered {
  return printGlobOn(target(n.field, ctx), n.pattern, n.case, ctx);
}

function printGlobOn(t: FieldTarget, pattern: GlobToken[], cs: 'ci' | 'cs', ctx: PrintContext): Rendered {
  if (pattern.every((x) => typeof x !== 'string' && x.wildcard === '*')) return rendered(TRUE, t);
  if (!isTextual(t) || t.values) return unsupportedType(t, 'a wildcard pattern');
  const f = ref(t);
  const ci = cs === 'ci';
  const literals = pattern.filter((x): x is string => typeof x === 'string');
  const plain = literals.every(isLikeSafe) && (!ci || literals.every((x) => asciiFoldOk(x, ctx)));
  if (plain) return rendered(listAtom(ci ? ':' : 'like', f, eqlString(wildcardPattern(pattern))), t);
  return rendered(regexAtom(f, globToLucene(pattern, ci)), t);
}

// --- regex ----------------------------------------------------------------------------------

function printRegex(n: RegexLeaf, ctx: PrintContext): Rendered {
  const t = target(n.field, ctx);
  if (!isTextual(t) || t.values) return unsupportedType(t, `the regular expression /${n.pattern}/`);
  let r: LuceneRegex;
  try {
    r = toLucene(n.pattern, n.flags);
  } catch (e) {
    if (e instanceof RegexUnsupported) throw new TargetFailure('unsupported', `regular expression /${n.pattern}/${n.flags}: ${e.message}`);
    throw e;
  }
  return rendered(regexAtom(ref(t), r), t, new RegExp(n.pattern, n.flags).test(''));
}

// --- has ------------------------------------------------------------------------------------

/** `has`: EQL has no term operator; a whole-value Lucene regex with the term boundaries (termToLucene). */
function printHas(n: HasLeaf, ctx: PrintContext): Rendered {
  const t = target(n.field, ctx);
  if (!isTextual(t) || t.values) return unsupportedType(t, `the term match '${n.value}' (has)`);
  return rendered(regexAtom(ref(t), termToLucene(n.value, n.case === 'ci')), t);
}

// --- cidr -----------------------------------------------------------------------------------

function printCidr(n: CidrLeaf, ctx: PrintContext): Rendered {
  const t = target(n.field, ctx, true);
  const net = `${n.network}/${n.prefix}`;
  if (t.type === 'ip') return rendered(listAtom('cidrMatch', ref(t), eqlString(net)), t);
  if (isTextual(t) && !t.values && n.family === 4) {
    return rendered(listAtom('regex', ref(t), eqlString(ipv4NetworkRegex(n.network, n.prefix))), t);
  }
  if (isTextual(t)) {
    throw new TargetFailure(
      'unsupported',
      `the IPv6 network ${net} cannot be matched against ${describeTarget(t)}, a text field: IPv6 addresses have many text forms and cidrMatch needs an ip field (declare the field's type as ip with --mapping if the index maps it so)`,
    );
  }
  return unsupportedType(t, `the network ${net}`);
}

/** Exactly the dotted-quad texts (no leading zeros) of the addresses in an IPv4 network. */
export function ipv4NetworkRegex(network: string, prefix: number): string {
  const octets = parseIpv4(network)!;
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    const mask = (0xff << (8 - bits)) & 0xff;
    const lo = octets[i]! & mask;
    const hi = lo | (~mask & 0xff);
    parts.push(rangeRegex(lo, hi));
  }
  return parts.join('\\.');
}

/** Decimal texts without leading zeros of the integers lo..hi (0 <= lo <= hi), as a regex. */
export function rangeRegex(lo: number, hi: number): string {
  if (lo === hi) return String(lo);
  const alts: string[] = [];
  for (let len = 1; len <= String(hi).length; len++) {
    const a = Math.max(lo, len === 1 ? 0 : 10 ** (len - 1));
    const b = Math.min(hi, 10 ** len - 1);
    if (a <= b) alts.push(...sameLength(String(a), String(b)));
  }
  return alts.length === 1 && !alts[0]!.includes('|') ? alts[0]! : `(${alts.join('|')})`;
}

function sameLength(a: string, b: string): string[] {
  if (a === b) return [a];
  if (a.length === 1) return [`[${a}-${b}]`];
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((x) => a[0] + x);
  const rest = a.length - 1;
  const nines = '9'.repeat(rest);
  const zeros = '0'.repeat(rest);
  const out: string[] = [];
  const any = rest === 1 ? '[0-9]' : `[0-9]{${rest}}`;
  const lowFull = a.slice(1) === zeros;
  const highFull = b.slice(1) === nines;
  const d0 = Number(a[0]);
  const d1 = Number(b[0]);
  const midLo = lowFull ? d0 : d0 + 1;
  const midHi = highFull ? d1 : d1 - 1;
  if (!lowFull) out.push(...sameLength(a.slice(1), nines).map((x) => a[0] + x));
  if (midLo <= midHi) out.push(`${midLo === midHi ? String(midLo) : `[${midLo}-${midHi}]`}${any}`);
  if (!highFull) out.push(...sameLength(zeros, b.slice(1)).map((x) => b[0] + x));
  return out;
}

// --- num ------------------------------------------------------------------------------------

const NUM_OP = { eq: '==', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function printNum(n: NumLeaf, ctx: PrintContext): Rendered {
  if (n.part !== undefined) {
    throw new TargetFailure(
      'unsupported',
      `'${n.field}|${n.part}' compares a part of a timestamp, which EQL cannot extract (it has no date functions)`,
    );
  }
  const t = target(n.field, ctx);
  const f = ref(t);
  // An integer beyond 2^53 keeps its exact text (lowering); Elasticsearch compares it exactly with a long only.
  const text = n.exact ?? String(n.value);
  if (/e/i.test(text)) throw new TargetFailure('unsupported', `the number ${text} has no plain decimal form to compare with`);
  if (t.values) return unsupportedType(t, `the number ${text}`);
  switch (t.type) {
    case 'long':
    case 'double':
      if (n.exact !== undefined) {
        const x = BigInt(n.exact);
        if (t.type === 'double') {
          throw new TargetFailure('unsupported', `${describeTarget(t)} is a double field, a 64-bit float that cannot hold the integer ${text} exactly`);
        }
        // -2^63 too: the literal is the negation of 2^63, which is beyond the range.
        if (x > 2n ** 63n - 1n || x < -(2n ** 63n - 1n)) {
          throw new TargetFailure('unsupported', `the integer ${text} is beyond what an Elasticsearch long literal holds (±9223372036854775807), so ${describeTarget(t)} cannot be compared with it exactly`);
        }
      }
      return rendered(n.op === 'eq' ? listAtom('==', f, text) : atom(`${f} ${NUM_OP[n.op]} ${text}`), t);
    case 'numeric_keyword':
      if (n.op === 'eq') return rendered(listAtom('==', f, eqlString(text)), t);
      break;
    case 'keyword':
      if (n.op === 'eq') return rendered(listAtom('regex', f, eqlString(decimalRegex(n.exact ?? n.value))), t);
      break;
    default:
      return unsupportedType(t, `the number ${text}`);
  }
  throw new TargetFailure(
    'unsupported',
    `'${n.field}|${n.op}: ${text}' needs a numeric comparison, but ${describeTarget(t)} is a ${t.type} field, which EQL compares as text`,
  );
}

/**
 * The decimal texts whose number equals v (docs/semantics.md: "-?digits[.digits]", no leading zeros):
 * the canonical text followed by any run of fraction zeros.
 */
export function decimalRegex(v: number | string): string {
  const neg = typeof v === 'string' ? v.startsWith('-') : v < 0;
  const text = typeof v === 'string' ? v.replace(/^-/, '') : String(Math.abs(v));
  const digits = text.replace('.', '\\.');
  const sign = text === '0' ? '-?' : neg ? '-' : '';
  return text.includes('.') ? `${sign}${digits}0*` : `${sign}${digits}(\\.0+)?`;
}

// --- bool, exists, null ---------------------------------------------------------------------

function printBool(field: string, value: boolean, cs: 'ci' | 'cs', ctx: PrintContext): Rendered {
  const t = target(field, ctx);
  const f = ref(t);
  if (t.values) return printMappedValue(t, 'eq', String(value), cs);
  if (t.type === 'boolean') return rendered(atom(`${f} == ${value}`), t);
  if (isTextual(t)) return rendered(cs === 'ci' ? listAtom(':', f, eqlString(String(value))) : listAtom('==', f, eqlString(String(value))), t);
  return unsupportedType(t, `the boolean ${value}`);
}

/**
 * `exists` (or with `negate`, `null`): empty is missing, null or "" (docs/semantics.md 1). On a text
 * field "holds a value" is `F : "?*"` (some value has a character), which also reads a multi-valued
 * field the way the evaluator does (`["", "a"]` has a value).
 */
function printExists(field: string, ctx: PrintContext, negate: boolean): Rendered {
  const t = target(field, ctx);
  const opt = eqlField(t.field, true);
  const f = ref(t);
  const textual = t.type === 'keyword' || t.type === 'numeric_keyword';
  const e = negate
    ? textual
      ? or([atom(`${opt} == null`), not(atom(`${f} : ${eqlString("?*")}`))])
      : atom(`${opt} == null`)
    : textual
      ? and([atom(`${opt} != null`), atom(`${f} : ${eqlString("?*")}`)])
      : atom(`${opt} != null`);
  return rendered(e, t, false, false);
}

// --- the whole query ------------------------------------------------------------------------

export interface PrintedQuery {
  query: string;
  category: string;
  index: string[];
}

export function printQuery(ir: Node, ctx: PrintContext): PrintedQuery {
  const spec = ctx.platform.logSource(ctx.logsource);
  const conditions = spec.conditions.map((c) => {
    const type = ctx.platform.typeOf(c.field);
    const f = eqlField(c.field);
    const lit = (v: string | number): string => (type === 'long' || type === 'double' ? String(v) : eqlString(String(v)));
    return c.values.length === 1 ? atom(`${f} == ${lit(c.values[0]!)}`) : atom(`${f} in (${c.values.map(lit).join(', ')})`);
  });
  const body = and([...conditions, printNode(ir, ctx)]);
  const category = /^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.category) ? spec.category : eqlString(spec.category);
  return { query: `${category} where ${printExpr(body)}`, category: spec.category, index: spec.index };
}
