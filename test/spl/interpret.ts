/**
 * Test-only interpreter of parsed SPL (src/targets/spl/ast.ts) over one event as Splunk holds it.
 * It implements the model of Splunk that docs/targets/spl.md states, and throws on anything the
 * model leaves open (a multivalue field where a function's behaviour with several values is not
 * documented, a comparison of a number with a string, an undocumented regex construct), so a query
 * that relies on unmodelled behaviour fails the tests instead of passing by accident.
 *
 * Model:
 * - An event is a map from field name to one or more non-empty text values, plus `_raw`.
 * - search `F="v"`: some value of F equals v as a whole, `*` matching any run of characters,
 *   letters A-Z compared without case and every other character exactly; `F=*`: F has a value;
 *   `F=123`: text equality; NOT / AND / OR are two-valued.
 * - eval: null propagates through operators; AND / OR / NOT are three-valued (SQL); `where` keeps
 *   an event when its expression is true. Regexes are PCRE in UTF-8 mode (pcre-js.ts).
 */
import type { EvalExpr, Query, SearchExpr, SearchValue } from '../../src/targets/spl/ast.js';
import { fold } from '../../src/runtime/fold.js';
import { pcreToJs } from './pcre-js.js';
import { boundedTest } from '../helpers/bounded-regex.js';

export interface SplunkEvent {
  fields: Map<string, string[]>;
  raw: string;
}

type V = null | string | number | boolean | string[];

const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const globCache = new Map<string, RegExp>();

function globMatch(pattern: string, text: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    const src = [...asciiLower(pattern)].map((c) => (c === '*' ? '[\\s\\S]*' : c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'))).join('');
    re = new RegExp(`^${src}$`, 'u');
    globCache.set(pattern, re);
  }
  return re.test(asciiLower(text));
}

function searchValueMatches(v: SearchValue, text: string): boolean {
  if (v.kind === 'any') return true;
  if (v.kind === 'number') return asciiLower(text) === v.text;
  return globMatch(v.text, text);
}

export function runSearch(e: SearchExpr, ev: SplunkEvent): boolean {
  switch (e.k) {
    case 'and':
      return e.items.every((x) => runSearch(x, ev));
    case 'or':
      return e.items.some((x) => runSearch(x, ev));
    case 'not':
      return !runSearch(e.item, ev);
    case 'eq': {
      const values = ev.fields.get(e.field);
      return !!values && values.some((t) => searchValueMatches(e.value, t));
    }
    case 'in': {
      const values = ev.fields.get(e.field);
      return !!values && values.some((t) => e.values.some((v) => searchValueMatches(v, t)));
    }
  }
}

class Env {
  constructor(
    readonly ev: SplunkEvent,
    readonly helpers: Map<string, V>,
    /** Inside mvfilter: the field bound to one value. */
    readonly bound?: { field: string; value: string },
  ) {}

  field(name: string): V {
    if (this.bound && this.bound.field === name) return this.bound.value;
    if (name === '_raw') return this.ev.raw;
    if (this.helpers.has(name)) return this.helpers.get(name)!;
    const vs = this.ev.fields.get(name);
    if (!vs || vs.length === 0) return null;
    return vs.length === 1 ? vs[0]! : vs;
  }
}

function single(v: V, fn: string): string | number | boolean | null {
  if (Array.isArray(v)) throw new Error(`unmodelled: ${fn}() of a multivalue field`);
  return v;
}

function text(v: V, fn: string): string | null {
  const s = single(v, fn);
  if (s === null) return null;
  if (typeof s === 'string') return s;
  if (typeof s === 'number' && Number.isInteger(s)) return String(s);
  throw new Error(`unmodelled: ${fn}() of ${typeof s} ${String(s)}`);
}

function num(v: V, fn: string): number | null {
  const s = single(v, fn);
  if (s === null) return null;
  if (typeof s === 'number') return s;
  throw new Error(`unmodelled: ${fn} on a ${typeof s} (${JSON.stringify(s)})`);
}

function bool(v: V): boolean | null {
  if (v === null || typeof v === 'boolean') return v;
  throw new Error(`unmodelled: a ${Array.isArray(v) ? 'multivalue' : typeof v} used as a condition`);
}

function fieldsIn(e: EvalExpr, out: Set<string>): Set<string> {
  switch (e.k) {
    case 'field':
      out.add(e.name);
      break;
    case 'and':
    case 'or':
    case 'concat':
      e.items.forEach((x) => fieldsIn(x, out));
      break;
    case 'not':
      fieldsIn(e.item, out);
      break;
    case 'cmp':
    case 'arith':
      fieldsIn(e.left, out);
      fieldsIn(e.right, out);
      break;
    case 'call':
      e.args.forEach((x) => fieldsIn(x, out));
      break;
  }
  return out;
}

/** The PCRE replacement syntax rulec writes: `\N` group references, everything else literal. */
function substitute(m: RegExpExecArray, repl: string): string {
  return repl.replace(/\\(\d)/g, (_, d: string) => {
    const g = m[Number(d)];
    if (g === undefined) throw new Error('unmodelled: replace() with an unset group');
    return g;
  });
}

const DECIMAL_TEXT = /^-?\d+(?:\.\d+)?$/;

function call(fn: string, args: EvalExpr[], env: Env): V {
  const a = (i: number): V => evalE(args[i]!, env);
  switch (fn) {
    case 'isnull':
      return a(0) === null;
    case 'isnotnull':
      return a(0) !== null;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
    case 'mvcount': {
      const v = a(0);
      return v === null ? null : Array.isArray(v) ? v.length : 1;
    }
    case 'mvfind': {
      const v = a(0);
      const re = text(a(1), 'mvfind');
      if (v === null || re === null) return null;
      const values = Array.isArray(v) ? v : [text(v, 'mvfind')!];
      const rx = pcreToJs(re);
      const idx = values.findIndex((x) => boundedTest(rx, x));
      return idx < 0 ? null : idx;
    }
    case 'mvfilter': {
      const fields = [...fieldsIn(args[0]!, new Set())].filter((f) => !env.helpers.has(f));
      if (fields.length !== 1) throw new Error(`unmodelled: mvfilter() must reference one field, got ${fields.join(', ')}`);
      const f = fields[0]!;
      const v = env.field(f);
      if (v === null) return null;
      const values = Array.isArray(v) ? v : [text(v, 'mvfilter')!];
      const kept = values.filter((x) => bool(evalE(args[0]!, new Env(env.ev, env.helpers, { field: f, value: x }))) === true);
      return kept.length === 0 ? null : kept.length === 1 ? kept[0]! : kept;
    }
    case 'match': {
      const s = text(a(0), 'match');
      const re = text(a(1), 'match');
      if (s === null || re === null) return null;
      return boundedTest(pcreToJs(re), s);
    }
    case 'replace': {
      const s = text(a(0), 'replace');
      const re = text(a(1), 'replace');
      const repl = text(a(2), 'replace');
      if (s === null || re === null || repl === null) return null;
      const rx = new RegExp(pcreToJs(re).source, pcreToJs(re).flags + 'g');
      return s.replace(rx, (...m) => substitute(m.slice(0, -2) as unknown as RegExpExecArray, repl));
    }
    case 'tonumber': {
      const s = single(a(0), 'tonumber');
      if (s === null) return null;
      if (typeof s === 'number') return s;
      // Only decimal text is modelled; rulec checks the form before converting.
      return typeof s === 'string' && DECIMAL_TEXT.test(s) ? Number(s) : null;
    }
    case 'lower': {
      const s = text(a(0), 'lower');
      return s === null ? null : fold(s);
    }
    case 'coalesce': {
      for (let i = 0; i < args.length; i++) {
        const v = a(i);
        if (v !== null) return v;
      }
      return null;
    }
    case 'len': {
      const s = text(a(0), 'len');
      return s === null ? null : [...s].length;
    }
    case 'substr': {
      const s = text(a(0), 'substr');
      const start = num(a(1), 'substr');
      const len = args.length > 2 ? num(a(2), 'substr') : undefined;
      if (s === null || start === null || len === null) return null;
      if (start < 1) throw new Error('unmodelled: substr() from a position below 1');
      const cps = [...s];
      return cps.slice(start - 1, len === undefined ? undefined : start - 1 + len).join('');
    }
    case 'floor': {
      const n = num(a(0), 'floor');
      return n === null ? null : Math.floor(n);
    }
    case 'if': {
      const c = bool(a(0));
      return c === true ? a(1) : a(2);
    }
    default:
      throw new Error(`unmodelled eval function ${fn}()`);
  }
}

function cmp(op: string, x: V, y: V): V {
  if (x === null || y === null) return null;
  if (Array.isArray(x) || Array.isArray(y)) throw new Error('unmodelled: a comparison with a multivalue field');
  if (typeof x === 'number' && typeof y === 'number') {
    switch (op) {
      case '==':
        return x === y;
      case '!=':
        return x !== y;
      case '<':
        return x < y;
      case '<=':
        return x <= y;
      case '>':
        return x > y;
      case '>=':
        return x >= y;
    }
  }
  if (typeof x === 'string' && typeof y === 'string' && (op === '==' || op === '!=')) return (x === y) === (op === '==');
  throw new Error(`unmodelled: ${typeof x} ${op} ${typeof y}`);
}

export function evalE(e: EvalExpr, env: Env): V {
  switch (e.k) {
    case 'num':
      return e.value;
    case 'str':
      return e.value;
    case 'field':
      return env.field(e.name);
    case 'and': {
      let sawNull = false;
      for (const x of e.items) {
        const b = bool(evalE(x, env));
        if (b === false) return false;
        if (b === null) sawNull = true;
      }
      return sawNull ? null : true;
    }
    case 'or': {
      let sawNull = false;
      for (const x of e.items) {
        const b = bool(evalE(x, env));
        if (b === true) return true;
        if (b === null) sawNull = true;
      }
      return sawNull ? null : false;
    }
    case 'not': {
      const b = bool(evalE(e.item, env));
      return b === null ? null : !b;
    }
    case 'cmp':
      return cmp(e.op, evalE(e.left, env), evalE(e.right, env));
    case 'arith': {
      const x = num(evalE(e.left, env), e.op);
      const y = num(evalE(e.right, env), e.op);
      if (x === null || y === null) return null;
      switch (e.op) {
        case '+':
          return x + y;
        case '-':
          return x - y;
        case '*':
          return x * y;
        case '/':
          return x / y;
      }
    }
    // falls through (unreachable)
    case 'concat': {
      let out = '';
      for (const x of (e as Extract<EvalExpr, { k: 'concat' }>).items) {
        const s = text(evalE(x, env), '.');
        if (s === null) return null;
        out += s;
      }
      return out;
    }
    case 'call':
      return call(e.fn, e.args, env);
  }
}

/** Does the event pass the query? */
export function runQuery(q: Query, ev: SplunkEvent): boolean {
  if (!runSearch(q.search, ev)) return false;
  const helpers = new Map<string, V>();
  for (const s of q.evals ?? []) helpers.set(s.name, evalE(s.expr, new Env(ev, helpers)));
  if (!q.where) return true;
  return bool(evalE(q.where, new Env(ev, helpers))) === true;
}
