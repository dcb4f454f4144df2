/**
 * Rule regexes (`re` leaves) are ECMAScript patterns without the `u` flag (docs/semantics.md); SPL
 * runs PCRE. This module parses the ECMAScript pattern (Annex B syntax, as `new RegExp` accepted it
 * when the rule was loaded) and writes a PCRE pattern with the same meaning:
 *
 * - `.`, `^`, `$` and `\s` are spelled out: ECMAScript line terminators are \n \r U+2028 U+2029 and
 *   its `\s` includes the Unicode spaces, while PCRE's depend on build options.
 * - the `i` flag is applied here, by ECMAScript's case canonicalization, into explicit classes; the
 *   output never uses PCRE's `(?i)` (its caseless sets differ: `s` would match U+017F).
 * - escapes PCRE reads differently (`\a \e \p \k \x` without digits ...) become the literal they
 *   are in ECMAScript.
 *
 * Constructs whose meaning cannot be kept are refused with the reason: backreferences (an unset
 * group matches the empty string in ECMAScript and fails in PCRE), legacy octal escapes, variable
 * length lookbehind (PCRE rejects it), quantified assertions, lone surrogates.
 * One difference is inherent and documented (docs/targets/spl.md): without `u`, ECMAScript counts a
 * character outside the BMP as two code units, PCRE as one code point.
 */
import { TargetFailure } from '../types.js';
import { classOf, litCp, mergeRanges, type Range } from './pcre.js';

type Set16 = Range[];

type RNode =
  | { t: 'seq'; items: RNode[] }
  | { t: 'alt'; alts: RNode[] }
  | { t: 'char'; cu: number }
  | { t: 'set'; set: Set16; neg: boolean }
  | { t: 'dot' }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'wordb'; neg: boolean }
  | { t: 'group'; capture: boolean; body: RNode }
  | { t: 'look'; behind: boolean; neg: boolean; body: RNode }
  | { t: 'quant'; body: RNode; min: number; max: number; lazy: boolean };

const DIGIT: Set16 = [[0x30, 0x39]];
const WORD: Set16 = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: Set16 = mergeRanges([
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
const LINE_TERMINATORS: Set16 = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function complement(set: Set16): Set16 {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of mergeRanges(set)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0xffff) out.push([next, 0xffff]);
  return out;
}

function fail(pattern: string, why: string): never {
  throw new TargetFailure('unsupported', `regular expression /${pattern}/ cannot be written in SPL's PCRE with the same meaning: ${why}`);
}

class Parser {
  private i = 0;
  private groups = 0;

  constructor(private readonly src: string) {}

  parse(): RNode {
    this.groups = countGroups(this.src);
    const n = this.disjunction();
    if (this.i < this.src.length) fail(this.src, `unexpected '${this.src[this.i]}'`);
    return n;
  }

  private peek(k = 0): string | undefined {
    return this.src[this.i + k];
  }

  private disjunction(): RNode {
    const alts = [this.alternative()];
    while (this.peek() === '|') {
      this.i++;
      alts.push(this.alternative());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private alternative(): RNode {
    const items: RNode[] = [];
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.term();
      const q = this.quantifier();
      if (q) {
        if (atom.t === 'bol' || atom.t === 'eol' || atom.t === 'wordb' || atom.t === 'look') fail(this.src, 'a quantified assertion');
        items.push({ t: 'quant', body: atom, ...q });
      } else items.push(atom);
    }
    return { t: 'seq', items };
  }

  /** A braced quantifier `{n}`, `{n,}`, `{n,m}` at the cursor, or undefined (then `{` is a literal). */
  private braced(): { min: number; max: number; len: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { min, max, len: m[0].length };
  }

  private quantifier(): { min: number; max: number; lazy: boolean } | undefined {
    const c = this.peek();
    let q: { min: number; max: number } | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q) this.i++;
    else if (c === '{') {
      const b = this.braced();
      if (!b) return undefined;
      this.i += b.len;
      q = { min: b.min, max: b.max };
    } else return undefined;
    if (q.min > 65535 || (q.max !== Infinity && q.max > 65535)) fail(this.src, 'a repetition count above 65535');
    let lazy = false;
    if (this.peek() === '?') {
      lazy = true;
      this.i++;
    }
    return { ...q, lazy };
  }

  private term(): RNode {
    const c = this.src[this.i++]!;
    switch (c) {
      case '^':
        return { t: 'bol' };
      case '$':
        return { t: 'eol' };
      case '.':
        return { t: 'dot' };
      case '[':
        return this.charClass();
      case '(':
        return this.group();
      case '\\':
        return this.atomEscape();
      default:
        return { t: 'char', cu: c.charCodeAt(0) };
    }
  }

  private group(): RNode {
    let node: RNode;
    if (this.src.startsWith('?:', this.i)) {
      this.i += 2;
      node = { t: 'group', capture: false, body: this.disjunction() };
    } else if (this.src.startsWith('?=', this.i) || this.src.startsWith('?!', this.i)) {
      const neg = this.src[this.i + 1] === '!';
      this.i += 2;
      node = { t: 'look', behind: false, neg, body: this.disjunction() };
    } else if (this.src.startsWith('?<=', this.i) || this.src.startsWith('?<!', this.i)) {
      const neg = this.src[this.i + 2] === '!';
      this.i += 3;
      const body = this.disjunction();
      if (fixedLength(body) === undefined) fail(this.src, 'a lookbehind whose length varies (PCRE needs a fixed length)');
      node = { t: 'look', behind: true, neg, body };
    } else if (this.peek() === '?') {
      fail(this.src, `the group syntax '(${this.src.slice(this.i, this.i + 3)}'`);
    } else {
      node = { t: 'group', capture: true, body: this.disjunction() };
    }
    if (this.src[this.i++] !== ')') fail(this.src, 'an unclosed group');
    return node;
  }

  /** `\` outside a class; the backslash is consumed. */
  private atomEscape(): RNode {
    const c = this.src[this.i];
    if (c === undefined) fail(this.src, 'a trailing backslash');
    if (c === 'b' || c === 'B') {
      this.i++;
      return { t: 'wordb', neg: c === 'B' };
    }
    if (/[1-9]/.test(c)) {
      const m = /^\d+/.exec(this.src.slice(this.i))!;
      if (Number(m[0]) <= this.groups) fail(this.src, `the backreference \\${m[0]}`);
    }
    const set = this.classEscape();
    if (set) return set;
    return { t: 'char', cu: this.characterEscape(false) };
  }

  /** `\d \D \s \S \w \W`, or undefined. */
  private classEscape(): Extract<RNode, { t: 'set' }> | undefined {
    const c = this.src[this.i];
    const base = c === 'd' || c === 'D' ? DIGIT : c === 's' || c === 'S' ? SPACE : c === 'w' || c === 'W' ? WORD : undefined;
    if (!base) return undefined;
    this.i++;
    return { t: 'set', set: base, neg: c === c!.toUpperCase() };
  }

  /** The code unit of a character escape (the backslash consumed, the cursor on the next char). */
  private characterEscape(inClass: boolean): number {
    const c = this.src[this.i++]!;
    switch (c) {
      case 'f':
        return 0x0c;
      case 'n':
        return 0x0a;
      case 'r':
        return 0x0d;
      case 't':
        return 0x09;
      case 'v':
        return 0x0b;
      case 'b':
        return 0x08; // only reached inside a class
      case 'c': {
        const x = this.src[this.i];
        if (x !== undefined && (/[A-Za-z]/.test(x) || (inClass && /[0-9_]/.test(x)))) {
          this.i++;
          return x.charCodeAt(0) % 32;
        }
        // Annex B: `\c` not followed by a control letter is a backslash and a `c`.
        this.i--;
        return 0x5c;
      }
      case 'x': {
        const m = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.i));
        if (!m) return 0x78;
        this.i += 2;
        return parseInt(m[0], 16);
      }
      case 'u': {
        const m = /^[0-9A-Fa-f]{4}/.exec(this.src.slice(this.i));
        if (!m) return 0x75;
        this.i += 4;
        return parseInt(m[0], 16);
      }
      case '0':
        if (!/[0-9]/.test(this.src[this.i] ?? '')) return 0;
        return fail(this.src, 'a legacy octal escape (write \\xHH)');
      default:
        if (/[1-7]/.test(c)) fail(this.src, 'a legacy octal escape (write \\xHH)');
        // Identity escape: the character itself (also \8, \9, \k, \p, \a, \e ... without `u`).
        return c.charCodeAt(0);
    }
  }

  private charClass(): RNode {
    let neg = false;
    if (this.peek() === '^') {
      neg = true;
      this.i++;
    }
    const ranges: Range[] = [];
    while (true) {
      const c = this.peek();
      if (c === undefined) fail(this.src, 'an unclosed class');
      if (c === ']') {
        this.i++;
        break;
      }
      const a = this.classAtom();
      if (this.peek() === '-' && this.src[this.i + 1] !== ']' && this.src[this.i + 1] !== undefined) {
        const save = this.i;
        this.i++;
        const b = this.classAtom();
        if (typeof a === 'number' && typeof b === 'number') {
          if (a > b) fail(this.src, 'a class range out of order');
          ranges.push([a, b]);
          continue;
        }
        // Annex B: a range with a class escape at either end is the union of its parts and '-'.
        this.i = save + 1;
        pushAtom(ranges, a);
        ranges.push([0x2d, 0x2d]);
        continue;
      }
      pushAtom(ranges, a);
    }
    return { t: 'set', set: mergeRanges(ranges), neg };
  }

  /** A code unit, or a set for `\d` and friends. */
  private classAtom(): number | Set16 {
    const c = this.src[this.i++]!;
    if (c !== '\\') return c.charCodeAt(0);
    const set = this.classEscape();
    if (set) return set.neg ? complement(set.set) : set.set;
    const d = this.src[this.i];
    if (d !== undefined && /[1-9]/.test(d)) fail(this.src, 'a legacy octal escape (write \\xHH)');
    if (d === '-') {
      this.i++;
      return 0x2d;
    }
    return this.characterEscape(true);
  }
}

function pushAtom(ranges: Range[], a: number | Set16): void {
  if (typeof a === 'number') ranges.push([a, a]);
  else ranges.push(...a);
}

/** Capturing groups, for telling a backreference from an octal escape. */
function countGroups(src: string): number {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(' && src[i + 1] !== '?') n++;
  }
  return n;
}

/** Length in characters when every path matches the same number, else undefined. */
function fixedLength(n: RNode): number | undefined {
  switch (n.t) {
    case 'seq': {
      let sum = 0;
      for (const c of n.items) {
        const l = fixedLength(c);
        if (l === undefined) return undefined;
        sum += l;
      }
      return sum;
    }
    case 'alt': {
      const ls = n.alts.map(fixedLength);
      return ls.every((l) => l !== undefined && l === ls[0]) ? ls[0] : undefined;
    }
    case 'char':
    case 'set':
    case 'dot':
      return 1;
    case 'bol':
    case 'eol':
    case 'wordb':
    case 'look':
      return 0;
    case 'group':
      return fixedLength(n.body);
    case 'quant': {
      const l = fixedLength(n.body);
      return l !== undefined && n.min === n.max ? l * n.min : undefined;
    }
  }
}

let canonTable: Uint16Array | undefined;

/** ECMAScript Canonicalize for a pattern without `u` (ES2023 22.2.2.7.3). */
function canon(): Uint16Array {
  if (canonTable) return canonTable;
  canonTable = new Uint16Array(0x10000);
  for (let cu = 0; cu < 0x10000; cu++) {
    const u = String.fromCharCode(cu).toUpperCase();
    if (u.length !== 1) canonTable[cu] = cu;
    else {
      const up = u.charCodeAt(0);
      canonTable[cu] = cu >= 128 && up < 128 ? cu : up;
    }
  }
  return canonTable;
}

let canonSources: Map<number, number[]> | undefined;

/** For each canonical unit, the other units that canonicalize to it (sparse: most units have none). */
function canonInverse(): Map<number, number[]> {
  if (canonSources) return canonSources;
  const t = canon();
  canonSources = new Map();
  for (let cu = 0; cu < 0x10000; cu++) {
    const k = t[cu]!;
    if (k === cu) continue;
    const g = canonSources.get(k);
    if (g) g.push(cu);
    else canonSources.set(k, [cu]);
  }
  return canonSources;
}

/** The code units an ignore-case match of `set` accepts: those whose canonical form is in canon(set). */
function caseClosure(set: Set16): Set16 {
  const t = canon();
  const inv = canonInverse();
  const keys = new Set<number>();
  for (const [lo, hi] of set) for (let cu = lo; cu <= hi; cu++) keys.add(t[cu]!);
  const out: Range[] = [];
  for (const k of keys) {
    if (t[k] === k) out.push([k, k]);
    for (const cu of inv.get(k) ?? []) out.push([cu, cu]);
  }
  return mergeRanges([...set, ...out]);
}

function withoutSurrogates(set: Set16): Set16 {
  const out: Range[] = [];
  for (const [lo, hi] of set) {
    if (hi < 0xd800 || lo > 0xdfff) out.push([lo, hi]);
    else {
      if (lo < 0xd800) out.push([lo, 0xd7ff]);
      if (hi > 0xdfff) out.push([0xe000, hi]);
    }
  }
  return out;
}

interface EmitState {
  src: string;
  flags: string;
  usesDot: boolean;
}

function emitSet(set: Set16, neg: boolean, st: EmitState): string {
  let s = st.flags.includes('i') ? caseClosure(set) : mergeRanges(set);
  // Surrogate code units only ever match half of a character outside the BMP: nothing in PCRE.
  s = withoutSurrogates(s);
  if (!neg && s.length === 0) return '(?!)';
  if (neg && s.length === 0) {
    st.usesDot = true;
    return '.';
  }
  if (!neg && s.length === 1 && s[0]![0] === s[0]![1]) return litCp(s[0]![0]);
  return classOf(s, neg);
}

function emit(n: RNode, st: EmitState): string {
  switch (n.t) {
    case 'seq': {
      let out = '';
      for (let k = 0; k < n.items.length; k++) {
        const it = n.items[k]!;
        if (it.t === 'char' && it.cu >= 0xd800 && it.cu <= 0xdbff) {
          const next = n.items[k + 1];
          if (next && next.t === 'char' && next.cu >= 0xdc00 && next.cu <= 0xdfff) {
            out += litCp(String.fromCharCode(it.cu, next.cu).codePointAt(0)!);
            k++;
            continue;
          }
        }
        out += emit(it, st);
      }
      return out;
    }
    case 'alt':
      return n.alts.map((a) => emit(a, st)).join('|');
    case 'char':
      if (n.cu >= 0xd800 && n.cu <= 0xdfff) fail(st.src, 'a lone or quantified half of a surrogate pair');
      return st.flags.includes('i') ? emitSet([[n.cu, n.cu]], false, st) : litCp(n.cu);
    case 'set':
      return emitSet(n.set, n.neg, st);
    case 'dot':
      if (st.flags.includes('s')) {
        st.usesDot = true;
        return '.';
      }
      return classOf(LINE_TERMINATORS, true);
    case 'bol':
      return st.flags.includes('m') ? `(?<!${classOf(LINE_TERMINATORS, true)})` : '^';
    case 'eol':
      return st.flags.includes('m') ? `(?!${classOf(LINE_TERMINATORS, true)})` : '\\z';
    case 'wordb':
      return n.neg ? '\\B' : '\\b';
    case 'group':
      return `(${n.capture ? '' : '?:'}${emit(n.body, st)})`;
    case 'look':
      return `(?${n.behind ? '<' : ''}${n.neg ? '!' : '='}${emit(n.body, st)})`;
    case 'quant': {
      let body = emit(n.body, st);
      if (!isSingleAtom(n.body, body)) body = `(?:${body})`;
      let q: string;
      if (n.min === 0 && n.max === Infinity) q = '*';
      else if (n.min === 1 && n.max === Infinity) q = '+';
      else if (n.min === 0 && n.max === 1) q = '?';
      else if (n.max === Infinity) q = `{${n.min},}`;
      else if (n.min === n.max) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return body + q + (n.lazy ? '?' : '');
    }
  }
}

function isSingleAtom(n: RNode, text: string): boolean {
  if (n.t === 'group' || n.t === 'set' || n.t === 'dot') return true;
  if (n.t === 'char') return !text.startsWith('(?');
  return false;
}

export interface Pcre {
  /** The pattern body, without the leading `(?s)`. */
  body: string;
  /** The body uses `.` for "any character" and needs `(?s)`. */
  dotAll: boolean;
}

/** Translate a rule regex (ECMAScript, flags from `ims`) to PCRE with the same meaning. */
export function translateRegex(pattern: string, flags: string): Pcre {
  const ast = new Parser(pattern).parse();
  const st: EmitState = { src: pattern, flags, usesDot: false };
  const body = emit(ast, st);
  return { body, dotAll: st.usesDot };
}
