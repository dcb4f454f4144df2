/**
 * Witnesses: for a rule, one or two clauses of (field, literal) pairs such that any event the rule
 * matches contains, for each clause, one of its literals in the folded text of that field (for
 * keywords: of any value) (docs/evaluator.md, "Index"). The engine evaluates a rule only for
 * events where the prefilter found every clause, so the computation must be conservative: when in
 * doubt, no clause (with none at all, the rule is always evaluated).
 *
 * - a string leaf (`str`, `glob`, `keyword`, and `regex` through the literals its pattern needs)
 *   whose match needs a non-empty literal: that literal, in the leaf's field;
 * - `and`: the best two clauses of its children (all children must match);
 * - `or`: clause j is the union of every child's clause j (or its last, when it has fewer): a
 *   match satisfies some child, hence that child's clause j; none when a child has none;
 * - `not`, numbers, cidr, exists, null, fieldref, `const true`: none;
 * - `const false`: the empty clause (never satisfied: the rule never matches).
 *
 * Literals are folded, then every non-ASCII code unit becomes U+0080 (the automaton runs in coarse
 * mode, so its table stays about 70 classes wide), then cut to their last MAX_WITNESS_LENGTH units
 * (any part of a required literal is required too). This stays sound for `cased` leaves, whose
 * literal is found in the unfolded text: folding maps each code point on its own and never changes
 * how many code units it has (tested), so the fold of a text containing the literal contains the
 * literal's fold unit for unit, except for the halves of a surrogate pair the literal cuts, which
 * are non-ASCII on both sides and so the same in the coarse alphabet.
 */
import type { GlobToken, Node } from '../ir/types.js';
import { fold } from '../runtime/fold.js';
import { parseRegex, type Ast } from '../runtime/linear-regex.js';
import { NON_ASCII } from './aho.js';

/** Longer literals are cut to their last characters: the automaton stays small, the tail of a path is the selective part. */
export const MAX_WITNESS_LENGTH = 12;

export interface WitnessLiteral {
  /** The field whose text holds the literal; undefined: any value of the event (keywords). */
  field: string | undefined;
  /** Folded, non-ASCII units coarsened to U+0080, at most MAX_WITNESS_LENGTH units. */
  text: string;
}

/** Literals one of which a matching event contains. */
export type Clause = readonly WitnessLiteral[];

/** Clauses a matching event satisfies every one of; `undefined` when there is none. */
export type Witness = readonly Clause[] | undefined;

/** More clauses would filter a little more at the price of bookkeeping for every hit. */
export const MAX_CLAUSES = 2;

/** The witness literal for a literal a match needs (the same for `cased` leaves: see above). */
function literal(value: string): string | undefined {
  if (value === '') return undefined;
  const coarse = fold(value).replace(/[^\x00-\x7f]/g, NON_ASCII);
  return coarse.length > MAX_WITNESS_LENGTH ? coarse.slice(coarse.length - MAX_WITNESS_LENGTH) : coarse;
}

function longestToken(tokens: readonly GlobToken[]): string {
  let best = '';
  for (const t of tokens) if (typeof t === 'string' && t.length > best.length) best = t;
  return best;
}

/**
 * The expected number of false candidates a witness causes, roughly: each literal of length n
 * occurs in a random value with odds falling by half per character (up to 8), so prefer few,
 * long literals. Smaller is better.
 */
function cost(w: Clause): number {
  let c = 0;
  for (const l of w) c += Math.pow(0.5, Math.min(l.text.length, 8)) * (l.field === undefined ? 4 : 1);
  return c;
}

const byCost = (a: Clause, b: Clause): number => cost(a) - cost(b);

export function witnessOf(n: Node): Witness {
  const clauses = clausesOf(n);
  return clauses.length > 0 ? clauses : undefined;
}

function leaf(field: string | undefined, value: string): Clause[] {
  const text = literal(value);
  return text === undefined ? [] : [[{ field, text }]];
}

/** A literal's identity: its field (none for keywords) and its text. */
const literalKey = (l: WitnessLiteral): string => `${l.field ?? ''}\u0000${l.text}`;

/** The first MAX_CLAUSES distinct clauses of a list sorted best first. */
function dedupe(sorted: readonly Clause[]): Clause[] {
  const out: Clause[] = [];
  const seen = new Set<string>();
  for (const c of sorted) {
    const key = c.map(literalKey).sort().join('\u0001');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
    if (out.length === MAX_CLAUSES) break;
  }
  return out;
}

/** The clauses of a node, best first; [] when nothing is known. */
function clausesOf(n: Node): Clause[] {
  switch (n.kind) {
    case 'const':
      return n.value ? [] : [[]];
    case 'str':
    case 'has':
      // A term match is a substring match with conditions at its ends: its value is a witness.
      return leaf(n.field, n.value);
    case 'glob':
      return leaf(n.field, longestToken(n.pattern));
    case 'keyword':
      return leaf(undefined, longestToken(n.pattern));
    case 'regex': {
      const req = regexLiterals(n.pattern, n.flags);
      if (!req) return [];
      const lits = req.map(literal);
      if (lits.some((t) => t === undefined)) return [];
      return [[...new Set(lits as string[])].map((text) => ({ field: n.field, text }))];
    }
    case 'and':
      return dedupe(n.children.flatMap(clausesOf).sort(byCost));
    case 'or': {
      const per = n.children.map(clausesOf);
      if (per.some((cs) => cs.length === 0)) return [];
      let width = 0;
      for (const cs of per) width = Math.min(MAX_CLAUSES, Math.max(width, cs.length));
      const out: Clause[] = [];
      for (let j = 0; j < width; j++) {
        const all = new Map<string, WitnessLiteral>();
        for (const cs of per) for (const l of cs[Math.min(j, cs.length - 1)]!) all.set(literalKey(l), l);
        out.push([...all.values()]);
      }
      return dedupe(out.sort(byCost));
    }
    default:
      return [];
  }
}

/**
 * EventIDs a match requires: the event's `EventID` (some number of it) is one of them. From
 * `EventID: 4688` (a number leaf, or a string leaf with a canonical decimal), intersected over
 * `and`, united over `or` when every branch has some; `undefined` when the rule does not say.
 */
export function requiredEventIds(n: Node): ReadonlySet<number> | undefined {
  switch (n.kind) {
    case 'num':
      return n.field === 'EventID' && n.op === 'eq' && n.part === undefined && n.exact === undefined ? new Set([n.value]) : undefined;
    case 'str':
      return n.field === 'EventID' && n.op === 'eq' && /^-?(?:0|[1-9]\d{0,14})$/.test(n.value) ? new Set([Number(n.value)]) : undefined;
    case 'and': {
      let out: Set<number> | undefined;
      for (const c of n.children) {
        const ids = requiredEventIds(c);
        if (!ids) continue;
        out = out ? new Set([...out].filter((x) => ids.has(x))) : new Set(ids);
      }
      return out;
    }
    case 'or': {
      const out = new Set<number>();
      for (const c of n.children) {
        const ids = requiredEventIds(c);
        if (!ids) return undefined;
        for (const x of ids) out.add(x);
      }
      return out;
    }
    case 'const':
      return n.value ? undefined : new Set();
    default:
      return undefined;
  }
}

/**
 * Folded literals one of which any match of the pattern contains (`undefined`: none known). A
 * position contributes a character when every code unit its set accepts folds to the same one
 * (`a`, or `[aA]` under `i`); runs of such positions, across zero-width assertions, are literals.
 */
export function regexLiterals(pattern: string, flags: string): string[] | undefined {
  let ast: Ast;
  try {
    ast = parseRegex(pattern, flags);
  } catch {
    return undefined;
  }
  return literalsOf(ast).req;
}

interface RegexInfo {
  /** The one folded string the node matches, when it matches exactly one. */
  exact: string | null;
  /** Literals one of which every match contains. */
  req: string[] | undefined;
}

const MAX_EXACT = 64;

function setChar(ranges: readonly number[]): string | null {
  let size = 0;
  for (let i = 0; i < ranges.length; i += 2) size += ranges[i + 1]! - ranges[i]! + 1;
  if (size === 0 || size > 8) return null;
  let ch: string | null = null;
  for (let i = 0; i < ranges.length; i += 2) {
    for (let c = ranges[i]!; c <= ranges[i + 1]!; c++) {
      const f = fold(String.fromCharCode(c));
      if (f.length !== 1 || (ch !== null && f !== ch)) return null;
      ch = f;
    }
  }
  return ch;
}

function clauseCost(req: readonly string[]): number {
  let c = 0;
  for (const s of req) c += Math.pow(0.5, Math.min(s.length, 8));
  return c;
}

function bestOf(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a) return b;
  if (!b) return a;
  return clauseCost(b) < clauseCost(a) ? b : a;
}

function literalsOf(n: Ast): RegexInfo {
  switch (n.t) {
    case 'set': {
      const c = setChar(n.ranges);
      return { exact: c, req: c === null ? undefined : [c] };
    }
    case 'assert':
      return { exact: '', req: undefined };
    case 'cat': {
      let req: string[] | undefined;
      let run = '';
      let exact: string | null = '';
      for (const item of n.items) {
        const info = literalsOf(item);
        if (info.exact !== null && run.length + info.exact.length <= MAX_EXACT) {
          run += info.exact;
          if (exact !== null) exact += info.exact;
          continue;
        }
        if (run !== '') req = bestOf(req, [run]);
        run = info.exact ?? '';
        exact = null;
        req = bestOf(req, info.req);
      }
      if (run !== '') req = bestOf(req, [run]);
      return { exact, req };
    }
    case 'alt': {
      const all = new Set<string>();
      for (const item of n.items) {
        const info = literalsOf(item);
        const req = info.req ?? (info.exact ? [info.exact] : undefined);
        if (!req) return { exact: null, req: undefined };
        for (const x of req) all.add(x);
      }
      return { exact: null, req: [...all] };
    }
    case 'rep': {
      const info = literalsOf(n.item);
      if (n.max === 0) return { exact: '', req: undefined };
      const exact = n.min === n.max && info.exact !== null && info.exact.length * n.min <= MAX_EXACT ? info.exact.repeat(n.min) : null;
      if (n.min === 0) return { exact, req: undefined };
      return { exact, req: exact ? [exact] : info.req };
    }
  }
}
