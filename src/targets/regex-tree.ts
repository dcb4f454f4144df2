/**
 * Reading the evaluator's regex syntax tree (`parseRegex`, src/runtime/linear-regex.ts) for the
 * targets that print a pattern from it (SPL's PCRE, EQL's Lucene). The tree counts UTF-16 units, as
 * ECMAScript does without `u`; these targets count code points, so a printer needs the same few
 * readings of it: a set as ranges, the one unit a set stands for, and a sequence whose surrogate
 * pairs are joined into the code points they spell; and the same range arithmetic.
 */
import type { Ast, Ranges as FlatRanges } from '../runtime/linear-regex.js';

export type Range = [number, number];

/** A set of the tree (flat `[lo, hi, lo, hi, ...]`) as ranges. */
export function rangePairs(r: FlatRanges): Range[] {
  const out: Range[] = [];
  for (let i = 0; i < r.length; i += 2) out.push([r[i]!, r[i + 1]!]);
  return out;
}

/** Sort and merge ranges (touching ones too). */
export function mergeRanges(ranges: Iterable<readonly [number, number]>): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Some range holds all of lo..hi. */
export function covers(ranges: readonly (readonly [number, number])[], lo: number, hi: number): boolean {
  return ranges.some(([a, b]) => a <= lo && hi <= b);
}

/** The ranges without the surrogate block: text never holds a lone surrogate, and code points skip it. */
export function withoutSurrogates(ranges: readonly (readonly [number, number])[]): Range[] {
  const out: Range[] = [];
  for (const [lo, hi] of ranges) {
    if (hi < 0xd800 || lo > 0xdfff) out.push([lo, hi]);
    else {
      if (lo < 0xd800) out.push([lo, 0xd7ff]);
      if (hi > 0xdfff) out.push([0xe000, hi]);
    }
  }
  return out;
}

/** The one code unit a set holds, if it holds exactly one. */
export function singleUnit(n: Ast | undefined): number | undefined {
  return n?.t === 'set' && n.ranges.length === 2 && n.ranges[0] === n.ranges[1] ? n.ranges[0] : undefined;
}

/** A code point outside the BMP, written in the pattern as a surrogate pair. */
export interface AstralChar {
  t: 'astral';
  cp: number;
}

/**
 * A sequence's items, with nested sequences (groups in the source) spliced in, so that a surrogate
 * pair split by nothing but a group boundary is still one character, and each pair joined.
 */
export function sequenceItems(items: readonly Ast[]): (Ast | AstralChar)[] {
  const flat: Ast[] = [];
  const splice = (xs: readonly Ast[]): void => xs.forEach((x) => (x.t === 'cat' ? splice(x.items) : flat.push(x)));
  splice(items);
  const out: (Ast | AstralChar)[] = [];
  for (let k = 0; k < flat.length; k++) {
    const hi = singleUnit(flat[k]);
    const lo = singleUnit(flat[k + 1]);
    if (hi !== undefined && hi >= 0xd800 && hi <= 0xdbff && lo !== undefined && lo >= 0xdc00 && lo <= 0xdfff) {
      out.push({ t: 'astral', cp: String.fromCharCode(hi, lo).codePointAt(0)! });
      k++;
    } else out.push(flat[k]!);
  }
  return out;
}
