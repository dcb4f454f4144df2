/**
 * Building blocks for the PCRE patterns rulec emits into SPL (`match`, `mvfind`, `replace`).
 *
 * Every emitted pattern depends on one platform fact only: Splunk runs PCRE in UTF-8 mode, so `.`
 * and a class match one code point and `\x{h}` names a code point. Nothing else is left to PCRE's
 * build options: no `(?i)` (PCRE's caseless sets differ from rulec's folding: `s` also matches
 * U+017F, `σ` matches `ς`), no `(?m)` or `$` (newline conventions), no `\d \w \s` (UCP), no bare
 * `.` outside `(?s)`. Case-insensitive literals are spelled out as classes of exactly the code
 * points that fold together (docs/semantics.md section 3).
 */
import { fold } from '../../runtime/fold.js';
import { mergeRanges } from '../regex-tree.js';

/** Highest code point with a case mapping (Adlam); the fold table scans up to here. */
const CASED_LIMIT = 0x1f000;

let inverse: Map<string, string[]> | undefined;

/** Every code point grouped by its folded form (built once, on first need: ~10 ms). */
function foldInverse(): Map<string, string[]> {
  if (inverse) return inverse;
  inverse = new Map();
  for (let cp = 0; cp < CASED_LIMIT; cp++) {
    if (cp >= 0xd800 && cp < 0xe000) continue;
    const ch = String.fromCodePoint(cp);
    const f = ch.toLowerCase();
    // fold() keeps a character whose lowercase is several code points.
    if (f === ch || f.length > 2 || [...f].length !== 1) continue;
    let list = inverse.get(f);
    if (!list) inverse.set(f, (list = [f]));
    list.push(ch);
  }
  return inverse;
}

/** The code points that fold to the same code point as `ch` (including `ch`), sorted. */
export function foldClass(ch: string): string[] {
  const f = fold(ch);
  const members = foldInverse().get(f) ?? [f];
  const out = members.includes(ch) ? members : [...members, ch];
  return [...new Set(out)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u;

function hex(cp: number): string {
  return cp.toString(16).toUpperCase();
}

/** One code point as a PCRE atom outside a class. */
export function litCp(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (/^[A-Za-z0-9]$/.test(ch)) return ch;
  // PCRE: a backslash before a non-alphanumeric ASCII character is that character; only metacharacters need one.
  if (cp >= 0x20 && cp < 0x7f) return /[\\^$.|?*+()[\]{}]/.test(ch) ? '\\' + ch : ch;
  if (cp > 0x7f && VISIBLE.test(ch)) return ch;
  return `\\x{${hex(cp)}}`;
}

/** One code point inside a PCRE class; `spell` writes non-ASCII as `\x{h}` (a Kelvin sign next to `k` is unreadable raw). */
function classCp(cp: number, spell = false): string {
  const ch = String.fromCodePoint(cp);
  if (/^[A-Za-z0-9]$/.test(ch)) return ch;
  if (cp >= 0x20 && cp < 0x7f) return /[\\\]\[^-]/.test(ch) ? '\\' + ch : ch;
  if (cp > 0x7f && VISIBLE.test(ch) && !spell) return ch;
  return `\\x{${hex(cp)}}`;
}

export type Range = readonly [number, number];

/** A PCRE class for sorted, merged code point ranges. */
export function classOf(ranges: readonly Range[], negate = false, spell = false): string {
  let body = '';
  for (const [lo, hi] of ranges) {
    if (lo === hi) body += classCp(lo, spell);
    else if (hi === lo + 1) body += classCp(lo, spell) + classCp(hi, spell);
    else body += `${classCp(lo, spell)}-${classCp(hi, spell)}`;
  }
  return `[${negate ? '^' : ''}${body}]`;
}

/** A UTF-16 string that cannot be written as UTF-8 (a lone surrogate) has no SPL spelling. */
export function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return true;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
    i++;
  }
  return false;
}

const ciCache = new Map<string, string>();

/** One code point, matched case-insensitively by rulec's folding. */
export function ciCp(ch: string): string {
  let hit = ciCache.get(ch);
  if (hit === undefined) ciCache.set(ch, (hit = ciCpUncached(ch)));
  return hit;
}

function ciCpUncached(ch: string): string {
  const members = foldClass(ch);
  if (members.length === 1) return litCp(ch.codePointAt(0)!);
  const cps = members.map((m) => m.codePointAt(0)!);
  return classOf(
    mergeRanges(cps.map((c) => [c, c] as const)),
    false,
    cps.some((c) => c < 0x80),
  );
}

/** A literal text as a PCRE sequence, case-insensitive (`ci`) or exact. */
export function literal(s: string, ci: boolean): string {
  let out = '';
  for (const ch of s) out += ci ? ciCp(ch) : litCp(ch.codePointAt(0)!);
  return out;
}

/** Code points whose folding is a term character (docs/semantics.md 4a): ASCII letters and digits, and the Kelvin sign (folds to `k`). */
const TERM_RANGES: readonly Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]];

/**
 * The term match of `s` (docs/semantics.md 4a) as a PCRE pattern: the literal, with a non-term
 * character or the subject's end on each side where `s` starts or ends with a term character.
 * Case-insensitively the Kelvin sign is a term character too, since rulec folds it to `k`.
 */
export function termMatch(s: string, ci: boolean): string {
  const term = /[A-Za-z0-9]/;
  const other = classOf(ci ? [...TERM_RANGES, [0x212a, 0x212a]] : TERM_RANGES, true, true);
  // The ends are read folded: a value starting with the Kelvin sign starts with a term character.
  const f = ci ? fold(s) : s;
  const open = term.test(f[0]!) ? `(?:^|${other})` : '';
  const close = term.test(f[f.length - 1]!) ? `(?:${other}|\\z)` : '';
  return open + literal(s, ci) + close;
}
