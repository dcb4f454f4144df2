/**
 * The term match of docs/semantics.md ("Term match"), KQL's `has`: terms are maximal runs of ASCII
 * letters and digits, and a search string matches where it occurs with no term character adjoining
 * it on a side where its own end is a term character. One `indexOf` scan per text, no regex: this
 * runs per event.
 */

/** An ASCII letter or digit: the only characters terms are made of (UTF-16 unit). */
export function isTermUnit(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
}

/** The string holds a term character: without one, a search string names no term. */
export function hasTermChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isTermUnit(s.charCodeAt(i))) return true;
  return false;
}

/**
 * `needle` (non-empty, already folded as `text` is) occurs in `text` as whole terms: each end of the
 * occurrence that is a term character of `needle` is not continued by a term character in `text`.
 */
export function hasTerm(text: string, needle: string): boolean {
  const n = needle.length;
  const open = isTermUnit(needle.charCodeAt(0));
  const close = isTermUnit(needle.charCodeAt(n - 1));
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
    if (open && i > 0 && isTermUnit(text.charCodeAt(i - 1))) continue;
    if (close && i + n < text.length && isTermUnit(text.charCodeAt(i + n))) continue;
    return true;
  }
  return false;
}
