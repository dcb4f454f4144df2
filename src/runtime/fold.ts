/**
 * Case folding of docs/semantics.md section 3: simple lowercase mapping, code point by code point,
 * kept when the lowercase form is not a single code point. No locale, no context (final sigma),
 * no expansion. Text without U+0130 or U+03A3 takes the fast path (the engine's toLowerCase).
 */
const cache = new Map<number, string>();

function foldCodePoint(cp: number): string {
  let f = cache.get(cp);
  if (f === undefined) {
    const ch = String.fromCodePoint(cp);
    const lower = ch.toLowerCase();
    f = [...lower].length === 1 ? lower : ch;
    cache.set(cp, f);
  }
  return f;
}

export function fold(s: string): string {
  // String.prototype.toLowerCase differs from this folding only where a lowercase form has
  // several code points (U+0130 alone) or depends on context (final U+03A3): elsewhere it is the
  // same mapping, code point by code point, and much faster (tested over every code point).
  if (s.indexOf('\u0130') < 0 && s.indexOf('\u03a3') < 0) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += cp < 0x80 ? ch.toLowerCase() : foldCodePoint(cp);
  }
  return out;
}
