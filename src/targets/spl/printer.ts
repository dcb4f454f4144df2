/**
 * IR -> SPL query structure (ast.ts). One function per IR leaf kind; each says whether the leaf has
 * an exact `search` form and always gives its exact eval form. The query is
 *
 *   <log source prefix> <conjuncts exact in search> | where <every other conjunct>
 *
 * A piped stage only ever holds top-level AND conjuncts: a boolean that mixes a search-exact part
 * with one that is not goes whole into `| where` (splitting an OR across a pipe would make it an
 * AND, S3). `not (a or b)` at the top is split into `not a` and `not b` first, so a filter list with
 * one regex in it does not drag the others out of the search.
 *
 * What `search` says exactly (the model in docs/targets/spl.md): `F="v"` matches when some value of
 * F equals v with `*` as the only wildcard, ignoring the case of ASCII letters only; `NOT` is plain
 * negation (an event without F matches `NOT F="v"`); `F=*` means F has a value. Values with a literal
 * `*`, control characters or letters whose case is not ASCII, `?` wildcards, inner `*` (the Search
 * Manual warns middle wildcards are inconsistent), case-sensitive comparisons, regexes, CIDR,
 * numbers on fields that are not canonical numbers, field references and keywords go to `| where`.
 */
import { not as irNot } from '../../ir/build.js';
import type { BoolLeaf, CidrLeaf, FieldRefLeaf, GlobLeaf, GlobToken, HasLeaf, KeywordLeaf, Node, NumLeaf, RegexLeaf, StrLeaf } from '../../ir/types.js';
import { TargetFailure } from '../types.js';
import type { EvalExpr, EvalStage, Query, SearchExpr, SearchValue } from './ast.js';
import { TRUE_SEARCH } from './ast.js';
import { cidrPattern } from './cidr.js';
import { plainDecimal, searchFieldOk } from './dialect.js';
import { keywordRegex } from './keyword.js';
import type { PlatformMapping, SourceEntry } from './mapping.js';
import { splunkField } from './mapping.js';
import { foldClass, hasLoneSurrogate, literal, termMatch } from './pcre.js';
import { translateRegex } from './regex.js';
import { timePartTest } from './time.js';

export interface PrintContext {
  pm: PlatformMapping;
  entry: SourceEntry;
  /** Helper fields the where part needs (time parts), by name, in dependency order. */
  evals: Map<string, EvalStage>;
  /** Reported approximations. */
  notes: Set<string>;
}

/** A node's rendering: its eval form always, and its search form when that is exact. */
interface Rendered {
  search?: SearchExpr;
  eval: () => EvalExpr;
}

// ---- eval helpers ---------------------------------------------------------------------------

const S = (value: string): EvalExpr => ({ k: 'str', value });
const N = (value: number): EvalExpr => ({ k: 'num', value });
const FLD = (name: string): EvalExpr => ({ k: 'field', name });
const call = (fn: string, ...args: EvalExpr[]): EvalExpr => ({ k: 'call', fn, args });

function andE(items: EvalExpr[]): EvalExpr {
  const flat = items.flatMap((i) => (i.k === 'and' ? i.items : [i]));
  return flat.length === 1 ? flat[0]! : { k: 'and', items: flat };
}

function orE(items: EvalExpr[]): EvalExpr {
  const flat = items.flatMap((i) => (i.k === 'or' ? i.items : [i]));
  return flat.length === 1 ? flat[0]! : { k: 'or', items: flat };
}

function notE(item: EvalExpr): EvalExpr {
  if (item.k === 'not') return item.item;
  if (item.k === 'call' && (item.fn === 'isnull' || item.fn === 'isnotnull')) return { ...item, fn: item.fn === 'isnull' ? 'isnotnull' : 'isnull' };
  return { k: 'not', item };
}

/** Some value of the field matches the PCRE (mvfind looks at every value of a multivalue field). */
function anyValueMatches(field: string, body: string, dotAll: boolean): EvalExpr {
  return call('isnotnull', call('mvfind', FLD(field), S((dotAll ? '(?s)' : '') + body)));
}

// ---- search helpers -------------------------------------------------------------------------

function andS(items: SearchExpr[]): SearchExpr {
  const flat = items.flatMap((i) => (i.k === 'and' ? i.items : [i]));
  return flat.length === 1 ? flat[0]! : { k: 'and', items: flat };
}

const isTrue = (e: SearchExpr): boolean => e.k === 'and' && e.items.length === 0;

/** OR of search terms, with `F=a OR F=b` written `F IN (a, b)`. */
function orS(items: SearchExpr[]): SearchExpr {
  if (items.some(isTrue)) return TRUE_SEARCH;
  const flat = items.flatMap((i) => (i.k === 'or' ? i.items : [i]));
  const out: SearchExpr[] = [];
  const byField = new Map<string, Extract<SearchExpr, { k: 'in' }>>();
  for (const it of flat) {
    const values = it.k === 'eq' && it.value.kind !== 'any' ? [it.value] : it.k === 'in' ? it.values : undefined;
    if (!values || (it.k !== 'eq' && it.k !== 'in')) {
      out.push(it);
      continue;
    }
    const group = byField.get(it.field);
    if (group) group.values.push(...values);
    else {
      const g: Extract<SearchExpr, { k: 'in' }> = { k: 'in', field: it.field, values: [...values] };
      byField.set(it.field, g);
      out.push(g);
    }
  }
  const final = out.map((x) => (x.k === 'in' && x.values.length === 1 ? ({ k: 'eq', field: x.field, value: x.values[0]! } as SearchExpr) : x));
  return final.length === 1 ? final[0]! : { k: 'or', items: final };
}

function notS(item: SearchExpr): SearchExpr {
  return item.k === 'not' ? item.item : { k: 'not', item };
}

const str = (text: string): SearchValue => ({ kind: 'string', text });

// ---- leaves ---------------------------------------------------------------------------------

const safeChars = new Map<string, boolean>();
const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u;

/** A character the search command compares as written: visible (or a space), not `*`, and cased only if ASCII. */
function searchSafeChar(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f || ch === '*') return false;
  if (cp < 0x80) return true;
  let safe = safeChars.get(ch);
  if (safe === undefined) safeChars.set(ch, (safe = VISIBLE.test(ch) && ch.toLowerCase() === ch && ch.toUpperCase() === ch && foldClass(ch).length === 1));
  return safe;
}

/** Printable ASCII without `*`: the common case, decided without looking at characters one by one. */
const PLAIN_ASCII = /^[\x20-\x29\x2B-\x7E]*$/;

function searchSafe(text: string): boolean {
  if (PLAIN_ASCII.test(text)) return true;
  for (const ch of text) if (!searchSafeChar(ch)) return false;
  return true;
}

function noSurrogates(text: string): void {
  if (hasLoneSurrogate(text)) {
    throw new TargetFailure('unsupported', 'a value with a lone UTF-16 surrogate cannot be written in SPL, whose text is UTF-8');
  }
}

/** The Splunk name of a Sigma field: only names of Splunk's field-name set come back, so eval can always quote them. */
function field(ctx: PrintContext, sigma: string): string {
  return splunkField(ctx.pm, ctx.entry, sigma);
}

function existsLeaf(f: string): Rendered {
  return {
    ...(searchFieldOk(f) ? { search: { k: 'eq', field: f, value: { kind: 'any' } } as SearchExpr } : {}),
    eval: () => call('isnotnull', FLD(f)),
  };
}

function nullLeaf(f: string): Rendered {
  const e = existsLeaf(f);
  return { ...(e.search ? { search: notS(e.search) } : {}), eval: () => call('isnull', FLD(f)) };
}

const TRUE_R: Rendered = { search: TRUE_SEARCH, eval: () => call('true') };

function strLeaf(ctx: PrintContext, n: StrLeaf): Rendered {
  const f = field(ctx, n.field);
  if (n.value === '') return n.op === 'eq' ? nullLeaf(f) : TRUE_R;
  noSurrogates(n.value);
  const ci = n.case === 'ci';
  const r: Rendered = {
    eval: () => {
      const lit = literal(n.value, ci);
      return anyValueMatches(f, n.op === 'eq' ? `^${lit}\\z` : n.op === 'prefix' ? `^${lit}` : n.op === 'suffix' ? `${lit}\\z` : lit, false);
    },
  };
  if (ci && searchFieldOk(f) && searchSafe(n.value)) {
    const text = n.op === 'eq' ? n.value : n.op === 'prefix' ? `${n.value}*` : n.op === 'suffix' ? `*${n.value}` : `*${n.value}*`;
    r.search = { k: 'eq', field: f, value: str(text) };
  }
  return r;
}

/**
 * `has`: a term-bounded PCRE match in `where`, never a search term: Splunk's search splits `_raw`
 * into segments at its own breakers (`_`, `.`, `-` ... by segmenters.conf), which are not
 * docs/semantics.md's terms.
 */
function hasLeaf(ctx: PrintContext, n: HasLeaf): Rendered {
  const f = field(ctx, n.field);
  noSurrogates(n.value);
  return { eval: () => anyValueMatches(f, termMatch(n.value, n.case === 'ci'), false) };
}

function globLeaf(ctx: PrintContext, n: GlobLeaf): Rendered {
  const f = field(ctx, n.field);
  const isStar = (t: GlobToken | undefined): boolean => t !== undefined && typeof t !== 'string' && t.wildcard === '*';
  // `**` is `*`.
  const tokens = n.pattern.filter((t, i, a) => !(isStar(t) && isStar(a[i - 1])));
  // `*` alone matches every text, the empty one included.
  if (tokens.every(isStar)) return TRUE_R;
  const ci = n.case === 'ci';
  for (const t of tokens) if (typeof t === 'string') noSurrogates(t);
  const r: Rendered = {
    eval: () => {
      const body = tokens.map((t) => (typeof t === 'string' ? literal(t, ci) : t.wildcard === '*' ? '.*' : '.')).join('');
      return anyValueMatches(f, `^${body}\\z`, true);
    },
  };
  const inner = tokens.slice(1, -1);
  const searchable =
    ci &&
    searchFieldOk(f) &&
    tokens.every((t) => (typeof t === 'string' ? searchSafe(t) : t.wildcard === '*')) &&
    inner.every((t) => typeof t === 'string');
  if (searchable) r.search = { k: 'eq', field: f, value: str(tokens.map((t) => (typeof t === 'string' ? t : '*')).join('')) };
  return r;
}

function regexLeaf(ctx: PrintContext, n: RegexLeaf): Rendered {
  const f = field(ctx, n.field);
  const p = translateRegex(n.pattern, n.flags);
  // An empty field's text is "": a pattern that matches "" matches an event without the field.
  const matchesEmpty = new RegExp(n.pattern, n.flags).test('');
  return {
    eval: () => {
      const test = anyValueMatches(f, p.body, p.dotAll);
      return matchesEmpty ? orE([call('isnull', FLD(f)), test]) : test;
    },
  };
}

function cidrLeaf(ctx: PrintContext, n: CidrLeaf): Rendered {
  const f = field(ctx, n.field);
  const p = cidrPattern(n);
  return { eval: () => anyValueMatches(f, `^${p.body}`, p.dotAll) };
}

/** A JSON number or a decimal string (docs/semantics.md "num"): `-?(0|[1-9]digits)(.digits)?`. */
const DECIMAL = '^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?\\z';
const NUM_OPS = { eq: '==', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function numLeaf(ctx: PrintContext, n: NumLeaf): Rendered {
  const f = field(ctx, n.field);
  if (n.part) return { eval: () => timePartTest(ctx, f, n.part!, n.op, n.value) };
  if (n.exact !== undefined) return exactNumLeaf(f, n, n.exact);
  const r: Rendered = {
    // mvfilter keeps the values for which the predicate holds; some value must be a decimal number that compares.
    eval: () =>
      ({
        k: 'cmp',
        op: '>',
        left: call('coalesce', call('mvcount', call('mvfilter', andE([call('match', FLD(f), S(DECIMAL)), { k: 'cmp', op: NUM_OPS[n.op], left: call('tonumber', FLD(f)), right: N(n.value) }]))), N(0)),
        right: N(0),
      }) as EvalExpr,
  };
  // A field the platform writes as canonical numbers holds "4688" for 4688 and nothing else equal to it.
  if (n.op === 'eq' && ctx.entry.numeric.has(f) && searchFieldOk(f)) {
    const text = plainDecimal(n.value);
    r.search = { k: 'eq', field: f, value: /^\d+$/.test(text) ? { kind: 'number', text } : str(text) };
  }
  return r;
}

/**
 * An integer beyond 2^53 (lowering keeps its text): Splunk's tonumber() gives a 64-bit float, which
 * would round it, so equality compares the decimal texts equal to it and ordering is refused.
 */
function exactNumLeaf(f: string, n: NumLeaf, text: string): Rendered {
  if (n.op !== 'eq') {
    throw new TargetFailure('unsupported', `'${n.field}|${n.op}: ${text}' needs a numeric comparison, and Splunk's numbers are 64-bit floats that cannot hold the integer ${text} exactly`);
  }
  // No search term: whether search compares such a term as text or as a double is not documented.
  return { eval: () => anyValueMatches(f, `^${text}(?:\\.0+)?\\z`, false) };
}

function boolLeaf(ctx: PrintContext, n: BoolLeaf): Rendered {
  const f = field(ctx, n.field);
  const text = String(n.value);
  return {
    ...(searchFieldOk(f) ? { search: { k: 'eq', field: f, value: str(text) } as SearchExpr } : {}),
    eval: () => anyValueMatches(f, `^${literal(text, true)}\\z`, false),
  };
}

function fieldRefLeaf(ctx: PrintContext, n: FieldRefLeaf): Rendered {
  const f = field(ctx, n.field);
  const g = field(ctx, n.other);
  const ci = n.case === 'ci';
  // An empty field's text is "": coalesce makes it so; lower() folds case (docs/targets/spl.md).
  const text = (x: string): EvalExpr => (ci ? call('lower', call('coalesce', FLD(x), S(''))) : call('coalesce', FLD(x), S('')));
  // The reference text first, then the compared text; the pattern captures exactly the reference's
  // length and looks for that capture, so no character of either value is ever read as regex syntax.
  const tail = n.op === 'eq' ? '\\1\\z' : n.op === 'prefix' ? '\\1' : n.op === 'suffix' ? '.*\\1\\z' : '.*\\1';
  return {
    eval: () =>
      call(
        'match',
        { k: 'concat', items: [text(g), text(f)] },
        { k: 'concat', items: [S('(?s)^(.{'), call('len', text(g)), S(`})${tail}`)] },
      ),
  };
}

function keywordLeaf(ctx: PrintContext, n: KeywordLeaf): Rendered {
  for (const t of n.pattern) if (typeof t === 'string') noSurrogates(t);
  const k = keywordRegex(n.pattern, n.case === 'ci', ctx.entry.raw, ctx.entry.rawReason);
  return { eval: () => call('match', FLD('_raw'), S((k.dotAll ? '(?s)' : '') + k.body)) };
}

// ---- booleans -------------------------------------------------------------------------------

function render(ctx: PrintContext, n: Node): Rendered {
  switch (n.kind) {
    case 'const':
      return n.value ? TRUE_R : { eval: () => call('false') };
    case 'not': {
      const c = render(ctx, n.child);
      // The search command has no "false": NOT of a condition that is always true lives in where.
      if (c.search && isTrue(c.search)) return { eval: () => call('false') };
      return { ...(c.search ? { search: notS(c.search) } : {}), eval: () => notE(c.eval()) };
    }
    case 'and':
    case 'or': {
      const cs = n.children.map((c) => render(ctx, c));
      const combineE = n.kind === 'and' ? andE : orE;
      const r: Rendered = { eval: () => combineE(cs.map((c) => c.eval())) };
      if (cs.every((c) => c.search)) r.search = (n.kind === 'and' ? andS : orS)(cs.map((c) => c.search!));
      return r;
    }
    case 'str':
      return strLeaf(ctx, n);
    case 'glob':
      return globLeaf(ctx, n);
    case 'regex':
      return regexLeaf(ctx, n);
    case 'cidr':
      return cidrLeaf(ctx, n);
    case 'num':
      return numLeaf(ctx, n);
    case 'bool':
      return boolLeaf(ctx, n);
    case 'exists':
      return existsLeaf(field(ctx, n.field));
    case 'null':
      return nullLeaf(field(ctx, n.field));
    case 'fieldref':
      return fieldRefLeaf(ctx, n);
    case 'keyword':
      return keywordLeaf(ctx, n);
    case 'has':
      return hasLeaf(ctx, n);
  }
}

/** Top-level AND conjuncts, with `not (a or b)` opened into `not a`, `not b`. */
function conjuncts(n: Node): Node[] {
  if (n.kind === 'and') return n.children.flatMap(conjuncts);
  if (n.kind === 'not' && n.child.kind === 'or') return n.child.children.flatMap((c) => conjuncts(irNot(c)));
  if (n.kind === 'const' && n.value) return [];
  return [n];
}

function prefixTerms(entry: SourceEntry): SearchExpr[] {
  return entry.prefix.map((t) => {
    if (!searchFieldOk(t.field)) throw new TargetFailure('mapping', `the log source prefix field '${t.field}' is not a plain field name`);
    const values: SearchValue[] = t.values.map((v) => (typeof v === 'number' ? { kind: 'number', text: plainDecimal(v) } : str(v)));
    return values.length === 1 ? { k: 'eq', field: t.field, value: values[0]! } : { k: 'in', field: t.field, values };
  });
}

/** The query of a rule's IR for a log source, and the approximations it reports. */
export function printQuery(ir: Node, pm: PlatformMapping, entry: SourceEntry, index: readonly string[] = pm.index): { query: Query; notes: string[] } {
  const ctx: PrintContext = { pm, entry, evals: new Map(), notes: new Set(entry.note ? [entry.note] : []) };
  if (index.length && entry.datamodel) {
    throw new TargetFailure('mapping', `an index cannot narrow the data model search ${entry.datamodel.model}.${entry.datamodel.dataset}: the data model's constraints choose its indexes (the CIM add-on's index macros); remove the index setting for this platform`);
  }
  const search: SearchExpr[] = [...(index.length ? prefixTerms({ ...entry, prefix: [{ field: 'index', values: [...index] }] }) : []), ...prefixTerms(entry)];
  const prefix = new Set(search.map((t) => JSON.stringify(t)));
  const where: EvalExpr[] = [];
  for (const c of conjuncts(ir)) {
    const r = render(ctx, c);
    if (r.search) {
      // A condition the log source prefix already says (EventID: 1 on Sysmon process creation) is written once.
      for (const t of r.search.k === 'and' ? r.search.items : [r.search]) if (!(t.k === 'eq' && prefix.has(JSON.stringify(t)))) search.push(t);
    } else where.push(r.eval());
  }
  // The top level is always an AND (written with spaces), so an OR there keeps its parentheses.
  const q: Query = { search: { k: 'and', items: search.flatMap((x) => (x.k === 'and' ? x.items : [x])) } };
  if (entry.datamodel) q.datamodel = entry.datamodel;
  if (ctx.evals.size) q.evals = [...ctx.evals.values()];
  if (where.length) q.where = andE(where);
  return { query: q, notes: [...ctx.notes] };
}
