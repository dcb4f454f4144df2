/**
 * A parser of the EQL that rulec emits: one event query `<category> where <condition>`, or a sequence
 * of them (`sequence [by keys] [with maxspan=<time>] [query] [by keys] ...`), with `and`,
 * `or`, `not`, parentheses, comparisons (`== != < <= > >= :`), `like` / `regex` (with `~`), `in` /
 * `in~` and `not in`, list lookups, `?field` optional fields, and the functions startsWith,
 * endsWith, stringContains (with `~`) and cidrMatch. Written from Elastic's EQL syntax reference,
 * not from any grammar file. `--validate` and the tests run every emitted query through it; the
 * checks go beyond syntax: regular expressions must be valid Lucene, CIDR blocks valid, `:` / like /
 * regex only on strings, and field names known to the platform (ECS or declared).
 */
import type { Diagnostic } from '../../diag/diagnostic.js';
import { error } from '../../diag/diagnostic.js';
import { parseIp } from '../../runtime/ip.js';
import { LuceneSyntaxError, parseLucene } from './lucene.js';

export type Literal = { k: 'str'; v: string } | { k: 'num'; v: number } | { k: 'null' } | { k: 'bool'; v: boolean };
export type Operand = Literal | { k: 'field'; name: string; optional: boolean; at: number } | Call;
export interface Call {
  k: 'call';
  name: string;
  insensitive: boolean;
  args: Operand[];
  at: number;
}

export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | ':' | 'like' | 'like~' | 'regex' | 'regex~' | 'in' | 'in~' | 'not in' | 'not in~';

export type Cond =
  | { k: 'and' | 'or'; items: Cond[] }
  | { k: 'not'; e: Cond }
  | { k: 'const'; v: boolean }
  | { k: 'cmp'; op: CmpOp; left: Operand; right: Literal[]; at: number }
  | { k: 'call'; call: Call };

export interface EqlQuery {
  category: string;
  where: Cond;
}

/** A join key: a field, `?` when it may be missing from the index mapping. */
export type JoinKey = Extract<Operand, { k: 'field' }>;

/**
 * `sequence [by K...] [with maxspan=D] [Q1] [by K...] [Q2] ...`: stage i joins on the shared keys
 * then its own, compared by position; `maxspanMs` bounds the time from the first event to the last.
 */
export interface EqlSequence {
  by: JoinKey[];
  maxspanMs?: number;
  stages: { query: EqlQuery; by: JoinKey[]; at: number }[];
  at: number;
}

/** Elasticsearch time units (the `maxspan` value), in milliseconds. */
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export class EqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Lexer

type Tok =
  | { t: 'ident'; v: string; at: number }
  | { t: 'qident'; v: string; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'num'; v: number; at: number }
  | { t: 'time'; v: number; unit: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'eof'; at: number };

const OPS = ['==', '!=', '<=', '>=', '<', '>', ':', '(', ')', ',', '.', '?', '~', '-', '=', '[', ']'];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (msg: string, at = i): never => {
    throw new EqlSyntaxError(msg, at);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment');
      i = end + 2;
      continue;
    }
    const at = i;
    if (/[A-Za-z_@]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      out.push({ t: 'ident', v: src.slice(i, j), at });
      i = j;
      continue;
    }
    if (c === '`') {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated `quoted` field name', at);
        if (src[i] === '`') {
          if (src[i + 1] === '`') {
            v += '`';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += src[i++];
      }
      if (v === '') fail('empty quoted field name', at);
      out.push({ t: 'qident', v, at });
      continue;
    }
    if (c === '"') {
      if (src.startsWith('"""', i)) {
        const end = src.indexOf('"""', i + 3);
        if (end < 0) fail('unterminated raw string', at);
        const v = src.slice(i + 3, end);
        if (/[\r\n]/.test(v)) fail('a raw string cannot span lines', at);
        out.push({ t: 'str', v, at });
        i = end + 3;
        continue;
      }
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated string', at);
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\n' || d === '\r') fail('a string cannot contain a raw line break; write \\n or \\r', i);
        if (d !== '\\') {
          v += d;
          i++;
          continue;
        }
        const e = src[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          v += simple[e];
          i += 2;
          continue;
        }
        if (e === 'u') {
          const m = /^\\u\{([0-9A-Fa-f]{2,8})\}/.exec(src.slice(i));
          if (!m) fail('\\u must be followed by {2 to 8 hex digits}', i);
          const cp = parseInt(m![1]!, 16);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(`\\u{${m![1]}} is not a Unicode scalar value`, i);
          v += String.fromCodePoint(cp);
          i += m![0].length;
          continue;
        }
        fail(`'\\${e ?? ''}' is not an EQL string escape (valid: \\" \\\\ \\n \\r \\t \\u{H})`, i);
      }
      out.push({ t: 'str', v, at });
      continue;
    }
    const prev = out[out.length - 1];
    const prev2 = out[out.length - 2];
    // A time value (`5m`) is a token only where one is expected: after `maxspan=`.
    if (/[0-9]/.test(c) && prev?.t === 'op' && prev.v === '=' && prev2?.t === 'ident' && prev2.v === 'maxspan') {
      const m = /^([0-9]+)([A-Za-z]+)/.exec(src.slice(i));
      if (!m || TIME_UNITS[m[2]!] === undefined) fail(`expected a time value such as 30s or 15m after maxspan= (units: ${Object.keys(TIME_UNITS).join(', ')})`, at);
      out.push({ t: 'time', v: Number(m![1]), unit: m![2]!, at });
      i += m![0].length;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?/.exec(src.slice(i))!;
      if (/[A-Za-z_]/.test(src[i + m[0].length] ?? '')) fail(`malformed number '${src.slice(i, i + m[0].length + 1)}'`, at);
      out.push({ t: 'num', v: Number(m[0]), at });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) fail(`unexpected character '${c}'`);
    out.push({ t: 'op', v: op!, at });
    i += op!.length;
  }
  out.push({ t: 'eof', at: src.length });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser

const RESERVED = new Set(['and', 'or', 'not', 'in', 'like', 'regex', 'where', 'true', 'false', 'null', 'any', 'sequence', 'by', 'with', 'until', 'join', 'of', 'sample', 'maxspan', 'runs', 'fork']);

export const FUNCTIONS: Record<string, { min: number; max: number; insensitive: boolean }> = {
  startsWith: { min: 2, max: 2, insensitive: true },
  endsWith: { min: 2, max: 2, insensitive: true },
  stringContains: { min: 2, max: 2, insensitive: true },
  cidrMatch: { min: 2, max: Infinity, insensitive: false },
};

/** An event query; a sequence is a syntax error here (parseEqlStatement reads both). */
export function parseEql(src: string): EqlQuery {
  const q = parseEqlStatement(src);
  if ('stages' in q) throw new EqlSyntaxError('expected an event query, not a sequence', q.at);
  return q;
}

export function parseEqlStatement(src: string): EqlQuery | EqlSequence {
  const toks = lex(src);
  let p = 0;
  const peek = (o = 0): Tok => toks[Math.min(p + o, toks.length - 1)]!;
  const fail = (msg: string, tok: Tok = peek()): never => {
    throw new EqlSyntaxError(msg, tok.at);
  };
  const isOp = (v: string, o = 0): boolean => {
    const t = peek(o);
    return t.t === 'op' && t.v === v;
  };
  const isWord = (v: string, o = 0): boolean => {
    const t = peek(o);
    return t.t === 'ident' && t.v === v;
  };
  const expectOp = (v: string): void => {
    if (!isOp(v)) fail(`expected '${v}'`);
    p++;
  };

  function category(): string {
    const t = peek();
    if (t.t === 'ident' && !RESERVED.has(t.v)) {
      p++;
      return t.v;
    }
    if (t.t === 'ident' && t.v === 'any') {
      p++;
      return 'any';
    }
    if (t.t === 'str') {
      p++;
      return t.v;
    }
    return fail('expected an event category (a name, a quoted string or any)');
  }

  function orExpr(): Cond {
    const items = [andExpr()];
    while (isWord('or')) {
      p++;
      items.push(andExpr());
    }
    return items.length === 1 ? items[0]! : { k: 'or', items };
  }

  function andExpr(): Cond {
    const items = [notExpr()];
    while (isWord('and')) {
      p++;
      items.push(notExpr());
    }
    return items.length === 1 ? items[0]! : { k: 'and', items };
  }

  function notExpr(): Cond {
    if (isWord('not')) {
      p++;
      return { k: 'not', e: notExpr() };
    }
    return predicate();
  }

  function predicate(): Cond {
    if (isOp('(')) {
      p++;
      const e = orExpr();
      expectOp(')');
      return e;
    }
    const start = peek();
    const left = operand();
    const op = comparisonOp();
    if (!op) {
      if (left.k === 'bool') return { k: 'const', v: left.v };
      if (left.k === 'call') return { k: 'call', call: left };
      return fail('expected a comparison operator after this operand', start);
    }
    let right: Literal[];
    if (op === 'in' || op === 'in~' || op === 'not in' || op === 'not in~') right = literalList(true);
    else if (op === ':' || op === 'like' || op === 'like~' || op === 'regex' || op === 'regex~') right = isOp('(') ? literalList(true) : [literal()];
    else right = [literal()];
    return { k: 'cmp', op, left, right, at: start.at };
  }

  function comparisonOp(): CmpOp | undefined {
    const t = peek();
    if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>=', ':'].includes(t.v)) {
      p++;
      return t.v as CmpOp;
    }
    const tilde = (base: 'like' | 'regex' | 'in'): CmpOp => {
      p++;
      if (isOp('~')) {
        p++;
        return `${base}~` as CmpOp;
      }
      return base;
    };
    if (isWord('like')) return tilde('like');
    if (isWord('regex')) return tilde('regex');
    if (isWord('in')) return tilde('in');
    if (isWord('not') && isWord('in', 1)) {
      p++;
      const op = tilde('in');
      return op === 'in' ? 'not in' : 'not in~';
    }
    return undefined;
  }

  function literalList(required: boolean): Literal[] {
    if (!isOp('(')) {
      if (required) fail("expected '(' and a list of values");
    }
    p++;
    const out = [literal()];
    while (isOp(',')) {
      p++;
      out.push(literal());
    }
    expectOp(')');
    return out;
  }

  function literal(): Literal {
    const t = peek();
    if (t.t === 'str') {
      p++;
      return { k: 'str', v: t.v };
    }
    if (t.t === 'num') {
      p++;
      return { k: 'num', v: t.v };
    }
    if (t.t === 'op' && t.v === '-' && peek(1).t === 'num') {
      p += 2;
      return { k: 'num', v: -(peek(-1) as { v: number }).v };
    }
    if (t.t === 'ident' && (t.v === 'true' || t.v === 'false')) {
      p++;
      return { k: 'bool', v: t.v === 'true' };
    }
    if (t.t === 'ident' && t.v === 'null') {
      p++;
      return { k: 'null' };
    }
    return fail('expected a literal (a string, a number, true, false or null)');
  }

  function operand(): Operand {
    const t = peek();
    if (t.t === 'str' || t.t === 'num' || (t.t === 'op' && t.v === '-') || (t.t === 'ident' && ['true', 'false', 'null'].includes(t.v))) return literal();
    if (t.t === 'ident' && (isOp('(', 1) || (isOp('~', 1) && isOp('(', 2)))) return call();
    return field();
  }

  function call(): Call {
    const t = peek() as { v: string; at: number };
    p++;
    let insensitive = false;
    if (isOp('~')) {
      insensitive = true;
      p++;
    }
    expectOp('(');
    const args: Operand[] = [];
    if (!isOp(')')) {
      args.push(operand());
      while (isOp(',')) {
        p++;
        args.push(operand());
      }
    }
    expectOp(')');
    return { k: 'call', name: t.v, insensitive, args, at: t.at };
  }

  function field(): Operand {
    const start = peek();
    let optional = false;
    if (isOp('?')) {
      optional = true;
      p++;
    }
    const segs: string[] = [];
    for (;;) {
      const t = peek();
      if (t.t === 'qident') segs.push(t.v);
      else if (t.t === 'ident' && !RESERVED.has(t.v)) segs.push(t.v);
      else if (t.t === 'ident') fail(`'${t.v}' is an EQL keyword; quote a field of that name with backticks`);
      else fail('expected a field name');
      p++;
      if (!isOp('.')) break;
      p++;
    }
    return { k: 'field', name: segs.join('.'), optional, at: start.at };
  }

  function eventQuery(): EqlQuery {
    const cat = category();
    if (!isWord('where')) fail("expected 'where' after the event category");
    p++;
    return { category: cat, where: orExpr() };
  }

  function joinKeys(): JoinKey[] {
    const keys: JoinKey[] = [];
    if (!isWord('by')) return keys;
    p++;
    for (;;) {
      keys.push(field() as JoinKey);
      if (!isOp(',')) return keys;
      p++;
    }
  }

  function sequence(): EqlSequence {
    const at = peek().at;
    p++;
    const by = joinKeys();
    let maxspanMs: number | undefined;
    if (isWord('with')) {
      p++;
      if (!isWord('maxspan')) fail("expected 'maxspan' after 'with'");
      p++;
      expectOp('=');
      const t = peek();
      if (t.t !== 'time') return fail('expected a time value such as 30s or 15m after maxspan=');
      p++;
      if (t.v <= 0) fail('maxspan must be greater than 0', t);
      maxspanMs = t.v * TIME_UNITS[t.unit]!;
    }
    const stages: EqlSequence['stages'] = [];
    while (isOp('[')) {
      const s = peek().at;
      p++;
      const query = eventQuery();
      expectOp(']');
      stages.push({ query, by: joinKeys(), at: s });
    }
    if (stages.length < 2) fail('a sequence needs at least two [queries]');
    if (isWord('until') || isWord('with')) fail(`'${(peek() as { v: string }).v}' after the queries of a sequence is not emitted by rulec`);
    return { by, ...(maxspanMs !== undefined ? { maxspanMs } : {}), stages, at };
  }

  const out = isWord('sequence') ? sequence() : eventQuery();
  if (peek().t !== 'eof') fail('stages' in out ? 'unexpected text after the sequence' : 'unexpected text after the condition');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks beyond syntax

export interface CheckOptions {
  /** Field names the platform knows (ECS or declared); unknown ones are reported. */
  knows?: (field: string) => boolean;
}

/** Parse and check one emitted query; the diagnostics carry 1-based columns into the query text. */
export function checkEql(src: string, opts: CheckOptions = {}): { query?: EqlQuery; sequence?: EqlSequence; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  // A sequence spans lines: positions are counted from the last line break before the offset.
  const at = (offset: number) => {
    const before = src.slice(0, offset);
    const nl = before.lastIndexOf('\n');
    return { line: before.split('\n').length, column: offset - nl };
  };
  let parsed: EqlQuery | EqlSequence;
  try {
    parsed = parseEqlStatement(src);
  } catch (e) {
    if (e instanceof EqlSyntaxError) {
      const where = at(e.offset);
      return { diagnostics: [error('eql-syntax', `EQL syntax: ${e.message} (${where.line > 1 ? `line ${where.line}, ` : ''}column ${where.column})`, where)] };
    }
    throw e;
  }
  const fieldOk = (o: Operand): void => {
    if (o.k === 'field' && opts.knows && !opts.knows(o.name)) {
      diags.push(error('eql-unknown-field', `'${o.name}' is not an ECS field nor one the platform declares`, at(o.at)));
    }
  };
  const str = (l: Literal, what: string, where: number): string | undefined => {
    if (l.k === 'str') return l.v;
    diags.push(error('eql-type', `${what} takes a string, not ${l.k === 'num' ? 'a number' : l.k}`, at(where)));
    return undefined;
  };
  const checkCall = (c: Call): void => {
    const spec = FUNCTIONS[c.name];
    if (!spec) {
      diags.push(error('eql-function', `unknown function '${c.name}' (rulec emits ${Object.keys(FUNCTIONS).join(', ')})`, at(c.at)));
      return;
    }
    if (c.insensitive && !spec.insensitive) diags.push(error('eql-function', `'${c.name}' has no case-insensitive form`, at(c.at)));
    if (c.args.length < spec.min || c.args.length > spec.max) diags.push(error('eql-function', `'${c.name}' takes ${spec.min}${spec.max === spec.min ? '' : '+'} arguments, got ${c.args.length}`, at(c.at)));
    const [first, ...rest] = c.args;
    if (first?.k !== 'field') diags.push(error('eql-function', `the first argument of '${c.name}' must be a field`, at(c.at)));
    else fieldOk(first);
    for (const a of rest) {
      if (a.k !== 'str') {
        diags.push(error('eql-function', `'${c.name}' compares with string literals only (EQL cannot compare fields)`, at(c.at)));
        continue;
      }
      if (c.name === 'cidrMatch' && !validCidr(a.v)) diags.push(error('eql-cidr', `'${a.v}' is not a CIDR block such as 10.0.0.0/8`, at(c.at)));
    }
  };
  const walk = (c: Cond): void => {
    switch (c.k) {
      case 'and':
      case 'or':
        c.items.forEach(walk);
        return;
      case 'not':
        walk(c.e);
        return;
      case 'const':
        return;
      case 'call':
        checkCall(c.call);
        return;
      case 'cmp': {
        if (c.left.k === 'call') checkCall(c.left);
        else if (c.left.k !== 'field') diags.push(error('eql-compare', 'the left side of a comparison must be a field', at(c.at)));
        else fieldOk(c.left);
        if (c.op === ':' || c.op === 'like' || c.op === 'like~') {
          for (const r of c.right) {
            // Elasticsearch turns the pattern into a LIKE pattern whose escape character is U+0001.
            if (str(r, `'${c.op}'`, c.at)?.includes('\u0001')) diags.push(error('eql-pattern', `U+0001 in the pattern of '${c.op}': Elasticsearch reads it as the escape character of the LIKE pattern it makes of it; use in~, startsWith~ / endsWith~ / stringContains~ or a regex`, at(c.at)));
          }
        }
        if (c.op === 'regex' || c.op === 'regex~') {
          for (const r of c.right) {
            const s = str(r, `'${c.op}'`, c.at);
            if (s === undefined) continue;
            try {
              parseLucene(s);
            } catch (e) {
              if (!(e instanceof LuceneSyntaxError)) throw e;
              diags.push(error('eql-regex', `invalid Lucene regular expression "${s}": ${e.message}`, at(c.at)));
            }
          }
        }
        if (['<', '<=', '>', '>='].includes(c.op) && c.right.some((r) => r.k !== 'num')) {
          diags.push(error('eql-type', `'${c.op}' compares with a number here`, at(c.at)));
        }
        if ((c.op === '==' || c.op === '!=') && c.right[0]?.k === 'null' && c.left.k === 'field' && !c.left.optional) {
          diags.push(error('eql-null', `write ?${c.left.name} ${c.op} null so that a field missing from the index mapping reads as null`, at(c.at)));
        }
        return;
      }
    }
  };
  if (!('stages' in parsed)) {
    walk(parsed.where);
    return { query: parsed, diagnostics: diags };
  }
  parsed.by.forEach(fieldOk);
  const keys = parsed.stages[0]!.by.length;
  for (const s of parsed.stages) {
    walk(s.query.where);
    s.by.forEach(fieldOk);
    // Keys are compared by position: every stage must have as many.
    if (s.by.length !== keys) diags.push(error('eql-sequence', `every query of a sequence joins on as many 'by' fields (${keys} in the first, ${s.by.length} here)`, at(s.at)));
  }
  return { sequence: parsed, diagnostics: diags };
}

function validCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const a = parseIp(m[1]!);
  return a !== undefined && Number(m[2]) <= a.length * 8;
}
