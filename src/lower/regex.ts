/**
 * Sigma `re` values are PCRE-flavoured; rulec accepts the subset whose meaning is the same in JS,
 * RE2 (KQL), PCRE (SPL) and, after translation, Lucene (EQL). Leading inline flags become flags;
 * constructs that JS parses silently with another meaning are rejected rather than mistranslated.
 */
export interface NormalizedRegex {
  pattern: string;
  flags: string;
}

export type RegexCheck = { ok: true; regex: NormalizedRegex } | { ok: false; reason: string };

const FLAG_ORDER = 'ims';

export function sortFlags(flags: Iterable<string>): string {
  const set = new Set(flags);
  return [...FLAG_ORDER].filter((f) => set.has(f)).join('');
}

/** Reasons a pattern is rejected: PCRE syntax JS would accept with a different meaning, or reject. */
const UNSUPPORTED: [RegExp, string][] = [
  [/\\[QE]/, '\\Q...\\E quoting is PCRE-only; escape the characters instead'],
  [/\\[AZz]/, '\\A, \\Z and \\z anchors are PCRE-only; use ^ and $'],
  [/\[\[:[a-z]+:\]\]/, 'POSIX classes such as [[:alpha:]] are not supported; use a class such as [A-Za-z]'],
  [/\(\?P?<[A-Za-z]/, 'named groups are not portable to every target; use a plain group ( )'],
  [/\(\?P[=>]/, 'PCRE named references are not supported'],
  [/[*+?}]\+/, 'possessive quantifiers (a++, a*+) are not supported'],
  [/\(\?<?[=!]/, 'lookahead and lookbehind are not supported (RE2, which KQL uses, has neither; the evaluator matches in linear time)'],
  [/\\[1-9]/, 'backreferences (\\1) are not supported (RE2, which KQL uses, has none); to match a character by its code write \\xHH'],
  [/\(\?(?:[a-zA-Z]+(?:-[a-zA-Z]*)?|-[a-zA-Z]+)[:)]/, 'inline flags are only supported at the start of the pattern, e.g. (?i)abc'],
];

export function normalizeRegex(source: string, extraFlags: string): RegexCheck {
  let pattern = source;
  const flags = new Set(extraFlags);
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (lead) {
    for (const f of lead[1]!) {
      if (!'ims'.includes(f)) return { ok: false, reason: `inline flag '${f}' in (?${lead[1]}) is not supported; only i, m and s are` };
      flags.add(f);
    }
    pattern = pattern.slice(lead[0].length);
  }
  for (const [re, why] of UNSUPPORTED) if (re.test(stripEscapedBackslashes(pattern))) return { ok: false, reason: why };
  try {
    new RegExp(pattern, sortFlags(flags));
  } catch (e) {
    return { ok: false, reason: (e as Error).message.replace(/^Invalid regular expression: /, '') };
  }
  return { ok: true, regex: { pattern, flags: sortFlags(flags) } };
}

/** `\\Q` is a literal backslash then Q, not \Q: drop escaped backslashes before the checks. */
function stripEscapedBackslashes(p: string): string {
  return p.replace(/\\\\/g, '');
}
