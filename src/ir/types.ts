/**
 * The match IR: one normalized boolean tree per rule whose leaves are exact match primitives. The
 * evaluator and every backend are generated from this and nothing else; `docs/semantics.md` defines
 * each node precisely. Nodes are plain, frozen-by-convention data (JSON-serializable) so IR dumps can
 * be golden files and no compiled object ever lives in the tree.
 */

/** Case handling of string primitives: `ci` folds both sides (docs/semantics.md, "Case folding"). */
export type Case = 'ci' | 'cs';

/** A glob pattern: literal runs and wildcards (`*` any run, `?` exactly one character). */
export type GlobToken = string | { wildcard: '*' | '?' };

export type StrOp = 'eq' | 'prefix' | 'suffix' | 'contains';
export type NumOp = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';
export type TimePart = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

/** Where a set of sibling leaves came from: a named parameter expanded by `|expand`. */
export interface ParamOrigin {
  name: string;
}

/** String comparison of a field's text against a literal. */
export interface StrLeaf {
  kind: 'str';
  field: string;
  op: StrOp;
  value: string;
  case: Case;
}

/** Anchored glob: the whole field text must match. */
export interface GlobLeaf {
  kind: 'glob';
  field: string;
  pattern: GlobToken[];
  case: Case;
}

/** Unanchored regular expression (matches if any substring matches). */
export interface RegexLeaf {
  kind: 'regex';
  field: string;
  pattern: string;
  /** Subset of `ims`, in that order. */
  flags: string;
}

export interface CidrLeaf {
  kind: 'cidr';
  field: string;
  family: 4 | 6;
  /** Canonical network address (host bits cleared) and prefix length. */
  network: string;
  prefix: number;
}

/** Numeric comparison; with `part`, of that component of the field's timestamp (UTC). */
export interface NumLeaf {
  kind: 'num';
  field: string;
  op: NumOp;
  value: number;
  /**
   * The literal's exact integer text (`12345678901234567890`) when `value`, a double, is not it (an
   * integer beyond 2^53): the comparison is exact and every printer writes this text, never `value`.
   */
  exact?: string;
  part?: TimePart;
}

export interface BoolLeaf {
  kind: 'bool';
  field: string;
  value: boolean;
}

/** The field holds a value: present, not null, not the empty string. */
export interface ExistsLeaf {
  kind: 'exists';
  field: string;
}

/** The field holds no value: absent, null, or the empty string. */
export interface NullLeaf {
  kind: 'null';
  field: string;
}

/** Compare the text of two fields of the same event. */
export interface FieldRefLeaf {
  kind: 'fieldref';
  field: string;
  op: StrOp;
  other: string;
  case: Case;
}

/**
 * Term match (KQL `has`, docs/semantics.md "Term match"): `value` occurs in the field's text with
 * no term character (ASCII letter or digit) adjoining it where its own first or last character is
 * one. `value` holds at least one term character.
 */
export interface HasLeaf {
  kind: 'has';
  field: string;
  value: string;
  case: Case;
}

/** Field-less search: some string value anywhere in the event contains the pattern. */
export interface KeywordLeaf {
  kind: 'keyword';
  /** Unanchored glob (`*`, `?`); a plain literal is a substring search. */
  pattern: GlobToken[];
  case: Case;
}

export type Leaf =
  | StrLeaf
  | GlobLeaf
  | RegexLeaf
  | CidrLeaf
  | NumLeaf
  | BoolLeaf
  | ExistsLeaf
  | NullLeaf
  | FieldRefLeaf
  | KeywordLeaf
  | HasLeaf;

export interface AndNode {
  kind: 'and';
  children: Node[];
}

export interface OrNode {
  kind: 'or';
  children: Node[];
  /** Set when the children are the expansion of a named parameter (`|expand`). */
  param?: ParamOrigin;
}

export interface NotNode {
  kind: 'not';
  child: Node;
}

/** Constant verdict (e.g. an `or` over an empty parameter list). */
export interface ConstNode {
  kind: 'const';
  value: boolean;
}

export type Node = AndNode | OrNode | NotNode | ConstNode | Leaf;
export type LeafKind = Leaf['kind'];

export const LEAF_KINDS: readonly LeafKind[] = [
  'str',
  'glob',
  'regex',
  'cidr',
  'num',
  'bool',
  'exists',
  'null',
  'fieldref',
  'keyword',
  'has',
];

export function isLeaf(n: Node): n is Leaf {
  return n.kind !== 'and' && n.kind !== 'or' && n.kind !== 'not' && n.kind !== 'const';
}

/** The fields a node reads (fieldref contributes both sides), in first-seen order. */
export function fieldsOf(n: Node, out: Set<string> = new Set()): Set<string> {
  switch (n.kind) {
    case 'and':
    case 'or':
      for (const c of n.children) fieldsOf(c, out);
      break;
    case 'not':
      fieldsOf(n.child, out);
      break;
    case 'const':
    case 'keyword':
      break;
    case 'fieldref':
      out.add(n.field);
      out.add(n.other);
      break;
    default:
      out.add(n.field);
  }
  return out;
}

/**
 * The values `field` must equal (`str` or `num` eq, not negated) in every event the node matches,
 * or undefined when the node admits other values. An `or` constrains only when each branch does;
 * `const false` admits none. Read as a summary (which EventIDs or ActionTypes a rule selects), so a
 * case-insensitive eq gives its value as written, and an eq of '' (which also matches an absent
 * field) gives ''.
 */
export function selectedValues(n: Node, field: string): string[] | undefined {
  switch (n.kind) {
    case 'and': {
      let out: string[] | undefined;
      for (const c of n.children) {
        const v = selectedValues(c, field);
        if (v) out = out ? out.filter((x) => v.includes(x)) : v;
      }
      return out;
    }
    case 'or': {
      const out: string[] = [];
      for (const c of n.children) {
        const v = selectedValues(c, field);
        if (!v) return undefined;
        for (const x of v) if (!out.includes(x)) out.push(x);
      }
      return out;
    }
    case 'const':
      return n.value ? undefined : [];
    case 'str':
      return n.field === field && n.op === 'eq' ? [n.value] : undefined;
    case 'num':
      return n.field === field && n.op === 'eq' && !n.part ? [n.exact ?? String(n.value)] : undefined;
    default:
      return undefined;
  }
}
