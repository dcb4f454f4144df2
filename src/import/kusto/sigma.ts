/**
 * `--fields sigma`: a lifted query's column predicates as tests of the Sigma fields the columns
 * hold, through the Kusto mapping read backwards (reverse.ts: one mapping, two directions). A
 * predicate whose column holds no Sigma field exactly, or whose operator has no exact Sigma test on
 * that field, refuses the rule (kind `mapping`), naming the column and the reason.
 */
import { fieldPath } from '../../eval/event.js';
import type { LogSource } from '../../model/types.js';
import type { KustoMapping } from '../../targets/kusto/mapping.js';
import { ImportRefusal, type Cond, type Leaf, type LiftedQuery, type LiftValue } from './lift.js';
import { liftPredicate, logsourceOf, sigmaFieldOf, type RowFilter, type ViewAt } from './reverse.js';

/** The KQL operator a leaf of the native lift stands for (the lift made it from that operator). */
function kqlOp(l: Leaf): string | undefined {
  const m = new Set(l.modifiers);
  const cs = m.has('cased');
  if (m.has('has')) return m.has('all') ? 'has_all' : l.list || m.has('expand') ? (cs ? undefined : 'has_any') : cs ? 'has_cs' : 'has';
  for (const s of ['contains', 'startswith', 'endswith'] as const) if (m.has(s)) return cs ? `${s}_cs` : s;
  if (m.has('re')) return 'matches regex';
  if (m.has('cidr')) return l.values.length > 1 ? 'ipv4_is_in_any_range' : 'ipv4_is_in_range';
  if (m.has('exists')) return 'isnotempty';
  for (const [mod, op] of [['gt', '>'], ['gte', '>='], ['lt', '<'], ['lte', '<=']] as const) if (m.has(mod)) return op;
  if (l.values.length === 1 && l.values[0]!.kind === 'null') return 'isempty';
  const list = l.list || m.has('expand');
  return list ? (cs ? 'in' : 'in~') : cs ? '==' : '=~';
}

export interface SigmaLift {
  logsource: LogSource;
  lifted: LiftedQuery;
  /** Output columns with no Sigma field, left out. */
  leftOut: string[];
  output: string[];
}

/**
 * The query in Sigma fields: its log source from the table and the row filters, the filters that
 * are the log source's own conditions dropped, every other predicate on the field its column holds.
 */
export function toSigma(m: KustoMapping, lifted: LiftedQuery, rowFilters: RowFilter[], outputColumns: string[]): SigmaLift {
  const ls = logsourceOf(m, lifted.table, rowFilters);
  if (!ls.ok) throw new ImportRefusal('mapping', lifted.table, `--fields sigma: ${ls.error}`, lifted.wheres[0]?.cond.kind === 'leaf' ? lifted.wheres[0].cond.offset : undefined);
  const at: ViewAt = { logsource: ls.logsource, view: ls.view };
  const consumed = new Set(ls.consumedFilters.map((f) => `${f.column}\0${f.values.map(String).sort().join('\0')}`));
  const paramValues = new Map(lifted.parameters.map((p) => [p.name, p.values]));

  /** A field's column and the path below it; Sigma's dotted names go through objects only, never an array index. */
  const columnPath = (name: string, offset: number): [string, string[]] => {
    const [column, ...path] = fieldPath(name);
    if (path.some((s) => typeof s === 'number')) throw new ImportRefusal('mapping', name, `--fields sigma: ${name} goes through an array index, which no Sigma field reads (Sigma's dotted names go through objects only)`, offset);
    return [column as string, path as string[]];
  };
  /** The Sigma field of a column (or a dotted path), where the mapping reads that field from it as it is. */
  const fieldOf = (name: string, offset: number): string => {
    const [column, path] = columnPath(name, offset);
    const f = sigmaFieldOf(m, at, column!, path);
    if (!f.exact) throw new ImportRefusal('mapping', name, `--fields sigma: no exact Sigma field for column ${name}: ${f.why}`, offset);
    if (f.transform) throw new ImportRefusal('mapping', name, `--fields sigma: column ${name} holds ${f.transform === 'basename' ? 'the file name' : 'coded values'} of ${f.field}, which a field comparison cannot use`, offset);
    return f.field;
  };
  const leaf = (l: Leaf): Cond | undefined => {
    if (l.modifiers.includes('fieldref')) {
      // Both sides are columns: each must be a Sigma field as it is.
      const v = l.values[0];
      const other = v?.kind === 'string' ? v.value : '';
      return { ...l, field: fieldOf(l.field, l.offset), values: [{ kind: 'string', value: fieldOf(other, l.offset) }] };
    }
    const [column, path] = columnPath(l.field, l.offset);
    const texts = l.values.flatMap((v) => (v.kind === 'param' ? (paramValues.get(v.name) ?? []) : [v]));
    const plain = texts.flatMap((v) => (v.kind === 'string' || v.kind === 'number' ? [v.value] : []));
    // The log source's own row condition (ActionType == "FileCreated", EventID == 4688): the log
    // source says it. A number has no case: the leaf of `EventID == 4688` carries no `cased`.
    const numbers = texts.length > 0 && texts.every((v) => v.kind === 'number');
    const equality = ['==', 'in', ...(numbers ? ['=~', 'in~'] : [])].includes(kqlOp(l) ?? '');
    if (path.length === 0 && equality && consumed.has(`${column}\0${plain.map(String).sort().join('\0')}`)) return undefined;
    const op = kqlOp(l);
    if (!op) throw new ImportRefusal('mapping', l.field, `--fields sigma: ${l.field}: a case-sensitive has_any has no Sigma form`, l.offset);
    if (l.values.some((v) => v.kind === 'param' && (paramValues.get(v.name) ?? []).length === 0)) {
      throw new ImportRefusal('mapping', l.field, `--fields sigma: ${l.field}: a placeholder list cannot be mapped before it has values`, l.offset);
    }
    const expression = lifted.computedFields.get(l.field);
    const r = liftPredicate(m, at, { column: column!, ...(path.length ? { path } : {}), ...(expression !== undefined ? { expression } : {}), op, values: op.startsWith('isnot') || op === 'isempty' ? [] : plain });
    if (!r.ok) throw new ImportRefusal('mapping', l.field, `--fields sigma: no exact Sigma field for column ${l.field}: ${r.why}`, l.offset);
    const v0 = l.values[0];
    const param = l.values.length === 1 && v0?.kind === 'param' ? v0.name : undefined;
    const tests: Cond[] = r.all.map((t) => {
      const same = param && t.values.length === plain.length && t.values.every((v, i) => v === plain[i]);
      // The regex flags of the lift (re|i|m|s) go with the test; liftPredicate reads the pattern alone.
      const flags = t.modifiers.includes('re') ? l.modifiers.filter((x) => x === 'i' || x === 'm' || x === 's') : [];
      const mods = [...t.modifiers, ...flags, ...(same ? ['expand'] : [])];
      const values: LiftValue[] = same
        ? [{ kind: 'param', name: param }]
        : t.values.map((v) => (v === null ? { kind: 'null' } : typeof v === 'number' ? { kind: 'number', value: v, text: String(v) } : { kind: 'string', value: v }));
      return { kind: 'leaf', field: t.field, modifiers: mods, values, list: !same && values.length > 1, offset: l.offset };
    });
    const c: Cond = tests.length === 1 ? tests[0]! : { kind: 'and', children: tests };
    return r.not ? { kind: 'not', child: c } : c;
  };
  const walk = (c: Cond): Cond | undefined => {
    if (c.kind === 'leaf') return leaf(c);
    if (c.kind === 'not') {
      const inner = walk(c.child);
      if (!inner) throw new ImportRefusal('unsupported', 'not', '--fields sigma: the negation of the log source\'s own row condition', undefined);
      return { kind: 'not', child: inner };
    }
    const kids = c.children.map(walk);
    if (c.kind === 'or' && kids.some((k) => !k)) throw new ImportRefusal('unsupported', 'or', "--fields sigma: an or with the log source's own row condition", undefined);
    const kept = kids.filter((k): k is Cond => k !== undefined);
    return kept.length === 0 ? undefined : kept.length === 1 ? kept[0] : { kind: c.kind, children: kept };
  };
  const wheres = lifted.wheres.flatMap((w) => {
    const cond = walk(w.cond);
    return cond ? [{ cond, comments: w.comments }] : [];
  });
  const output: string[] = [];
  const leftOut: string[] = [];
  for (const o of outputColumns) {
    const [column, ...path] = fieldPath(o);
    if (path.some((s) => typeof s === 'number')) {
      leftOut.push(o);
      continue;
    }
    const f = sigmaFieldOf(m, at, column as string, path as string[]);
    if (f.exact && !f.transform) output.push(f.field);
    else leftOut.push(o);
  }
  return { logsource: ls.logsource, lifted: { ...lifted, wheres }, leftOut, output: [...new Set(output)] };
}
