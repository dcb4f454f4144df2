/**
 * KQL lexical rendering: the only place that escapes string literals, quotes identifiers and
 * escapes regular-expression literals. Everything the printer emits as text from rule data goes
 * through here.
 *
 * Facts (MS Learn "string data type", Kusto.Language 12.4.1): a `"..."` literal documents the
 * escapes `\"` `\'` `\t` `\n` `\\`; other escapes are undocumented or syntax errors, raw CR/LF are
 * not allowed. A verbatim `@"..."` literal takes backslashes as they are and writes `"` as `""`.
 * Control characters therefore cannot be written in a literal: callers route such values through a
 * regular expression, where RE2 spells them `\x{HH}`.
 */

/** Characters a KQL string literal cannot carry: C0/C1 controls other than TAB and LF, DEL, line/paragraph separators, lone surrogates. */
// eslint-disable-next-line no-control-regex
const NOT_LITERAL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `s` can be written as a KQL string literal (see stringLiteral). */
export function isLiteralSafe(s: string): boolean {
  return !NOT_LITERAL.test(s);
}

/** Thrown when a value cannot be a KQL literal; the printer catches it and renders a regex instead. */
export class NotLiteralError extends Error {}

/**
 * Characters a reader cannot see or tell from another: format and bidi controls (U+200B, U+202E,
 * U+FEFF), private use, unassigned code points, every space but U+0020, and the KELVIN SIGN (it looks
 * like K). Literals write them as escapes, as the EQL and SPL targets do, so a query never hides or
 * reorders text.
 */
const INVISIBLE = /(?! )[\p{Cf}\p{Co}\p{Cn}\p{Zs}\u212a]/u;

/** True for a code point that literals and regexes write as an escape (INVISIBLE). */
export function isInvisible(cp: number): boolean {
  return INVISIBLE.test(String.fromCodePoint(cp));
}

/**
 * A KQL string literal for `s`: verbatim `@"..."` when `s` has backslashes (paths read as written),
 * otherwise `"..."`; a value with an invisible character is always `"..."` (a verbatim literal has
 * no escapes), the character as `\uHHHH` (UTF-16 units, which Kusto.Language decodes). Throws
 * NotLiteralError for text that no literal can carry (isLiteralSafe).
 */
export function stringLiteral(s: string): string {
  if (!isLiteralSafe(s)) throw new NotLiteralError(`text with control characters cannot be a KQL string literal`);
  const hidden = INVISIBLE.test(s);
  if (s.includes('\\') && !/[\t\n]/.test(s) && !hidden) return `@"${s.replace(/"/g, '""')}"`;
  let out = '';
  for (const ch of s) {
    if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (hidden && isInvisible(ch.codePointAt(0)!)) for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `"${out}"`;
}

/**
 * A literal holding a regular expression. The RE2 text comes from `re2.ts`, which never emits raw
 * control characters, so the verbatim form always applies and the pattern reads as RE2 wrote it.
 */
export function regexLiteral(re2: string): string {
  if (!isLiteralSafe(re2) || /[\t\n]/.test(re2)) throw new Error(`internal: regex text with a raw control character: ${JSON.stringify(re2)}`);
  return `@"${re2.replace(/"/g, '""')}"`;
}

/**
 * Words that cannot be bare column names (Kusto keywords are lower-case and case-sensitive). Kusto reserves far more names in some positions; this list
 * covers the operators and literals a column name could collide with, and `--validate` catches the rest.
 */
const KEYWORDS = new Set(
  [
    'and', 'or', 'not', 'in', 'has', 'contains', 'startswith', 'endswith', 'matches', 'regex', 'between', 'let', 'where',
    'project', 'extend', 'summarize', 'by', 'on', 'with', 'as', 'of', 'to', 'step', 'true', 'false', 'null', 'bool',
    'boolean', 'int', 'long', 'real', 'double', 'decimal', 'string', 'datetime', 'date', 'time', 'timespan', 'guid',
    'dynamic', 'typeof', 'asc', 'desc', 'nulls', 'first', 'last', 'kind', 'hint', 'set', 'declare', 'pattern', 'restrict',
    'access', 'alias', 'materialize', 'toscalar', 'totable', 'range', 'print', 'find', 'search', 'union', 'join', 'lookup',
    'table', 'database', 'cluster', 'view', 'evaluate', 'parse', 'sort', 'order', 'top', 'take', 'limit', 'count',
    'distinct', 'sample', 'render', 'invoke', 'facet', 'fork', 'partition', 'scan', 'serialize', 'externaldata',
    'external_data', 'function', 'entity_group', 'graph', 'inner', 'outer', 'hasprefix', 'hassuffix', 'like', 'notlike',
    'getschema', 'consume', 'into', 'todynamic', 'with_source',
  ],
);

const BARE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A column, table or variable name: bare when it is a plain identifier, otherwise `['name']`. */
export function identifier(name: string): string {
  if (BARE.test(name) && !KEYWORDS.has(name)) return name;
  return `['${name.replace(/[\\']/g, (c) => `\\${c}`)}']`;
}

/** One step of a dynamic property path: `.name` when bare, otherwise `["name"]`. */
export function memberAccess(name: string): string {
  if (BARE.test(name) && !KEYWORDS.has(name)) return `.${name}`;
  return `[${stringLiteral(name)}]`;
}

/** A name for a new column derived from a Sigma field name: `a.b-c` -> `a_b_c`. */
export function columnNameFor(field: string): string {
  let n = field.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(n)) n = `_${n}`;
  return n;
}

/** A number as a KQL literal: integers as `long`, others as `real` (`4688`, `-1`, `1.5`, `real(1e+21)`). */
export function numberLiteral(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`internal: non-finite number ${n}`);
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return String(n);
  const t = String(n);
  return /e/i.test(t) ? `real(${t})` : t;
}

/** A duration `<n><s|m|h|d>` (rule schedule syntax) as a KQL timespan literal: the same spelling. */
export function timespanLiteral(d: string): string {
  if (!/^\d+[smhd]$/.test(d)) throw new Error(`internal: not a duration: ${d}`);
  return d;
}

// ---------------------------------------------------------------------------------------------
// RE2 literal text. The printer builds every regex from these so one place decides escaping.

const RE2_SPECIAL = /[\\.+*?()|[\]{}^$]/;

/** A code point as an RE2 escape `\x{HH}`. */
export function re2CodePoint(cp: number): string {
  return `\\x{${cp.toString(16).toUpperCase().padStart(2, '0')}}`;
}

/** Literal text as an RE2 fragment: metacharacters escaped, control and invisible characters as `\x{HH}`. */
export function re2Literal(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (RE2_SPECIAL.test(ch)) out += `\\${ch}`;
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 || (cp >= 0xd800 && cp <= 0xdfff) || isInvisible(cp)) out += re2CodePoint(cp);
    else out += ch;
  }
  return out;
}
