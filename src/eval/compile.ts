/**
 * IR -> closures. This is the reference semantics of rulec (docs/semantics.md): every backend must
 * match exactly what these closures match. Compile once per rule; regexes are built and literals
 * folded at compile time, never per event.
 *
 * No closure can take more than linear-ish time on hostile input: globs and keyword patterns use
 * a segment matcher (O(text x pattern)), `re` values run on the linear-time engine of
 * runtime/linear-regex.ts (a pattern it cannot run, lookaround or backreferences, throws a
 * RegexError here, when the rule is compiled), and address parsing skips texts too long to be one.
 */
import type { HasLeaf, Node, NumOp, StrLeaf, StrOp } from '../ir/types.js';
import { fold } from '../runtime/fold.js';
import { globMatcher } from '../runtime/glob.js';
import { inNetwork, parseIp, parseIpv4, parseIpv6 } from '../runtime/ip.js';
import { compileLinearRegex, type LinearRegex } from '../runtime/linear-regex.js';
import { hasAnyTerm, hasTerm, isOneTerm } from '../runtime/term.js';
import { parseTimestamp, timePart } from '../runtime/time.js';
import { compareExact, compareNumber, isBool, isEmpty, numbersOf, numericValuesOf } from '../runtime/values.js';
import { AhoCorasick } from './aho.js';
import type { EventView } from './event.js';

export type Matcher = (ev: EventView) => boolean;

/** Regexes already compiled, by regexKey: checkNode fills it, compileNode takes from it. */
export type RegexCache = Map<string, LinearRegex>;

function regexKey(pattern: string, flags: string): string {
  return `${flags}\u0000${pattern}`;
}

/**
 * Throws what compileNode(n) would throw (a regex the linear-time engine refuses; an exact number
 * that is not one), without building the rest of the matcher: the engine checks every rule up front
 * so that a rule it cannot run is reported before the scan, and compiles a rule only when an event
 * first needs it. The regexes it compiles go to `regexes`, for compileNode to reuse.
 */
export function checkNode(n: Node, regexes: RegexCache): void {
  switch (n.kind) {
    case 'and':
    case 'or':
      for (const c of n.children) checkNode(c, regexes);
      return;
    case 'not':
      checkNode(n.child, regexes);
      return;
    case 'regex': {
      const key = regexKey(n.pattern, n.flags);
      if (!regexes.has(key)) regexes.set(key, compileLinearRegex(n.pattern, n.flags));
      return;
    }
    case 'num':
      if (n.exact !== undefined) BigInt(n.exact);
      return;
    default:
      return;
  }
}

/** A string comparison as a function of the text (fieldref builds one per event value). */
function strTest(op: StrOp, lit: string): (t: string) => boolean {
  switch (op) {
    case 'eq':
      return (t) => t === lit;
    case 'prefix':
      return (t) => t.startsWith(lit);
    case 'suffix':
      return (t) => t.endsWith(lit);
    case 'contains':
      return (t) => t.includes(lit);
  }
}

function numTest(op: NumOp, v: number): (n: number) => boolean {
  return (n) => compareNumber(n, op, v);
}

/**
 * The longest address text is 45 characters (IPv6 with an embedded IPv4); a zone after `%` is
 * ignored. Longer texts are not addresses, and are not split (a 10 MB field would be).
 */
function mayBeAddress(t: string): boolean {
  const zone = t.indexOf('%');
  return (zone < 0 ? t.length : zone) <= 45;
}

/**
 * A string leaf as one closure per operator: the hot path of most rules, so no closure is made per
 * call and each call site sees one kind of test.
 */
function strLeaf(field: string, op: StrOp, ci: boolean, lit: string): Matcher {
  switch (op) {
    case 'eq':
      return (ev) => {
        const ts = ci ? ev.foldedOf(field) : ev.textsOf(field);
        for (let i = 0; i < ts.length; i++) if (ts[i] === lit) return true;
        return false;
      };
    case 'prefix':
      return (ev) => {
        const ts = ci ? ev.foldedOf(field) : ev.textsOf(field);
        for (let i = 0; i < ts.length; i++) if (ts[i]!.startsWith(lit)) return true;
        return false;
      };
    case 'suffix':
      return (ev) => {
        const ts = ci ? ev.foldedOf(field) : ev.textsOf(field);
        for (let i = 0; i < ts.length; i++) if (ts[i]!.endsWith(lit)) return true;
        return false;
      };
    case 'contains':
      return (ev) => {
        const ts = ci ? ev.foldedOf(field) : ev.textsOf(field);
        for (let i = 0; i < ts.length; i++) if (ts[i]!.includes(lit)) return true;
        return false;
      };
  }
}

export function compileNode(n: Node, regexes?: RegexCache): Matcher {
  switch (n.kind) {
    case 'const': {
      const v = n.value;
      return () => v;
    }
    case 'and': {
      const cs = n.children.map((c) => compileNode(c, regexes));
      if (cs.length === 2) {
        const [a, b] = cs as [Matcher, Matcher];
        return (ev) => a(ev) && b(ev);
      }
      return (ev) => {
        for (let i = 0; i < cs.length; i++) if (!cs[i]!(ev)) return false;
        return true;
      };
    }
    case 'or':
      return compileOr(n.children, regexes);
    case 'not': {
      const c = compileNode(n.child, regexes);
      return (ev) => !c(ev);
    }
    case 'str':
      return strLeaf(n.field, n.op, n.case === 'ci', n.case === 'ci' ? fold(n.value) : n.value);
    case 'glob': {
      const { field } = n;
      const ci = n.case === 'ci';
      const test = globMatcher(n.pattern.map((t) => (typeof t === 'string' && ci ? fold(t) : t)), true);
      return (ev) => (ci ? ev.foldedOf(field) : ev.textsOf(field)).some(test);
    }
    case 'regex': {
      const { field } = n;
      const re = regexes?.get(regexKey(n.pattern, n.flags)) ?? compileLinearRegex(n.pattern, n.flags);
      const test = (t: string): boolean => re.test(t);
      return (ev) => ev.textsOf(field).some(test);
    }
    case 'cidr': {
      const { field, prefix } = n;
      const net = parseIp(n.network)!;
      const parse = n.family === 4 ? parseIpv4 : parseIpv6;
      return (ev) =>
        ev.textsOf(field).some((t) => {
          if (!mayBeAddress(t)) return false;
          const a = parse(t);
          return a !== undefined && inNetwork(a, net, prefix);
        });
    }
    case 'num': {
      const { field, part, op } = n;
      if (n.exact !== undefined) {
        const lit = BigInt(n.exact);
        return (ev) => numericValuesOf(ev.get(field)).some((x) => compareExact(x, op, lit));
      }
      const test = numTest(n.op, n.value);
      if (part === undefined) return (ev) => numbersOf(ev.get(field)).some(test);
      return (ev) =>
        ev.textsOf(field).some((t) => {
          const ms = parseTimestamp(t);
          return ms !== undefined && test(timePart(ms, part));
        });
    }
    case 'bool': {
      const { field, value } = n;
      return (ev) => isBool(ev.get(field), value);
    }
    case 'exists': {
      const { field } = n;
      return (ev) => !isEmpty(ev.get(field));
    }
    case 'null': {
      const { field } = n;
      return (ev) => isEmpty(ev.get(field));
    }
    case 'fieldref': {
      const { field, other, op } = n;
      const ci = n.case === 'ci';
      return (ev) => {
        const left = ci ? ev.foldedOf(field) : ev.textsOf(field);
        const right = ci ? ev.foldedOf(other) : ev.textsOf(other);
        return right.some((r) => {
          const test = strTest(op, r);
          return left.some(test);
        });
      };
    }
    case 'has': {
      const { field } = n;
      const ci = n.case === 'ci';
      const lit = ci ? fold(n.value) : n.value;
      return (ev) => {
        const ts = ci ? ev.foldedOf(field) : ev.textsOf(field);
        for (let i = 0; i < ts.length; i++) if (hasTerm(ts[i]!, lit)) return true;
        return false;
      };
    }
    case 'keyword': {
      const ci = n.case === 'ci';
      const tokens = n.pattern.map((t) => (typeof t === 'string' && ci ? fold(t) : t));
      if (tokens.every((t) => typeof t === 'string')) {
        const lit = tokens.join('');
        return (ev) => ev.allTexts(ci).some((t) => t.includes(lit));
      }
      const test = globMatcher(tokens, false);
      return (ev) => ev.allTexts(ci).some(test);
    }
  }
}

/** Below this many string leaves of one field, case and operator, an `or` tests them one by one. */
const GROUP_MIN = 3;

/**
 * `or` with its string leaves grouped by (field, case, operator): Sigma lists (`Image|endswith:
 * [200 names]`) become one test per field text (a set for eq, a table by first or last character
 * for prefix and suffix, one Aho-Corasick pass for contains) instead of one test per value. An
 * `or` is commutative and its children pure, so regrouping never changes the verdict.
 */
function compileOr(children: readonly Node[], regexes: RegexCache | undefined): Matcher {
  const groups = new Map<string, StrLeaf[]>();
  const hasGroups = new Map<string, HasLeaf[]>();
  const rest: Node[] = [];
  for (const c of children) {
    if (c.kind === 'has') {
      const key = `${c.case}\u0000${c.field}`;
      let g = hasGroups.get(key);
      if (!g) hasGroups.set(key, (g = []));
      g.push(c);
      continue;
    }
    if (c.kind !== 'str') {
      rest.push(c);
      continue;
    }
    const key = `${c.op}\u0000${c.case}\u0000${c.field}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(c);
  }
  const ms: Matcher[] = [];
  for (const leaves of groups.values()) {
    if (leaves.length >= GROUP_MIN) ms.push(strGroup(leaves));
    else rest.push(...leaves);
  }
  for (const leaves of hasGroups.values()) {
    if (leaves.length >= GROUP_MIN) ms.push(hasGroup(leaves));
    else rest.push(...leaves);
  }
  for (const c of rest) ms.push(compileNode(c, regexes));
  if (ms.length === 1) return ms[0]!;
  if (ms.length === 2) {
    const [a, b] = ms as [Matcher, Matcher];
    return (ev) => a(ev) || b(ev);
  }
  return (ev) => {
    for (let i = 0; i < ms.length; i++) if (ms[i]!(ev)) return true;
    return false;
  };
}

/**
 * Term matches of one field and case (KQL's `has_any` lists): the values that are single terms are
 * a set the text's terms are looked up in, one pass per text; values with separators are searched
 * one by one.
 */
function hasGroup(leaves: readonly HasLeaf[]): Matcher {
  const { field } = leaves[0]!;
  const ci = leaves[0]!.case === 'ci';
  const lits = [...new Set(leaves.map((l) => (ci ? fold(l.value) : l.value)))];
  const terms = new Set(lits.filter(isOneTerm));
  const phrases = lits.filter((l) => !isOneTerm(l));
  const test = (t: string): boolean => {
    if (terms.size > 0 && hasAnyTerm(t, terms)) return true;
    for (let i = 0; i < phrases.length; i++) if (hasTerm(t, phrases[i]!)) return true;
    return false;
  };
  return (ev) => {
    const ts = ci ? ev.foldedOf(field) : ev.textsOf(field);
    for (let i = 0; i < ts.length; i++) if (test(ts[i]!)) return true;
    return false;
  };
}

/** Literals by their first (prefix) or last (suffix) code unit; the empty literal matches every text. */
function byEdge(lits: readonly string[], last: boolean): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const l of lits) {
    const k = last ? l.charCodeAt(l.length - 1) : l.charCodeAt(0);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(l);
  }
  return out;
}

function strGroup(leaves: readonly StrLeaf[]): Matcher {
  const { field, op } = leaves[0]!;
  const ci = leaves[0]!.case === 'ci';
  const lits = [...new Set(leaves.map((l) => (ci ? fold(l.value) : l.value)))];
  const textsOf = ci ? (ev: EventView) => ev.foldedOf(field) : (ev: EventView) => ev.textsOf(field);
  // The empty literal is a prefix, suffix and part of every text (but an object has no text).
  if (op !== 'eq' && lits.includes('')) return (ev) => textsOf(ev).length > 0;
  switch (op) {
    case 'eq': {
      const set = new Set(lits);
      const test = (t: string): boolean => set.has(t);
      return (ev) => textsOf(ev).some(test);
    }
    case 'prefix': {
      const table = byEdge(lits, false);
      const test = (t: string): boolean => {
        const list = table.get(t.charCodeAt(0));
        if (list) for (let i = 0; i < list.length; i++) if (t.startsWith(list[i]!)) return true;
        return false;
      };
      return (ev) => textsOf(ev).some(test);
    }
    case 'suffix': {
      const table = byEdge(lits, true);
      const test = (t: string): boolean => {
        const list = table.get(t.charCodeAt(t.length - 1));
        if (list) for (let i = 0; i < list.length; i++) if (t.endsWith(list[i]!)) return true;
        return false;
      };
      return (ev) => textsOf(ev).some(test);
    }
    case 'contains': {
      // A few literals: the engine's substring search beats building and running an automaton.
      if (lits.length <= 6) {
        const test = (t: string): boolean => {
          for (let i = 0; i < lits.length; i++) if (t.includes(lits[i]!)) return true;
          return false;
        };
        return (ev) => textsOf(ev).some(test);
      }
      const aho = new AhoCorasick(lits);
      const test = (t: string): boolean => aho.test(t);
      return (ev) => textsOf(ev).some(test);
    }
  }
}
