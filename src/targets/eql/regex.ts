/**
 * ECMAScript regular expressions (the subset docs/semantics.md accepts, without `u`) as Lucene
 * regular expressions for EQL's `regex` / `regex~`. Lucene matches the whole value, has no anchors,
 * no lookaround and no backreferences, and its case-insensitive mode is ASCII-only with ranges left
 * case-sensitive. So the pattern is parsed, the `i` / `s` / `m` flags are applied to character sets
 * here (explicit case classes, explicit line-terminator classes), `^` / `$` are resolved into the
 * whole-value wrapping (`.*` where unanchored), and only then is Lucene syntax written out. What has
 * no exact Lucene form is refused with the reason.
 *
 * Known difference (docs/targets/eql.md): without `u`, ECMAScript's `.` and negated classes match
 * one UTF-16 unit, Lucene's one code point; they differ only on characters outside the BMP.
 */
import { asciiClass, foldClass, jsCaseClass } from './case.js';
import { luceneChar, luceneClass, withoutSurrogates } from './dialect.js';

export type Ranges = [number, number][];

type RNode =
  | { t: 'char'; cp: number }
  /** A set of code points (after flags) or, while parsing, of UTF-16 units from an escape such as \\d. */
  | { t: 'set'; ranges: Ranges }
  /** `[...]` as written: UTF-16 units, closed under `i` and complemented when the flags are applied. */
  | { t: 'class'; ranges: Ranges; negated: boolean }
  | { t: 'dot' }
  | { t: 'seq'; items: RNode[] }
  | { t: 'alt'; alts: RNode[] }
  | { t: 'group'; body: RNode }
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
const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: Ranges = normalize([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** Every UTF-16 unit (the universe of a non-`u` ECMAScript class). */
const ALL_UNITS: Ranges = [[0, 0xffff]];

export function normalize(ranges: readonly (readonly [number, number])[]): Ranges {
  const sorted = ranges.map((r): [number, number] => [r[0], r[1]]).sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

function complementWithin(ranges: Ranges, universe: Ranges): Ranges {
  const out: Ranges = [];
  for (const [ulo, uhi] of universe) {
    let next = ulo;
    for (const [lo, hi] of ranges) {
      if (hi < next || lo > uhi) continue;
      if (lo > next) out.push([next, lo - 1]);
      next = Math.max(next, hi + 1);
    }
    if (next <= uhi) out.push([next, uhi]);
  }
  return out;
}

function contains(ranges: Ranges, lo: number, hi: number): boolean {
  return ranges.some(([a, b]) => a <= lo && hi <= b);
}

function intersects(ranges: Ranges, lo: number, hi: number): boolean {
  return ranges.some(([a, b]) => a <= hi && lo <= b);
}

/**
 * A set of UTF-16 units (ECMAScript's view) as a set of code points (Lucene's view). A set holding
 * every surrogate (`.`, negated classes) matches an astral character as one code point; a set
 * holding only some surrogates has no code-point meaning and is refused.
 */
function unitsToCodePoints(units: Ranges): Ranges {
  const all = contains(units, 0xd800, 0xdfff);
  if (!all && intersects(units, 0xd800, 0xdfff)) {
    throw new RegexUnsupported('a character class with UTF-16 surrogates (a character outside the BMP inside [...]) has no equivalent in Lucene, which matches code points');
  }
  const bmp = withoutSurrogates(units);
  return all ? normalize([...bmp, [0x10000, 0x10ffff]]) : bmp;
}

// ---------------------------------------------------------------------------------------------
// Parsing (ECMAScript without the u flag, Annex B included)

class Parser {
  i = 0;
  constructor(readonly src: string) {}

  peek(o = 0): string | undefined {
    return this.src[this.i + o];
  }

  parseAlt(): RNode {
    const alts = [this.parseSeq()];
    while (this.peek() === '|') {
      this.i++;
      alts.push(this.parseSeq());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  parseSeq(): RNode {
    const items: RNode[] = [];
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.parseAtom();
      items.push(this.parseQuantifier(atom));
    }
    return { t: 'seq', items };
  }

  parseQuantifier(atom: RNode): RNode {
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return atom;
      min = Number(m[1]);
      max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    // A lazy quantifier changes which match is found, never whether one exists.
    if (this.peek() === '?') this.i++;
    if (atom.t === 'bol' || atom.t === 'eol') throw new RegexUnsupported('a quantified anchor (^ or $) has no Lucene equivalent');
    return { t: 'rep', body: atom, min, max };
  }

  parseAtom(): RNode {
    const c = this.src[this.i]!;
    switch (c) {
      case '^':
        this.i++;
        return { t: 'bol' };
      case '$':
        this.i++;
        return { t: 'eol' };
      case '.':
        this.i++;
        return { t: 'dot' };
      case '(': {
        this.i++;
        if (this.peek() === '?') {
          const kind = this.src.slice(this.i, this.i + 3);
          if (kind.startsWith('?:')) this.i += 2;
          else if (kind.startsWith('?=') || kind.startsWith('?!') || kind === '?<=' || kind === '?<!') {
            throw new RegexUnsupported('lookaround assertions ((?=...), (?!...), (?<=...), (?<!...)) have no Lucene equivalent');
          } else throw new RegexUnsupported(`the group syntax '(${kind}' has no Lucene equivalent`);
        }
        const body = this.parseAlt();
        if (this.peek() !== ')') throw new RegexUnsupported('unbalanced parenthesis');
        this.i++;
        return { t: 'group', body };
      }
      case '[':
        return this.parseClass();
      case '\\':
        return this.parseEscape(false) as RNode;
      default:
        return this.literal();
    }
  }

  /** One literal character; a surrogate pair written out is one astral code point. */
  literal(): RNode {
    const cp = this.src.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    if (cp >= 0xd800 && cp <= 0xdfff) throw new RegexUnsupported('a lone UTF-16 surrogate in the pattern has no Lucene equivalent');
    return { t: 'char', cp };
  }

  /** An escape; inside a class `\b` is a backspace and sets are returned for the class to merge. */
  parseEscape(inClass: boolean): RNode {
    this.i++; // the backslash
    const c = this.src[this.i];
    if (c === undefined) throw new RegexUnsupported('the pattern ends with a backslash');
    this.i++;
    const ch = (cp: number): RNode => ({ t: 'char', cp });
    switch (c) {
      case 'd':
        return { t: 'set', ranges: DIGIT };
      case 'D':
        return { t: 'set', ranges: complementWithin(DIGIT, ALL_UNITS) };
      case 'w':
        return { t: 'set', ranges: WORD };
      case 'W':
        return { t: 'set', ranges: complementWithin(WORD, ALL_UNITS) };
      case 's':
        return { t: 'set', ranges: SPACE };
      case 'S':
        return { t: 'set', ranges: complementWithin(SPACE, ALL_UNITS) };
      case 'b':
        if (inClass) return ch(0x08);
        throw new RegexUnsupported('word boundaries (\\b) have no Lucene equivalent');
      case 'B':
        if (inClass) return ch(0x42);
        throw new RegexUnsupported('non-word-boundaries (\\B) have no Lucene equivalent');
      case 't':
        return ch(0x09);
      case 'n':
        return ch(0x0a);
      case 'r':
        return ch(0x0d);
      case 'v':
        return ch(0x0b);
      case 'f':
        return ch(0x0c);
      case '0':
        if (/[0-9]/.test(this.peek() ?? '')) throw new RegexUnsupported('legacy octal escapes are not supported; write \\xHH');
        return ch(0);
      case 'x': {
        const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.i));
        if (!m) return ch(0x78);
        this.i += 2;
        return ch(parseInt(m[0], 16));
      }
      case 'u': {
        const m = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.i));
        if (!m) return ch(0x75);
        this.i += 4;
        const cp = parseInt(m[0], 16);
        if (cp >= 0xd800 && cp <= 0xdfff) throw new RegexUnsupported('a \\u surrogate escape has no Lucene equivalent; write the character itself');
        return ch(cp);
      }
      case 'c': {
        const l = this.peek();
        if (l !== undefined && /[A-Za-z]/.test(l)) {
          this.i++;
          return ch(l.charCodeAt(0) % 32);
        }
        // Annex B: `\c` not followed by a letter is a backslash, then `c` is read again.
        this.i--;
        return ch(0x5c);
      }
      default:
        if (/[1-9]/.test(c)) throw new RegexUnsupported('backreferences (\\1 ...) have no Lucene equivalent');
        if (c >= '\ud800' && c <= '\udfff') {
          this.i--;
          return this.literal();
        }
        return ch(c.codePointAt(0)!);
    }
  }

  parseClass(): RNode {
    this.i++; // [
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i++;
    }
    const parts: Ranges = [];
    const item = (): RNode => {
      if (this.peek() === '\\') return this.parseEscape(true);
      const cp = this.src.charCodeAt(this.i);
      this.i++;
      return { t: 'char', cp };
    };
    while (this.i < this.src.length && this.peek() !== ']') {
      const a = item();
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        const save = this.i;
        this.i++;
        const b = item();
        if (a.t === 'char' && b.t === 'char') {
          if (b.cp < a.cp) throw new RegexUnsupported('a character range is out of order');
          parts.push([a.cp, b.cp]);
          continue;
        }
        // Annex B: a range with a class escape on either side is the items and a literal '-'.
        this.i = save;
      }
      if (a.t === 'char') parts.push([a.cp, a.cp]);
      else if (a.t === 'set') parts.push(...a.ranges);
    }
    if (this.peek() !== ']') throw new RegexUnsupported('unterminated character class');
    this.i++;
    return { t: 'class', ranges: normalize(parts), negated };
  }
}

// ---------------------------------------------------------------------------------------------
// Flags

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
}

/** Case closure of a unit set under ECMAScript's non-`u` Canonicalize. */
function jsCaseClose(ranges: Ranges): Ranges {
  const out: [number, number][] = [...ranges];
  for (const [lo, hi] of ranges) {
    const top = Math.min(hi, 0xffff);
    if (top - lo > 0x3000) {
      // Large ranges: visit only the units that have case partners.
      for (const u of casedUnits()) if (u >= lo && u <= top) for (const x of jsCaseClass(u)) out.push([x, x]);
    } else {
      for (let u = lo; u <= top; u++) {
        const cls = u < 0x80 ? asciiClass(u) : jsCaseClass(u);
        if (cls.length > 1) for (const x of cls) out.push([x, x]);
      }
    }
  }
  return normalize(out);
}

let cased: number[] | undefined;
function casedUnits(): number[] {
  if (!cased) {
    cased = [];
    for (let u = 0; u < 0x10000; u++) if (jsCaseClass(u).length > 1) cased.push(u);
  }
  return cased;
}

/** Apply the flags: `.` gets its set, `i` closes characters and classes, units become code points. */
function applyFlags(n: RNode, f: Flags): RNode {
  switch (n.t) {
    case 'char': {
      // Under `i` an ASCII letter keeps its spelling: `regex~` folds ASCII letters.
      if (!f.i || (n.cp < 0x80 && asciiClass(n.cp).length === 2)) return n;
      const cls = n.cp > 0xffff ? [n.cp] : jsCaseClass(n.cp);
      return cls.length === 1 ? n : { t: 'set', ranges: normalize(cls.map((x): [number, number] => [x, x])) };
    }
    case 'dot':
      return { t: 'set', ranges: unitsToCodePoints(f.s ? ALL_UNITS : complementWithin(LINE_TERMINATORS, ALL_UNITS)) };
    case 'set':
      return { t: 'set', ranges: unitsToCodePoints(f.i ? jsCaseClose(n.ranges) : n.ranges) };
    case 'class': {
      // ECMAScript: x matches [^S] under `i` when no member of S is case-equivalent to x.
      let units = f.i ? jsCaseClose(n.ranges) : n.ranges;
      if (n.negated) units = complementWithin(units, ALL_UNITS);
      return { t: 'set', ranges: unitsToCodePoints(units) };
    }
    case 'seq':
      return { t: 'seq', items: n.items.map((x) => applyFlags(x, f)) };
    case 'alt':
      return { t: 'alt', alts: n.alts.map((x) => applyFlags(x, f)) };
    case 'group':
      return { t: 'group', body: applyFlags(n.body, f) };
    case 'rep':
      return { ...n, body: applyFlags(n.body, f) };
    default:
      return n;
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

/** The top-level alternatives as item lists, with groups holding anchors distributed over the rest. */
function branches(n: RNode): RNode[][] {
  const alts = n.t === 'alt' ? n.alts : [n];
  const out: RNode[][] = [];
  for (const a of alts) out.push(...expandEdges(a.t === 'seq' ? a.items : [a]));
  if (out.length > MAX_BRANCHES) throw new RegexUnsupported('the pattern has too many anchored alternatives to translate');
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
    case 'group':
    case 'rep':
      return hasAnchor(n.body);
    default:
      return false;
  }
}

/**
 * A leading (or trailing) group that contains anchors, such as `(^|\\)x`, is distributed:
 * `^x | \\x`. Groups elsewhere are left alone (an anchor inside them is refused later).
 */
function expandEdges(items: RNode[]): RNode[][] {
  const first = items[0];
  if (first && first.t === 'group' && hasAnchor(first.body)) {
    const rest = items.slice(1);
    const inner = first.body.t === 'alt' ? first.body.alts : [first.body];
    return inner.flatMap((a) => expandEdges([...(a.t === 'seq' ? a.items : [a]), ...rest]));
  }
  const last = items[items.length - 1];
  if (items.length > 1 && last && last.t === 'group' && hasAnchor(last.body)) {
    const head = items.slice(0, -1);
    const inner = last.body.t === 'alt' ? last.body.alts : [last.body];
    return inner.flatMap((a) => expandEdges([...head, ...(a.t === 'seq' ? a.items : [a])]));
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
    case 'class':
      return !isEmptySet(n);
    case 'seq':
      return n.items.every(canMatch);
    case 'alt':
      return n.alts.some(canMatch);
    case 'group':
      return canMatch(n.body);
    case 'rep':
      return n.min === 0 || canMatch(n.body);
    default:
      return true;
  }
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
      return n.items.map((x) => emit(x, o)).join('');
    case 'alt': {
      const live = n.alts.filter(canMatch);
      const nonEmpty = live.filter((a) => !(a.t === 'seq' && a.items.length === 0));
      const body = nonEmpty.map((x) => emit(x, o)).join('|');
      if (nonEmpty.length === 0) return '';
      return nonEmpty.length < live.length ? `(${body})?` : body;
    }
    case 'group': {
      const inner = emit(n.body, o);
      return inner === '' ? '' : `(${inner})`;
    }
    case 'rep': {
      if (n.max === 0) return '';
      const body = n.body;
      const atom = body.t === 'char' || body.t === 'set' ? emit(body, o) : body.t === 'group' ? emit(body, o) : `(${emit(body, o)})`;
      if (atom === '') return '';
      if (!canMatch(body)) return '';
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
  const f: Flags = { i: flags.includes('i'), m: flags.includes('m'), s: flags.includes('s') };
  const p = new Parser(pattern);
  const ast = p.parseAlt();
  if (p.i !== pattern.length) throw new RegexUnsupported('unbalanced parenthesis');
  const o: EmitOptions = { asciiInsensitive: f.i };
  const bs = branches(applyFlags(ast, f))
    .map(toBranch)
    .filter((b) => b.items.every(canMatch));
  if (bs.length === 0) return { source: '', insensitive: false, satisfiable: false };
  const body = (b: Branch): string => b.items.map((x) => emit(x, o)).join('');
  let source: string;
  if (bs.every((b) => !b.start && !b.end)) {
    const parts = bs.map(body);
    // An alternative that can match the empty string matches inside every value.
    if (parts.some((x) => x === '')) source = '.*';
    else source = parts.length === 1 ? `.*${parts[0]}.*` : `.*(${parts.join('|')}).*`;
  } else {
    source = bs
      .map((b) => {
        const head = b.start ? (f.m ? LINE_START : '') : '.*';
        const tail = b.end ? (f.m ? LINE_END : '') : '.*';
        const mid = body(b);
        return head + mid + tail;
      })
      .map((s, _i, all) => (all.length > 1 && s === '' ? '()' : s))
      .join('|');
    if (source === '') source = '()';
  }
  return { source, insensitive: f.i, satisfiable: true };
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
      else source += luceneClass(normalize(cls.map((x): [number, number] => [x, x])));
    }
  }
  return { source: source === '' ? '()' : source, insensitive: ci, satisfiable: true };
}
