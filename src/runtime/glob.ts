/** Globs (`*` any run, `?` one code point) as anchored or unanchored regular expressions over folded text. */
export type GlobToken = string | { wildcard: '*' | '?' };

export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * The `u` flag makes `.` one code point; `s` lets wildcards cross newlines. Literals must already be
 * folded by the caller when the comparison is case-insensitive.
 */
export function globRegex(tokens: readonly GlobToken[], anchored: boolean): RegExp {
  let src = '';
  for (const t of tokens) {
    if (typeof t === 'string') src += escapeRegex(t);
    else src += t.wildcard === '*' ? '.*' : '.';
  }
  return new RegExp(anchored ? `^(?:${src})$` : src, 'su');
}
