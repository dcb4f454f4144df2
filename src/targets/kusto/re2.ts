/**
 * Rule regexes (the ECMAScript subset accepted by `lower/regex.ts`, evaluated without the `u` flag)
 * rewritten as RE2 patterns with the same matches, for KQL `matches regex` and `extract`. Where the
 * two engines differ, the construct is rewritten into an exact equivalent or refused with a reason:
 *
 * - JS `\s` includes `\v`, NBSP, the Unicode spaces and U+FEFF; RE2's does not -> an explicit class.
 * - JS `.` (without `s`) excludes `\n`, `\r`, U+2028 and U+2029; RE2's only `\n` -> an explicit class.
 * - JS `\xHH`, `\uHHHH`, `\cX`, `\0` -> RE2 `\x{...}`; legacy octal and backreferences are refused.
 * - Capturing groups become non-capturing (matching is unchanged, KQL's group limit never applies).
 * - Literal `{`, `}` and `]` (Annex B) are escaped; repetition counts above RE2's 1000 are refused.
 *
 * Residual differences, documented in docs/targets/kusto.md: `i` folds by Unicode simple case folding
 * in RE2 but by JS toUpperCase canonicalization (ſ, K Kelvin, ß/ẞ); `m` anchors at `\n` only in RE2
 * but also at `\r`, U+2028 and U+2029 in JS; `.` and negated classes consume one UTF-16 unit in JS,
 * one code point in RE2, which differs only for text with characters outside the BMP.
 */
import type { GlobToken } from '../../ir/types.js';
import { isInvisible, re2CodePoint, re2Literal } from './dialect.js';

export type Re2Result = { ok: true; source: string } | { ok: false; reason: string };

/** JS `\s`: WhiteSpace and LineTerminator code points (ECMA-262), as RE2 class items. */
const SPACE_ITEMS = '\\t\\n\\v\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
/** JS `.` without the `s` flag: anything but a LineTerminator. */
const DOT_NO_S = '[^\\n\\r\\x{2028}\\x{2029}]';
const MAX_REPEAT = 1000;

class Refuse extends Error {}

/** The class escapes, as a class member. */
type Cls = 's' | 'S' | 'd' | 'D' | 'w' | 'W';

/** The code points of JS `\s` (SPACE_ITEMS) as inclusive ranges. */
const SPACE_RANGES: readonly (readonly [number, number])[] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];

/** Flags as an RE2 inline group, in the order `ims`: `(?is)`. */
function flagPrefix(flags: string): string {
  const f = [...'ims'].filter((c) => flags.includes(c)).join('');
  return f ? `(?${f})` : '';
}

export function jsRegexToRe2(pattern: string, flags: string): Re2Result {
  try {
    return { ok: true, source: flagPrefix(flags) + new Translator(pattern, flags.includes('s')).run() };
  } catch (e) {
    if (e instanceof Refuse) return { ok: false, reason: e.message };
    throw e;
  }
}

/** An anchored (`^...$`) or unanchored glob as RE2: `*` any run, `?` one code point, `(?s)` so both cross newlines. */
export function globToRe2(tokens: readonly GlobToken[], caseInsensitive: boolean, anchored: boolean): string {
  let body = '';
  for (const t of tokens) body += typeof t === 'string' ? re2Literal(t) : t.wildcard === '*' ? '.*' : '.';
  return `(?${caseInsensitive ? 'i' : ''}s)` + (anchored ? `^${body}$` : body);
}

class Translator {
  private i = 0;
  private out = '';
  /** The last atom emitted was a literal outside the BMP (a quantifier would split it in JS). */
  private lastAstral = false;

  constructor(
    private readonly p: string,
    private readonly dotAll: boolean,
  ) {}

  run(): string {
    const p = this.p;
    while (this.i < p.length) {
      const c = p[this.i]!;
      switch (c) {
        case '\\': {
          const e = this.escape(false);
          this.out += e.text;
          this.lastAstral = (e.cp ?? 0) > 0xffff;
          continue;
        }
        case '[':
          this.out += this.charClass();
          break;
        case '(':
          this.out += this.group();
          break;
        case ')':
        case '|':
        case '^':
        case '$':
          this.out += c;
          this.i++;
          break;
        case '.':
          this.out += this.dotAll ? '.' : DOT_NO_S;
          this.i++;
          break;
        case '*':
        case '+':
        case '?':
          this.quantifier(c);
          this.i++;
          this.lazy();
          continue;
        case '{': {
          const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(this.i));
          if (m) {
            const lo = Number(m[1]);
            const hi = m[3] === undefined || m[3] === '' ? lo : Number(m[3]);
            if (lo > MAX_REPEAT || hi > MAX_REPEAT) throw new Refuse(`repetition count ${m[0]} is above RE2's limit of ${MAX_REPEAT}`);
            this.quantifier(m[0]);
            this.i += m[0].length;
            this.lazy();
            continue;
          }
          this.out += '\\{';
          this.i++;
          break;
        }
        case '}':
        case ']':
          this.out += `\\${c}`;
          this.i++;
          break;
        default: {
          const cp = p.codePointAt(this.i)!;
          const ch = String.fromCodePoint(cp);
          this.out += re2Literal(ch);
          this.i += ch.length;
          this.lastAstral = cp > 0xffff;
          continue;
        }
      }
      this.lastAstral = false;
    }
    return this.out;
  }

  private quantifier(q: string): void {
    if (this.lastAstral) throw new Refuse('a quantifier after a character outside the BMP repeats only half of it in the rule regex (no u flag); put the character in a group');
    this.out += q;
  }

  private lazy(): void {
    if (this.p[this.i] === '?') {
      this.out += '?';
      this.i++;
    }
    this.lastAstral = false;
  }

  private group(): string {
    const rest = this.p.slice(this.i);
    if (rest.startsWith('(?:')) {
      this.i += 3;
      return '(?:';
    }
    if (/^\(\?<?[=!]/.test(rest)) throw new Refuse('lookaround assertions are not supported by RE2 (KQL)');
    if (rest.startsWith('(?')) throw new Refuse(`unsupported group syntax '${rest.slice(0, 4)}'`);
    this.i += 1;
    // A capture changes nothing for `matches regex`; non-capturing avoids KQL's group limit.
    return '(?:';
  }

  /**
   * One escape starting at `\`. Returns RE2 text and, for a single character, its code point (range
   * endpoints in classes). `inClass` changes `\b` (backspace) and how `\s` is spliced.
   */
  private escape(inClass: boolean): { text: string; cp?: number; cls?: Cls } {
    const p = this.p;
    const c = p[this.i + 1];
    if (c === undefined) throw new Refuse('the pattern ends with a lone backslash');
    this.i += 2;
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return { text: `\\${c}`, cls: c };
      case 'b':
      case 'B':
        if (inClass) {
          if (c === 'b') return { text: re2CodePoint(8), cp: 8 };
          throw new Refuse('\\B inside a character class is not portable');
        }
        return { text: `\\${c}` };
      case 's':
        return { text: inClass ? SPACE_ITEMS : `[${SPACE_ITEMS}]`, cls: 's' };
      case 'S':
        return { text: `[^${SPACE_ITEMS}]`, cls: 'S' };
      case 't':
        return { text: '\\t', cp: 9 };
      case 'n':
        return { text: '\\n', cp: 10 };
      case 'v':
        return { text: '\\v', cp: 11 };
      case 'f':
        return { text: '\\f', cp: 12 };
      case 'r':
        return { text: '\\r', cp: 13 };
      case '0':
        if (/[0-9]/.test(p[this.i] ?? '')) throw new Refuse('legacy octal escapes (\\0n) are not supported; write \\xHH');
        return { text: re2CodePoint(0), cp: 0 };
      case 'x': {
        const m = /^[0-9a-fA-F]{2}/.exec(p.slice(this.i));
        if (!m) return this.literal('x');
        this.i += 2;
        const cp = parseInt(m[0], 16);
        return { text: re2CodePoint(cp), cp };
      }
      case 'u': {
        const m = /^[0-9a-fA-F]{4}/.exec(p.slice(this.i));
        if (!m) return this.literal('u');
        this.i += 4;
        let cp = parseInt(m[0], 16);
        if (cp >= 0xd800 && cp <= 0xdbff) {
          const lo = /^\\u(d[c-f][0-9a-f]{2})/i.exec(p.slice(this.i));
          if (!lo || inClass) throw new Refuse('a lone or class-member UTF-16 surrogate escape has no RE2 equivalent');
          this.i += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (parseInt(lo[1]!, 16) - 0xdc00);
          return { text: re2CodePoint(cp), cp };
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) throw new Refuse('a lone UTF-16 surrogate escape has no RE2 equivalent');
        return { text: re2CodePoint(cp), cp };
      }
      case 'c': {
        const l = p[this.i];
        if (l === undefined || !/[A-Za-z]/.test(l)) throw new Refuse('\\c must be followed by a letter');
        this.i++;
        const cp = l.charCodeAt(0) % 32;
        return { text: re2CodePoint(cp), cp };
      }
      default:
        if (/[1-9]/.test(c)) throw new Refuse('backreferences and octal escapes are not supported by RE2 (KQL)');
        // Identity escape: the character itself (`\/`, `\.`, `\-`, and letters without a meaning).
        return this.literal(c, inClass);
    }
  }

  private literal(ch: string, inClass = false): { text: string; cp: number } {
    const cp = ch.codePointAt(0)!;
    return { text: inClass ? classLiteral(cp) : re2Literal(ch), cp };
  }

  private charClass(): string {
    const p = this.p;
    this.i++;
    let negated = false;
    if (p[this.i] === '^') {
      negated = true;
      this.i++;
    }
    if (p[this.i] === ']') {
      this.i++;
      if (negated) return '[\\x{0}-\\x{10FFFF}]';
      throw new Refuse('the empty class [] never matches; remove it');
    }
    let body = '';
    let notSpace = false;
    // What the other members take out of `\s` when `\S` is among them: [\S x] is everything but (\s minus x).
    const members: [number, number][] = [];
    let coversSpace = false;
    while (true) {
      if (this.i >= p.length) throw new Refuse('unterminated character class');
      if (p[this.i] === ']') {
        this.i++;
        break;
      }
      const a = this.classAtom();
      if (a.cls === 'S') {
        notSpace = true;
        continue;
      }
      // \s is all of it; \D and \W hold every space; \d and \w none.
      if (a.cls === 's' || a.cls === 'D' || a.cls === 'W') coversSpace = true;
      if (a.cp !== undefined && p[this.i] === '-' && p[this.i + 1] !== ']' && this.i + 1 < p.length) {
        this.i++;
        const b = this.classAtom();
        if (b.cp === undefined) throw new Refuse('a class escape as a range end is not portable; list the characters');
        body += `${classLiteral(a.cp)}-${classLiteral(b.cp)}`;
        members.push([a.cp, b.cp]);
        continue;
      }
      if (a.cp !== undefined) members.push([a.cp, a.cp]);
      body += a.cp !== undefined ? classLiteral(a.cp) : a.text;
    }
    if (notSpace) {
      const left = coversSpace ? [] : subtract(SPACE_RANGES, members);
      // Spaces are invisible: every one as its code.
      const items = members.length === 0 ? SPACE_ITEMS : left.map(([lo, hi]) => (lo === hi ? re2CodePoint(lo) : `${re2CodePoint(lo)}-${re2CodePoint(hi)}`)).join('');
      if (left.length === 0) {
        if (negated) throw new Refuse('the class never matches (it is the negation of every character); remove it');
        return '[\\x{0}-\\x{10FFFF}]';
      }
      return negated ? `[${items}]` : `[^${items}]`;
    }
    return `[${negated ? '^' : ''}${body}]`;
  }

  private classAtom(): { text: string; cp?: number; cls?: Cls } {
    const p = this.p;
    if (p[this.i] === '\\') return this.escape(true);
    const cp = p.codePointAt(this.i)!;
    if (cp > 0xffff) throw new Refuse('a character outside the BMP inside a class is two UTF-16 units in the rule regex (no u flag); use an alternation');
    this.i += 1;
    return { text: classLiteral(cp), cp };
  }
}

/** The ranges `of` without the code points of `minus`. */
function subtract(of: readonly (readonly [number, number])[], minus: readonly [number, number][]): [number, number][] {
  let out: [number, number][] = of.map(([lo, hi]) => [lo, hi]);
  for (const [mlo, mhi] of minus) {
    out = out.flatMap(([lo, hi]): [number, number][] => {
      if (mhi < lo || mlo > hi) return [[lo, hi]];
      const parts: [number, number][] = [];
      if (lo < mlo) parts.push([lo, mlo - 1]);
      if (mhi < hi) parts.push([mhi + 1, hi]);
      return parts;
    });
  }
  return out;
}

/** A code point inside an RE2 class: class metacharacters escaped, controls and invisible characters as `\x{HH}`. */
function classLiteral(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if ('\\]^-['.includes(ch)) return `\\${ch}`;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 || isInvisible(cp)) return re2CodePoint(cp);
  return ch;
}
