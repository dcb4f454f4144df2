/**
 * A reader of the Lucene regular-expression subset rulec emits for EQL's `regex` / `regex~`: literal
 * characters and `\` escapes, `.`, character classes with ranges and `^`, groups, `|`, and the
 * quantifiers `* + ? {n} {n,} {n,m}`. Written from the Lucene RegExp syntax documentation. Lucene's
 * optional operators (`& ~ # @ < >`, `"..."`) are reported as errors: rulec always escapes them, so
 * meeting one unescaped means a rendering defect.
 */
export type LNode =
  | { t: 'char'; cp: number }
  | { t: 'any' }
  | { t: 'class'; negated: boolean; items: ({ cp: number } | { lo: number; hi: number })[] }
  | { t: 'seq'; items: LNode[] }
  | { t: 'alt'; alts: LNode[] }
  | { t: 'group'; body: LNode }
  | { t: 'rep'; body: LNode; min: number; max: number };

export class LuceneSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const OPTIONAL_OPERATORS = new Set(['&', '~', '#', '@', '<', '>', '"']);

export function parseLucene(src: string): LNode {
  const cps = [...src].map((c) => c.codePointAt(0)!);
  let i = 0;
  const fail = (msg: string): never => {
    throw new LuceneSyntaxError(msg, i);
  };
  const peek = (): string | undefined => (i < cps.length ? String.fromCodePoint(cps[i]!) : undefined);

  function union(): LNode {
    const alts = [concat()];
    while (peek() === '|') {
      i++;
      alts.push(concat());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  function concat(): LNode {
    const items: LNode[] = [];
    while (i < cps.length && peek() !== '|' && peek() !== ')') items.push(repeat());
    return { t: 'seq', items };
  }

  function repeat(): LNode {
    let node = simple();
    for (;;) {
      const c = peek();
      if (c === '*') node = { t: 'rep', body: node, min: 0, max: Infinity };
      else if (c === '+') node = { t: 'rep', body: node, min: 1, max: Infinity };
      else if (c === '?') node = { t: 'rep', body: node, min: 0, max: 1 };
      else if (c === '{') {
        const rest = String.fromCodePoint(...cps.slice(i, i + 24));
        const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(rest);
        if (!m) fail("'{' must start a repetition {n}, {n,} or {n,m} (escape it as \\{ for a literal brace)");
        const min = Number(m![1]);
        const max = m![2] ? (m![3] ? Number(m![3]) : Infinity) : min;
        if (max < min) fail(`repetition {${m![1]},${m![3]}} has its bounds reversed`);
        node = { t: 'rep', body: node, min, max };
        i += [...m![0]].length - 1;
      } else return node;
      i++;
    }
  }

  function charexp(): number {
    if (peek() === '\\') {
      i++;
      if (i >= cps.length) fail('the expression ends with a lone backslash');
    }
    return cps[i++]!;
  }

  function simple(): LNode {
    const c = peek()!;
    if (c === '(') {
      i++;
      const body = peek() === ')' ? ({ t: 'seq', items: [] } as LNode) : union();
      if (peek() !== ')') fail("unbalanced '('");
      i++;
      return { t: 'group', body };
    }
    if (c === '[') return charClass();
    if (c === '.') {
      i++;
      return { t: 'any' };
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') fail(`'${c}' has nothing to repeat`);
    if (c === ']' || c === '}') fail(`unescaped '${c}'`);
    if (OPTIONAL_OPERATORS.has(c)) fail(`'${c}' is a Lucene operator (optional syntax); a literal must be escaped as \\${c}`);
    if (c === '\\' && i + 1 < cps.length && /[dDsSwW]/.test(String.fromCodePoint(cps[i + 1]!))) {
      fail(`'\\${String.fromCodePoint(cps[i + 1]!)}' shorthand classes are not emitted by rulec (they differ between Lucene versions)`);
    }
    return { t: 'char', cp: charexp() };
  }

  function charClass(): LNode {
    i++; // [
    let negated = false;
    if (peek() === '^') {
      negated = true;
      i++;
    }
    const items: ({ cp: number } | { lo: number; hi: number })[] = [];
    while (i < cps.length && peek() !== ']') {
      const lo = charexp();
      if (peek() === '-' && i + 1 < cps.length && String.fromCodePoint(cps[i + 1]!) !== ']') {
        i++;
        const hi = charexp();
        if (hi < lo) fail('a character range is out of order');
        items.push({ lo, hi });
      } else items.push({ cp: lo });
    }
    if (peek() !== ']') fail("unterminated '['");
    if (items.length === 0) fail('empty character class');
    i++;
    return { t: 'class', negated, items };
  }

  const node = union();
  if (i < cps.length) fail(`unbalanced '${peek()}'`);
  return node;
}
