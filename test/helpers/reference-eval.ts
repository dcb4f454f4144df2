/**
 * A deliberately naive interpreter of docs/semantics.md, written from the document and not from
 * src/eval/compile.ts: no caching, no grouping, V8's own RegExp for globs and regexes. The
 * optimized evaluator must agree with it on every IR and event (test/unit/eval-reference.test.ts).
 * Only for small test inputs: V8's backtracking is fine there.
 */
import type { Node, StrOp } from '../../src/ir/types.js';
import { fold } from '../../src/runtime/fold.js';
import { inNetwork, parseIp } from '../../src/runtime/ip.js';
import { parseTimestamp, timePart } from '../../src/runtime/time.js';

type Json = Record<string, unknown>;

function lookup(ev: Json, field: string): unknown {
  if (Object.prototype.hasOwnProperty.call(ev, field)) return ev[field];
  if (!field.includes('.')) return undefined;
  let cur: unknown = ev;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

function empty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function texts(v: unknown): string[] {
  if (empty(v)) return [''];
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) {
    const out = v.filter((x) => !empty(x)).flatMap(texts);
    return out.length ? out : [''];
  }
  return [];
}

function numbers(v: unknown): number[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [v] : [];
  if (typeof v === 'string') return /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(v) ? [Number(v)] : [];
  if (Array.isArray(v)) return v.flatMap(numbers);
  return [];
}

/** Decimal texts of the numbers of v; a double's text is its exact binary value (toFixed of its fraction digits). */
function exactValues(v: unknown): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [Number.isInteger(v) ? BigInt(v).toString() : v.toFixed(20)] : [];
  if (typeof v === 'string') return /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(v) ? [v] : [];
  if (Array.isArray(v)) return v.flatMap(exactValues);
  return [];
}

/** Sign of a - b for two decimal texts: both scaled to integers by the longer fraction. */
function compareScaled(a: string, b: string): number {
  const frac = (t: string): string => t.split('.')[1] ?? '';
  const digits = Math.max(frac(a).length, frac(b).length);
  const scaled = (t: string): bigint => BigInt(t.split('.')[0]! + frac(t).padEnd(digits, '0'));
  const x = scaled(a);
  const y = scaled(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function cmpOp(op: string, sign: number): boolean {
  return op === 'eq' ? sign === 0 : op === 'lt' ? sign < 0 : op === 'lte' ? sign <= 0 : op === 'gt' ? sign > 0 : sign >= 0;
}

function everyValue(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
  else if (Array.isArray(v)) v.forEach((x) => everyValue(x, out));
  else if (v !== null && typeof v === 'object') Object.values(v).forEach((x) => everyValue(x, out));
  return out;
}

function cmp(op: StrOp, t: string, lit: string): boolean {
  switch (op) {
    case 'eq':
      return t === lit;
    case 'prefix':
      return t.startsWith(lit);
    case 'suffix':
      return t.endsWith(lit);
    case 'contains':
      return t.includes(lit);
  }
}

function globSource(tokens: readonly (string | { wildcard: '*' | '?' })[], ci: boolean): string {
  return tokens
    .map((t) => (typeof t === 'string' ? (ci ? fold(t) : t).replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&') : t.wildcard === '*' ? '.*' : '.'))
    .join('');
}

export function referenceMatch(n: Node, ev: Json): boolean {
  switch (n.kind) {
    case 'const':
      return n.value;
    case 'and':
      return n.children.every((c) => referenceMatch(c, ev));
    case 'or':
      return n.children.some((c) => referenceMatch(c, ev));
    case 'not':
      return !referenceMatch(n.child, ev);
    case 'str': {
      const ci = n.case === 'ci';
      return texts(lookup(ev, n.field)).some((t) => cmp(n.op, ci ? fold(t) : t, ci ? fold(n.value) : n.value));
    }
    case 'glob': {
      const ci = n.case === 'ci';
      const re = new RegExp(`^(?:${globSource(n.pattern, ci)})$`, 'su');
      return texts(lookup(ev, n.field)).some((t) => re.test(ci ? fold(t) : t));
    }
    case 'regex': {
      const re = new RegExp(n.pattern, n.flags);
      return texts(lookup(ev, n.field)).some((t) => re.test(t));
    }
    case 'cidr': {
      const net = parseIp(n.network)!;
      return texts(lookup(ev, n.field)).some((t) => {
        const a = parseIp(t);
        return a !== undefined && a.length === (n.family === 4 ? 4 : 16) && inNetwork(a, net, n.prefix);
      });
    }
    case 'num': {
      if (n.exact !== undefined) return exactValues(lookup(ev, n.field)).some((x) => cmpOp(n.op, compareScaled(x, n.exact!)));
      const test = (x: number): boolean =>
        n.op === 'eq' ? x === n.value : n.op === 'lt' ? x < n.value : n.op === 'lte' ? x <= n.value : n.op === 'gt' ? x > n.value : x >= n.value;
      if (n.part === undefined) return numbers(lookup(ev, n.field)).some(test);
      const part = n.part;
      return texts(lookup(ev, n.field)).some((t) => {
        const ms = parseTimestamp(t);
        return ms !== undefined && test(timePart(ms, part));
      });
    }
    case 'bool': {
      const v = lookup(ev, n.field);
      return (Array.isArray(v) ? v : [v]).some((x) => x === n.value || (typeof x === 'string' && fold(x) === String(n.value)));
    }
    case 'exists':
      return !empty(lookup(ev, n.field));
    case 'null':
      return empty(lookup(ev, n.field));
    case 'fieldref': {
      const ci = n.case === 'ci';
      const f = (t: string): string => (ci ? fold(t) : t);
      const left = texts(lookup(ev, n.field)).map(f);
      return texts(lookup(ev, n.other))
        .map(f)
        .some((r) => left.some((l) => cmp(n.op, l, r)));
    }
    case 'has': {
      // semantics.md "Term match": no ASCII letter or digit may continue an end of the value that is one.
      const ci = n.case === 'ci';
      const v = ci ? fold(n.value) : n.value;
      const term = /^[A-Za-z0-9]/;
      const body = v.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
      const re = new RegExp(`${term.test(v) ? '(?<![A-Za-z0-9])' : ''}${body}${term.test(v.slice(-1)) ? '(?![A-Za-z0-9])' : ''}`);
      return texts(lookup(ev, n.field)).some((t) => re.test(ci ? fold(t) : t));
    }
    case 'keyword': {
      const ci = n.case === 'ci';
      const re = new RegExp(globSource(n.pattern, ci), 'su');
      return everyValue(ev).some((t) => re.test(ci ? fold(t) : t));
    }
  }
}
