/**
 * Test-only: the PCRE patterns rulec emits, as JavaScript regexes with the meaning PCRE gives them
 * in UTF-8 mode (the one platform fact the SPL target assumes). Strict on purpose: a construct whose
 * PCRE meaning depends on build options or that rulec never emits (`$`, `.` outside `(?s)`, `(?i)`,
 * `\d \w \s`, POSIX classes, possessive quantifiers) is an error, so an emitted pattern that relies
 * on it fails the tests instead of passing by accident.
 */
const cache = new Map<string, RegExp>();

/** Literal character in a JS `u`-mode pattern (outside a class). */
function jsLit(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? '\\' + ch : ch;
}

/** Literal character inside a JS `u`-mode class. */
function jsClassLit(ch: string): string {
  return /[\\\]\[^-]/.test(ch) ? '\\' + ch : ch;
}

export function pcreToJs(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let src = pattern;
  let dotAll = false;
  if (src.startsWith('(?s)')) {
    dotAll = true;
    src = src.slice(4);
  }
  let out = '';
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`unmodelled PCRE at ${i} of /${pattern}/: ${why}`);
  };
  /** An escape at i (the backslash); returns JS text. */
  const escape = (inClass: boolean): string => {
    const c = src[i + 1];
    if (c === undefined) fail('trailing backslash');
    if (c === 'x') {
      const m = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(src.slice(i));
      if (!m) fail('\\x without braces');
      i += m![0].length;
      return `\\u{${m![1]}}`;
    }
    if (c === 't' || c === 'n' || c === 'r') {
      i += 2;
      return '\\' + c;
    }
    if (!inClass && (c === 'z' || c === 'b' || c === 'B' || /[1-9]/.test(c!))) {
      i += 2;
      return c === 'z' ? '$' : '\\' + c;
    }
    if (/[A-Za-z0-9]/.test(c!)) fail(`the escape \\${c}`);
    i += 2;
    return inClass ? jsClassLit(c!) : jsLit(c!);
  };
  checkLookbehinds(pattern);
  const groups: string[] = [];
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      out += escape(false);
      continue;
    }
    if (c === '[') {
      let cls = '[';
      i++;
      if (src[i] === '^') {
        cls += '^';
        i++;
      }
      let first = true;
      while (src[i] !== ']' || first) {
        const d = src[i];
        if (d === undefined) fail('unclosed class');
        if (d === '[' && src[i + 1] === ':') fail('POSIX class');
        if (d === '\\') cls += escape(true);
        else if (d === '-' && !first && src[i + 1] !== ']') {
          cls += '-';
          i++;
        } else {
          cls += jsClassLit(d!);
          i++;
        }
        first = false;
      }
      i++;
      out += cls + ']';
      continue;
    }
    if (c === '(') {
      const rest = src.slice(i);
      const m = /^\((\?:|\?=|\?!|\?<=|\?<!)?/.exec(rest)!;
      if (rest.startsWith('(?') && !m[1]) fail('group syntax ' + rest.slice(0, 4));
      groups.push(m[1] ?? '');
      out += m[0];
      i += m[0].length;
      continue;
    }
    if (c === ')') {
      const g = groups.pop();
      if (g === undefined) fail('unbalanced )');
      out += ')';
      i++;
      continue;
    }
    if ('*+?'.includes(c) || (c === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i)))) {
      const m = /^(?:[*+?]|\{\d+(?:,\d*)?\})\??/.exec(src.slice(i))!;
      if (src[i + m[0].length] === '+') fail('possessive quantifier');
      out += m[0];
      i += m[0].length;
      continue;
    }
    if (c === '.') {
      if (!dotAll) fail('. without (?s) (its meaning depends on the newline convention)');
      out += '.';
      i++;
      continue;
    }
    if (c === '$') fail('$ (PCRE also matches before a final newline)');
    if (c === '^' || c === '|') {
      out += c;
      i++;
      continue;
    }
    const cp = src.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    out += jsLit(ch);
    i += ch.length;
  }
  if (groups.length) fail('unclosed group');
  const re = new RegExp(out, dotAll ? 'su' : 'u');
  cache.set(pattern, re);
  return re;
}

/** PCRE rejects a lookbehind whose length varies; JavaScript accepts it, so check here. */
function checkLookbehinds(pattern: string): void {
  for (let at = pattern.indexOf('(?<'); at >= 0; at = pattern.indexOf('(?<', at + 1)) {
    let depth = 0;
    let inClass = false;
    for (let j = at; j < pattern.length; j++) {
      const c = pattern[j];
      if (c === '\\') {
        j++;
        continue;
      }
      if (inClass) {
        if (c === ']') inClass = false;
        continue;
      }
      if (c === '[') inClass = true;
      else if (c === '(') depth++;
      else if (c === ')') {
        depth--;
        if (depth === 0) break;
      } else if ((c === '*' || c === '+' || (c === '?' && pattern[j - 1] !== '(')) || (c === '{' && /^\{\d+,/.test(pattern.slice(j)))) {
        throw new Error(`unmodelled PCRE: variable-length lookbehind in /${pattern}/`);
      }
    }
  }
}
