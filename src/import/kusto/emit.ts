/**
 * A lifted query as a rule document (YAML text in the rule format of docs/rule-format.md): each
 * `where` clause one or more selections, their AND the condition; the query's comments as YAML
 * comments before the selection of the clause they stand above, or as a parameter's description.
 */
import { createHash } from 'node:crypto';
import { Document, isMap, isScalar, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { literal, toSigmaNotation } from '../../parse/sigma-string.js';
import type { LogSource } from '../../model/types.js';
import type { Cond, Leaf, LiftValue, LiftedQuery } from './lift.js';

export interface RuleMetadata {
  title: string;
  id?: string;
  description?: string;
  level?: string;
  tags: string[];
  frequency?: string;
  lookback?: string;
  /** Fields the results show (entity mappings, custom details, projected columns). */
  output: string[];
  falsepositives?: string[];
  references?: string[];
}

export interface EmitInput {
  meta: RuleMetadata;
  logsource: LogSource;
  native?: { target: 'kusto'; platform: string; table: string };
  lifted: LiftedQuery;
  /** Field name of each native field name (identity in native mode). */
  field: (name: string) => string;
  /** Where the rule came from, for the header comment. */
  source: string;
}

/** A stable id for a rule without one: a UUID built from a hash of its source text (version 5 layout). */
export function derivedId(text: string): string {
  const h = createHash('sha1').update('rulec-import-kusto\0' + text).digest('hex');
  const v = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${v}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

type SigmaScalar = string | number | boolean | null;

function sigmaValue(v: LiftValue, regex: boolean): SigmaScalar {
  switch (v.kind) {
    case 'string':
      return regex ? v.value : toSigmaNotation(literal(v.value));
    case 'number':
      return v.value;
    case 'boolean':
      return v.value;
    case 'null':
      return null;
    case 'param':
      return `%${v.name}%`;
  }
}

const keyOf = (l: Leaf): string => [l.field, ...l.modifiers].join('|');

interface Selection {
  name: string;
  items: Leaf[];
  comments: string[];
}

class Builder {
  readonly selections: Selection[] = [];
  private readonly used = new Set<string>();

  constructor(private readonly field: (n: string) => string) {}

  private name(base: string, negated: boolean): string {
    const stem = `${negated ? 'filter' : 'selection'}_${base.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'x'}`;
    let n = stem;
    for (let i = 2; this.used.has(n); i++) n = `${stem}_${i}`;
    this.used.add(n);
    return n;
  }

  private select(items: Leaf[], negated: boolean, comments: string[]): string {
    const s: Selection = { name: this.name(this.field(items[0]!.field), negated), items, comments: [...comments] };
    comments.length = 0;
    this.selections.push(s);
    return s.name;
  }

  /** The condition text of `c`; `comments` go to the first selection made. */
  condition(c: Cond, comments: string[], negated = false): string {
    switch (c.kind) {
      case 'leaf':
        return this.select([c], negated, comments);
      case 'not': {
        const inner = this.condition(c.child, comments, !negated);
        return `not ${c.child.kind === 'leaf' || c.child.kind === 'not' ? inner : `(${inner})`}`;
      }
      case 'or': {
        // An OR of plain values of one field item is that item with a list of values.
        const leaves = c.children.every((x): x is Leaf => x.kind === 'leaf') ? (c.children as Leaf[]) : undefined;
        const mergeable =
          leaves &&
          leaves.every((l) => keyOf(l) === keyOf(leaves[0]!) && !l.modifiers.some((m) => m === 'all' || m === 'expand' || m === 'exists') && l.values.every((v) => v.kind === 'string' || v.kind === 'number'));
        if (mergeable) {
          const values = leaves.flatMap((l) => l.values);
          return this.select([{ ...leaves[0]!, values, list: values.length > 1 }], negated, comments);
        }
        // `and` binds tighter than `or`; the parentheses are for the reader.
        return c.children
          .map((x) => {
            const t = this.condition(x, comments, negated);
            return x.kind === 'and' && t.includes(' and ') ? `(${t})` : t;
          })
          .join(' or ');
      }
      case 'and': {
        const parts: string[] = [];
        let group: Leaf[] = [];
        const flush = (): void => {
          if (group.length) parts.push(this.select(group, negated, comments));
          group = [];
        };
        for (const x of c.children) {
          if (x.kind === 'leaf') {
            if (group.some((g) => keyOf(g) === keyOf(x))) flush();
            group.push(x);
          } else {
            flush();
            const t = this.condition(x, comments, negated);
            parts.push(x.kind === 'or' && t.includes(' or ') ? `(${t})` : t);
          }
        }
        flush();
        return parts.join(' and ');
      }
    }
  }
}

/** The rule as YAML text. */
export function emitRule(input: EmitInput): string {
  const { meta, lifted } = input;
  const b = new Builder(input.field);
  const conds: string[] = [];
  for (const w of lifted.wheres) {
    const comments = [...w.comments];
    const t = b.condition(w.cond, comments);
    conds.push(w.cond.kind === 'or' && t.includes(' or ') && lifted.wheres.length > 1 ? `(${t})` : t);
  }
  const detection: Record<string, unknown> = {};
  for (const s of b.selections) {
    const map: Record<string, unknown> = {};
    for (const l of s.items) {
      const regex = l.modifiers.includes('re');
      const key = [input.field(l.field), ...l.modifiers].join('|');
      const vals = l.values.map((v) => sigmaValue(v, regex));
      map[key] = l.list ? vals : vals[0];
    }
    detection[s.name] = map;
  }
  detection.condition = conds.join(' and ');

  const doc: Record<string, unknown> = { title: meta.title };
  if (meta.id) doc.id = meta.id;
  doc.status = 'experimental';
  if (meta.description) doc.description = meta.description;
  if (meta.references?.length) doc.references = meta.references;
  if (meta.tags.length) doc.tags = meta.tags;
  doc.logsource = input.logsource;
  if (input.native) doc.native = input.native;
  const declared = lifted.parameters.filter((p) => !p.placeholder);
  if (declared.length) {
    doc.parameters = Object.fromEntries(
      declared.map((p) => [p.name, { ...(p.description ? { description: p.description } : {}), values: p.values.map((v) => (v.kind === 'number' ? v.text : sigmaValue(v, false))) }]),
    );
  }
  const lookback = lifted.lookback ?? meta.lookback;
  if (meta.frequency || lookback) doc.schedule = { ...(meta.frequency ? { frequency: meta.frequency } : {}), ...(lookback ? { lookback } : {}) };
  doc.detection = detection;
  const output = meta.output.map(input.field);
  if (output.length) doc.output = output;
  if (meta.falsepositives?.length) doc.falsepositives = meta.falsepositives;
  if (meta.level) doc.level = meta.level;

  const y = new Document(doc);
  y.commentBefore = ` Imported by rulec import --from kusto from ${input.source}`;
  const root = y.contents as YAMLMap;
  const det = root.get('detection', true) as unknown as YAMLMap;
  for (const s of b.selections) {
    if (!s.comments.length) continue;
    const pair = det.items.find((p: Pair) => isScalar(p.key) && (p.key as Scalar).value === s.name);
    if (pair) (pair.key as Scalar).commentBefore = s.comments.map((c) => ` ${c}`).join('\n');
  }
  const detPair = root.items.find((p: Pair) => isScalar(p.key) && (p.key as Scalar).value === 'detection');
  const notes = [
    ...lifted.parameters
      .filter((p) => p.placeholder)
      .map((p) => ` %${p.name}% is a placeholder: the query's list was empty (dynamic([])); give its values with --placeholders or --placeholder${p.description ? `. ${p.description}` : ''}`),
    ...lifted.comments.map((c) => ` KQL: ${c}`),
    ...lifted.notCarried.map((c) => ` not carried (a computed result column; it selects no event): ${c}`),
  ];
  if (detPair && notes.length) (detPair.key as Scalar).commentBefore = notes.join('\n');
  for (const p of root.items) if (isMap(p.value)) (p.value as YAMLMap).flow = false;
  return y.toString({ lineWidth: 0, singleQuote: true });
}

/** A file name from a title: lowercase words joined by `_`. */
export function fileNameOf(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 100);
  return `${slug || 'imported_rule'}.yml`;
}
