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

/**
 * Reasons a pattern is rejected: PCRE syntax JS would accept with a different meaning, or reject.
 * They are tested on the pattern with every escape blanked out (checkEscapes looks at escapes one
 * by one first), so that an escaped character (`\}+`, `\(?<`) is never read as syntax.
 */
const UNSUPPORTED: [RegExp, string][] = [
  [/\[\[:[a-z]+:\]\]/, 'POSIX classes such as [[:alpha:]] are not supported; use a class such as [A-Za-z]'],
  [/\(\?P?<[A-Za-z]/, 'named groups are not portable to every target; use a plain group ( )'],
  [/\(\?P[=>]/, 'PCRE named references are not supported'],
  [/[*+?}]\+/, 'possessive quantifiers (a++, a*+) are not supported'],
  [/\(\?<?[=!]/, 'lookahead and lookbehind are not supported (RE2, which KQL uses, has neither; the evaluator matches in linear time)'],
  [/\(\?(?:[a-zA-Z]+(?:-[a-zA-Z]*)?|-[a-zA-Z]+)[:)]/, 'inline flags are only supported at the start of the pattern, e.g. (?i)abc'],
];

/**
 * Letter escapes JS (without the u flag) reads as the letter itself, while PCRE (SPL) and RE2 (KQL)
 * give them a meaning or reject them: what each is there, and what to write instead.
 */
const LETTER_ESCAPES: Record<string, [meaning: string, instead: string]> = {
  p: ['a Unicode property class (\\p{L}) in PCRE and RE2', 'write a class of the characters, such as [A-Za-z]'],
  P: ['a negated Unicode property class (\\P{Lu}) in PCRE and RE2', 'write a negated class, such as [^A-Z]'],
  h: ['horizontal whitespace in PCRE', 'write [ \\t]'],
  H: ['anything but horizontal whitespace in PCRE', 'write [^ \\t]'],
  R: ['any line break in PCRE', 'write (?:\\r\\n|\\n|\\r)'],
  K: ['a reset of the match start in PCRE', 'leave it out (a rule only asks whether the pattern matches)'],
  e: ['the escape character U+001B in PCRE', 'write \\x1b'],
  a: ['the bell character U+0007 in PCRE and RE2', 'write \\x07'],
  g: ['a backreference (\\g1, \\g{name}) in PCRE', 'backreferences are not supported'],
  k: ['a named backreference in PCRE', 'backreferences are not supported'],
  o: ['an octal escape (\\o{101}) in PCRE', 'write \\xHH'],
  x: ['a code point escape (\\x{HHHH}) in PCRE and RE2', 'write \\xHH or \\uHHHH'],
  u: ['a code point escape (\\u{HHHH}) with the u flag', 'write \\uHHHH'],
  c: ['a control escape in PCRE', 'write the control character as \\xHH'],
  A: ['the start of the text in PCRE and RE2', 'use ^'],
  Z: ['the end of the text in PCRE', 'use $'],
  z: ['the end of the text in PCRE and RE2', 'use $'],
  Q: ['the start of \\Q...\\E quoting in PCRE and RE2', 'escape the characters instead'],
  E: ['the end of \\Q...\\E quoting in PCRE and RE2', 'escape the characters instead'],
};

/** When `\\x`, `\\u` and `\\c` are not portable. */
const WITHOUT: Record<string, string> = { x: ' without two hex digits', u: ' without four hex digits', c: ' without a letter' };

/** Letter escapes read alike by JS, PCRE and RE2. */
const PORTABLE_LETTERS = 'dDwWsSbBfnrt';

/**
 * Check every escape of the pattern: a letter escape outside the portable set (`\x` with two hex
 * digits, `\u` with four and `\c` with a letter are portable too), `\v` and `\1`-`\9` are refused by
 * name. Returns the pattern with every escape replaced by `_`, for the syntax checks that follow.
 */
function checkEscapes(p: string): { ok: true; skeleton: string } | { ok: false; reason: string } {
  let skeleton = '';
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== '\\') {
      skeleton += p[i];
      continue;
    }
    const c = p[i + 1];
    if (c === undefined) break; // the RegExp check reports the lone backslash
    if (c === 'v') {
      return { ok: false, reason: "'\\v' is any vertical whitespace (\\n, \\x0b, \\f, \\r, U+0085, U+2028, U+2029) in PCRE but only U+000B in RE2 and ECMAScript; write \\x0b or the class you mean" };
    }
    if (c >= '1' && c <= '9') {
      return { ok: false, reason: `backreferences (\\${c}) are not supported (RE2, which KQL uses, has none); to match a character by its code write \\xHH` };
    }
    const portable =
      PORTABLE_LETTERS.includes(c) ||
      (c === 'x' && /^[0-9A-Fa-f]{2}$/.test(p.slice(i + 2, i + 4))) ||
      (c === 'u' && /^[0-9A-Fa-f]{4}$/.test(p.slice(i + 2, i + 6))) ||
      (c === 'c' && /^[A-Za-z]$/.test(p[i + 2] ?? ''));
    if (/[A-Za-z]/.test(c) && !portable) {
      const [meaning, instead] = LETTER_ESCAPES[c] ?? ['an escape PCRE and RE2 give a meaning or reject', 'escape only punctuation'];
      return {
        ok: false,
        reason: `'\\${c}'${WITHOUT[c] ?? ''} is ${meaning} but the letter '${c}' in ECMAScript, which rulec reads (docs/semantics.md: only escapes with one meaning in every target are accepted); ${instead}`,
      };
    }
    skeleton += '_';
    i++;
  }
  return { ok: true, skeleton };
}

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
  const escapes = checkEscapes(pattern);
  if (!escapes.ok) return escapes;
  for (const [re, why] of UNSUPPORTED) if (re.test(escapes.skeleton)) return { ok: false, reason: why };
  try {
    new RegExp(pattern, sortFlags(flags));
  } catch (e) {
    return { ok: false, reason: (e as Error).message.replace(/^Invalid regular expression: /, '') };
  }
  return { ok: true, regex: { pattern, flags: sortFlags(flags) } };
}
