/**
 * YAML text -> rule model, with a source position on everything a later stage may complain about.
 * Structure is checked by the JSON Schema (schema/rule.schema.json); this module then reads the
 * YAML nodes (not the plain JS values) so every search, item, modifier and value keeps its position.
 */
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  isPair,
  type Document,
  type Node as YNode,
  type Pair,
  type Scalar,
  type YAMLMap,
  Scalar as ScalarClass,
} from 'yaml';
import { closest, error, warning, RuleError, type Diagnostic, type Position } from '../diag/diagnostic.js';
import { parseTimestamp } from '../runtime/time.js';
import {
  CORRELATION_TYPES,
  type CompareOp,
  type Condition,
  type CorrelationRule,
  type CorrelationTest,
  type CorrelationType,
  type Detection,
  type ExpectedHit,
  type DetectionRule,
  type FieldItem,
  type FilterRule,
  type LogSource,
  type Parameter,
  type RawValue,
  type RuleDocument,
  type RuleMeta,
  type RuleTest,
  type Schedule,
  type ScheduleScope,
  type ScheduleTimes,
  SCHEDULE_SCOPES,
  type SearchIdentifier,
} from '../model/types.js';
import { ruleAttack } from '../attack/index.js';
import { parseCondition } from './condition.js';
import { validateDocument } from './schema.js';
import { documentValue, readYamlDocuments, type YamlReader } from './yaml-reader.js';

export interface ParsedDocument {
  index: number;
  at: Position;
  /** Present when the document parsed and passed the schema. */
  rule?: RuleDocument;
  /** id / title even when the document is invalid, for reports. */
  id?: string;
  title?: string;
  diagnostics: Diagnostic[];
}

export interface ParsedFile {
  path: string;
  documents: ParsedDocument[];
}

const TOP_LEVEL_KEYS = [
  'title', 'id', 'name', 'status', 'description', 'references', 'author', 'date', 'modified', 'tags',
  'logsource', 'detection', 'fields', 'falsepositives', 'level', 'related', 'scope', 'taxonomy',
  'license', 'correlation', 'filter', 'parameters', 'schedule', 'output', 'tests', 'native',
];

/** Diagnostics of one YAML document and the positions of its nodes. */
export class Ctx {
  readonly diags: Diagnostic[] = [];
  constructor(readonly lc: LineCounter) {}

  pos(node: YNode | Pair | null | undefined): Position {
    const n = isPair(node) ? (node.key as YNode | null) : node;
    const offset = n?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }

  at(offset: number): Position {
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }

  err(code: string, message: string, at: Position): void {
    this.diags.push(error(code, message, at));
  }
}

/** `read`: the YAML reader (tests give the library's alone, to compare the two). */
export function parseRuleText(text: string, path: string, read: YamlReader = readYamlDocuments): ParsedFile {
  const lc = new LineCounter();
  const list = read(text, lc).docs;
  const out: ParsedFile = { path, documents: [] };
  list.forEach((doc, index) => {
    const ctx = new Ctx(lc);
    const parsed: ParsedDocument = { index, at: ctx.pos(doc.contents), diagnostics: ctx.diags };
    for (const e of doc.errors) {
      const p = lc.linePos(e.pos[0]);
      ctx.err('yaml-syntax', `YAML syntax error: ${firstLine(e.message)}`, { line: p.line, column: p.col });
    }
    if (doc.errors.length > 0) {
      out.documents.push(parsed);
      return;
    }
    // A trailing `---` or a comment-only document carries nothing.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    try {
      readDocument(ctx, doc, parsed);
    } catch (e) {
      if (e instanceof RuleError) parsed.diagnostics.push(e.toDiagnostic());
      else throw e;
    }
    out.documents.push(parsed);
  });
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Every key of a rule is a name (`title`, `Image|endswith`). A `{...}` or `[...]` key, or an alias,
 * would reach JavaScript as its text ("{ Image|endswith: a }"), a field no event has, and the yaml
 * library would print a warning of its own: refuse it where it is written. A direct walk: yaml's
 * `visit` cost 90 ms over the SigmaHQ corpus, this 20 ms.
 */
function rejectComplexKeys(ctx: Ctx, node: unknown): void {
  if (isMap(node)) for (const pair of node.items) rejectComplexKey(ctx, pair);
  else if (isSeq(node)) {
    for (const item of node.items) {
      if (isPair(item)) rejectComplexKey(ctx, item);
      else rejectComplexKeys(ctx, item);
    }
  }
}

function rejectComplexKey(ctx: Ctx, pair: Pair): void {
  const key = pair.key;
  if (key !== null && !isScalar(key)) {
    const what = isMap(key) ? 'a {...} map' : isSeq(key) ? 'a [...] list' : 'an alias';
    throw new RuleError('complex-key', `a key must be a plain name such as 'Image|endswith', not ${what}; check the indentation and the braces around this key`, ctx.pos(key as YNode));
  }
  rejectComplexKeys(ctx, pair.value);
}

function readDocument(ctx: Ctx, doc: Document.Parsed, parsed: ParsedDocument): void {
  const root = doc.contents;
  if (!isMap(root)) {
    throw new RuleError('not-a-rule', 'a rule document must be a YAML map with keys such as title, logsource and detection', ctx.pos(root));
  }
  rejectComplexKeys(ctx, root);
  const js = documentValue(doc) as Record<string, unknown>;
  if (typeof js.title === 'string') parsed.title = js.title;
  if (typeof js.id === 'string') parsed.id = js.id;

  const action = root.items.find((p) => keyText(p) === 'action');
  if (action && isScalar(action.value) && action.value.value === 'global') {
    throw new RuleError(
      'legacy-global',
      "the Sigma v1 'action: global' multi-document form is not supported; write each rule as a complete document (merge the global part into each one)",
      ctx.pos(action),
    );
  }
  for (const pair of root.items) {
    const k = keyText(pair);
    if (k === undefined || TOP_LEVEL_KEYS.includes(k)) continue;
    const near = closest(k, TOP_LEVEL_KEYS);
    if (near) ctx.diags.push(warning('unknown-key', `unknown top-level key '${k}'; did you mean '${near}'?`, ctx.pos(pair)));
  }

  const kind = 'correlation' in js ? 'correlationRule' : 'filter' in js ? 'filterRule' : 'detectionRule';
  const problems = validateDocument(kind, js);
  for (const p of problems) {
    let node: unknown = doc.getIn(p.path, true);
    if (p.key !== undefined && isMap(node)) {
      const pair = node.items.find((x) => keyText(x) === p.key);
      if (pair) node = pair;
    }
    if (node === undefined) node = nearestNode(doc, p.path);
    ctx.err('schema', p.message, ctx.pos(node as YNode));
  }
  if (problems.length > 0) return;

  const meta = readMeta(ctx, root, js);
  if (kind === 'detectionRule') parsed.rule = readDetectionRule(ctx, root, js, meta);
  else if (kind === 'correlationRule') parsed.rule = readCorrelation(ctx, root, js, meta);
  else parsed.rule = readFilter(ctx, root, js, meta);
}

function nearestNode(doc: Document.Parsed, path: (string | number)[]): unknown {
  for (let n = path.length - 1; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (node !== undefined) return node;
  }
  return doc.contents;
}

export function keyText(p: Pair): string | undefined {
  const k = p.key;
  if (isScalar(k)) return k.value === null ? '' : String(k.value);
  return undefined;
}

export function child(map: YAMLMap, key: string): YNode | undefined {
  const pair = map.items.find((p) => keyText(p) === key);
  return (pair?.value as YNode | null | undefined) ?? undefined;
}

function asList<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function readMeta(ctx: Ctx, root: YAMLMap, js: Record<string, unknown>): RuleMeta {
  const s = (k: string): string | undefined => (typeof js[k] === 'string' ? (js[k] as string) : undefined);
  const meta: RuleMeta = { title: s('title')!, tags: (js.tags as string[] | undefined) ?? [], at: ctx.pos(root) };
  for (const k of ['id', 'name', 'status', 'description', 'author', 'date', 'modified', 'level', 'taxonomy', 'license'] as const) {
    const v = s(k);
    if (v !== undefined) meta[k] = v;
  }
  if (js.references) meta.references = js.references as string[];
  if (js.falsepositives !== undefined) meta.falsepositives = asList(js.falsepositives as string | string[]);
  if (js.fields) meta.fields = js.fields as string[];
  if (js.related) meta.related = js.related as { id: string; type: string }[];
  if (js.scope) meta.scope = js.scope as string[];
  // Retired ATT&CK ids still deploy but misfile the rule in every ATT&CK view; the artifacts leave them out.
  const tagsNode = child(root, 'tags');
  for (const p of ruleAttack(meta.tags).problems) {
    const node = isSeq(tagsNode) ? (tagsNode.items[p.index] as YNode | undefined) : undefined;
    ctx.diags.push(warning('attack-tag', p.message, ctx.pos(node ?? tagsNode ?? root)));
  }
  return meta;
}

function readLogSource(js: Record<string, unknown>): LogSource {
  const ls = (js.logsource ?? {}) as Record<string, string>;
  const out: LogSource = {};
  for (const k of ['product', 'category', 'service', 'definition'] as const) if (ls[k] !== undefined) out[k] = ls[k];
  return out;
}

/** Where each log source key's value is written, so that messages about it can point there. */
function readLogSourceAt(ctx: Ctx, node: YNode | undefined): DetectionRule['logsourceAt'] {
  const at: NonNullable<DetectionRule['logsourceAt']> = {};
  if (!isMap(node)) return at;
  for (const k of ['product', 'category', 'service'] as const) {
    const pair = node.items.find((p) => keyText(p) === k);
    if (pair) at[k] = ctx.pos((pair.value as YNode | null) ?? pair);
  }
  return at;
}

function readDetectionRule(ctx: Ctx, root: YAMLMap, js: Record<string, unknown>, meta: RuleMeta): DetectionRule {
  const detNode = child(root, 'detection') as YAMLMap;
  const rule: DetectionRule = {
    ...meta,
    kind: 'detection',
    logsource: readLogSource(js),
    logsourceAt: readLogSourceAt(ctx, child(root, 'logsource')),
    detection: readDetection(ctx, detNode, ['condition', 'timeframe']),
    parameters: readParameters(ctx, child(root, 'parameters')),
    output: (js.output as string[] | undefined) ?? [],
    tests: readTests(ctx, child(root, 'tests'), js.tests as Record<string, unknown>[] | undefined),
  };
  const native = js.native as { target: 'kusto'; platform: string; table: string } | undefined;
  if (native) rule.native = { target: native.target, platform: native.platform, table: native.table, at: ctx.pos(child(root, 'native') ?? root) };
  const sched = js.schedule as (ScheduleTimes & Partial<Record<ScheduleScope, ScheduleTimes>>) | undefined;
  if (sched) {
    const node = child(root, 'schedule');
    const overrides: Schedule['overrides'] = {};
    for (const scope of SCHEDULE_SCOPES) if (sched[scope]) overrides[scope] = sched[scope];
    rule.schedule = {
      ...(sched.frequency !== undefined ? { frequency: sched.frequency } : {}),
      ...(sched.lookback !== undefined ? { lookback: sched.lookback } : {}),
      overrides,
      at: ctx.pos(node),
    };
    // Each place the rule can run gets the check, with the values it would run with.
    const places: [string, ScheduleTimes, YNode | undefined][] = [['schedule', sched, node]];
    for (const [scope, o] of Object.entries(overrides)) {
      places.push([`schedule.${scope}`, { frequency: o.frequency ?? sched.frequency, lookback: o.lookback ?? sched.lookback }, isMap(node) ? child(node, scope) : undefined]);
    }
    for (const [where, t, at] of places) {
      const f = t.frequency ? durationSeconds(t.frequency) : undefined;
      const l = t.lookback ? durationSeconds(t.lookback) : undefined;
      if (f !== undefined && l !== undefined && l < f) {
        ctx.err('schedule', `${where}.lookback (${t.lookback}) is shorter than ${where}.frequency (${t.frequency}): events between runs would never be searched`, ctx.pos(at ?? root));
      }
    }
  }
  return rule;
}

export function durationSeconds(d: string): number {
  const m = /^([1-9][0-9]*)([smhdwMy])$/.exec(d);
  if (!m) return NaN;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000, y: 31536000 }[m[2] as 's'];
  return Number(m[1]) * unit;
}

function readParameters(ctx: Ctx, node: YNode | undefined): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  if (!node || !isMap(node)) return out;
  for (const pair of node.items) {
    const name = keyText(pair)!;
    let valuesNode = pair.value as YNode;
    let description: string | undefined;
    if (isMap(valuesNode)) {
      const d = child(valuesNode, 'description');
      if (isScalar(d)) description = String(d.value);
      valuesNode = child(valuesNode, 'values')!;
    }
    const values = isSeq(valuesNode) ? valuesNode.items.map((v) => rawValue(ctx, v as YNode)) : [];
    const p: Parameter = { name, values, at: ctx.pos(pair) };
    if (description !== undefined) p.description = description;
    if (values.some((v) => v.type === 'null')) ctx.err('parameter-value', `parameter '${name}' contains null; list only values`, p.at);
    out.set(name, p);
  }
  return out;
}

function readTests(ctx: Ctx, node: YNode | undefined, js: Record<string, unknown>[] | undefined): RuleTest[] {
  if (!node || !isSeq(node) || !js) return [];
  return js.map((t, i) => {
    const test: RuleTest = {
      event: t.event as Record<string, unknown>,
      match: t.match as boolean,
      at: ctx.pos(node.items[i] as YNode),
    };
    if (typeof t.name === 'string') test.name = t.name;
    return test;
  });
}

export function rawValue(ctx: Ctx, node: YNode | null): RawValue {
  const at = ctx.pos(node);
  if (node === null || (isScalar(node) && node.value === null)) return { type: 'null', at };
  if (!isScalar(node)) throw new RuleError('value-type', 'expected a single value (string, number, boolean or null) here, found a ' + (isMap(node) ? 'map' : 'list'), at);
  const v = node.value;
  if (typeof v === 'string') return { type: 'string', value: v, at };
  if (typeof v === 'number') {
    const text = typeof node.source === 'string' ? node.source : String(v);
    return { type: 'number', value: v, text, at };
  }
  if (typeof v === 'boolean') return { type: 'boolean', value: v, at };
  if (typeof v === 'bigint') return { type: 'number', value: Number(v), text: String(v), at };
  return { type: 'string', value: String(v), at };
}

function readDetection(ctx: Ctx, det: YAMLMap, reserved: string[]): Detection {
  const searches = new Map<string, SearchIdentifier>();
  const conditions: Condition[] = [];
  const conditionSource: string[] = [];
  let timeframe: string | undefined;
  for (const pair of det.items) {
    const name = keyText(pair)!;
    const value = pair.value as YNode;
    if (name === 'condition') {
      const nodes = isSeq(value) ? (value.items as YNode[]) : [value];
      for (const n of nodes) {
        const sc = n as Scalar;
        const src = String(sc.value);
        conditionSource.push(src);
        try {
          conditions.push(parseCondition(src, conditionOffsetMapper(ctx, sc)));
        } catch (e) {
          if (e instanceof RuleError) ctx.diags.push(e.toDiagnostic());
          else throw e;
        }
      }
      continue;
    }
    if (name === 'timeframe') {
      timeframe = String((value as Scalar).value);
      continue;
    }
    if (reserved.includes(name)) continue;
    try {
      searches.set(name, readSearch(ctx, value, ctx.pos(pair)));
    } catch (e) {
      if (e instanceof RuleError) ctx.diags.push(e.toDiagnostic());
      else throw e;
    }
  }
  const d: Detection = { searches, conditions, conditionSource };
  if (timeframe !== undefined) d.timeframe = timeframe;
  return d;
}

/** Map an offset inside the condition text to the source position (exact for one-line scalars). */
function conditionOffsetMapper(ctx: Ctx, sc: Scalar): (offset: number) => Position {
  const start = sc.range?.[0] ?? 0;
  const quoted = sc.type === ScalarClass.QUOTE_DOUBLE || sc.type === ScalarClass.QUOTE_SINGLE;
  const block = sc.type === ScalarClass.BLOCK_FOLDED || sc.type === ScalarClass.BLOCK_LITERAL;
  const src = typeof sc.source === 'string' ? sc.source : String(sc.value);
  return (offset) => {
    if (block || src.includes('\n')) return ctx.at(start);
    return ctx.at(start + (quoted ? 1 : 0) + offset);
  };
}

function readSearch(ctx: Ctx, node: YNode | null, at: Position): SearchIdentifier {
  if (node === null || (isScalar(node) && node.value === null)) {
    throw new RuleError('empty-search', 'this search identifier is empty; give it field conditions or keywords', at);
  }
  if (isMap(node)) return { kind: 'maps', maps: [readFieldMap(ctx, node)], at };
  if (isSeq(node)) {
    const items = node.items as YNode[];
    if (items.every((i) => isMap(i))) return { kind: 'maps', maps: items.map((m) => readFieldMap(ctx, m as YAMLMap)), at };
    if (items.every((i) => !isMap(i) && !isSeq(i))) {
      return { kind: 'keywords', item: { field: null, modifiers: [], values: items.map((i) => rawValue(ctx, i)), isList: true, at }, at };
    }
    const bad = items.find((i) => isSeq(i)) ?? items.find((i) => !isMap(i))!;
    throw new RuleError(
      'search-shape',
      'a search identifier list must hold either maps (alternatives, OR) or plain values (keywords), not both',
      ctx.pos(bad),
    );
  }
  return { kind: 'keywords', item: { field: null, modifiers: [], values: [rawValue(ctx, node)], isList: false, at }, at };
}

function readFieldMap(ctx: Ctx, map: YAMLMap): FieldItem[] {
  const items: FieldItem[] = [];
  for (const pair of map.items) {
    const keyNode = pair.key as Scalar;
    const key = keyText(pair) ?? '';
    const keyAt = ctx.pos(pair);
    const quoted = keyNode.type === ScalarClass.QUOTE_DOUBLE || keyNode.type === ScalarClass.QUOTE_SINGLE;
    const base = (keyNode.range?.[0] ?? 0) + (quoted ? 1 : 0);
    const parts = key.split('|');
    const modifiers: FieldItem['modifiers'] = [];
    let offset = parts[0]!.length + 1;
    for (const m of parts.slice(1)) {
      modifiers.push({ name: m, at: ctx.at(base + offset) });
      offset += m.length + 1;
    }
    const value = pair.value as YNode | null;
    let values: RawValue[];
    let isList = false;
    if (value !== null && isSeq(value)) {
      isList = true;
      values = (value.items as YNode[]).map((v) => rawValue(ctx, v));
      if (values.length === 0) values = [{ type: 'null', at: ctx.pos(value) }];
    } else {
      values = [rawValue(ctx, value)];
    }
    items.push({ field: parts[0] === '' ? null : parts[0]!, modifiers, values, isList, at: keyAt });
  }
  return items;
}

function readCorrelation(ctx: Ctx, root: YAMLMap, js: Record<string, unknown>, meta: RuleMeta): CorrelationRule {
  const c = js.correlation as Record<string, unknown>;
  const cNode = child(root, 'correlation') as YAMLMap;
  const type = c.type as CorrelationType;
  const rules = asList(c.rules as string | string[]);
  const groupBy = asList(c['group-by'] as string | string[] | undefined);
  const timespan = String(c.timespan);
  const cond = c.condition as Record<string, unknown> | undefined;
  const ops: { op: CompareOp; value: number }[] = [];
  if (cond) for (const op of ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as CompareOp[]) if (typeof cond[op] === 'number') ops.push({ op, value: cond[op] as number });
  const at = ctx.pos(cNode);
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  const valueType = type.startsWith('value_');
  if (!temporal && !cond) ctx.err('correlation', `a ${type} correlation needs a condition such as 'condition: {gte: 10}'`, at);
  if (cond && ops.length === 0) ctx.err('correlation', "the correlation condition needs a comparison: one of gt, gte, lt, lte, eq, neq", ctx.pos(child(cNode, 'condition')));
  if (valueType && typeof cond?.field !== 'string') ctx.err('correlation', `a ${type} correlation needs 'condition.field', the field whose values are aggregated`, ctx.pos(child(cNode, 'condition') ?? cNode));
  if (!valueType && typeof cond?.field === 'string') ctx.err('correlation', `'condition.field' applies only to value_* correlations, not ${type}`, ctx.pos(child(cNode, 'condition')));
  const percentile = cond?.percentile;
  if (percentile !== undefined && type !== 'value_percentile') ctx.err('correlation', `'condition.percentile' applies only to value_percentile, not ${type}`, ctx.pos(child(cNode, 'condition')));
  if (type === 'value_percentile' && (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100))) {
    // The specification's example has none and its text reads two ways (a value's rank, a value's share): no default is safe.
    ctx.err('correlation', "a value_percentile correlation needs 'condition.percentile', the percentile (above 0, up to 100) of condition.field whose value the condition compares, e.g. 'percentile: 95'", ctx.pos(child(cNode, 'condition') ?? cNode));
  }
  if (temporal && rules.length < 2) ctx.err('correlation', `a ${type} correlation relates at least two rules`, ctx.pos(child(cNode, 'rules')));
  if (!CORRELATION_TYPES.includes(type)) ctx.err('correlation', `unknown correlation type '${String(type)}'`, at);
  const aliases = new Map<string, Map<string, string>>();
  for (const [alias, m] of Object.entries((c.aliases ?? {}) as Record<string, Record<string, string>>)) {
    aliases.set(alias, new Map(Object.entries(m)));
    if (!groupBy.includes(alias)) ctx.err('correlation', `alias '${alias}' is not used in group-by (${groupBy.join(', ') || 'empty'})`, ctx.pos(child(cNode, 'aliases')));
  }
  const out: CorrelationRule = {
    ...meta,
    kind: 'correlation',
    tests: readCorrelationTests(ctx, child(root, 'tests'), js.tests as Record<string, unknown>[] | undefined),
    correlation: {
      type,
      rules,
      groupBy,
      timespan,
      timespanSeconds: durationSeconds(timespan),
      aliases,
      generate: c.generate === true,
    },
  };
  if (cond) {
    out.correlation.condition = { ops };
    if (typeof cond.field === 'string') out.correlation.condition.field = cond.field;
    if (typeof percentile === 'number') out.correlation.condition.percentile = percentile;
  }
  return out;
}

function readCorrelationTests(ctx: Ctx, node: YNode | undefined, js: Record<string, unknown>[] | undefined): CorrelationTest[] {
  if (!node || !isSeq(node) || !js) return [];
  return js.map((t, i) => {
    const item = node.items[i] as YNode;
    const hitsNode = isMap(item) ? child(item as YAMLMap, 'hits') : undefined;
    const hits = (t.hits as Record<string, unknown>[]).map((h, j): ExpectedHit => {
      const at = ctx.pos(hitsNode && isSeq(hitsNode) ? (hitsNode.items[j] as YNode) : item);
      const end = String(h.end);
      const endMs = parseTimestamp(end);
      if (endMs === undefined) ctx.err('tests', `hit end '${end}' is not a timestamp (ISO 8601, e.g. 2024-05-01T10:04:00Z)`, at);
      const group: Record<string, string> = {};
      for (const [k, v] of Object.entries((h.group ?? {}) as Record<string, unknown>)) group[k] = String(v);
      const hit: ExpectedHit = { group, end, endMs: endMs ?? NaN, at };
      if (typeof h.value === 'number') hit.value = h.value;
      return hit;
    });
    const test: CorrelationTest = { events: t.events as Record<string, unknown>[], hits, at: ctx.pos(item) };
    if (typeof t.name === 'string') test.name = t.name;
    return test;
  });
}

function readFilter(ctx: Ctx, root: YAMLMap, js: Record<string, unknown>, meta: RuleMeta): FilterRule {
  const f = js.filter as Record<string, unknown>;
  const fNode = child(root, 'filter') as YAMLMap;
  const rules = f.rules === 'any' ? 'any' : asList(f.rules as string | string[]);
  return {
    ...meta,
    kind: 'filter',
    logsource: readLogSource(js),
    filter: { rules, detection: readDetection(ctx, fNode, ['condition', 'rules']) },
  };
}
