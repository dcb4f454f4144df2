/**
 * Case folding of docs/semantics.md section 3: simple lowercase mapping, code point by code point,
 * kept when the lowercase form is not a single code point. No locale, no context (final sigma),
 * no expansion. ASCII-only text takes the fast path.
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
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += cp < 0x80 ? ch.toLowerCase() : foldCodePoint(cp);
  }
  return out;
}
