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
 * - correlation pipelines (runPipeline): results are rows of fields; `multisearch` returns the
 *   results of each subsearch; `stats` one row per distinct BY tuple (rows missing a BY field are
 *   left out); `eventstats` adds its statistics to every row; `streamstats` computes, at each row, over
 *   the earlier rows of its BY group in the window and the row itself (`current=false`: without it):
 *   `time_window=W` the rows less than W seconds older (results must come in ascending `_time`; a
 *   row exactly W older is unmodelled: Splunk does not document it), `window=N global=false` the last
 *   N rows of the group; `sort 0 num(f)` orders by the number f, ties in an order of its own (the
 *   interpreter reverses them, so that a query relying on the order of ties fails); `count`, `dc`
 *   (exact distinct values), `sum`, `max`, `min` ignore null values, and a statistic over none is null
 *   (count: 0); `appendpipe [...]` runs its commands over a copy of the results and appends what
 *   they return. Anything else (a multivalue BY field or statistic, text summed) throws.
 */
import type { Aggregate, Command, EvalExpr, Pipeline, Query, SearchExpr, SearchValue } from '../../src/targets/spl/ast.js';
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

/** now(): the time runPipeline is told the search runs at (epoch seconds). */
let searchNow: number | undefined;

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
    case 'now':
      if (searchNow === undefined) throw new Error('unmodelled: now() outside a search given its time');
      return searchNow;
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

// ---- correlation pipelines ------------------------------------------------------------------

export type Row = Map<string, V>;

/** An indexed event: its fields as Splunk extracts them, and its `_time` in seconds. */
export interface TimedEvent {
  event: SplunkEvent;
  time: number;
}

const NO_FIELDS: SplunkEvent = { fields: new Map(), raw: '' };

function rowEval(row: Row, e: EvalExpr): V {
  return evalE(e, new Env(NO_FIELDS, row));
}

function setField(row: Row, name: string, v: V): void {
  if (v === null) row.delete(name);
  else row.set(name, v);
}

function byKey(row: Row, by: string[], what: string): string | undefined {
  const vals: string[] = [];
  for (const f of by) {
    const v = row.get(f);
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) throw new Error(`unmodelled: ${what} BY the multivalue field ${f}`);
    vals.push(String(v));
  }
  return JSON.stringify(vals);
}

function aggregate(a: Aggregate, rows: Row[]): V {
  if (a.field === undefined) return rows.length;
  const values: (string | number)[] = [];
  for (const r of rows) {
    const v = r.get(a.field);
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) || typeof v === 'boolean') throw new Error(`unmodelled: ${a.fn}() of a ${Array.isArray(v) ? 'multivalue' : 'boolean'} ${a.field}`);
    values.push(v);
  }
  switch (a.fn) {
    case 'count':
      return values.length;
    case 'dc':
      return new Set(values.map(String)).size;
    case 'sum':
    case 'max':
    case 'min': {
      if (values.some((v) => typeof v !== 'number')) throw new Error(`unmodelled: ${a.fn}() of text in ${a.field}`);
      const ns = values as number[];
      if (ns.length === 0) return null;
      return a.fn === 'sum' ? ns.reduce((x, y) => x + y, 0) : a.fn === 'max' ? Math.max(...ns) : Math.min(...ns);
    }
  }
}

function groupRows(rows: Row[], by: string[], what: string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = byKey(r, by, what);
    if (k === undefined) continue;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  return groups;
}

function runCommand(c: Command, rows: Row[]): Row[] {
  switch (c.cmd) {
    case 'eval':
      for (const r of rows) for (const a of c.assigns) setField(r, a.name, rowEval(r, a.expr));
      return rows;
    case 'where':
      return rows.filter((r) => bool(rowEval(r, c.expr)) === true);
    case 'stats': {
      const out: Row[] = [];
      for (const g of groupRows(rows, c.by, 'stats').values()) {
        const row: Row = new Map();
        for (const f of c.by) row.set(f, g[0]!.get(f)!);
        for (const a of c.aggs) setField(row, a.as, aggregate(a, g));
        out.push(row);
      }
      // Splunk orders stats results by their BY values; the reverse of first appearance here, so a
      // query must sort them itself.
      return out.reverse();
    }
    case 'eventstats': {
      const groups = groupRows(rows, c.by, 'eventstats');
      const values = new Map([...groups].map(([k, g]) => [k, c.aggs.map((a) => aggregate(a, g))]));
      for (const r of rows) {
        const k = byKey(r, c.by, 'eventstats');
        if (k === undefined) continue;
        c.aggs.forEach((a, i) => setField(r, a.as, values.get(k)![i]!));
      }
      return rows;
    }
    case 'streamstats': {
      if (c.window !== undefined && c.by.length && c.global !== false) throw new Error('unmodelled: streamstats window= BY without global=false');
      if (c.window === undefined && c.timeWindow === undefined) throw new Error('unmodelled: streamstats without a window (the documented default is max_stream_window results)');
      const seen = new Map<string, Row[]>();
      const inputs = new Map<Row, Row>();
      let last = -Infinity;
      for (const r of rows) {
        const k = byKey(r, c.by, 'streamstats');
        if (k === undefined) throw new Error('unmodelled: streamstats over a row without its BY field');
        // Statistics read the values rows had before streamstats wrote to them.
        const input = new Map(r);
        inputs.set(r, input);
        const before = seen.get(k) ?? [];
        seen.set(k, [...before, input]);
        let win = before;
        if (c.timeWindow !== undefined) {
          const t = r.get('_time');
          if (typeof t !== 'number') throw new Error('unmodelled: time_window over a row without a numeric _time');
          if (t < last) throw new Error('unmodelled: time_window over rows not in ascending _time');
          last = t;
          win = win.filter((p) => {
            const d = t - (p.get('_time') as number);
            if (d === c.timeWindow) throw new Error(`unmodelled: a row exactly time_window=${c.timeWindow}s older than the current one`);
            return d < c.timeWindow!;
          });
        }
        if (c.window !== undefined) win = c.window === 0 ? win : win.slice(Math.max(0, win.length - (c.current === false ? c.window : c.window - 1)));
        if (c.current !== false) win = [...win, input];
        for (const a of c.aggs) setField(r, a.as, aggregate(a, win));
      }
      return rows;
    }
    case 'sort': {
      const indexed = rows.map((r, i) => {
        const v = r.get(c.field);
        if (typeof v !== 'number') throw new Error(`unmodelled: sort num(${c.field}) of ${JSON.stringify(v)}`);
        return { r, i, v };
      });
      // Ties in reverse input order: Splunk does not document that sort is stable.
      indexed.sort((a, b) => a.v - b.v || b.i - a.i);
      return indexed.map((x) => x.r);
    }
    case 'table':
      return rows.map((r) => new Map(c.fields.filter((f) => r.has(f)).map((f) => [f, r.get(f)!])));
    case 'rename':
      for (const r of rows) {
        for (const [a, b] of c.pairs) {
          const v = r.get(a);
          r.delete(a);
          if (v !== undefined) r.set(b, v);
        }
      }
      return rows;
    case 'appendpipe': {
      // The subpipeline reads a copy: the results it was given stay as they are.
      let sub = rows.map((r) => new Map(r));
      for (const x of c.commands) sub = runCommand(x, sub);
      return [...rows, ...sub];
    }
  }
}

/** The rows a correlation pipeline returns over the indexed events (every source searches them all). */
export function runPipeline(p: Pipeline, events: readonly TimedEvent[], now?: number): Row[] {
  searchNow = now;
  let rows: Row[] = [];
  for (const s of p.sources) {
    for (const { event, time } of events) {
      if (!runQuery(s.query, event)) continue;
      const row: Row = new Map();
      for (const [k, vs] of event.fields) row.set(k, vs.length === 1 ? vs[0]! : [...vs]);
      row.set('_time', time);
      for (const a of s.tag) setField(row, a.name, evalE(a.expr, new Env(event, row)));
      rows.push(row);
    }
  }
  for (const c of p.commands) rows = runCommand(c, rows);
  return rows;
}
