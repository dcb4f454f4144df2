/**
 * The Sigma condition grammar. Precedence, weakest first: `or` < `and` < `not` < `x of` < `( )`.
 * Keywords are lowercase (spec); `1 of`, `any of` and `all of` take an identifier, a `prefix*`
 * pattern, or `them`. Pipe aggregations (`| count() by ...`, Sigma v1) are rejected: correlation
 * rules replace them.
 */
import { RuleError, type Position } from '../diag/diagnostic.js';
import type { Condition } from '../model/types.js';

interface Token {
  kind: 'word' | 'lparen' | 'rparen' | 'pipe' | 'end';
  text: string;
  offset: number;
}

const WORD = /[A-Za-z0-9_*.\-]/;

function tokenize(src: string, pos: (offset: number) => Position): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(') {
      out.push({ kind: 'lparen', text: c, offset: i++ });
    } else if (c === ')') {
      out.push({ kind: 'rparen', text: c, offset: i++ });
    } else if (c === '|') {
      // Everything after a pipe is a Sigma v1 aggregation; the parser reports it as such.
      out.push({ kind: 'pipe', text: c, offset: i });
      break;
    } else if (WORD.test(c)) {
      const start = i;
      while (i < src.length && WORD.test(src[i]!)) i++;
      out.push({ kind: 'word', text: src.slice(start, i), offset: start });
    } else {
      throw new RuleError(
        'condition-syntax',
        `unexpected character '${c}' in condition; identifiers use letters, digits, '_', '-', '.' and '*'`,
        pos(i),
      );
    }
  }
  out.push({ kind: 'end', text: '', offset: src.length });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'all', 'any', '1']);

export function parseCondition(src: string, pos: (offset: number) => Position): Condition {
  const toks = tokenize(src, pos);
  let k = 0;
  const peek = (): Token => toks[k]!;
  const next = (): Token => toks[k++]!;
  const at = (t: Token): Position => pos(t.offset);
  const isWord = (t: Token, w: string): boolean => t.kind === 'word' && t.text === w;

  function fail(t: Token, what: string): never {
    const found = t.kind === 'end' ? 'the end of the condition' : `'${t.text}'`;
    throw new RuleError('condition-syntax', `${what}, found ${found}`, at(t));
  }

  function parseOr(): Condition {
    const first = peek();
    const children = [parseAnd()];
    while (isWord(peek(), 'or')) {
      next();
      children.push(parseAnd());
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children, at: at(first) };
  }

  function parseAnd(): Condition {
    const first = peek();
    const children = [parseNot()];
    while (isWord(peek(), 'and')) {
      next();
      children.push(parseNot());
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children, at: at(first) };
  }

  function parseNot(): Condition {
    const t = peek();
    if (isWord(t, 'not')) {
      next();
      return { kind: 'not', child: parseNot(), at: at(t) };
    }
    return parsePrimary();
  }

  function parsePrimary(): Condition {
    const t = next();
    if (t.kind === 'lparen') {
      const inner = parseOr();
      const close = next();
      if (close.kind !== 'rparen') fail(close, "expected ')' to close the '(' at column " + at(t).column);
      return inner;
    }
    if (t.kind !== 'word') fail(t, 'expected a search identifier, "not", "(" or "1 of"/"all of"');
    if (t.text === '1' || t.text === 'any' || t.text === 'all') {
      const of = next();
      if (!isWord(of, 'of')) fail(of, `expected 'of' after '${t.text}'`);
      const target = next();
      if (target.kind !== 'word' || (KEYWORDS.has(target.text) && target.text !== 'them')) {
        fail(target, `expected 'them', an identifier or a pattern such as 'selection_*' after '${t.text} of'`);
      }
      return {
        kind: 'quantified',
        quantifier: t.text === 'all' ? 'all' : 'one',
        pattern: target.text,
        at: at(t),
      };
    }
    if (KEYWORDS.has(t.text)) fail(t, 'expected a search identifier');
    if (/^(AND|OR|NOT)$/.test(t.text)) {
      throw new RuleError(
        'condition-syntax',
        `condition keywords are lowercase: write '${t.text.toLowerCase()}' instead of '${t.text}'`,
        at(t),
      );
    }
    if (t.text.includes('*')) {
      throw new RuleError(
        'condition-syntax',
        `a pattern such as '${t.text}' needs a quantifier: '1 of ${t.text}' or 'all of ${t.text}'`,
        at(t),
      );
    }
    return { kind: 'ref', name: t.text, at: at(t) };
  }

  const result = parseOr();
  const rest = peek();
  if (rest.kind === 'pipe') {
    throw new RuleError(
      'condition-aggregation',
      'pipe aggregations in conditions (Sigma v1 "| count() by ...") are not supported; write a correlation rule instead',
      at(rest),
    );
  }
  if (rest.kind !== 'end') fail(rest, "expected 'and', 'or' or the end of the condition");
  return result;
}

/** Identifiers a `1 of`/`all of` pattern covers: `them` skips `_`-prefixed names unless the pattern starts with `_`. */
export function expandPattern(pattern: string, names: readonly string[]): string[] {
  if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
  if (!pattern.includes('*')) return names.filter((n) => n === pattern);
  const re = new RegExp('^' + pattern.split('*').map(escapeRe).join('.*') + '$');
  const hidden = !pattern.startsWith('_');
  return names.filter((n) => re.test(n) && !(hidden && n.startsWith('_')));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
