/**
 * Indicators: the field, kind and values a rule matches, read from its IR leaves, and how many other
 * rules of a collection look for the same field, kind and value (a widely shared indicator stands
 * out; a count of 0 marks one specific to the rule).
 */
import type { GlobToken, Leaf, Node } from '../ir/types.js';
import { fold } from '../runtime/fold.js';

export interface Indicator {
  /** The Sigma field; `(keywords)` for a field-less search. */
  field: string;
  /** eq, contains, startswith, endswith, match (a glob), regex, cidr, lt, lte, gt, gte, exists, null, field eq..., keyword, has, has all. */
  kind: string;
  /** Under a `not`: the rule excludes events with it. */
  negated: boolean;
  caseSensitive: boolean;
  values: { value: string; corpus: number }[];
}

const STR_KIND = { eq: 'eq', prefix: 'startswith', suffix: 'endswith', contains: 'contains' } as const;

function globText(p: readonly GlobToken[]): string {
  return p.map((t) => (typeof t === 'string' ? t.replace(/[*?\\]/g, '\\$&') : t.wildcard)).join('');
}

interface Found {
  field: string;
  kind: string;
  value: string | undefined;
  caseSensitive: boolean;
  negated: boolean;
}

function describe(l: Leaf): Omit<Found, 'negated'> {
  switch (l.kind) {
    case 'str':
      return { field: l.field, kind: STR_KIND[l.op], value: l.value, caseSensitive: l.case === 'cs' };
    case 'glob':
      return { field: l.field, kind: 'match', value: globText(l.pattern), caseSensitive: l.case === 'cs' };
    case 'regex':
      return { field: l.field, kind: 'regex', value: l.flags ? `(?${l.flags})${l.pattern}` : l.pattern, caseSensitive: !l.flags.includes('i') };
    case 'cidr':
      return { field: l.field, kind: 'cidr', value: `${l.network}/${l.prefix}`, caseSensitive: false };
    case 'num':
      return { field: l.field, kind: l.part ? `${l.part} ${l.op}` : l.op, value: String(l.value), caseSensitive: false };
    case 'bool':
      return { field: l.field, kind: 'eq', value: String(l.value), caseSensitive: false };
    case 'exists':
    case 'null':
      return { field: l.field, kind: l.kind, value: undefined, caseSensitive: false };
    case 'fieldref':
      return { field: l.field, kind: `field ${STR_KIND[l.op]}`, value: l.other, caseSensitive: l.case === 'cs' };
    case 'keyword':
      return { field: '(keywords)', kind: 'keyword', value: globText(l.pattern), caseSensitive: l.case === 'cs' };
    case 'has':
      return { field: l.field, kind: 'has', value: l.value, caseSensitive: l.case === 'cs' };
  }
}

function walk(n: Node, negated: boolean, out: Found[]): void {
  switch (n.kind) {
    case 'and': {
      // Term matches of one field that must all hold (`has|all`, KQL's has_all) are one indicator kind.
      const key = (c: Node): string | undefined => (c.kind === 'has' ? `${c.field}\u0000${c.case}` : undefined);
      const counts = new Map<string, number>();
      for (const c of n.children) {
        const k = key(c);
        if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const c of n.children) {
        const k = key(c);
        if (k !== undefined && counts.get(k)! > 1) out.push({ ...describe(c as Leaf), kind: 'has all', negated });
        else walk(c, negated, out);
      }
      return;
    }
    case 'or':
      for (const c of n.children) walk(c, negated, out);
      return;
    case 'not':
      walk(n.child, !negated, out);
      return;
    case 'const':
      return;
    default:
      out.push({ ...describe(n), negated });
  }
}

function leavesOf(ir: Node): Found[] {
  const out: Found[] = [];
  walk(ir, false, out);
  return out;
}

/** The key two rules share when they look for the same thing (case-insensitive values compare folded). */
function keyOf(f: Found): string {
  return `${f.field}\u0000${f.kind}\u0000${f.value === undefined ? '' : f.caseSensitive ? f.value : fold(f.value)}`;
}

/** How many rules of a collection hold each indicator (a rule counts once per indicator). */
export function corpusIndex(irs: Iterable<Node>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ir of irs) {
    for (const k of new Set(leavesOf(ir).map(keyOf))) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/**
 * The indicators of one rule, grouped by field, kind, negation and case, in the order the rule
 * tests them; `inCorpus` says whether the rule itself is one of the rules the index counted.
 */
export function indicatorsOf(ir: Node, corpus: ReadonlyMap<string, number>, inCorpus: boolean): Indicator[] {
  const groups: Indicator[] = [];
  for (const f of leavesOf(ir)) {
    let g = groups.find((x) => x.field === f.field && x.kind === f.kind && x.negated === f.negated && x.caseSensitive === f.caseSensitive);
    if (!g) groups.push((g = { field: f.field, kind: f.kind, negated: f.negated, caseSensitive: f.caseSensitive, values: [] }));
    if (f.value === undefined || g.values.some((v) => v.value === f.value)) continue;
    const n = corpus.get(keyOf(f)) ?? 0;
    g.values.push({ value: f.value, corpus: Math.max(0, n - (inCorpus ? 1 : 0)) });
  }
  return groups;
}

/**
 * The IR leaves of an operand, one line per run of leaves that test the same field the same way
 * (`Image endswith \customscripthandler.exe`, `TargetFilename endswith .dll, .exe`, `not ...`).
 */
export function predicatesOf(ir: Node): string[] {
  const runs: { head: string; values: string[] }[] = [];
  for (const f of leavesOf(ir)) {
    const head = `${f.negated ? 'not ' : ''}${f.field} ${f.kind}${f.caseSensitive ? ' (case-sensitive)' : ''}`;
    const last = runs[runs.length - 1];
    if (last && last.head === head && f.value !== undefined && last.values.length) last.values.push(f.value);
    else runs.push({ head, values: f.value === undefined ? [] : [f.value] });
  }
  return runs.map((r) => (r.values.length ? `${r.head} ${r.values.join(', ')}` : r.head));
}
