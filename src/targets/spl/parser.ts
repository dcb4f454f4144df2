/**
 * A parser for the SPL subset rulec emits: `search` terms (field=value, IN, AND, OR, NOT,
 * parentheses, with the search command's own precedence: NOT, then OR, then AND), `| datamodel`,
 * `| search`, `| eval` and `| where` with the eval operators and functions of ast.ts. It is strict:
 * anything else (another command, an unknown function, a backslash escape whose meaning is not
 * documented) is an error with its line and column. parsePipeline reads a correlation query: its
 * sources (one search, or `| multisearch [search ...] ...`), each a rule's query and the `| eval`
 * that tags its events, then `eval`, `where`, `stats`, `eventstats`, `streamstats`, `sort 0 num(f)`,
 * `rename`, `table` and `appendpipe` with the arguments correlation.ts writes. `--validate` and the tests run every emitted
 * query through it; the test interpreter runs the parsed structure.
 */
import type { Aggregate, ArithOp, CmpOp, Command, EvalExpr, EvalStage, Pipeline, Query, SearchExpr, SearchValue, Source } from './ast.js';
import { EVAL_FUNCTIONS } from './ast.js';

export class SplSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${message}`);
    this.name = 'SplSyntaxError';
  }
}

type Tok =
  | { t: 'word'; v: string; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'qfield'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'num'; v: string; at: number }
  | { t: 'end'; at: number };

class Lexer {
  constructor(private readonly src: string) {}

  pos(at: number): { line: number; column: number } {
    const before = this.src.slice(0, at);
    const line = before.split('\n').length;
    return { line, column: at - before.lastIndexOf('\n') };
  }

  fail(at: number, msg: string): never {
    const p = this.pos(at);
    throw new SplSyntaxError(msg, p.line, p.column);
  }

  /** A double-quoted string at `at`; only `\\` and `\"` are escapes. */
  quoted(at: number, quote: '"' | "'"): { v: string; end: number } {
    let v = '';
    let i = at + 1;
    for (;;) {
      const c = this.src[i];
      if (c === undefined) this.fail(at, `unterminated ${quote === '"' ? 'string' : 'field name'}`);
      if (c === quote) return { v, end: i + 1 };
      if (c === '\\' && quote === '"') {
        const d = this.src[i + 1];
        if (d !== '\\' && d !== '"') this.fail(i, `the escape \\${d ?? ''} has no documented meaning; write \\\\ for a backslash`);
        v += d;
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
  }

  /** Search-command tokens from `at` to the next top-level pipe. */
  searchTokens(at: number): { toks: Tok[]; end: number } {
    const toks: Tok[] = [];
    let i = at;
    while (i < this.src.length) {
      const c = this.src[i]!;
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      if (c === '|') break;
      if (c === '"') {
        const q = this.quoted(i, '"');
        toks.push({ t: 'str', v: q.v, at: i });
        i = q.end;
        continue;
      }
      if ('()=,'.includes(c)) {
        toks.push({ t: 'op', v: c, at: i });
        i++;
        continue;
      }
      const m = /^[^\s()=,"|]+/.exec(this.src.slice(i))!;
      toks.push({ t: 'word', v: m[0], at: i });
      i += m[0].length;
    }
    toks.push({ t: 'end', at: i });
    return { toks, end: i };
  }

  /** Eval-expression tokens from `at` to the next top-level pipe. */
  evalTokens(at: number): { toks: Tok[]; end: number } {
    const toks: Tok[] = [];
    let i = at;
    while (i < this.src.length) {
      const c = this.src[i]!;
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      if (c === '|') break;
      if (c === '"') {
        const q = this.quoted(i, '"');
        toks.push({ t: 'str', v: q.v, at: i });
        i = q.end;
        continue;
      }
      if (c === "'") {
        const q = this.quoted(i, "'");
        toks.push({ t: 'qfield', v: q.v, at: i });
        i = q.end;
        continue;
      }
      const two = this.src.slice(i, i + 2);
      if (['==', '!=', '<=', '>='].includes(two)) {
        toks.push({ t: 'op', v: two, at: i });
        i += 2;
        continue;
      }
      if ('()<>,+-*/.='.includes(c)) {
        toks.push({ t: 'op', v: c, at: i });
        i++;
        continue;
      }
      const num = /^\d+(?:\.\d+)?/.exec(this.src.slice(i));
      if (num) {
        toks.push({ t: 'num', v: num[0], at: i });
        i += num[0].length;
        continue;
      }
      const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(i));
      if (!w) this.fail(i, `unexpected character '${c}'`);
      toks.push({ t: 'word', v: w[0], at: i });
      i += w[0].length;
    }
    toks.push({ t: 'end', at: i });
    return { toks, end: i };
  }
}

class TokStream {
  i = 0;
  constructor(
    readonly toks: Tok[],
    readonly lx: Lexer,
  ) {}

  peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }

  next(): Tok {
    return this.toks[this.i++]!;
  }

  isOp(v: string, k = 0): boolean {
    const t = this.peek(k);
    return t.t === 'op' && t.v === v;
  }

  isWord(v: string, k = 0): boolean {
    const t = this.peek(k);
    return t.t === 'word' && t.v === v;
  }

  expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) this.lx.fail(t.at, `expected '${v}'`);
  }
}

// ---- search ---------------------------------------------------------------------------------

const SEARCH_WORDS = new Set(['AND', 'OR', 'NOT', 'IN']);

function searchValue(s: TokStream): SearchValue {
  const t = s.next();
  if (t.t === 'str') return { kind: 'string', text: t.v };
  if (t.t === 'word' && t.v === '*') return { kind: 'any' };
  if (t.t === 'word' && /^\d+$/.test(t.v)) return { kind: 'number', text: t.v };
  return s.lx.fail(t.at, 'expected a quoted value, a number or *');
}

function searchAtom(s: TokStream): SearchExpr {
  const t = s.peek();
  if (t.t === 'op' && t.v === '(') {
    s.next();
    if (s.isOp(')')) s.lx.fail(t.at, 'an empty group ()');
    const e = searchAnd(s);
    s.expectOp(')');
    return e;
  }
  if (t.t === 'word' && t.v === '*') {
    s.next();
    return { k: 'and', items: [] };
  }
  if (t.t !== 'word' || SEARCH_WORDS.has(t.v)) return s.lx.fail(t.at, 'expected a search term');
  s.next();
  if (s.isOp('=')) {
    s.next();
    return { k: 'eq', field: t.v, value: searchValue(s) };
  }
  if (s.isWord('IN')) {
    s.next();
    s.expectOp('(');
    const values = [searchValue(s)];
    while (s.isOp(',')) {
      s.next();
      values.push(searchValue(s));
    }
    s.expectOp(')');
    return { k: 'in', field: t.v, values };
  }
  // A bare word is a token search of _raw: rulec never emits one (keywords are regexes, S7).
  return s.lx.fail(t.at, `'${t.v}' is a bare search term; expected field=value or field IN (...)`);
}

/**
 * The boolean levels both sub-languages share: `NOT x` binds tightest, then a chain of one keyword.
 * (The search language ranks OR above its implicit AND; eval ranks AND above OR.)
 */
function notLevel<T>(s: TokStream, operand: (s: TokStream) => T, not: (item: T) => T): T {
  if (!s.isWord('NOT')) return operand(s);
  s.next();
  return not(notLevel(s, operand, not));
}

function chainLevel<T>(s: TokStream, word: 'AND' | 'OR', operand: (s: TokStream) => T, join: (items: T[]) => T): T {
  const items = [operand(s)];
  while (s.isWord(word)) {
    s.next();
    items.push(operand(s));
  }
  return items.length === 1 ? items[0]! : join(items);
}

const searchNot = (s: TokStream): SearchExpr => notLevel<SearchExpr>(s, searchAtom, (item) => ({ k: 'not', item }));
const searchOr = (s: TokStream): SearchExpr => chainLevel<SearchExpr>(s, 'OR', searchNot, (items) => ({ k: 'or', items }));

function searchAnd(s: TokStream): SearchExpr {
  const items: SearchExpr[] = [];
  for (;;) {
    const t = s.peek();
    if (t.t === 'end' || (t.t === 'op' && t.v === ')')) break;
    if (items.length && t.t === 'word' && t.v === 'AND') s.next();
    items.push(searchOr(s));
  }
  return items.length === 1 ? items[0]! : { k: 'and', items };
}

// ---- eval -----------------------------------------------------------------------------------

function evalPrimary(s: TokStream): EvalExpr {
  const t = s.next();
  switch (t.t) {
    case 'num':
      return { k: 'num', value: Number(t.v) };
    case 'str':
      return { k: 'str', value: t.v };
    case 'qfield':
      return { k: 'field', name: t.v };
    case 'op':
      if (t.v === '(') {
        const e = evalOr(s);
        s.expectOp(')');
        return e;
      }
      if (t.v === '-') {
        const inner = evalPrimary(s);
        if (inner.k === 'num') return { k: 'num', value: -inner.value };
        return { k: 'arith', op: '-', left: { k: 'num', value: 0 }, right: inner };
      }
      return s.lx.fail(t.at, `unexpected '${t.v}'`);
    case 'word': {
      if (s.isOp('(')) {
        s.next();
        const arity = EVAL_FUNCTIONS[t.v];
        if (!arity) return s.lx.fail(t.at, `unknown eval function '${t.v}'`);
        const args: EvalExpr[] = [];
        if (!s.isOp(')')) {
          args.push(evalOr(s));
          while (s.isOp(',')) {
            s.next();
            args.push(evalOr(s));
          }
        }
        s.expectOp(')');
        if (args.length < arity[0] || args.length > arity[1]) s.lx.fail(t.at, `${t.v}() takes ${arity[0]}..${arity[1]} arguments, got ${args.length}`);
        return { k: 'call', fn: t.v, args };
      }
      if (['AND', 'OR', 'NOT', 'XOR', 'LIKE', 'IN'].includes(t.v.toUpperCase())) return s.lx.fail(t.at, `unexpected '${t.v}'`);
      return { k: 'field', name: t.v };
    }
    default:
      return s.lx.fail(t.at, 'unexpected end of expression');
  }
}

function evalMul(s: TokStream): EvalExpr {
  let e = evalPrimary(s);
  while (s.isOp('*') || s.isOp('/')) {
    const op = (s.next() as { v: string }).v as ArithOp;
    e = { k: 'arith', op, left: e, right: evalPrimary(s) };
  }
  return e;
}

function evalAdd(s: TokStream): EvalExpr {
  let e = evalMul(s);
  while (s.isOp('+') || s.isOp('-')) {
    const op = (s.next() as { v: string }).v as ArithOp;
    e = { k: 'arith', op, left: e, right: evalMul(s) };
  }
  return e;
}

function evalConcat(s: TokStream): EvalExpr {
  const items = [evalAdd(s)];
  while (s.isOp('.')) {
    s.next();
    items.push(evalAdd(s));
  }
  return items.length === 1 ? items[0]! : { k: 'concat', items };
}

function evalCmp(s: TokStream): EvalExpr {
  const left = evalConcat(s);
  const t = s.peek();
  if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
    s.next();
    return { k: 'cmp', op: t.v as CmpOp, left, right: evalConcat(s) };
  }
  if (t.t === 'op' && t.v === '=') return s.lx.fail(t.at, "write '==' for a comparison");
  return left;
}

const evalNot = (s: TokStream): EvalExpr => notLevel<EvalExpr>(s, evalCmp, (item) => ({ k: 'not', item }));
const evalAnd = (s: TokStream): EvalExpr => chainLevel<EvalExpr>(s, 'AND', evalNot, (items) => ({ k: 'and', items }));
const evalOr = (s: TokStream): EvalExpr => chainLevel<EvalExpr>(s, 'OR', evalAnd, (items) => ({ k: 'or', items }));

/** A whole search: its top level is an AND (possibly of one term), as the printer builds it. */
function topSearch(s: TokStream): SearchExpr {
  const e = searchAnd(s);
  return e.k === 'and' ? e : { k: 'and', items: [e] };
}

function expectEnd(s: TokStream, what: string): void {
  const t = s.peek();
  if (t.t !== 'end') s.lx.fail(t.at, `unexpected text after the ${what}`);
}

// ---- query ----------------------------------------------------------------------------------

/** Parse a query rulec emitted; throws SplSyntaxError with a position. */
export function parseQuery(src: string): Query {
  const lx = new Lexer(src);
  let i = 0;
  const skipWs = (): void => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const word = (): { v: string; at: number } => {
    skipWs();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) return lx.fail(i, 'expected a name');
    const at = i;
    i += m[0].length;
    return { v: m[0], at };
  };
  const q: Query = { search: { k: 'and', items: [] } };
  skipWs();
  let searchDone = false;
  let droppedHelpers = false;
  if (src[i] === '|') {
    i++;
    const cmd = word();
    if (cmd.v !== 'datamodel') lx.fail(cmd.at, `a query starts with a search or '| datamodel', not '| ${cmd.v}'`);
    const model = word();
    const dataset = word();
    const mode = word();
    if (mode.v !== 'search') lx.fail(mode.at, "rulec searches a data model with the 'search' mode");
    q.datamodel = { model: model.v, dataset: dataset.v };
  } else {
    const { toks, end } = lx.searchTokens(i);
    const s = new TokStream(toks, lx);
    q.search = topSearch(s);
    expectEnd(s, 'search');
    i = end;
    searchDone = true;
  }
  for (;;) {
    skipWs();
    if (i >= src.length) break;
    if (src[i] !== '|') lx.fail(i, "expected '|'");
    i++;
    const cmd = word();
    if (cmd.v === 'search') {
      if (searchDone || !q.datamodel) lx.fail(cmd.at, "'| search' only follows '| datamodel'");
      const { toks, end } = lx.searchTokens(i);
      const s = new TokStream(toks, lx);
      q.search = topSearch(s);
      expectEnd(s, 'search');
      i = end;
      searchDone = true;
    } else if (cmd.v === 'eval') {
      if (q.evals || q.where) lx.fail(cmd.at, "rulec writes one '| eval', before '| where'");
      const { toks, end } = lx.evalTokens(i);
      const s = new TokStream(toks, lx);
      const evals: EvalStage[] = [];
      do {
        if (evals.length) s.next();
        const name = s.next();
        if (name.t !== 'word' && name.t !== 'qfield') return lx.fail(name.at, 'expected a field name');
        s.expectOp('=');
        evals.push({ name: name.v, expr: evalOr(s) });
      } while (s.isOp(','));
      expectEnd(s, 'eval expression');
      q.evals = evals;
      i = end;
    } else if (cmd.v === 'fields') {
      skipWs();
      const m = /^- rulec_\*(?=\s*(?:\||$))/.exec(src.slice(i));
      if (!m || !q.evals) return lx.fail(cmd.at, "rulec writes '| fields - rulec_*' only to drop its own eval helpers");
      i += m[0].length;
      droppedHelpers = true;
    } else if (cmd.v === 'where') {
      if (q.where || droppedHelpers) lx.fail(cmd.at, 'rulec writes one where stage, before the helper fields are dropped');
      const { toks, end } = lx.evalTokens(i);
      const s = new TokStream(toks, lx);
      q.where = evalOr(s);
      expectEnd(s, 'where expression');
      i = end;
    } else {
      lx.fail(cmd.at, `'${cmd.v}' is not a command rulec emits (datamodel, search, eval, where, fields)`);
    }
    searchDone = true;
  }
  if (q.evals && !droppedHelpers) lx.fail(src.length, "the eval helper fields must be dropped with '| fields - rulec_*'");
  return q;
}

// ---- correlation pipelines ------------------------------------------------------------------

/**
 * The text with everything outside [start, end) blanked (newlines kept), so that a part parsed on its
 * own reports positions in the whole query.
 */
function only(src: string, start: number, end: number): string {
  const blank = (t: string): string => t.replace(/[^\n]/g, ' ');
  return blank(src.slice(0, start)) + src.slice(start, end) + blank(src.slice(end));
}

/** Skip a quoted string or field name starting at `i`; returns the index after it. */
function skipQuoted(lx: Lexer, src: string, i: number): number {
  const c = src[i];
  return c === '"' || c === "'" ? lx.quoted(i, c).end : i + 1;
}

/** The positions of the command pipes of src[start, end): top level, outside quotes and brackets. */
function pipes(lx: Lexer, src: string, start: number, end: number): number[] {
  const out: number[] = [];
  let depth = 0;
  for (let i = start; i < end; ) {
    const c = src[i]!;
    if (c === '"' || c === "'") {
      i = skipQuoted(lx, src, i);
      continue;
    }
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '|' && depth === 0) out.push(i);
    i++;
  }
  return out;
}

/** The index of the `]` closing the `[` at `open`. */
function closing(lx: Lexer, src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; ) {
    const c = src[i]!;
    if (c === '"' || c === "'") {
      i = skipQuoted(lx, src, i);
      continue;
    }
    if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
    i++;
  }
  return lx.fail(open, "unterminated '['");
}

const TAG = /^\|\s*eval\s+rulec_rule\s*=/;

/** A source: a rule's query, then its tagging `| eval rulec_rule=...` (the first such command). */
function parseSource(lx: Lexer, src: string, start: number, end: number): Source {
  const tagAt = pipes(lx, src, start, end).find((p) => TAG.test(src.slice(p, end)));
  if (tagAt === undefined) return lx.fail(start, "a correlation source ends with '| eval rulec_rule=...'");
  const query = parseQuery(only(src, start, tagAt));
  // Tokens of the tag alone: a subsearch's ends at its ']'.
  const tl = new Lexer(only(src, start, end));
  const { toks, end: e } = tl.evalTokens(src.indexOf('eval', tagAt) + 4);
  if (src.slice(e, end).trim() !== '') lx.fail(e, "unexpected '|' after the source's eval");
  return { query, tag: assignments(new TokStream(toks, tl)) };
}

function assignments(s: TokStream): EvalStage[] {
  const evals: EvalStage[] = [];
  do {
    if (evals.length) s.next();
    const name = s.next();
    if (name.t !== 'word' && name.t !== 'qfield') return s.lx.fail(name.at, 'expected a field name');
    s.expectOp('=');
    evals.push({ name: name.v, expr: evalOr(s) });
  } while (s.isOp(','));
  expectEnd(s, 'eval expression');
  return evals;
}

const AGG_FNS = new Set(['count', 'dc', 'sum', 'max', 'min']);

function fieldName(s: TokStream): string {
  const t = s.next();
  if (t.t !== 'word') return s.lx.fail(t.at, 'expected a field name');
  return t.v;
}

/** `fn(field) AS name` ... `[BY f ...]`, after the command's options. */
function statsArgs(s: TokStream): { aggs: Aggregate[]; by: string[] } {
  const aggs: Aggregate[] = [];
  while (s.peek().t === 'word' && !s.isWord('BY')) {
    const fn = s.next() as { v: string; at: number };
    if (!AGG_FNS.has(fn.v)) return s.lx.fail(fn.at, `'${fn.v}' is not a statistical function rulec emits (${[...AGG_FNS].join(', ')})`);
    let field: string | undefined;
    if (s.isOp('(')) {
      s.next();
      field = fieldName(s);
      s.expectOp(')');
    } else if (fn.v !== 'count') s.lx.fail(fn.at, `${fn.v}() needs a field`);
    if (!s.isWord('AS')) s.lx.fail(s.peek().at, "rulec names every statistic with 'AS'");
    s.next();
    aggs.push({ fn: fn.v as Aggregate['fn'], ...(field !== undefined ? { field } : {}), as: fieldName(s) });
  }
  if (aggs.length === 0) s.lx.fail(s.peek().at, 'expected a statistical function');
  const by: string[] = [];
  if (s.isWord('BY')) {
    s.next();
    while (s.peek().t === 'word') by.push(fieldName(s));
    if (by.length === 0) s.lx.fail(s.peek().at, 'expected a field after BY');
  }
  expectEnd(s, 'statistics');
  return { aggs, by };
}

function streamstatsOptions(s: TokStream): Omit<Extract<Command, { cmd: 'streamstats' }>, 'cmd' | 'aggs' | 'by'> {
  const out: Omit<Extract<Command, { cmd: 'streamstats' }>, 'cmd' | 'aggs' | 'by'> = {};
  while (s.peek().t === 'word' && s.isOp('=', 1)) {
    const name = s.next() as { v: string; at: number };
    s.next();
    const v = s.next();
    if (name.v === 'time_window') {
      const unit = s.next();
      if (v.t !== 'num' || !/^\d+$/.test(v.v) || unit.t !== 'word' || unit.v !== 's' || unit.at !== v.at + v.v.length) return s.lx.fail(v.at, 'rulec writes time_window as whole seconds (time_window=600s)');
      out.timeWindow = Number(v.v);
    } else if (name.v === 'window') {
      if (v.t !== 'num' || !/^\d+$/.test(v.v)) return s.lx.fail(v.at, 'window= takes a number of results');
      out.window = Number(v.v);
    } else if (name.v === 'current' || name.v === 'global') {
      if (v.t !== 'word' || (v.v !== 'true' && v.v !== 'false')) return s.lx.fail(v.at, `${name.v}= takes true or false`);
      out[name.v] = v.v === 'true';
    } else return s.lx.fail(name.at, `'${name.v}' is not a streamstats option rulec emits (time_window, window, current, global)`);
  }
  return out;
}

function parseCommand(lx: Lexer, src: string, start: number, end: number): Command {
  // The first command of an appendpipe's subpipeline has no pipe.
  const m = /^\|?\s*([a-z]+)/.exec(src.slice(start, end));
  if (!m) return lx.fail(start, 'expected a command');
  const at = start + m[0].length;
  // The command's own text only: the last command of a subpipeline ends at its ']'.
  const own = new Lexer(only(src, start, end));
  const tokens = (): TokStream => new TokStream(own.evalTokens(at).toks, own);
  switch (m[1]) {
    case 'eval':
      return { cmd: 'eval', assigns: assignments(tokens()) };
    case 'where': {
      const s = tokens();
      const expr = evalOr(s);
      expectEnd(s, 'where expression');
      return { cmd: 'where', expr };
    }
    case 'stats':
    case 'eventstats':
      return { cmd: m[1], ...statsArgs(tokens()) };
    case 'streamstats': {
      const s = tokens();
      const opts = streamstatsOptions(s);
      return { cmd: 'streamstats', ...opts, ...statsArgs(s) };
    }
    case 'sort': {
      const s = tokens();
      const zero = s.next();
      if (zero.t !== 'num' || zero.v !== '0') return lx.fail(zero.at, 'rulec sorts every result: sort 0');
      if (!s.isWord('num')) lx.fail(s.peek().at, 'rulec sorts numbers: num(field)');
      s.next();
      s.expectOp('(');
      const field = fieldName(s);
      s.expectOp(')');
      expectEnd(s, 'sort');
      return { cmd: 'sort', field };
    }
    case 'table': {
      const fields = src.slice(at, end).trim().split(/\s+/);
      for (const f of fields) if (!/^[A-Za-z0-9_.:]+$/.test(f)) lx.fail(at, `'${f}' is not a field name`);
      return { cmd: 'table', fields };
    }
    case 'rename': {
      const pairs = src
        .slice(at, end)
        .split(',')
        .map((p): [string, string] => {
          const m = /^\s*([A-Za-z0-9_.:]+) AS ([A-Za-z0-9_.:]+)\s*$/.exec(p);
          if (!m) return lx.fail(at, `expected 'field AS name' pairs, not '${p.trim()}'`);
          return [m[1]!, m[2]!];
        });
      return { cmd: 'rename', pairs };
    }
    case 'appendpipe': {
      const open = src.indexOf('[', at);
      if (open < 0 || open >= end || src.slice(at, open).trim() !== '') return lx.fail(at, "expected '[' after appendpipe");
      const close = closing(lx, src, open);
      if (src.slice(close + 1, end).trim() !== '') lx.fail(close + 1, "unexpected text after appendpipe's ']'");
      const ps = [open + 1, ...pipes(lx, src, open + 1, close)];
      return { cmd: 'appendpipe', commands: ps.map((p, k) => parseCommand(lx, src, p, ps[k + 1] ?? close)) };
    }
    default:
      return lx.fail(start + m[0].length - m[1]!.length, `'${m[1]}' is not a command rulec emits in a correlation query`);
  }
}

/** Parse a correlation query rulec emitted; throws SplSyntaxError with a position. */
export function parsePipeline(src: string): Pipeline {
  const lx = new Lexer(src);
  const sources: Source[] = [];
  let i = 0;
  while (i < src.length && /\s/.test(src[i]!)) i++;
  let rest: number;
  const multi = /^\|\s*multisearch\b/.exec(src.slice(i));
  if (multi) {
    i += multi[0].length;
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      if (src[i] !== '[') break;
      const close = closing(lx, src, i);
      const inner = /^\[search\s/.exec(src.slice(i));
      if (!inner) lx.fail(i, "a multisearch subsearch starts with '[search '");
      sources.push(parseSource(lx, src, i + inner![0].length, close));
      i = close + 1;
    }
    if (sources.length < 2) lx.fail(i, 'multisearch needs at least two subsearches');
    rest = i;
  } else {
    // One source: the rule's query and its tag end at the pipe after the tag.
    const ps = pipes(lx, src, i, src.length);
    const tagIndex = ps.findIndex((p) => TAG.test(src.slice(p)));
    if (tagIndex < 0) return lx.fail(i, "a correlation source ends with '| eval rulec_rule=...'");
    rest = ps[tagIndex + 1] ?? src.length;
    sources.push(parseSource(lx, src, i, rest));
  }
  const ps = pipes(lx, src, rest, src.length);
  if (src.slice(rest, ps[0] ?? src.length).trim() !== '') lx.fail(rest, "expected '|'");
  const commands = ps.map((p, k) => parseCommand(lx, src, p, ps[k + 1] ?? src.length));
  return { sources, commands };
}
