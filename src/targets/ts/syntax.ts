/**
 * TypeScript lexical syntax for generated code: string and regex literals that evaluate to exactly
 * the value given, comment text that cannot end its comment, and constant names.
 */

/** Characters that are written as escapes: controls, invisible formatting and separators, lone surrogates. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}]/u;

/** A single-quoted string literal whose value is `s`; printable non-ASCII stays readable. */
export function stringLiteral(s: string): string {
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === ' ') out += ch;
    // for...of yields a lone surrogate as a one-unit string
    else if ((cp >= 0xd800 && cp <= 0xdfff) || INVISIBLE.test(ch)) {
      for (let i = 0; i < ch.length; i++) out += '\\u' + ch.charCodeAt(i).toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + "'";
}

/**
 * A regular expression literal equal to `re`: `source` is specified to be a pattern that, written
 * between slashes, gives the same regular expression (slashes and line terminators escaped).
 */
export function regexLiteral(re: RegExp): string {
  return `/${re.source}/${re.flags}`;
}

/** Text for a `/** ... *\/` or `//` comment: one line, and never the end of a block comment. */
export function commentText(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\*\//g, '*\\/');
}

/** Comment text broken into lines of at most `width` characters (a longer word stays whole). */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join('\n');
}

/** `TargetFilename` -> `TARGET_FILENAME`, `cs-uri-query` -> `CS_URI_QUERY`, `a.b` -> `A_B`. */
export function constantName(words: string): string {
  const name = words
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  if (name === '') return 'FIELD';
  return /^[0-9]/.test(name) ? `F_${name}` : name;
}

/** Hands out constant names that are unique in a module and clash with no reserved name. */
export class Names {
  private readonly used: Set<string>;

  constructor(reserved: Iterable<string>) {
    this.used = new Set(reserved);
  }

  take(base: string): string {
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}_${n}`;
    this.used.add(name);
    return name;
  }
}
