/**
 * A regular-expression matcher whose running time is linear in the length of the text, for the
 * ECMAScript (non-`u`) syntax rulec accepts (docs/semantics.md: no lookaround, no backreferences).
 * It answers only "is there a match anywhere" (`RegExp.prototype.test` on a fresh regex), which is
 * all a rule needs, so it can ignore captures and greedy/lazy preference.
 *
 * Why not V8's own engine: backtracking makes `(a+)+$` on 30 `a`s take seconds, and V8 20's
 * linear fallback (`--enable-experimental-regexp-engine-on-excessive-backtracks`) refuses the `i`
 * flag and counted repetitions such as `[^\\]{1,256}`, which the SigmaHQ rules use. Here the
 * pattern becomes a Thompson NFA that is run as a lazily built DFA (states cached per input class;
 * the cache is dropped when it grows too large, so memory stays bounded and time stays linear).
 *
 * Semantics follow ECMAScript exactly, including Annex B syntax (`{` and `]` as literals, legacy
 * octal escapes, `\c` quirks) and `i` case folding (Canonicalize: simple uppercase mapping, never
 * from non-ASCII to ASCII). Property tests compare it with V8 on random patterns.
 *
 * Imports nothing, so generated code can inline it.
 */

/** A pattern the linear engine cannot run (lookaround, backreference) or a syntax error. */
export class RegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexError';
  }
}

// ---------------------------------------------------------------------------------------------
// Character sets: sorted, disjoint, non-adjacent inclusive ranges of UTF-16 code units.

/** Sorted, disjoint, inclusive code unit ranges: [lo0, hi0, lo1, hi1, ...]. */
export type Ranges = number[];

const MAX_CU = 0xffff;

function normalize(r: Ranges): Ranges {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The code units outside a set (for printers that write a set as a negated class). */
export function complement(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_CU) out.push(next, MAX_CU);
  return out;
}

function inRanges(r: Ranges, c: number): boolean {
  let lo = 0;
  let hi = r.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < r[2 * mid]!) hi = mid - 1;
    else if (c > r[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
// WhiteSpace and LineTerminator code points (ECMA-262 \s).
const SPACE: Ranges = normalize([
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f,
  0x3000, 0x3000, 0xfeff, 0xfeff,
]);
const LINE_TERMINATOR: Ranges = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];
const ALL: Ranges = [0, MAX_CU];

// ECMAScript Canonicalize for non-unicode ignoreCase: simple uppercase, kept when the uppercase is
// several code units or would map a non-ASCII unit to ASCII.
let canonTable: Uint16Array | undefined;

function canonicalTable(): Uint16Array {
  if (!canonTable) {
    canonTable = new Uint16Array(MAX_CU + 1);
    for (let c = 0; c <= MAX_CU; c++) {
      const u = String.fromCharCode(c).toUpperCase();
      let v = c;
      if (u.length === 1) {
        const cu = u.charCodeAt(0);
        if (!(c >= 128 && cu < 128)) v = cu;
      }
      canonTable[c] = v;
    }
  }
  return canonTable;
}

const closed = new Map<string, Ranges>();

/** The code units that match a set under `i`: those whose canonical form is some member's. */
function caseClose(r: Ranges): Ranges {
  const key = r.join(',');
  let out = closed.get(key);
  if (!out) {
    out = caseCloseUncached(r);
    closed.set(key, out);
  }
  return out;
}

/** Code units grouped by canonical form: `byCanon.get(v)` lists every unit whose form is v. */
let byCanon: Map<number, number[]> | undefined;

function caseCloseUncached(r: Ranges): Ranges {
  const canon = canonicalTable();
  let size = 0;
  for (let i = 0; i < r.length; i += 2) size += r[i + 1]! - r[i]! + 1;
  if (size <= 256) {
    if (!byCanon) {
      byCanon = new Map();
      for (let c = 0; c <= MAX_CU; c++) {
        const v = canon[c]!;
        let list = byCanon.get(v);
        if (!list) byCanon.set(v, (list = []));
        list.push(c);
      }
    }
    const out: Ranges = [];
    for (let i = 0; i < r.length; i += 2) {
      for (let c = r[i]!; c <= r[i + 1]!; c++) {
        for (const o of byCanon.get(canon[c]!)!) out.push(o, o);
      }
    }
    return normalize(out);
  }
  const hit = new Uint8Array(MAX_CU + 1);
  for (let i = 0; i < r.length; i += 2) for (let c = r[i]!; c <= r[i + 1]!; c++) hit[canon[c]!] = 1;
  const out: Ranges = [];
  let start = -1;
  for (let c = 0; c <= MAX_CU + 1; c++) {
    const inSet = c <= MAX_CU && hit[canon[c]!] === 1;
    if (inSet && start < 0) start = c;
    else if (!inSet && start >= 0) {
      out.push(start, c - 1);
      start = -1;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree.

/** The syntax tree of a pattern: the one reading of it, which analyses (required literals) and the SPL and EQL printers share. */
export type Ast =
  /**
   * `lit` is the code unit as written when the set stands for one literal character: under `i` the
   * ranges also hold its other cases, and a printer whose target folds case itself keeps the spelling.
   */
  | { t: 'set'; ranges: Ranges; lit?: number }
  | { t: 'cat'; items: Ast[] }
  | { t: 'alt'; items: Ast[] }
  | { t: 'rep'; min: number; max: number; item: Ast }
  | { t: 'assert'; kind: Assertion };

export const enum Assertion {
  Start,
  End,
  WordBoundary,
  NotWordBoundary,
}

const EMPTY: Ast = { t: 'cat', items: [] };

/** ECMAScript (non-`u`, Annex B) pattern -> syntax tree. Character sets are case-closed under `i`. */
class Parser {
  private i = 0;
  private readonly groups: number;

  constructor(
    private readonly src: string,
    private readonly ignoreCase: boolean,
    private readonly dotAll: boolean,
  ) {
    this.groups = countCapturingGroups(src);
  }

  parse(): Ast {
    const ast = this.disjunction();
    if (this.i < this.src.length) throw this.error(this.src[this.i] === ')' ? 'unmatched )' : 'unexpected character');
    return ast;
  }

  private error(msg: string): RegexError {
    return new RegexError(`${msg} at offset ${this.i} in /${this.src}/`);
  }

  private peek(k = 0): string | undefined {
    return this.src[this.i + k];
  }

  private disjunction(): Ast {
    const alts = [this.alternative()];
    while (this.peek() === '|') {
      this.i++;
      alts.push(this.alternative());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', items: alts };
  }

  private alternative(): Ast {
    const items: Ast[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      items.push(this.term());
    }
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private term(): Ast {
    const c = this.peek()!;
    const start = this.i;
    if (c === '^' || c === '$') {
      this.i++;
      this.noQuantifier(start);
      return { t: 'assert', kind: c === '^' ? Assertion.Start : Assertion.End };
    }
    if (c === '\\' && (this.peek(1) === 'b' || this.peek(1) === 'B')) {
      this.i += 2;
      this.noQuantifier(start);
      return { t: 'assert', kind: this.src[start + 1] === 'b' ? Assertion.WordBoundary : Assertion.NotWordBoundary };
    }
    if (c === '(' && this.peek(1) === '?') {
      const k = this.peek(2);
      if (k === '=' || k === '!' || (k === '<' && (this.peek(3) === '=' || this.peek(3) === '!'))) {
        throw new RegexError(`lookaround assertions such as (?${k === '<' ? '<' + this.peek(3) : k}...) cannot run in linear time and are not supported (docs/semantics.md)`);
      }
    }
    const atom = this.atom();
    return this.quantified(atom);
  }

  private noQuantifier(at: number): void {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?' || (c === '{' && this.bracedQuantifier() !== undefined)) {
      this.i = at;
      throw this.error('nothing to repeat');
    }
  }

  /** `{n}`, `{n,}`, `{n,m}` at the current position, without consuming it. */
  private bracedQuantifier(): { min: number; max: number; len: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i, this.i + 40));
    if (!m) {
      // Long digit runs: fall back to a full scan (rare).
      const full = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!full) return undefined;
      return this.toQuantifier(full);
    }
    return this.toQuantifier(m);
  }

  private toQuantifier(m: RegExpExecArray): { min: number; max: number; len: number } {
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { min, max, len: m[0].length };
  }

  private quantified(atom: Ast): Ast {
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === '*') {
      min = 0;
      max = Infinity;
      this.i++;
    } else if (c === '+') {
      min = 1;
      max = Infinity;
      this.i++;
    } else if (c === '?') {
      min = 0;
      max = 1;
      this.i++;
    } else if (c === '{') {
      const q = this.bracedQuantifier();
      if (!q) return atom;
      if (q.min > q.max) throw this.error('numbers out of order in {} quantifier');
      min = q.min;
      max = q.max;
      this.i += q.len;
    } else return atom;
    // Lazy and greedy quantifiers accept the same strings.
    if (this.peek() === '?') this.i++;
    const after = this.peek();
    if (after === '*' || after === '+' || after === '?' || (after === '{' && this.bracedQuantifier() !== undefined)) {
      throw this.error('nothing to repeat');
    }
    return { t: 'rep', min, max, item: atom };
  }

  private atom(): Ast {
    const c = this.peek()!;
    switch (c) {
      case '.':
        this.i++;
        return this.set(this.dotAll ? ALL : complement(LINE_TERMINATOR), false);
      case '(': {
        this.i++;
        if (this.peek() === '?') {
          if (this.peek(1) !== ':') {
            throw this.error(this.peek(1) === '<' ? 'named groups are not supported' : 'invalid group');
          }
          this.i += 2;
        }
        const inner = this.disjunction();
        if (this.peek() !== ')') throw this.error('unterminated group');
        this.i++;
        return inner;
      }
      case '[':
        return this.characterClass();
      case '\\':
        return this.atomEscape();
      case '*':
      case '+':
      case '?':
        throw this.error('nothing to repeat');
      case '{':
        if (this.bracedQuantifier() !== undefined) throw this.error('nothing to repeat');
        this.i++;
        return this.char(0x7b);
      default:
        this.i++;
        return this.char(c.charCodeAt(0));
    }
  }

  private char(code: number): Ast {
    return { t: 'set', ranges: this.ignoreCase ? caseClose([code, code]) : [code, code], lit: code };
  }

  private set(ranges: Ranges, negate: boolean): Ast {
    let r = this.ignoreCase ? caseClose(ranges) : ranges;
    if (negate) r = complement(r);
    return { t: 'set', ranges: r };
  }

  private atomEscape(): Ast {
    const start = this.i;
    this.i++; // the backslash
    const c = this.peek();
    if (c === undefined) throw this.error('\\ at end of pattern');
    const cls = classEscape(c);
    if (cls) {
      this.i++;
      return this.set(cls, false);
    }
    if (c >= '1' && c <= '9' && this.groups > 0) {
      // With capturing groups, Annex B reads \N as a backreference or an octal escape depending on
      // the digits that follow; refuse both rather than guess.
      const digits = /^\d+/.exec(this.src.slice(this.i))![0];
      this.i = start;
      throw new RegexError(`backreferences such as \\${digits} cannot run in linear time and are not supported (docs/semantics.md)`);
    }
    return this.char(this.characterEscape(false));
  }

  /**
   * The code unit of a CharacterEscape / identity escape (Annex B), the backslash already
   * consumed. `inClass` selects the class rules (`\b` is backspace, `\c` takes digits and `_`).
   */
  private characterEscape(inClass: boolean): number {
    const c = this.src[this.i]!;
    const code = c.charCodeAt(0);
    switch (c) {
      case 'f':
        this.i++;
        return 0x0c;
      case 'n':
        this.i++;
        return 0x0a;
      case 'r':
        this.i++;
        return 0x0d;
      case 't':
        this.i++;
        return 0x09;
      case 'v':
        this.i++;
        return 0x0b;
      case 'b':
        // only reached inside a class (outside it, \b is an assertion)
        this.i++;
        return 0x08;
      case 'c': {
        const n = this.src[this.i + 1];
        if (n !== undefined && (/[A-Za-z]/.test(n) || (inClass && /[0-9_]/.test(n)))) {
          this.i += 2;
          return n.charCodeAt(0) % 32;
        }
        // Annex B: `\c` not followed by a control letter is a literal backslash; `c` is read next.
        return 0x5c;
      }
      case 'x': {
        const h = this.src.slice(this.i + 1, this.i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(h)) {
          this.i += 3;
          return parseInt(h, 16);
        }
        this.i++;
        return code;
      }
      case 'u': {
        const h = this.src.slice(this.i + 1, this.i + 5);
        if (/^[0-9A-Fa-f]{4}$/.test(h)) {
          this.i += 5;
          return parseInt(h, 16);
        }
        this.i++;
        return code;
      }
      default:
        if (c >= '0' && c <= '7') {
          // `\0` alone is NUL; otherwise a legacy octal escape of up to three digits, at most \377.
          const m = /^[0-7]{1,3}/.exec(this.src.slice(this.i))![0];
          let digits = m;
          if (digits.length === 3 && digits[0]! > '3') digits = digits.slice(0, 2);
          this.i += digits.length;
          return parseInt(digits, 8);
        }
        this.i++;
        return code;
    }
  }

  private characterClass(): Ast {
    const open = this.i;
    this.i++; // [
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.i++;
    }
    const ranges: Ranges = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) {
        this.i = open;
        throw this.error('unterminated character class');
      }
      if (c === ']') {
        this.i++;
        break;
      }
      const a = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        const save = this.i;
        this.i++; // -
        const b = this.classAtom();
        if (typeof a === 'number' && typeof b === 'number') {
          if (a > b) {
            this.i = save;
            throw this.error('range out of order in character class');
          }
          ranges.push(a, b);
          continue;
        }
        // Annex B: a range with a class escape on either side is the union of both and '-'.
        pushAtom(ranges, a);
        ranges.push(0x2d, 0x2d);
        pushAtom(ranges, b);
        continue;
      }
      pushAtom(ranges, a);
    }
    return this.set(normalize(ranges), negate);
  }

  /** One class atom: a code unit, or a set for `\d \w \s` and their negations. */
  private classAtom(): number | Ranges {
    const c = this.src[this.i]!;
    if (c !== '\\') {
      this.i++;
      return c.charCodeAt(0);
    }
    this.i++;
    const e = this.peek();
    if (e === undefined) throw this.error('\\ at end of pattern');
    const cls = classEscape(e);
    if (cls) {
      this.i++;
      return cls;
    }
    return this.characterEscape(true);
  }
}

function pushAtom(ranges: Ranges, a: number | Ranges): void {
  if (typeof a === 'number') ranges.push(a, a);
  else ranges.push(...a);
}

function classEscape(c: string): Ranges | undefined {
  switch (c) {
    case 'd':
      return DIGIT;
    case 'D':
      return complement(DIGIT);
    case 'w':
      return WORD;
    case 'W':
      return complement(WORD);
    case 's':
      return SPACE;
    case 'S':
      return complement(SPACE);
    default:
      return undefined;
  }
}

/** Capturing groups decide whether `\N` is a backreference or a legacy octal escape. */
function countCapturingGroups(src: string): number {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') inClass = true;
    else if (c === '(' && src[i + 1] !== '?') n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Thompson NFA.

const enum Op {
  Char,
  Split,
  Assert,
  Match,
}

/** Above this many NFA states (counted repetitions are expanded) a pattern is refused. */
const MAX_NFA_STATES = 100_000;

class Nfa {
  op: Op[] = [];
  out1: number[] = [];
  out2: number[] = [];
  /** Char: index into `sets`; Assert: the Assertion. */
  arg: number[] = [];
  sets: Ranges[] = [];
  private setIds = new Map<string, number>();

  add(op: Op, arg = 0): number {
    if (this.op.length >= MAX_NFA_STATES) {
      throw new RegexError(`the pattern is too large for the linear-time engine (more than ${MAX_NFA_STATES} states once counted repetitions are expanded)`);
    }
    this.op.push(op);
    this.out1.push(-1);
    this.out2.push(-1);
    this.arg.push(arg);
    return this.op.length - 1;
  }

  setId(r: Ranges): number {
    const key = r.join(',');
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(r);
      this.setIds.set(key, id);
    }
    return id;
  }
}

/** A fragment: its entry state and the dangling exits (state, which out) to patch. */
interface Frag {
  start: number;
  outs: [number, 1 | 2][];
}

function patch(nfa: Nfa, outs: [number, 1 | 2][], to: number): void {
  for (const [s, w] of outs) (w === 1 ? nfa.out1 : nfa.out2)[s] = to;
}

function build(nfa: Nfa, ast: Ast): Frag {
  switch (ast.t) {
    case 'set': {
      const s = nfa.add(Op.Char, nfa.setId(ast.ranges));
      return { start: s, outs: [[s, 1]] };
    }
    case 'assert': {
      const s = nfa.add(Op.Assert, ast.kind);
      return { start: s, outs: [[s, 1]] };
    }
    case 'cat': {
      if (ast.items.length === 0) {
        const s = nfa.add(Op.Split);
        nfa.out2[s] = -2; // a pure epsilon: only out1 is followed
        return { start: s, outs: [[s, 1]] };
      }
      let first: Frag | undefined;
      let outs: [number, 1 | 2][] = [];
      for (const item of ast.items) {
        const f = build(nfa, item);
        if (!first) first = f;
        else patch(nfa, outs, f.start);
        outs = f.outs;
      }
      return { start: first!.start, outs };
    }
    case 'alt': {
      const frags = ast.items.map((x) => build(nfa, x));
      let start = frags[frags.length - 1]!.start;
      for (let k = frags.length - 2; k >= 0; k--) {
        const s = nfa.add(Op.Split);
        nfa.out1[s] = frags[k]!.start;
        nfa.out2[s] = start;
        start = s;
      }
      return { start, outs: frags.flatMap((f) => f.outs) };
    }
    case 'rep': {
      const { min, max, item } = ast;
      const parts: Frag[] = [];
      for (let k = 0; k < min; k++) parts.push(build(nfa, item));
      if (max === Infinity) {
        const loop = nfa.add(Op.Split);
        const body = build(nfa, item);
        nfa.out1[loop] = body.start;
        patch(nfa, body.outs, loop);
        parts.push({ start: loop, outs: [[loop, 2]] });
      } else if (max > min) {
        // (x(x(x)?)?)? keeps the number of states linear in max - min.
        let tail: Frag | undefined;
        for (let k = 0; k < max - min; k++) {
          const opt = nfa.add(Op.Split);
          const body = build(nfa, item);
          nfa.out1[opt] = body.start;
          const outs: [number, 1 | 2][] = [[opt, 2]];
          if (tail) {
            patch(nfa, body.outs, tail.start);
            outs.push(...tail.outs);
          } else outs.push(...body.outs);
          tail = { start: opt, outs };
        }
        parts.push(tail!);
      }
      if (parts.length === 0) return build(nfa, EMPTY);
      for (let k = 1; k < parts.length; k++) patch(nfa, parts[k - 1]!.outs, parts[k]!.start);
      return { start: parts[0]!.start, outs: parts[parts.length - 1]!.outs };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Lazy DFA over input classes.

/** Context of the previous / next character, for `^ $ \b \B`. */
const CTX_EDGE = 0; // start of input (previous) or end of input (next)
const CTX_LINE = 1; // a line terminator
const CTX_WORD = 2;
const CTX_OTHER = 3;

const UNKNOWN = -1;
const MATCHED = -2;
/** DFA states kept before the cache is dropped and rebuilt (bounds memory, keeps time linear). */
const MAX_DFA_STATES = 2000;

export interface LinearRegex {
  /** True when the pattern matches somewhere in `text` (unanchored, like `RegExp.prototype.test`). */
  test(text: string): boolean;
}

class Matcher implements LinearRegex {
  /** Class of each Latin-1 code unit; above, binary search over `bounds`. */
  private readonly low = new Uint16Array(256);
  /** Start code unit of each interval; `intervalClass[k]` is the class of interval k. */
  private readonly bounds: Uint32Array;
  private readonly intervalClass: Uint16Array;
  private readonly classCount: number;
  private readonly classCtx: Uint8Array;
  /** charIn[state * classCount + cls] = 1 when the Char state accepts the class. */
  private readonly charIn: Uint8Array;

  // DFA cache
  private trans: Int32Array;
  private keys = new Map<string, number>();
  private stateSets: Int32Array[] = [];
  private statePrev: number[] = [];
  private stateEnd: Int8Array;
  // scratch for closures
  private mark: Int32Array;
  private gen = 0;
  private stack: Int32Array;

  constructor(
    private readonly nfa: Nfa,
    private readonly start: number,
    private readonly multiline: boolean,
  ) {
    const n = nfa.op.length;
    // Partition the code units into intervals on every set boundary, then merge intervals that
    // behave the same everywhere (same membership in every set, same context) into one class.
    const cuts = new Set<number>([0]);
    const allSets = [...nfa.sets, WORD, LINE_TERMINATOR];
    for (const r of allSets) {
      for (let i = 0; i < r.length; i += 2) {
        cuts.add(r[i]!);
        if (r[i + 1]! + 1 <= MAX_CU) cuts.add(r[i + 1]! + 1);
      }
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    this.bounds = Uint32Array.from(bounds);
    this.intervalClass = new Uint16Array(bounds.length);
    const classOfSig = new Map<string, number>();
    const reps: number[] = [];
    bounds.forEach((b, k) => {
      const sig = allSets.map((r) => (inRanges(r, b) ? '1' : '0')).join('');
      let cls = classOfSig.get(sig);
      if (cls === undefined) {
        cls = reps.length;
        reps.push(b);
        classOfSig.set(sig, cls);
      }
      this.intervalClass[k] = cls;
    });
    this.classCount = reps.length;
    for (let c = 0; c < 256; c++) this.low[c] = this.classOfSlow(c);
    this.classCtx = Uint8Array.from(reps.map((c) => (inRanges(LINE_TERMINATOR, c) ? CTX_LINE : inRanges(WORD, c) ? CTX_WORD : CTX_OTHER)));
    this.charIn = new Uint8Array(n * this.classCount);
    for (let s = 0; s < n; s++) {
      if (nfa.op[s] !== Op.Char) continue;
      const r = nfa.sets[nfa.arg[s]!]!;
      for (let cls = 0; cls < this.classCount; cls++) if (inRanges(r, reps[cls]!)) this.charIn[s * this.classCount + cls] = 1;
    }
    this.mark = new Int32Array(n);
    this.stack = new Int32Array(n * 2 + 4);
    this.trans = new Int32Array(64 * this.classCount).fill(UNKNOWN);
    this.stateEnd = new Int8Array(64).fill(UNKNOWN);
    this.intern(new Int32Array(0), CTX_EDGE);
  }

  private classOfSlow(c: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (b[mid]! <= c) lo = mid;
      else hi = mid - 1;
    }
    return this.intervalClass[lo]!;
  }

  test(text: string): boolean {
    const K = this.classCount;
    const low = this.low;
    let d = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const cls = c < 256 ? low[c]! : this.classOfSlow(c);
      let next = this.trans[d * K + cls]!;
      if (next === UNKNOWN) next = this.step(d, cls);
      if (next === MATCHED) return true;
      d = next;
    }
    let end = this.stateEnd[d]!;
    if (end === UNKNOWN) {
      end = this.closureMatches(d, CTX_EDGE) ? 1 : 0;
      this.stateEnd[d] = end;
    }
    return end === 1;
  }

  private intern(set: Int32Array, prev: number): number {
    const key = prev + ':' + set.join(',');
    const found = this.keys.get(key);
    if (found !== undefined) return found;
    const id = this.stateSets.length;
    this.keys.set(key, id);
    this.stateSets.push(set);
    this.statePrev.push(prev);
    const K = this.classCount;
    if ((id + 1) * K > this.trans.length) {
      const t = new Int32Array(this.trans.length * 2).fill(UNKNOWN);
      t.set(this.trans);
      this.trans = t;
      const e = new Int8Array(this.stateEnd.length * 2).fill(UNKNOWN);
      e.set(this.stateEnd);
      this.stateEnd = e;
    }
    return id;
  }

  private assertionHolds(kind: number, prev: number, next: number): boolean {
    switch (kind) {
      case Assertion.Start:
        return prev === CTX_EDGE || (this.multiline && prev === CTX_LINE);
      case Assertion.End:
        return next === CTX_EDGE || (this.multiline && next === CTX_LINE);
      case Assertion.WordBoundary:
        return (prev === CTX_WORD) !== (next === CTX_WORD);
      default:
        return (prev === CTX_WORD) === (next === CTX_WORD);
    }
  }

  /**
   * Follow epsilon moves from the state's NFA set plus the start state (the search is
   * unanchored), checking assertions against the previous and next character. Calls `onChar` for
   * each Char state reached; returns true when Match is reachable.
   */
  private closure(d: number, next: number, onChar: ((s: number) => void) | undefined): boolean {
    const nfa = this.nfa;
    const prev = this.statePrev[d]!;
    const set = this.stateSets[d]!;
    const gen = ++this.gen;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = this.start;
    for (let k = set.length - 1; k >= 0; k--) stack[sp++] = set[k]!;
    let matched = false;
    while (sp > 0) {
      const s = stack[--sp]!;
      if (s < 0 || this.mark[s] === gen) continue;
      this.mark[s] = gen;
      switch (nfa.op[s]) {
        case Op.Char:
          onChar?.(s);
          break;
        case Op.Match:
          matched = true;
          break;
        case Op.Split:
          stack[sp++] = nfa.out2[s]!;
          stack[sp++] = nfa.out1[s]!;
          break;
        case Op.Assert:
          if (this.assertionHolds(nfa.arg[s]!, prev, next)) stack[sp++] = nfa.out1[s]!;
          break;
      }
    }
    return matched;
  }

  private closureMatches(d: number, next: number): boolean {
    return this.closure(d, next, undefined);
  }

  private step(d: number, cls: number): number {
    const K = this.classCount;
    const ctx = this.classCtx[cls]!;
    const targets: number[] = [];
    const charIn = this.charIn;
    const matched = this.closure(d, ctx, (s) => {
      if (charIn[s * K + cls] === 1) targets.push(this.nfa.out1[s]!);
    });
    if (matched) {
      this.trans[d * K + cls] = MATCHED;
      return MATCHED;
    }
    const uniq = Int32Array.from(new Set(targets)).sort();
    if (this.stateSets.length >= MAX_DFA_STATES) {
      // Drop the cache; state 0 (the initial state) is rebuilt first so it keeps its id.
      this.keys.clear();
      this.stateSets = [];
      this.statePrev = [];
      this.trans.fill(UNKNOWN);
      this.stateEnd.fill(UNKNOWN);
      this.intern(new Int32Array(0), CTX_EDGE);
      return this.intern(uniq, ctx);
    }
    const nd = this.intern(uniq, ctx);
    this.trans[d * K + cls] = nd;
    return nd;
  }
}

/**
 * The syntax tree of a pattern; under `i`, character sets are already closed under case folding
 * (a set holds every code unit the position accepts). Throws RegexError like compileLinearRegex.
 */
export function parseRegex(pattern: string, flags: string): Ast {
  return new Parser(pattern, flags.includes('i'), flags.includes('s')).parse();
}

/**
 * Compile a pattern with flags from `ims` (the IR's). Throws RegexError for lookaround,
 * backreferences, other flags, or a syntax error.
 */
export function compileLinearRegex(pattern: string, flags: string): LinearRegex {
  for (const f of flags) {
    if (!'ims'.includes(f)) throw new RegexError(`flag '${f}' is not supported by the linear-time engine; only i, m and s are`);
  }
  const ast = new Parser(pattern, flags.includes('i'), flags.includes('s')).parse();
  const nfa = new Nfa();
  const frag = build(nfa, ast);
  const match = nfa.add(Op.Match);
  patch(nfa, frag.outs, match);
  return new Matcher(nfa, frag.start, flags.includes('m'));
}
