/**
 * EQL lexical rendering: the only place that quotes strings and field names or escapes pattern and
 * regular-expression characters. Everything the printer emits as text goes through here, so the
 * escaping rules (Elasticsearch EQL syntax reference, "Strings", "Escape a field name", and Lucene
 * regular expression syntax) live in one file that the property tests cover.
 */
import { TargetFailure } from '../types.js';
import { withoutSurrogates } from '../regex-tree.js';

/** Words of the EQL grammar: a field segment spelled like one must be quoted. */
const KEYWORDS = new Set([
  'and', 'any', 'by', 'false', 'fork', 'in', 'join', 'like', 'maxspan', 'not', 'null', 'of', 'or', 'regex',
  'runs', 'sample', 'sequence', 'true', 'until', 'where', 'with',
]);

const PLAIN_SEGMENT = /^[A-Za-z_@][A-Za-z0-9_]*$/;

/**
 * A field name as EQL text: dotted segments, each backquoted when it is not a plain identifier (a
 * backquote inside is doubled). `optional` adds EQL's `?` prefix (a field missing from the index
 * mapping reads as null instead of failing the query).
 */
export function eqlField(name: string, optional = false): string {
  let text = fieldCache.get(name);
  if (text === undefined) {
    const segments = name.split('.');
    if (segments.some((s) => s === '')) text = quoteIdentifier(name);
    else text = segments.map((s) => (PLAIN_SEGMENT.test(s) && !KEYWORDS.has(s.toLowerCase()) ? s : quoteIdentifier(s))).join('.');
    fieldCache.set(name, text);
  }
  return optional ? `?${text}` : text;
}

const fieldCache = new Map<string, string>();

/** A whole number of seconds as an Elasticsearch time value, in the largest unit that divides it (`600` is `10m`). */
export function timeValue(seconds: number): string {
  for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (seconds % n === 0) return `${seconds / n}${unit}`;
  return `${seconds}s`;
}

function quoteIdentifier(s: string): string {
  return '`' + s.replace(/`/g, '``') + '`';
}

/**
 * A string literal in double quotes. EQL knows `\"` `\\` `\n` `\r` `\t` and `\u{H..}` (2 to 8 hex
 * digits); any other backslash sequence is a lexer error, so `*` and `?` are never escaped here:
 * whether they are wildcards is decided by the operator, not by the string.
 */
export function eqlString(s: string): string {
  if (PRINTABLE_ASCII.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      throw new TargetFailure('unsupported', `the value contains a lone UTF-16 surrogate (U+${hex(c)}), which no EQL string can hold`);
    }
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (isInvisible(c)) out += `\\u{${hex(c).padStart(2, '0')}}`;
    else out += ch;
  }
  return out + '"';
}

/** Printable ASCII without `"` and `\\`: nothing to escape. */
const PRINTABLE_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Controls, format characters, every separator but the plain space (no-break and typographic
 * spaces, U+2028/2029) and the KELVIN SIGN (which looks like K and appears in the case classes of k)
 * are written as escapes, so that a query never hides a character.
 */
const INVISIBLE = /[\p{C}\p{Z}\u212a]/u;

function isInvisible(c: number): boolean {
  return c !== 0x20 && INVISIBLE.test(String.fromCodePoint(c));
}

function hex(c: number): string {
  return c.toString(16).toUpperCase();
}

/**
 * True when a literal can sit inside a `:` / `like` pattern. Those have no escape for `*` and `?`;
 * and Elasticsearch turns the pattern into a LIKE pattern whose escape character is U+0001
 * (StringUtils.toLikePattern), so a literal U+0001 there is read as an escape: rejected or matching
 * something else. Such literals take another exact form (function forms, `in~`, a regex).
 */
export function isLikeSafe(s: string): boolean {
  return !s.includes('*') && !s.includes('?') && !s.includes('\u0001');
}

/**
 * The text of a wildcard pattern for `:` / `like` (then quoted with eqlString). Literal runs must be
 * wildcard-free (checked by the caller, which uses another form otherwise); `\` is an ordinary
 * character in EQL patterns.
 */
export function wildcardPattern(tokens: readonly (string | { wildcard: '*' | '?' })[]): string {
  let out = '';
  for (const t of tokens) {
    if (typeof t === 'string') {
      if (!isLikeSafe(t)) throw new Error(`internal: literal '${t}' in a wildcard pattern`);
      out += t;
    } else out += t.wildcard;
  }
  return out;
}

/**
 * Lucene regular expression syntax: these characters are operators (the last six only with the
 * optional syntax flags, which Elasticsearch enables by default), and `\` followed by any character
 * is that character. `^` and `$` are not operators in Lucene but are escaped anyway so that nobody
 * reads them as anchors.
 */
const LUCENE_RESERVED = new Set([...'.?+*|{}[]()"\\#@&<>~^$']);

/** One code point as a Lucene regex atom (outside a character class). */
export function luceneChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return LUCENE_RESERVED.has(ch) ? '\\' + ch : ch;
}

/** A literal string as a Lucene regex (every reserved character escaped). */
export function luceneLiteral(s: string): string {
  let out = '';
  for (const ch of s) out += luceneChar(ch.codePointAt(0)!);
  return out;
}

/** One code point inside a Lucene character class: ASCII punctuation is escaped. */
export function luceneClassChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /^[!-/:-@[-`{-~]$/.test(ch) ? '\\' + ch : ch;
}

/**
 * A set of code points, given as sorted disjoint inclusive ranges, as a Lucene character class.
 * The complement is written instead (`[^...]`) when it is the shorter list.
 */
export function luceneClass(ranges: readonly (readonly [number, number])[]): string {
  const complement = complementRanges(ranges);
  if (complement.length === 0) return '.';
  const useComplement = complement.length < ranges.length;
  const list = useComplement ? complement : ranges;
  if (!useComplement && list.length === 1 && list[0]![0] === list[0]![1]) return luceneChar(list[0]![0]);
  let body = '';
  for (const [lo, hi] of list) {
    body += luceneClassChar(lo);
    if (hi > lo) body += (hi > lo + 1 ? '-' : '') + luceneClassChar(hi);
  }
  return `[${useComplement ? '^' : ''}${body}]`;
}

/** Complement of sorted disjoint ranges within all code points, leaving out the surrogate block. */
export function complementRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return withoutSurrogates(out);
}
