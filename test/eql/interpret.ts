/**
 * Test-only model of Elasticsearch for the EQL equivalence tests: a document builder that stores a
 * Sigma-named fixture event the way the platform's ingest would (renamed fields, typed values,
 * malformed values dropped, the fields the log source implies), and an interpreter of parsed EQL over
 * that document with EQL's semantics as documented: three-valued logic (a missing field is null,
 * `not null` is null, a null condition does not match), ASCII-only case-insensitivity, wildcard and
 * Lucene regex matching of the whole value, multi-valued fields matching when any value does.
 *
 * It shares nothing with the printer but the parser: wildcards, Lucene regexes, case folding and CIDR
 * matching are implemented here again (CIDR with node:net's BlockList), so a rendering defect shows
 * up as a disagreement with the evaluator.
 */
import { BlockList, isIP } from 'node:net';
import type { LogSource } from '../../src/model/types.js';
import { fold } from '../../src/runtime/fold.js';
import type { FieldType, Platform } from '../../src/targets/eql/mapping.js';
import type { Call, Cond, EqlQuery, EqlSequence, JoinKey, Literal, Operand } from '../../src/targets/eql/parser.js';
import { parseLucene, type LNode } from '../../src/targets/eql/lucene.js';
import { boundedTest } from '../helpers/bounded-regex.js';

export type Doc = Map<string, unknown[]>;

// ---------------------------------------------------------------------------------------------
// Documents

function asIp(v: string): string | undefined {
  const fam = isIP(v);
  if (fam === 0) return undefined;
  // Elasticsearch stores an IPv4-mapped IPv6 address as the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(v);
  return mapped ? mapped[1] : v;
}

/** One JSON value as the field type stores it; undefined when ingest would drop it (ignore_malformed). */
export function storeValue(v: unknown, type: FieldType): unknown {
  if (v === null || v === undefined) return undefined;
  switch (type) {
    case 'keyword':
    case 'numeric_keyword':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return undefined;
    case 'long':
    case 'double': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n)) return undefined;
      return type === 'long' ? Math.trunc(n) : n;
    }
    case 'ip':
      return typeof v === 'string' ? asIp(v) : undefined;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true') return true;
      if (v === 'false' || v === '') return false;
      return undefined;
    default:
      return undefined;
  }
}

export interface BuiltDoc {
  doc: Doc;
  /** Sigma fields that landed on a target another Sigma field of the event already filled. */
  collisions: string[];
}

/** A fixture event (Sigma names) as the platform stores it, plus the fields its log source implies. */
export function buildDocument(event: Record<string, unknown>, logsource: LogSource, platform: Platform): BuiltDoc {
  const doc: Doc = new Map();
  const collisions: string[] = [];
  for (const [k, v] of Object.entries(event)) {
    let t;
    try {
      t = platform.field(k, logsource);
    } catch {
      continue; // the platform does not carry this field
    }
    const raw = Array.isArray(v) ? v : [v];
    const stored = raw
      .map((x) => (t.values ? (x === null || typeof x === 'object' ? undefined : t.values.get(fold(String(x)))) : storeValue(x, t.type)))
      .filter((x) => x !== undefined);
    if (stored.length === 0 && t.text === undefined) continue;
    if (doc.has(t.field)) {
      collisions.push(k);
      continue;
    }
    if (stored.length) doc.set(t.field, stored);
    if (t.text !== undefined) {
      const text = raw.map((x) => storeValue(x, 'keyword')).filter((x) => x !== undefined);
      if (text.length) doc.set(t.text, text);
    }
  }
  let spec;
  try {
    spec = platform.logSource(logsource);
  } catch {
    return { doc, collisions };
  }
  for (const c of spec.conditions) {
    if (!doc.has(c.field)) doc.set(c.field, [storeValue(c.values[0], platform.typeOf(c.field))]);
  }
  if (spec.category !== 'any') doc.set('event.category', [spec.category]);
  return { doc, collisions };
}

// ---------------------------------------------------------------------------------------------
// Matching primitives (ASCII case folding, as Elasticsearch documents case_insensitive)

const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function jsChar(cp: number, ci: boolean): string {
  if (ci && ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a))) {
    const lower = String.fromCharCode(cp | 0x20);
    return `[${lower}${lower.toUpperCase()}]`;
  }
  return `\\u{${cp.toString(16)}}`;
}

const wildcardCache = new Map<string, RegExp>();
/**
 * The pattern of `:` / `like`. Elasticsearch turns it into a LIKE pattern whose escape character is
 * U+0001 (StringUtils.toLikePattern): a pattern holding U+0001 is rejected or means something else,
 * so the model refuses it like a query error.
 */
function wildcardRegex(pattern: string, ci: boolean): RegExp {
  if (pattern.includes('\u0001')) throw new Error(`U+0001 in the wildcard pattern ${JSON.stringify(pattern)}: Elasticsearch reads it as the LIKE escape character`);
  const key = `${ci}:${pattern}`;
  let re = wildcardCache.get(key);
  if (!re) {
    let src = '';
    for (const ch of pattern) src += ch === '*' ? '[^]*' : ch === '?' ? '[^]' : jsChar(ch.codePointAt(0)!, ci);
    re = new RegExp(`^(?:${src})$`, 'u');
    wildcardCache.set(key, re);
  }
  return re;
}

function luceneToJs(n: LNode, ci: boolean): string {
  switch (n.t) {
    case 'char':
      return jsChar(n.cp, ci);
    case 'any':
      return '[^]';
    case 'class': {
      let body = '';
      for (const it of n.items) {
        // Elasticsearch: case-insensitive matching leaves ranges case-sensitive.
        if ('cp' in it) body += ci ? jsChar(it.cp, true).replace(/^\[|\]$/g, '') : `\\u{${it.cp.toString(16)}}`;
        else body += `\\u{${it.lo.toString(16)}}-\\u{${it.hi.toString(16)}}`;
      }
      return `[${n.negated ? '^' : ''}${body}]`;
    }
    case 'seq':
      return n.items.map((x) => luceneToJs(x, ci)).join('');
    case 'alt':
      return n.alts.map((x) => luceneToJs(x, ci)).join('|');
    case 'group':
      return `(?:${luceneToJs(n.body, ci)})`;
    case 'rep':
      return `(?:${luceneToJs(n.body, ci)}){${n.min},${n.max === Infinity ? '' : n.max}}`;
  }
}

const regexCache = new Map<string, RegExp>();
/** Whether a Lucene regex (`regex~` when ci) matches the whole value, per the interpreter's model. */
export function luceneMatches(src: string, ci: boolean, value: string): boolean {
  return boundedTest(luceneRegex(src, ci), value);
}

function luceneRegex(src: string, ci: boolean): RegExp {
  const key = `${ci}:${src}`;
  let re = regexCache.get(key);
  if (!re) {
    re = new RegExp(`^(?:${luceneToJs(parseLucene(src), ci)})$`, 'u');
    regexCache.set(key, re);
  }
  return re;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (Kleene three-valued logic; null = unknown)

type V3 = boolean | null;

export interface Interpreter {
  typeOf(field: string): FieldType;
}

function valuesOf(doc: Doc, o: Operand): unknown[] | null {
  if (o.k !== 'field') throw new Error('internal: operand is not a field');
  const v = doc.get(o.name);
  return v === undefined || v.length === 0 ? null : v;
}

function isText(t: FieldType): boolean {
  return t === 'keyword' || t === 'numeric_keyword';
}

function literalValue(l: Literal): unknown {
  return l.k === 'null' ? null : l.v;
}

export function evaluate(q: EqlQuery, doc: Doc, types: Interpreter): boolean {
  if (q.category !== 'any') {
    const cats = doc.get('event.category') ?? [];
    if (!cats.includes(q.category)) return false;
  }
  return evalCond(q.where, doc, types) === true;
}

function evalCond(c: Cond, doc: Doc, types: Interpreter): V3 {
  switch (c.k) {
    case 'const':
      return c.v;
    case 'not': {
      const v = evalCond(c.e, doc, types);
      return v === null ? null : !v;
    }
    case 'and': {
      let unknown = false;
      for (const x of c.items) {
        const v = evalCond(x, doc, types);
        if (v === false) return false;
        if (v === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case 'or': {
      let unknown = false;
      for (const x of c.items) {
        const v = evalCond(x, doc, types);
        if (v === true) return true;
        if (v === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case 'call':
      return evalCall(c.call, doc, types);
    case 'cmp':
      return evalCmp(c, doc, types);
  }
}

function requireText(field: string, types: Interpreter, what: string): void {
  const t = types.typeOf(field);
  if (!isText(t)) throw new Error(`${what} on ${field}, a ${t} field (Elasticsearch rejects the query)`);
}

function evalCall(call: Call, doc: Doc, types: Interpreter): V3 {
  const [f, ...args] = call.args;
  if (!f || f.k !== 'field') throw new Error(`${call.name}: first argument is not a field`);
  const vals = valuesOf(doc, f);
  const lits = args.map((a) => {
    if (a.k !== 'str') throw new Error(`${call.name}: argument is not a string literal`);
    return a.v;
  });
  if (call.name === 'cidrMatch') {
    if (types.typeOf(f.name) !== 'ip') throw new Error(`cidrMatch on ${f.name}, which is not an ip field`);
    if (vals === null) return null;
    const bl = new BlockList();
    for (const l of lits) {
      const [addr, len] = l.split('/');
      bl.addSubnet(addr!, Number(len), isIP(addr!) === 6 ? 'ipv6' : 'ipv4');
    }
    return vals.some((v) => bl.check(String(v), isIP(String(v)) === 6 ? 'ipv6' : 'ipv4'));
  }
  requireText(f.name, types, call.name);
  if (vals === null) return null;
  const norm = call.insensitive ? asciiLower : (s: string) => s;
  const needle = norm(lits[0]!);
  const test = (s: string): boolean => {
    const h = norm(s);
    if (call.name === 'startsWith') return h.startsWith(needle);
    if (call.name === 'endsWith') return h.endsWith(needle);
    if (call.name === 'stringContains') return h.includes(needle);
    throw new Error(`unknown function ${call.name}`);
  };
  return vals.some((v) => test(String(v)));
}

function evalCmp(c: Extract<Cond, { k: 'cmp' }>, doc: Doc, types: Interpreter): V3 {
  if (c.left.k !== 'field') throw new Error('comparison with a non-field left side');
  const field = c.left.name;
  const vals = valuesOf(doc, c.left);
  const t = types.typeOf(field);
  const right = c.right.map(literalValue);
  if ((c.op === '==' || c.op === '!=') && right[0] === null) {
    const isNull = vals === null;
    return c.op === '==' ? isNull : !isNull;
  }
  const strings = (): string[] => {
    if (right.some((r) => typeof r !== 'string')) throw new Error(`'${c.op}' with a non-string literal on ${field}`);
    return right as string[];
  };
  switch (c.op) {
    case ':':
    case 'like':
    case 'like~': {
      requireText(field, types, `'${c.op}'`);
      const pats = strings().map((p) => wildcardRegex(p, c.op !== 'like'));
      if (vals === null) return null;
      return vals.some((v) => pats.some((re) => boundedTest(re, String(v))));
    }
    case 'regex':
    case 'regex~': {
      requireText(field, types, `'${c.op}'`);
      const res = strings().map((p) => luceneRegex(p, c.op === 'regex~'));
      if (vals === null) return null;
      return vals.some((v) => res.some((re) => boundedTest(re, String(v))));
    }
    case '==':
    case '!=':
    case 'in':
    case 'in~':
    case 'not in':
    case 'not in~': {
      const ci = c.op.endsWith('~');
      const eq = (v: unknown, r: unknown): boolean => {
        if (t === 'ip') {
          if (typeof r !== 'string' || isIP(r) === 0) throw new Error(`ip field ${field} compared with '${String(r)}'`);
          const bl = new BlockList();
          bl.addAddress(r, isIP(r) === 6 ? 'ipv6' : 'ipv4');
          return bl.check(String(v), isIP(String(v)) === 6 ? 'ipv6' : 'ipv4');
        }
        if (isText(t)) {
          if (typeof r !== 'string') throw new Error(`text field ${field} compared with the ${typeof r} ${String(r)}`);
          return ci ? asciiLower(String(v)) === asciiLower(r) : v === r;
        }
        if (t === 'long' || t === 'double') {
          if (typeof r !== 'number') throw new Error(`numeric field ${field} compared with the ${typeof r} ${String(r)}`);
          return v === r;
        }
        if (t === 'boolean') {
          if (typeof r !== 'boolean') throw new Error(`boolean field ${field} compared with ${String(r)}`);
          return v === r;
        }
        throw new Error(`comparison on ${field}, a ${t} field`);
      };
      // Literal types are checked even when the field is missing: Elasticsearch rejects the query either way.
      if (vals === null) {
        right.forEach((r) => {
          if (isText(t) && typeof r !== 'string') throw new Error(`text field ${field} compared with ${String(r)}`);
          if ((t === 'long' || t === 'double') && typeof r !== 'number') throw new Error(`numeric field ${field} compared with ${String(r)}`);
        });
        return null;
      }
      const any = vals.some((v) => right.some((r) => eq(v, r)));
      // `!=` and `not in` on a multi-valued field: Elasticsearch's must_not of the term query.
      return c.op === '==' || c.op === 'in' || c.op === 'in~' ? any : !any;
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (t !== 'long' && t !== 'double') throw new Error(`'${c.op}' on ${field}, a ${t} field`);
      const r = right[0];
      if (typeof r !== 'number') throw new Error(`'${c.op}' with a non-number`);
      if (vals === null) return null;
      return vals.some((v) => {
        const n = v as number;
        return c.op === '<' ? n < r : c.op === '<=' ? n <= r : c.op === '>' ? n > r : n >= r;
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sequences (Elasticsearch's documented matching: "How sequence queries handle matches")

/** A stored document with its `@timestamp` (whole ms, as a `date` field keeps it) and tiebreaker. */
export interface SequenceDoc {
  doc: Doc;
  /** `@timestamp` in ms since the epoch. */
  time: number;
  /** Orders documents of one timestamp (Elasticsearch: the tiebreaker field, else its implicit one). */
  tiebreaker: number;
}

/** A completed sequence: its join key values, its documents (indexes into the input) in stage order. */
export interface CompletedSequence {
  key: (string | null)[];
  docs: number[];
  /** The last document's timestamp. */
  end: number;
}

/**
 * The sequences Elasticsearch returns for `seq` over `docs`, per its documentation: events are read
 * in (timestamp, tiebreaker) order; each query of the sequence is a state of a state machine kept per
 * join key; an event of query 1 starts a pending sequence in state 1, one of query i > 1 moves the
 * pending sequence of state i - 1 (of its key) to state i, or completes it at the last query; each
 * state holds one pending sequence per key, a newer one overwriting the older; a sequence whose
 * events span more than maxspan (from the first event, inclusive) is dropped when the later event
 * would join it. An event matching several queries moves sequences from the last query back to the
 * first, so it never joins a sequence it started itself (Elasticsearch requires each event of a
 * sequence to come strictly after the one before). A join key that is not optional (`?`) must have a
 * value: an event without one joins no sequence. `types(i)` types the fields of query i's platform.
 */
export function runSequence(seq: EqlSequence, docs: readonly SequenceDoc[], types: (stage: number) => Interpreter): CompletedSequence[] {
  const order = docs.map((_, i) => i).sort((a, b) => docs[a]!.time - docs[b]!.time || docs[a]!.tiebreaker - docs[b]!.tiebreaker);
  const last = seq.stages.length - 1;
  // states[i]: join key -> the pending sequence whose last event matched query i.
  const states = seq.stages.map(() => new Map<string, { start: number; docs: number[]; key: (string | null)[] }>());
  const out: CompletedSequence[] = [];
  for (const d of order) {
    const { doc, time } = docs[d]!;
    for (let i = last; i >= 0; i--) {
      const stage = seq.stages[i]!;
      if (!evaluate(stage.query, doc, types(i))) continue;
      const key = joinKey([...seq.by, ...stage.by], doc);
      if (key === undefined) continue;
      const k = JSON.stringify(key);
      if (i === 0) {
        states[0]!.set(k, { start: time, docs: [d], key });
        continue;
      }
      const pending = states[i - 1]!.get(k);
      if (!pending) continue;
      states[i - 1]!.delete(k);
      if (seq.maxspanMs !== undefined && time - pending.start > seq.maxspanMs) continue;
      const moved = { ...pending, docs: [...pending.docs, d] };
      if (i === last) out.push({ key, docs: moved.docs, end: time });
      else states[i]!.set(k, moved);
    }
  }
  return out;
}

/** The join key of a document; undefined when a required key has no value. */
function joinKey(keys: readonly JoinKey[], doc: Doc): (string | null)[] | undefined {
  const out: (string | null)[] = [];
  for (const k of keys) {
    const v = doc.get(k.name);
    if (v === undefined || v.length === 0) {
      if (!k.optional) return undefined;
      out.push(null);
      continue;
    }
    // Elasticsearch documents that EQL does not support multi-valued fields; the tests never store one as a key.
    if (v.length > 1) throw new Error(`join key ${k.name} holds several values (${JSON.stringify(v)}): EQL's result is not defined`);
    out.push(String(v[0]));
  }
  return out;
}
