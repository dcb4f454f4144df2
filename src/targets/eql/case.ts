/**
 * Case equivalence classes. Elasticsearch's case-insensitive matching (`:`, `like~`, `regex~`,
 * `in~`, `startsWith~`...) is documented as ASCII-only, while rulec folds every script
 * (docs/semantics.md section 3) and a regex `i` flag follows ECMAScript (those classes come with the
 * regex syntax tree of src/runtime/linear-regex.ts). Where the classes differ, the printer spells the
 * class out in a regular expression; these functions say what the class is.
 */
import { fold } from '../../runtime/fold.js';

/**
 * Code points whose simple lowercase is a single code point other than their uppercase partner's
 * (titlecase digraphs, the Kelvin and Angstrom signs, ...), keyed by that lowercase. Generated
 * from Node's Unicode tables; test/eql/case.test.ts checks it against a scan of every code point.
 */
const EXTRA_PREIMAGES: Record<number, number[]> = {
  0x1c6: [0x1c5], 0x1c9: [0x1c8], 0x1cc: [0x1cb], 0x1f3: [0x1f2], 0x3b8: [0x3f4], 0xdf: [0x1e9e],
  0x1f80: [0x1f88], 0x1f81: [0x1f89], 0x1f82: [0x1f8a], 0x1f83: [0x1f8b], 0x1f84: [0x1f8c],
  0x1f85: [0x1f8d], 0x1f86: [0x1f8e], 0x1f87: [0x1f8f], 0x1f90: [0x1f98], 0x1f91: [0x1f99],
  0x1f92: [0x1f9a], 0x1f93: [0x1f9b], 0x1f94: [0x1f9c], 0x1f95: [0x1f9d], 0x1f96: [0x1f9e],
  0x1f97: [0x1f9f], 0x1fa0: [0x1fa8], 0x1fa1: [0x1fa9], 0x1fa2: [0x1faa], 0x1fa3: [0x1fab],
  0x1fa4: [0x1fac], 0x1fa5: [0x1fad], 0x1fa6: [0x1fae], 0x1fa7: [0x1faf], 0x1fb3: [0x1fbc],
  0x1fc3: [0x1fcc], 0x1ff3: [0x1ffc], 0x3c9: [0x2126], 0x6b: [0x212a], 0xe5: [0x212b],
};

const foldClasses = new Map<number, number[]>();

/** Every code point x with fold(x) = fold(cp), sorted: what a case-insensitive literal `cp` matches. */
export function foldClass(cp: number): number[] {
  let cls = foldClasses.get(cp);
  if (!cls) {
    cls = computeFoldClass(cp);
    foldClasses.set(cp, cls);
  }
  return cls;
}

function computeFoldClass(cp: number): number[] {
  const f = fold(String.fromCodePoint(cp));
  const fc = f.codePointAt(0)!;
  const out = new Set<number>([fc]);
  const up = f.toUpperCase();
  if ([...up].length === 1 && fold(up) === f) out.add(up.codePointAt(0)!);
  for (const x of EXTRA_PREIMAGES[fc] ?? []) out.add(x);
  return [...out].sort((a, b) => a - b);
}

/** What Elasticsearch's ASCII case-insensitive matching makes of one literal code point. */
export function asciiClass(cp: number): number[] {
  if (cp >= 0x41 && cp <= 0x5a) return [cp, cp + 0x20];
  if (cp >= 0x61 && cp <= 0x7a) return [cp - 0x20, cp];
  return [cp];
}

const ASCII_WITHOUT_K = /^[\x00-\x4a\x4c-\x6a\x6c-\x7f]*$/;

/**
 * True when a case-insensitive literal means the same under rulec's folding and ASCII folding; with
 * `exceptKelvin`, when the two differ at most in the KELVIN SIGN that rulec folds to a literal `k` / `K`.
 */
export function asciiFoldExact(s: string, exceptKelvin = false): boolean {
  if (ASCII_WITHOUT_K.test(s)) return true;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80 && ((cp !== 0x6b && cp !== 0x4b) || exceptKelvin)) continue; // only k/K gains a non-ASCII partner (KELVIN SIGN)
    if (!sameSet(foldClass(cp), asciiClass(cp))) return false;
  }
  return true;
}

function sameSet(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
