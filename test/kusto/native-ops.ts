/**
 * KQL operators of native queries (the shape `rulec import --from kusto` accepts) that the emitted
 * queries do not use, for the test interpreter: negated `startswith`/`endswith`, and the term
 * operators `has`, `has_cs`, `!has`, `!has_cs`, `has_any`, `has_all`.
 *
 * Term semantics, from Kusto's documentation ("String operators", "What is a term?"): a string value
 * is broken into maximal sequences of alphanumeric characters, each a term; `has` looks for a whole
 * term, so "KustoExplorerQueryRun" has "Explorer" is false, and "North America" has "america" true.
 * A search string with punctuation (`has ".exe"`, `has "c1db-4f9f"`) is a run of terms with the
 * punctuation between them: it matches where it occurs in the value and each end that is a term
 * character is a term boundary there (the value's neighbouring character, if any, is not
 * alphanumeric). Alphanumeric is read as ASCII letters and digits: the documentation's examples are
 * ASCII and it does not say more. A search string with no term character is not modelled (throws).
 */
import { upperFold } from './interpreter.js';

const TERM_CHAR = /[A-Za-z0-9]/;

const isTermChar = (c: string | undefined): boolean => c !== undefined && TERM_CHAR.test(c);

/** `lhs has rhs` (`has_cs` when cased): rhs occurs in lhs on term boundaries at its alphanumeric ends. */
export function kqlHas(lhs: string, rhs: string, cased: boolean): boolean {
  if (![...rhs].some(isTermChar)) throw new NotModelled(`has with a search string without a term character (${JSON.stringify(rhs)})`);
  const a = cased ? lhs : upperFold(lhs);
  const b = cased ? rhs : upperFold(rhs);
  const startBound = isTermChar(rhs[0]);
  const endBound = isTermChar(rhs[rhs.length - 1]);
  for (let i = a.indexOf(b); i >= 0; i = a.indexOf(b, i + 1)) {
    if (startBound && isTermChar(a[i - 1])) continue;
    if (endBound && isTermChar(a[i + b.length])) continue;
    return true;
  }
  return false;
}

export class NotModelled extends Error {}

/** Binary string operators of native queries, by their KQL spelling. */
export const NATIVE_STRING_OPS: Record<string, (a: string, b: string) => boolean> = {
  '!startswith': (a, b) => !upperFold(a).startsWith(upperFold(b)),
  '!startswith_cs': (a, b) => !a.startsWith(b),
  '!endswith': (a, b) => !upperFold(a).endsWith(upperFold(b)),
  '!endswith_cs': (a, b) => !a.endsWith(b),
  has: (a, b) => kqlHas(a, b, false),
  has_cs: (a, b) => kqlHas(a, b, true),
  '!has': (a, b) => !kqlHas(a, b, false),
  '!has_cs': (a, b) => !kqlHas(a, b, true),
};

/** `has_any` (any of the terms) and `has_all` (every one), case-insensitive. */
export function kqlHasList(op: 'has_any' | 'has_all', lhs: string, terms: string[]): boolean {
  return op === 'has_any' ? terms.some((t) => kqlHas(lhs, t, false)) : terms.every((t) => kqlHas(lhs, t, false));
}

/** ipv4_is_private: the RFC 1918 ranges, as Kusto documents the function. */
export const IPV4_PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
