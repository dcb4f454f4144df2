/**
 * The loops generated matchers call: "some text of the field passes this test". They are inlined
 * into generated modules with the runtime (see runtime-source.ts). Rule code built from these calls
 * allocates no closure per event, and one copy of each loop serves every rule of a bundle, so the
 * JIT optimizes it once; an inline `.some((t) => ...)` per leaf would be a distinct function per rule,
 * mostly left unoptimized, and a fresh closure each call. The tests are those of the evaluator
 * (src/eval/compile.ts), over the runtime's texts, numbers and parsers.
 */
import { inNetwork } from '../../runtime/ip.js';
import { hasTerm } from '../../runtime/term.js';
import { parseTimestamp, timePart, type TimePart } from '../../runtime/time.js';
import { compareExact, compareNumber, type NumOp } from '../../runtime/values.js';

/** Some text equals `lit`. */
export function anyEquals(texts: readonly string[], lit: string): boolean {
  for (const t of texts) if (t === lit) return true;
  return false;
}

/** Some text is one of `lits`. */
export function anyIn(texts: readonly string[], lits: ReadonlySet<string>): boolean {
  for (const t of texts) if (lits.has(t)) return true;
  return false;
}

/** Some text starts with one of `lits`. */
export function anyStartsWith(texts: readonly string[], lits: readonly string[]): boolean {
  for (const t of texts) for (const l of lits) if (t.startsWith(l)) return true;
  return false;
}

/** Some text ends with one of `lits`. */
export function anyEndsWith(texts: readonly string[], lits: readonly string[]): boolean {
  for (const t of texts) for (const l of lits) if (t.endsWith(l)) return true;
  return false;
}

/** Some text contains one of `lits`. */
export function anyContains(texts: readonly string[], lits: readonly string[]): boolean {
  for (const t of texts) for (const l of lits) if (t.includes(l)) return true;
  return false;
}

/** Some text has one of `terms` as whole terms (runtime/term.ts). */
export function anyHasTerm(texts: readonly string[], terms: readonly string[]): boolean {
  for (const t of texts) for (const l of terms) if (hasTerm(t, l)) return true;
  return false;
}

/** Some text matches one of `res` (non-global regular expressions: `test` keeps no state). */
export function anyMatches(texts: readonly string[], res: readonly RegExp[]): boolean {
  for (const t of texts) for (const re of res) if (re.test(t)) return true;
  return false;
}

/** Some address among `texts` (parsed by `parse`, one family) is in one of `networks` ([bytes, prefix length]). */
export function anyInNetwork(
  texts: readonly string[],
  parse: (text: string) => Uint8Array | undefined,
  networks: readonly (readonly [Uint8Array, number])[],
): boolean {
  for (const t of texts) {
    const a = parse(t);
    if (a !== undefined) for (const [net, bits] of networks) if (inNetwork(a, net, bits)) return true;
  }
  return false;
}

/** Some number compares to `v` with `op`. */
export function anyNumber(nums: readonly number[], op: NumOp, v: number): boolean {
  for (const n of nums) if (compareNumber(n, op, v)) return true;
  return false;
}

/** Some number or decimal text (numericValuesOf) compares exactly to the integer `v` (beyond 2^53). */
export function anyNumberExact(nums: readonly (number | string | bigint)[], op: NumOp, v: bigint): boolean {
  for (const n of nums) if (compareExact(n, op, v)) return true;
  return false;
}

/** Some number is one of `values`. */
export function anyNumberIn(nums: readonly number[], values: ReadonlySet<number>): boolean {
  for (const n of nums) if (values.has(n)) return true;
  return false;
}

/** Some text is a timestamp whose `part` (UTC) compares to `v` with `op`. */
export function anyTimePart(texts: readonly string[], part: TimePart, op: NumOp, v: number): boolean {
  for (const t of texts) {
    const ms = parseTimestamp(t);
    if (ms !== undefined && compareNumber(timePart(ms, part), op, v)) return true;
  }
  return false;
}
