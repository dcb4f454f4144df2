/**
 * Rule regexes (`re` leaves) are ECMAScript patterns without the `u` flag (docs/semantics.md); SPL
 * runs PCRE. This module prints a PCRE pattern from the syntax tree the evaluator itself reads
 * (`parseRegex` in runtime/linear-regex.ts), so both agree on what the pattern means. That tree
 * already holds the meaning of every escape, class and flag as sets of UTF-16 code units (`.` and
 * `\s` with ECMAScript's line terminators and spaces, `i` as ECMAScript's case closure), and every
 * set is written out as an explicit PCRE class:
 *
 * - nothing is left to PCRE's build options or its own reading of escapes: no `(?i)` (its caseless
 *   sets differ: `s` would match U+017F), no `\d \w \s`, no `$`, no `(?m)`; `^`/`$` under `m` become
 *   lookarounds on ECMAScript's line terminators.
 *
 * Refused with the reason: what PCRE cannot express (a repetition count above 65535, half of a
 * surrogate pair on its own, which no UTF-8 text holds) and what the evaluator itself refuses
 * (lookaround, backreferences). One difference is inherent and documented (docs/targets/spl.md):
 * without `u`, ECMAScript counts a character outside the BMP as two code units, PCRE as one code point.
 */
import { Assertion, complement, parseRegex, RegexError, type Ast } from '../../runtime/linear-regex.js';
import { TargetFailure } from '../types.js';
import { covers, rangePairs, sequenceItems, singleUnit, withoutSurrogates, type Range } from '../regex-tree.js';
import { classOf, litCp } from './pcre.js';

const LINE_TERMINATORS: Range[] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function fail(pattern: string, why: string): never {
  throw new TargetFailure('unsupported', `regular expression /${pattern}/ cannot be written in SPL's PCRE with the same meaning: ${why}`);
}

function isSurrogate(cu: number): boolean {
  return cu >= 0xd800 && cu <= 0xdfff;
}

interface EmitState {
  src: string;
  multiline: boolean;
  usesDot: boolean;
}

function emitSet(set: Extract<Ast, { t: 'set' }>, st: EmitState): string {
  const r = set.ranges;
  const one = singleUnit(set);
  if (one !== undefined && isSurrogate(one)) fail(st.src, 'a lone or quantified half of a surrogate pair');
  // A set holding a whole block of surrogates (`.`, `\S`, `[^a]`) matches within every character
  // outside the BMP in ECMAScript; written negated it matches such a character, as one code point.
  const ranges = rangePairs(r);
  if (covers(ranges, 0xd800, 0xdbff) || covers(ranges, 0xdc00, 0xdfff)) {
    const out = withoutSurrogates(rangePairs(complement(r)));
    if (out.length === 0) {
      st.usesDot = true;
      return '.';
    }
    return classOf(out, true);
  }
  // Other surrogate code units only ever match half of a character outside the BMP: nothing in PCRE.
  const s = withoutSurrogates(ranges);
  if (s.length === 0) return '(?!)';
  if (s.length === 1 && s[0]![0] === s[0]![1]) return litCp(s[0]![0]);
  return classOf(s);
}

function emitAssertion(kind: Assertion, st: EmitState): string {
  switch (kind) {
    case Assertion.Start:
      return st.multiline ? `(?<!${classOf(LINE_TERMINATORS, true)})` : '^';
    case Assertion.End:
      return st.multiline ? `(?!${classOf(LINE_TERMINATORS, true)})` : '\\z';
    case Assertion.WordBoundary:
      return '\\b';
    case Assertion.NotWordBoundary:
      return '\\B';
  }
}

function emit(n: Ast, st: EmitState): string {
  switch (n.t) {
    case 'set':
      return emitSet(n, st);
    case 'cat': {
      let out = '';
      for (const it of sequenceItems(n.items)) {
        if (it.t === 'astral') out += litCp(it.cp);
        else out += it.t === 'alt' ? `(?:${emit(it, st)})` : emit(it, st);
      }
      return out;
    }
    case 'alt':
      return n.items.map((a) => emit(a, st)).join('|');
    case 'assert':
      return emitAssertion(n.kind, st);
    case 'rep': {
      if (n.min > 65535 || (n.max !== Infinity && n.max > 65535)) fail(st.src, 'a repetition count above 65535');
      let body = emit(n.item, st);
      if (n.item.t !== 'set' || body.startsWith('(?')) body = `(?:${body})`;
      let q: string;
      if (n.min === 0 && n.max === Infinity) q = '*';
      else if (n.min === 1 && n.max === Infinity) q = '+';
      else if (n.min === 0 && n.max === 1) q = '?';
      else if (n.max === Infinity) q = `{${n.min},}`;
      else if (n.min === n.max) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return body + q;
    }
  }
}

export interface Pcre {
  /** The pattern body, without the leading `(?s)`. */
  body: string;
  /** The body uses `.` for "any character" and needs `(?s)`. */
  dotAll: boolean;
}

/** Translate a rule regex (ECMAScript, flags from `ims`) to PCRE with the same meaning. */
export function translateRegex(pattern: string, flags: string): Pcre {
  let ast: Ast;
  try {
    ast = parseRegex(pattern, flags);
  } catch (e) {
    if (e instanceof RegexError) fail(pattern, e.message);
    throw e;
  }
  const st: EmitState = { src: pattern, multiline: flags.includes('m'), usesDot: false };
  const body = emit(ast, st);
  return { body, dotAll: st.usesDot };
}
