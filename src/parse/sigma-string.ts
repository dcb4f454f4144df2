/**
 * Sigma string values: wildcards and the backslash escape (spec "Escape Character", pySigma
 * `SigmaString`). A backslash escapes only `*`, `?` and `\`; before any other character it stays a
 * literal backslash. The result is a sequence of literal runs and wildcard tokens, so no later stage
 * ever re-interprets a backslash.
 */

export type Wildcard = { wildcard: '*' | '?' };
export type Placeholder = { placeholder: string };
export type StringPart = string | Wildcard | Placeholder;

/** A parsed Sigma string: literal runs (merged) and wildcard / placeholder tokens. */
export type SigmaString = StringPart[];

export const ANY: Wildcard = { wildcard: '*' };
export const ONE: Wildcard = { wildcard: '?' };

export function isWildcard(p: StringPart): p is Wildcard {
  return typeof p === 'object' && 'wildcard' in p;
}

export function isPlaceholder(p: StringPart): p is Placeholder {
  return typeof p === 'object' && 'placeholder' in p;
}

function push(out: SigmaString, p: StringPart): void {
  if (typeof p === 'string') {
    if (p === '') return;
    const last = out[out.length - 1];
    if (typeof last === 'string') {
      out[out.length - 1] = last + p;
      return;
    }
  }
  out.push(p);
}

/** What `%name%` may hold (the schema's pattern for parameter names). */
export const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Parse a Sigma value. With `placeholders`, `%name%` becomes a placeholder token (the `expand`
 * modifier) and `\%` a literal percent sign.
 */
export function parseSigmaString(text: string, placeholders = false): SigmaString {
  const out: SigmaString = [];
  let lit = '';
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (escaped) {
      escaped = false;
      if (c === '*' || c === '?' || c === '\\' || (placeholders && c === '%')) lit += c;
      else lit += '\\' + c;
      continue;
    }
    if (c === '\\') {
      escaped = true;
    } else if (c === '*' || c === '?') {
      push(out, lit);
      lit = '';
      push(out, c === '*' ? ANY : ONE);
    } else if (placeholders && c === '%') {
      const end = text.indexOf('%', i + 1);
      const name = end > i + 1 ? text.slice(i + 1, end) : '';
      if (end > i + 1 && PLACEHOLDER_NAME.test(name)) {
        push(out, lit);
        lit = '';
        push(out, { placeholder: name });
        i = end;
      } else {
        lit += c;
      }
    } else {
      lit += c;
    }
  }
  if (escaped) lit += '\\';
  push(out, lit);
  return out;
}

export function literal(s: string): SigmaString {
  return s === '' ? [] : [s];
}

export function concat(...parts: SigmaString[]): SigmaString {
  const out: SigmaString = [];
  for (const s of parts) for (const p of s) push(out, p);
  return out;
}

export function hasWildcards(s: SigmaString): boolean {
  return s.some(isWildcard);
}

export function placeholders(s: SigmaString): string[] {
  return s.filter(isPlaceholder).map((p) => p.placeholder);
}

/** Map every literal run (wildcards and placeholders untouched). */
export function mapLiterals(s: SigmaString, f: (lit: string) => string): SigmaString {
  const out: SigmaString = [];
  for (const p of s) push(out, typeof p === 'string' ? f(p) : p);
  return out;
}

/** The plain text when the string has no tokens. */
export function plainText(s: SigmaString): string | undefined {
  if (s.length === 0) return '';
  if (s.length === 1 && typeof s[0] === 'string') return s[0];
  return undefined;
}

/** Back to Sigma notation (escaping literal `*`, `?`, `\` as needed): used in messages and dumps. */
export function toSigmaNotation(s: SigmaString): string {
  return s
    .map((p) =>
      typeof p === 'string'
        ? p.replace(/[*?\\]/g, (m) => '\\' + m)
        : isWildcard(p)
          ? p.wildcard
          : `%${p.placeholder}%`,
    )
    .join('');
}
