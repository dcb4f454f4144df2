/**
 * ECMAScript regular expressions (the subset docs/semantics.md accepts, without `u`) as Lucene
 * regular expressions for EQL's `regex` / `regex~`. Lucene matches the whole value, has no anchors,
 * no lookaround and no backreferences, and its case-insensitive mode is ASCII-only with ranges left
 * case-sensitive. So the pattern is read by the evaluator's own parser (`parseRegex` in
 * runtime/linear-regex.ts), whose tree already holds the flags' meaning in its sets of UTF-16 units
 * (`.` under `s`, `i` as ECMAScript's case closure); those sets become sets of code points, `^` / `$`
 * are resolved into the whole-value wrapping (`.*` where unanchored, line-terminator classes under
 * `m`), and only then is Lucene syntax written out. What has no exact Lucene form is refused with
 * the reason.
 *
 * Known difference (docs/targets/eql.md): without `u`, ECMAScript's `.` and negated classes match
 * one UTF-16 unit, Lucene's one code point; they differ only on characters outside the BMP.
 */
import { Assertion, parseRegex, RegexError, type Ast } from '../../runtime/linear-regex.js';
import { asciiClass, foldClass } from './case.js';
import { covers, mergeRanges, rangePairs, sequenceItems, singleUnit, withoutSurrogates } from '../regex-tree.js';
import { complementRanges, luceneChar, luceneClass } from './dialect.js';
import { fold } from '../../runtime/fold.js';

export type Ranges = [number, number][];

/** The pattern at Lucene's level: code points, with the flags already applied. */
type RNode =
  | { t: 'char'; cp: number }
  | { t: 'set'; ranges: Ranges }
  | { t: 'seq'; items: RNode[] }
  | { t: 'alt'; alts: RNode[] }
  | { t: 'rep'; body: RNode; min: number; max: number }
  | { t: 'bol' }
  | { t: 'eol' };

/** A regex the translation refuses, with a message for the user. */
export class RegexUnsupported extends Error {}

const LINE_TERMINATORS: Ranges = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function intersects(ranges: Ranges, lo: number, hi: number): boolean {
  return ranges.some(([a, b]) => a <= hi && lo <= b);
}

/**
 * A set of UTF-16 units (ECMAScript's view) as a set of code points (Lucene's view). A set holding
 * every surrogate (`.`, negated classes) matches an astral character as one code point; a set
 * holding only some surrogates has no code-point meaning and is refused.
 */
function unitsToCodePoints(units: Ranges): Ranges {
  const all = covers(units, 0xd800, 0xdfff);
  if (!all && intersects(units, 0xd800, 0xdfff)) {
    throw new RegexUnsupported('a character class with UTF-16 surrogates (a character outside the BMP inside [...]) has no equivalent in Lucene, which matches code points');
  }
  const bmp = withoutSurrogates(units);
  return all ? mergeRanges([...bmp, [0x10000, 0x10ffff]]) : bmp;
}

// ---------------------------------------------------------------------------------------------
// From the shared syntax tree (UTF-16 units) to code points

function toCodePoints(n: Ast, ci: boolean): RNode {
  switch (n.t) {
    case 'set': {
      const one = singleUnit(n);
      if (one !== undefined) {
        if (one >= 0xd800 && one <= 0xdfff) {
          throw new RegexUnsupported('a lone UTF-16 surrogate (half of a character outside the BMP, or one quantified on its own) has no Lucene equivalent');
        }
        return { t: 'char', cp: one };
      }
      // Under `i` an ASCII letter keeps its spelling: `regex~` folds ASCII letters.
      if (ci && n.lit !== undefined && n.ranges.length === 4) {
        const ascii = asciiClass(n.lit);
        if (ascii.length === 2 && n.ranges[0] === ascii[0] && n.ranges[1] === ascii[0] && n.ranges[2] === ascii[1] && n.ranges[3] === ascii[1]) {
          return { t: 'char', cp: n.lit };
        }
      }
      return { t: 'set', ranges: unitsToCodePoints(rangePairs(n.ranges)) };
    }
    case 'cat':
      return { t: 'seq', items: sequenceItems(n.items).map((x) => (x.t === 'astral' ? { t: 'char', cp: x.cp } : toCodePoints(x, ci))) };
    case 'alt':
      return { t: 'alt', alts: n.items.map((x) => toCodePoints(x, ci)) };
    case 'rep':
      return { t: 'rep', body: toCodePoints(n.item, ci), min: n.min, max: n.max };
    case 'assert':
      switch (n.kind) {
        case Assertion.Start:
          return { t: 'bol' };
        case Assertion.End:
          return { t: 'eol' };
        case Assertion.WordBoundary:
          throw new RegexUnsupported('word boundaries (\\b) have no Lucene equivalent');
        case Assertion.NotWordBoundary:
          throw new RegexUnsupported('non-word-boundaries (\\B) have no Lucene equivalent');
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Anchors: every alternative of the whole pattern becomes [^?] body [$?]

interface Branch {
  start: boolean;
  end: boolean;
  items: RNode[];
}

const MAX_BRANCHES = 64;

/** The top-level alternatives as item lists, with alternations holding anchors distributed over the rest. */
function branches(n: RNode): RNode[][] {
  const alts = n.t === 'alt' ? n.alts : [n];
  const out: RNode[][] = [];
  for (const a of alts) out.push(...expandEdges(a.t === 'seq' ? a.items : [a]));
  if (out.length > MAX_BRANCHES && hasAnchor(n)) throw new RegexUnsupported('the pattern has too many anchored alternatives to translate');
  return out;
}

function hasAnchor(n: RNode): boolean {
  switch (n.t) {
    case 'bol':
    case 'eol':
      return true;
    case 'seq':
      return n.items.some(hasAnchor);
    case 'alt':
      return n.alts.some(hasAnchor);
    case 'rep':
      return hasAnchor(n.body);
    default:
      return false;
  }
}

/**
 * A leading (or trailing) alternation that contains anchors, such as `(^|\\)x`, is distributed:
 * `^x | \\x`. Alternations elsewhere are left alone (an anchor inside them is refused later).
 */
function expandEdges(items: RNode[]): RNode[][] {
  const first = items[0];
  if (first && first.t === 'alt' && hasAnchor(first)) {
    const rest = items.slice(1);
    return first.alts.flatMap((a) => expandEdges([...(a.t === 'seq' ? a.items : [a]), ...rest]));
  }
  const last = items[items.length - 1];
  if (items.length > 1 && last && last.t === 'alt' && hasAnchor(last)) {
    const head = items.slice(0, -1);
    return last.alts.flatMap((a) => expandEdges([...head, ...(a.t === 'seq' ? a.items : [a])]));
  }
  return [items];
}

function toBranch(items: RNode[]): Branch {
  let a = 0;
  let b = items.length;
  let start = false;
  let end = false;
  while (a < b && items[a]!.t === 'bol') {
    start = true;
    a++;
  }
  while (b > a && items[b - 1]!.t === 'eol') {
    end = true;
    b--;
  }
  const body = items.slice(a, b);
  if (body.some(hasAnchor)) {
    throw new RegexUnsupported('^ and $ are translated only at the start and end of the pattern or of its top-level alternatives; Lucene regular expressions have no anchors');
  }
  return { start, end, items: body };
}

// ---------------------------------------------------------------------------------------------
// Emission

interface EmitOptions {
  /** The query uses `regex~`: a set equal to one ASCII letter's two cases is written as the letter. */
  asciiInsensitive: boolean;
}

function isEmptySet(n: RNode): boolean {
  return n.t === 'set' && n.ranges.length === 0;
}


/** False when the node can match nothing (an empty class such as `[]` somewhere mandatory). */
function canMatch(n: RNode): boolean {
  switch (n.t) {
    case 'set':
      return !isEmptySet(n);
    case 'seq':
      return n.items.every(canMatch);
    case 'alt':
      return n.alts.some(canMatch);
    case 'rep':
      return n.min === 0 || canMatch(n.body);
    default:
      return true;
  }
}

function group(inner: string): string {
  return inner === '' ? '' : `(${inner})`;
}

function emit(n: RNode, o: EmitOptions): string {
  switch (n.t) {
    case 'char':
      return luceneChar(n.cp);
    case 'set': {
      if (o.asciiInsensitive && n.ranges.length === 2) {
        const [[a, a2], [b, b2]] = n.ranges as [[number, number], [number, number]];
        if (a === a2 && b === b2 && a >= 0x41 && a <= 0x5a && b === a + 0x20) return String.fromCharCode(b);
      }
      return luceneClass(n.ranges);
    }
    case 'seq':
      return n.items.map((x) => (x.t === 'alt' ? group(emit(x, o)) : emit(x, o))).join('');
    case 'alt': {
      const live = n.alts.filter(canMatch);
      const nonEmpty = live.filter((a) => !(a.t === 'seq' && a.items.length === 0));
      const body = nonEmpty.map((x) => emit(x, o)).join('|');
      if (nonEmpty.length === 0) return '';
      return nonEmpty.length < live.length ? `(${body})?` : body;
    }
    case 'rep': {
      if (n.max === 0) return '';
      const body = n.body;
      if (!canMatch(body)) return '';
      const atom = body.t === 'char' || body.t === 'set' ? emit(body, o) : group(emit(body, o));
      if (atom === '') return '';
      const q = n.min === 0 && n.max === Infinity ? '*' : n.min === 1 && n.max === Infinity ? '+' : n.min === 0 && n.max === 1 ? '?' : n.max === Infinity ? `{${n.min},}` : n.min === n.max ? `{${n.min}}` : `{${n.min},${n.max}}`;
      return atom + q;
    }
    default:
      throw new Error('internal: anchor left in a branch');
  }
}

/** `^` / `$` under `m`: the start or end of the value, or next to a line terminator. */
const LINE_START = `(.*${luceneClass(LINE_TERMINATORS)})?`;
const LINE_END = `(${luceneClass(LINE_TERMINATORS)}.*)?`;

export interface LuceneRegex {
  /** Lucene regular-expression source (whole-value match). */
  source: string;
  /** Use `regex~`: the source relies on ASCII case-insensitive matching for single letters. */
  insensitive: boolean;
  /** False when the pattern can never match (then the leaf is constant false). */
  satisfiable: boolean;
}

/**
 * Translate an unanchored ECMAScript regex with flags `ims` into a Lucene regex over the whole value.
 * Throws RegexUnsupported with the reason when there is no exact translation.
 */
export function toLucene(pattern: string, flags: string): LuceneRegex {
  const ci = flags.includes('i');
  const multiline = flags.includes('m');
  let ast: Ast;
  try {
    ast = parseRegex(pattern, flags);
  } catch (e) {
    if (e instanceof RegexError) throw new RegexUnsupported(e.message);
    throw e;
  }
  const o: EmitOptions = { asciiInsensitive: ci };
  const bs = branches(toCodePoints(ast, ci))
    .map(toBranch)
    .filter((b) => b.items.every(canMatch));
  if (bs.length === 0) return { source: '', insensitive: false, satisfiable: false };
  const body = (b: Branch): string => emit({ t: 'seq', items: b.items }, o);
  let source: string;
  if (bs.every((b) => !b.start && !b.end)) {
    const parts = bs.map(body);
    // An alternative that can match the empty string matches inside every value.
    if (parts.some((x) => x === '')) source = '.*';
    else source = parts.length === 1 ? `.*${parts[0]}.*` : `.*(${parts.join('|')}).*`;
  } else {
    source = bs
      .map((b) => {
        const head = b.start ? (multiline ? LINE_START : '') : '.*';
        const tail = b.end ? (multiline ? LINE_END : '') : '.*';
        const mid = body(b);
        return head + mid + tail;
      })
      .map((s, _i, all) => (all.length > 1 && s === '' ? '()' : s))
      .join('|');
    if (source === '') source = '()';
  }
  return { source, insensitive: ci, satisfiable: true };
}

/**
 * A glob or literal comparison (rulec's own case folding) as a Lucene regex: used when a
 * case-insensitive literal has characters whose case class ASCII folding does not produce (`k`
 * gains the Kelvin sign, `é` its capital), or when the literal holds `*` / `?`.
 */
export function globToLucene(tokens: readonly (string | { wildcard: '*' | '?' })[], ci: boolean): LuceneRegex {
  let source = '';
  for (const t of tokens) {
    if (typeof t !== 'string') {
      source += t.wildcard === '*' ? '.*' : '.';
      continue;
    }
    for (const ch of t) {
      const cp = ch.codePointAt(0)!;
      if (!ci) {
        source += luceneChar(cp);
        continue;
      }
      const cls = foldClass(cp);
      const ascii = asciiClass(cp);
      if (cls.length === ascii.length && cls.every((x, k) => x === ascii[k])) source += luceneChar(cp);
      else source += luceneClass(mergeRanges(cls.map((x): [number, number] => [x, x])));
    }
  }
  return { source: source === '' ? '()' : source, insensitive: ci, satisfiable: true };
}

/**
 * The term match of `value` (docs/semantics.md 4a) as a whole-value Lucene regex: any text, then
 * the literal, then any text, with a non-term character next to the literal on each side where the
 * value starts or ends with a term character. Lucene keeps class ranges case-sensitive under `regex~`,
 * so `[^0-9A-Za-z]` excludes exactly the ASCII letters and digits; case-insensitively the Kelvin sign
 * is excluded too, since rulec folds it to `k`.
 */
export function termToLucene(value: string, ci: boolean): LuceneRegex {
  const terms: [number, number][] = [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]];
  if (ci) terms.push([0x212a, 0x212a]);
  const other = luceneClass(complementRanges(terms));
  // The ends are read folded: a value starting with the Kelvin sign starts with a term character.
  const f = ci ? fold(value) : value;
  const term = /[A-Za-z0-9]/;
  const open = term.test(f[0]!) ? `(.*${other})?` : '.*';
  const close = term.test(f[f.length - 1]!) ? `(${other}.*)?` : '.*';
  return { source: open + globToLucene([value], ci).source + close, insensitive: ci, satisfiable: true };
}
