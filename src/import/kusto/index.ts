/**
 * `rulec import --from kusto`: a native KQL rule (a query file, an Azure-Sentinel analytic rule
 * YAML, rulec's own sentinel-yaml / sentinel-arm / defender-json artifacts) -> one rule document of
 * the model. The query is lifted by lift.ts (exactly, or refused with the construct and its place);
 * the metadata (title, description, level, ATT&CK, schedule, entity columns) is read from the
 * document around it. docs/import.md says what is lifted and what is refused.
 */
import { basename, extname } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Scalar, type YAMLMap } from 'yaml';
import { allTactics, compactName, technique } from '../../attack/index.js';
import { loadText } from '../../collection/load.js';
import { documentValue, readFast } from '../../parse/yaml-reader.js';
import { loadPlatformMapping } from '../../config/mapping.js';
import { kustoMapping, type KustoMapping } from '../../targets/kusto/mapping.js';
import { derivedId, emitRule, fileNameOf, type EmitInput, type RuleMetadata } from './emit.js';
import { ImportRefusal, liftQuery, lineCol, type Cond, type LiftedQuery, type RefusalKind } from './lift.js';
import { toSigma } from './sigma.js';
import type { LogSource } from '../../model/types.js';
import { logSourceName } from '../../targets/kusto/mapping.js';
import { logsourceOf, type RowFilter } from './reverse.js';

export const FIELD_MODES = ['native', 'sigma'] as const;
export type FieldMode = (typeof FIELD_MODES)[number];
export const IMPORT_PLATFORMS = ['sentinel', 'defender-xdr'] as const;

export interface ImportOptions {
  fields: FieldMode;
  /** The platform whose tables the query reads; default: from the input (Sentinel YAML: sentinel; Defender JSON: defender-xdr; a query: its time column). */
  platform?: string;
}

export type ImportResult =
  | { path: string; ok: true; rule: string; fileName: string; notes: string[] }
  | { path: string; ok: false; kind: RefusalKind; error: string; construct?: string };

/** What a document around a query says, before the query is lifted. */
interface Source {
  query: string;
  /** 1-based line and column of the query's first character in the file, when known exactly (block scalars). */
  queryAt?: { line: number; column: number; indent: number };
  /** The query is the whole file (a .kql file): its line:col are the file's. */
  whole?: boolean;
  meta: Partial<RuleMetadata>;
  platform?: string;
  entityColumns: string[];
  /** Problems of the document that refuse the rule (a trigger threshold...). */
  refusals: { construct: string; why: string; line?: number }[];
  notes: string[];
}

class InputError extends Error {}

const SEVERITY: Record<string, string> = { informational: 'informational', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };

/** A Sentinel duration (`5m`, `1h`, `1d`) or an ISO 8601 one (`PT1H`, `P1D`) as a rule duration. */
function duration(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^[1-9]\d*[smhd]$/.test(s)) return s;
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(s);
  if (iso && s.length > 1) {
    const secs = Number(iso[1] ?? 0) * 86400 + Number(iso[2] ?? 0) * 3600 + Number(iso[3] ?? 0) * 60 + Number(iso[4] ?? 0);
    if (secs === 0) return undefined;
    for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) if (secs % n === 0) return `${secs / n}${unit}`;
  }
  const defender = /^(\d+)H$/.exec(s);
  if (defender && defender[1] !== '0') return `${defender[1]}h`;
  return undefined;
}

/** ATT&CK tags from Sentinel's tactic names (`DefenseEvasion`) and technique ids, checked against the tables. */
function attackTags(tactics: unknown, techniques: unknown, notes: string[]): string[] {
  const tags: string[] = [];
  for (const t of Array.isArray(tactics) ? tactics : []) {
    const hit = allTactics().find((x) => compactName(x).toLowerCase() === String(t).replace(/\s+/g, '').toLowerCase());
    if (hit) tags.push(`attack.${hit.shortname}`);
    else notes.push(`tactic ${String(t)} is not an ATT&CK Enterprise tactic: left out`);
  }
  for (const id of Array.isArray(techniques) ? techniques : []) {
    const t = technique(String(id));
    if (t) tags.push(`attack.${t.id.toLowerCase()}`);
    else notes.push(`technique ${String(id)} is not in ATT&CK Enterprise: left out`);
  }
  return [...new Set(tags)];
}

function columnsOfEntities(entities: unknown): string[] {
  const out: string[] = [];
  for (const e of Array.isArray(entities) ? entities : []) {
    for (const f of Array.isArray(e?.fieldMappings) ? e.fieldMappings : []) if (typeof f?.columnName === 'string') out.push(f.columnName);
  }
  return out;
}

function titleOfPath(path: string): string {
  const b = basename(path, extname(path)).replace(/[-_]+/g, ' ').trim();
  return b ? b.charAt(0).toUpperCase() + b.slice(1) : 'Imported KQL rule';
}

/** A Sentinel analytic rule (Azure-Sentinel YAML or rulec's sentinel-yaml). */
function fromSentinelYaml(text: string, doc: Document.Parsed, lc: LineCounter): Source {
  const js = documentValue(doc) as Record<string, unknown>;
  const root = doc.contents as YAMLMap;
  const notes: string[] = [];
  const refusals: Source['refusals'] = [];
  const qNode = root.get('query', true) as Scalar | undefined;
  let queryAt: Source['queryAt'];
  if (qNode && isScalar(qNode) && qNode.type === 'BLOCK_LITERAL' && qNode.range) {
    // The text of a `|` block starts on the line after its header, at the block's indentation.
    const header = lc.linePos(qNode.range[0]);
    const firstLine = text.split(/\r?\n/)[header.line] ?? '';
    const indent = firstLine.length - firstLine.trimStart().length;
    queryAt = { line: header.line + 1, column: indent + 1, indent };
  }
  const lineOf = (key: string): number | undefined => {
    const pair = root.items.find((p) => isScalar(p.key) && (p.key as Scalar).value === key);
    const r = (pair?.key as Scalar | undefined)?.range;
    return r ? lc.linePos(r[0]).line : undefined;
  };
  const op = String(js.triggerOperator ?? 'gt').toLowerCase();
  const threshold = Number(js.triggerThreshold ?? 0);
  if (!((op === 'gt' || op === 'greaterthan') && threshold === 0)) {
    refusals.push({ construct: `triggerOperator ${String(js.triggerOperator)} triggerThreshold ${String(js.triggerThreshold)}`, why: 'an alert on a count of results over each run\'s query period (a fixed window); a correlation rule counts in sliding windows, which select other results', line: lineOf('triggerThreshold') ?? lineOf('triggerOperator') });
  }
  const kind = String(js.kind ?? 'Scheduled');
  const nrt = kind.toLowerCase() === 'nrt';
  if (nrt) notes.push('kind NRT (near real time): Sentinel runs it every minute over ingested rows; the rule has no frequency (rulec schedules are for scheduled rules)');
  const customDetails = js.customDetails && typeof js.customDetails === 'object' ? Object.values(js.customDetails as Record<string, unknown>).map(String) : [];
  const level = SEVERITY[String(js.severity ?? '').toLowerCase()];
  const meta: Partial<RuleMetadata> = {
    title: typeof js.name === 'string' ? js.name.trim() : undefined,
    ...(typeof js.id === 'string' ? { id: js.id } : {}),
    ...(typeof js.description === 'string' ? { description: cleanDescription(js.description) } : {}),
    ...(level ? { level } : {}),
    tags: attackTags(js.tactics, js.relevantTechniques, notes),
    ...(!nrt && duration(js.queryFrequency) ? { frequency: duration(js.queryFrequency) } : {}),
    ...(!nrt && duration(js.queryPeriod) ? { lookback: duration(js.queryPeriod) } : {}),
  };
  return { query: String(js.query ?? ''), ...(queryAt ? { queryAt } : {}), meta, platform: 'sentinel', entityColumns: [...columnsOfEntities(js.entityMappings), ...customDetails], refusals, notes };
}

/** Azure-Sentinel descriptions are often wrapped in single quotes inside the block. */
function cleanDescription(d: string): string {
  const t = d.trim();
  return t.length > 1 && t.startsWith("'") && t.endsWith("'") ? t.slice(1, -1).trim() : t;
}

/** rulec's sentinel-arm template or defender-json detection rule. */
function fromJson(js: Record<string, unknown>): Source {
  const notes: string[] = [];
  const resources = Array.isArray(js.resources) ? (js.resources as Record<string, unknown>[]) : undefined;
  if (resources) {
    const rule = resources.find((r) => typeof r?.properties === 'object' && typeof (r.properties as Record<string, unknown>).query === 'string');
    if (!rule) throw new InputError('an ARM template without an analytic rule (a resource with properties.query)');
    const p = rule.properties as Record<string, unknown>;
    const level = SEVERITY[String(p.severity ?? '').toLowerCase()];
    const techniques = [...(Array.isArray(p.techniques) ? p.techniques : []), ...(Array.isArray(p.subTechniques) ? p.subTechniques : [])];
    const details = p.customDetails && typeof p.customDetails === 'object' ? Object.values(p.customDetails as Record<string, unknown>).map(String) : [];
    const idMatch = typeof rule.name === 'string' ? /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(rule.name) : null;
    return {
      query: p.query as string,
      meta: {
        ...(typeof p.displayName === 'string' ? { title: p.displayName } : {}),
        ...(idMatch ? { id: idMatch[1] } : {}),
        ...(typeof p.description === 'string' ? { description: p.description } : {}),
        ...(level ? { level } : {}),
        tags: attackTags(p.tactics, techniques, notes),
        ...(duration(p.queryFrequency) ? { frequency: duration(p.queryFrequency) } : {}),
        ...(duration(p.queryPeriod) ? { lookback: duration(p.queryPeriod) } : {}),
      },
      platform: 'sentinel',
      entityColumns: [...columnsOfEntities(p.entityMappings), ...details],
      refusals: [],
      notes,
    };
  }
  const qc = js.queryCondition as Record<string, unknown> | undefined;
  if (qc && typeof qc.queryText === 'string') {
    const alert = ((js.detectionAction as Record<string, unknown> | undefined)?.alertTemplate ?? {}) as Record<string, unknown>;
    const level = SEVERITY[String(alert.severity ?? '').toLowerCase()];
    const period = String((js.schedule as Record<string, unknown> | undefined)?.period ?? '');
    const frequency = period === '0' ? 'continuous' : duration(period);
    return {
      query: qc.queryText,
      meta: {
        ...(typeof js.displayName === 'string' ? { title: js.displayName } : {}),
        ...(typeof alert.description === 'string' ? { description: alert.description } : {}),
        ...(level ? { level } : {}),
        tags: attackTags(alert.category ? [alert.category] : [], alert.mitreTechniques, notes),
        ...(frequency ? { frequency } : {}),
      },
      platform: 'defender-xdr',
      entityColumns: [],
      refusals: [],
      notes,
    };
  }
  throw new InputError('a JSON file that is neither an ARM template of an analytic rule nor a Defender XDR detection rule (queryCondition.queryText)');
}

/** Reads an input into its query and metadata: the file's extension decides, or its content for stdin. */
function readSource(path: string, text: string): Source {
  const t = text.replace(/^\uFEFF/, '');
  const ext = extname(path).toLowerCase();
  const asQuery = (): Source => ({ query: t, whole: true, meta: { title: titleOfPath(path), tags: [] }, entityColumns: [], refusals: [], notes: [] });
  if (ext === '.kql' || ext === '.txt' || ext === '.csl') return asQuery();
  if (ext === '.json' || (path === '-' && /^\s*\{/.test(t))) {
    let js: unknown;
    try {
      js = JSON.parse(t);
    } catch (e) {
      throw new InputError(`not valid JSON: ${(e as Error).message}`);
    }
    if (!js || typeof js !== 'object') throw new InputError('a JSON file that is not an object');
    return fromJson(js as Record<string, unknown>);
  }
  if (ext === '.yaml' || ext === '.yml' || path === '-') {
    const lc = new LineCounter();
    // The project's fast reader reads most rule files (it gives up on anything it does not read
    // exactly as the library does, duplicate keys included); the library reads the rest.
    const fast = readFast(t);
    let doc: Document.Parsed;
    if (fast?.docs.length === 1) {
      doc = fast.docs[0]!;
      lc.lineStarts = fast.lineStarts;
    } else doc = parseDocument(t, { lineCounter: lc, uniqueKeys: false });
    if (doc.errors.length === 0 && isMap(doc.contents) && (doc.contents as YAMLMap).has('query')) return fromSentinelYaml(t, doc, lc);
    if (path !== '-') {
      const e = doc.errors[0];
      throw new InputError(e ? `not valid YAML: ${e.message}` : 'a YAML file without a query: key (expected an Azure-Sentinel analytic rule)');
    }
    return asQuery();
  }
  throw new InputError(`unknown input type ${ext || '(no extension)'}: expected .kql or .txt (one query), .yaml (a Sentinel analytic rule) or .json (rulec's sentinel-arm or defender-json)`);
}

const mappings = new Map<string, KustoMapping>();

/** The Kusto target's shipped mapping of a platform: the tables the query reads, and the views read in reverse. */
function platformMapping(platform: string): KustoMapping {
  let m = mappings.get(platform);
  if (!m) mappings.set(platform, (m = kustoMapping(loadPlatformMapping('kusto', platform), platform)));
  return m;
}

/** Imports one input. Never throws for a problem of the input: it is the result's error. */
export function importKusto(path: string, text: string, opts: ImportOptions): ImportResult {
  let src: Source;
  try {
    src = readSource(path, text);
  } catch (e) {
    if (e instanceof InputError) return { path, ok: false, kind: 'invalid', error: `${path}: ${e.message}` };
    throw e;
  }
  const where = (offset: number | undefined): string => {
    if (offset === undefined) return path;
    const { line, column } = lineCol(src.query, offset);
    if (src.queryAt) return `${path}:${src.queryAt.line + line - 1}:${(line === 1 ? src.queryAt.column : src.queryAt.indent + 1) + column - 1} (query ${line}:${column})`;
    // A query inside a JSON string or a quoted YAML value: its own line and column.
    return src.whole ? `${path}:${line}:${column}` : `${path} (query ${line}:${column})`;
  };
  const first = src.refusals[0];
  if (first) return { path, ok: false, kind: 'unsupported', construct: first.construct, error: `${path}${first.line ? `:${first.line}:1` : ''}: ${first.construct}: ${first.why}` };
  if (!src.query.trim()) return { path, ok: false, kind: 'invalid', error: `${path}: no query` };
  const platform = opts.platform ?? src.platform ?? guessPlatform(src.query);
  const m = platformMapping(platform);
  let lifted: LiftedQuery;
  try {
    lifted = liftQuery(src.query, { tables: m.tables, platform, timeColumn: m.timeColumn, keepComputed: opts.fields === 'sigma' });
  } catch (e) {
    if (e instanceof ImportRefusal) return { path, ok: false, kind: e.kind, construct: e.construct, error: `${where(e.offset)}: ${e.construct}: ${e.message}` };
    throw e;
  }
  if (lifted.wheres.length === 0) {
    return { path, ok: false, kind: 'unsupported', construct: 'no predicate', error: `${path}: no predicate: the query selects every row of ${lifted.table}; a detection rule needs a condition` };
  }
  const notes = [...src.notes];
  const resolve = (c: string): string => lifted.aliases.get(c) ?? c;
  const columns = [...new Set([...lifted.outputs, ...src.entityColumns.map(resolve)])].filter((c) => c !== m.timeColumn && (m.tables.get(lifted.table)?.has(c) || c.includes('.')));
  let logsource: LogSource;
  let native: EmitInput['native'];
  let output = columns;
  if (opts.fields === 'sigma') {
    try {
      const s = toSigma(m, lifted, rowFilters(lifted.wheres), columns);
      lifted = s.lifted;
      logsource = s.logsource;
      output = s.output;
      if (s.leftOut.length) notes.push(`output columns with no Sigma field, left out: ${s.leftOut.join(', ')}`);
    } catch (e) {
      if (e instanceof ImportRefusal) return { path, ok: false, kind: e.kind, construct: e.construct, error: `${where(e.offset)}: ${e.message}` };
      throw e;
    }
    if (lifted.wheres.length === 0) {
      return { path, ok: false, kind: 'unsupported', construct: 'no predicate', error: `${path}: --fields sigma: the query tests nothing but the rows of its log source ${logSourceName(logsource)}; a detection rule needs a condition` };
    }
  } else {
    const ls = logsourceOf(m, lifted.table, rowFilters(lifted.wheres));
    // A native rule keeps its row filters as predicates: the log source says what the rows are (for
    // catalogs and routing), the native: table says where they are read.
    logsource = ls.ok ? ls.logsource : { product: platform, service: lifted.table };
    if (!ls.ok) notes.push(`${ls.error}: log source ${platform}/service:${lifted.table}`);
    native = { target: 'kusto', platform, table: lifted.table };
  }
  const meta: RuleMetadata = {
    title: src.meta.title || titleOfPath(path),
    id: src.meta.id ?? derivedId(src.query),
    ...(src.meta.description ? { description: src.meta.description } : {}),
    ...(src.meta.level ? { level: src.meta.level } : {}),
    tags: src.meta.tags ?? [],
    ...(src.meta.frequency ? { frequency: src.meta.frequency } : {}),
    ...(src.meta.lookback ? { lookback: src.meta.lookback } : {}),
    output,
  };
  if (lifted.lookback && meta.frequency && meta.lookback && lifted.lookback !== meta.lookback) {
    notes.push(`the query's ago(${lifted.lookback}) is the lookback; queryPeriod ${meta.lookback} left out`);
  }
  for (const c of lifted.notCarried) notes.push(`result column not carried (computed): ${c}`);
  const rule = emitRule({ meta, logsource, ...(native ? { native } : {}), lifted, field: (n) => n, source: path === '-' ? 'standard input' : path });
  // The rule as rulec reads it: a value the model refuses (a has value with no term character...)
  // refuses the import, which is never handed on as a rule that does not check.
  const bad = loadText(path, rule).flatMap((r) => r.diagnostics.filter((d) => d.severity === 'error'));
  if (bad.length) {
    const lines = rule.split('\n');
    const d = bad[0]!;
    const at = (lines[d.line - 1] ?? '').trim();
    return { path, ok: false, kind: 'unsupported', construct: at, error: `${path}: ${at}: the model refuses the lifted predicate: ${d.message}` };
  }
  return { path, ok: true, rule, fileName: fileNameOf(meta.title), notes };
}

/** The top-level equalities of the where chain (`ActionType == "FileCreated"`), as row filters for the reverse mapping. */
function rowFilters(wheres: readonly { cond: Cond }[]): RowFilter[] {
  const out: RowFilter[] = [];
  const visit = (c: Cond): void => {
    if (c.kind === 'and') c.children.forEach(visit);
    else if (c.kind === 'leaf' && c.modifiers.length <= 1 && c.modifiers.every((x) => x === 'cased') && !c.field.includes('.')) {
      const values = c.values.flatMap((v) => (v.kind === 'string' || v.kind === 'number' ? [v.value] : []));
      if (values.length === c.values.length) out.push({ column: c.field, op: '==', values });
    }
  };
  for (const w of wheres) visit(w.cond);
  return out;
}

/**
 * The platform of a bare query: Sentinel's tables, unless only Defender XDR's read it (its tables
 * carry the time in Timestamp, and a Sentinel lookback is on TimeGenerated).
 */
function guessPlatform(query: string): string {
  const lifts = (platform: string): boolean => {
    const m = platformMapping(platform);
    try {
      liftQuery(query, { tables: m.tables, platform, timeColumn: m.timeColumn });
      return true;
    } catch (e) {
      if (e instanceof ImportRefusal) return false;
      throw e;
    }
  };
  return lifts('sentinel') || !lifts('defender-xdr') ? 'sentinel' : 'defender-xdr';
}
