/**
 * The typed, validated view of a Kusto platform mapping (backends/kusto/<platform>.yml merged with
 * --mapping files). A log source maps to candidate *views*; a view is a table, the row conditions
 * that select the log source's events in it, and how each Sigma field is read from a row. The data
 * format is documented in docs/targets/kusto.md; every reference to a table or column is checked
 * against the table schemas here, once per mapping, so the printer can trust what it is given.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { backendFile, deepMerge, readYamlFile } from '../../config/mapping.js';
import { closest, UsageError } from '../../diag/diagnostic.js';
import type { LogSource } from '../../model/types.js';
import { fieldPath } from '../../eval/event.js';
import { fold } from '../../runtime/fold.js';
import { textsOf } from '../../runtime/values.js';
import { TargetFailure } from '../types.js';

export type ColumnType = 'string' | 'int' | 'long' | 'real' | 'decimal' | 'bool' | 'datetime' | 'timespan' | 'guid' | 'dynamic';

/** A table schema: column name -> type. */
export type TableSchema = ReadonlyMap<string, ColumnType>;

/**
 * How a view reads a Sigma field:
 * - `column`: a column holding the field's value (`basename`: a column holding the text after the
 *   last `\` of that value, empty when it has none);
 * - `basename`: only such a file-name column (Defender keeps only the parent's file name), which
 *   answers exactly the `endswith '\name'` tests;
 * - `json`: a property path inside a dynamic column or a string column holding JSON;
 * - `domain`: a column holding one of a closed set of stored values, each standing for one Sigma
 *   value (`values`: Sigma text -> stored values); with no column, the view's rows all have the one
 *   Sigma value (a constant, e.g. EventType SetValue in a table of value-set events);
 * - `join`: a value the table stores in two text columns (Defender's RegistryKey and
 *   RegistryValueName for TargetObject, AccountDomain and AccountName for User): the non-empty
 *   ones joined by `separator`, after the first `rewrite` whose `from` starts the first column
 *   (case-insensitively) replaced that start by its `to` (HKEY_LOCAL_MACHINE\ -> HKLM\).
 */
export type FieldAccess =
  | { kind: 'column'; column: string; type: ColumnType; basename?: string }
  | { kind: 'basename'; basename: string }
  | { kind: 'json'; column: string; columnType: ColumnType; path: Array<string | number> }
  | { kind: 'domain'; column?: string; values: ReadonlyMap<string, readonly string[]> }
  | { kind: 'join'; columns: readonly [string, string]; separator: string; rewrite: readonly { from: string; to: string }[] };

/** The accesses that read a value (a column, a JSON property, joined columns), as opposed to a file name or a coded value. */
export type ValueAccess = Extract<FieldAccess, { kind: 'column' | 'json' | 'join' }>;

export interface View {
  /** Key in `views:`, for messages. */
  name: string;
  table: string;
  timeColumn: string;
  /** Row conditions that select the log source's events: column -> accepted values. */
  where: { column: string; type: ColumnType; values: (string | number)[] }[];
  /** A further row condition written in KQL (e.g. `FolderPath startswith "/"`). */
  filter?: string;
  columns: TableSchema;
  fields: ReadonlyMap<string, FieldAccess>;
  /** Field-name prefixes (`requestParameters.`) read as JSON paths below a column. */
  prefixes: { prefix: string; column: string; columnType: ColumnType; path: string[] }[];
  /** Fields a view cannot express, with the reason (shown instead of "not mapped"). */
  refused: ReadonlyMap<string, string>;
  /** Unmapped fields are properties of this dynamic column (`tostring(EventData.Image)`). */
  bag?: { column: string; columnType: ColumnType };
  /** Unmapped fields that name a column of the table read that column. */
  identity: boolean;
  /**
   * Custom-log naming (Log Analytics `_CL` tables): field `a.b` reads the column `a_b_s`, `a_b_d`,
   * `a_b_b`, `a_b_t` or `a_b_g`, whichever the table has.
   */
  suffixed: boolean;
  /** Columns that hold every value of an event, for keyword search; absent: keywords are refused. */
  keywords?: string[];
  connector?: { connectorId: string; dataTypes: string[] };
  /** The kind of data the view reads (`defender`, `sysmon`, `security-event`...), which `source:` pins. */
  source?: string;
  /** A rule's `native:` table: its fields are the table's columns, and no other name reads. */
  native?: boolean;
}

export interface EntitySpec {
  entityType: string;
  identifier: string;
  columns: string[];
}

export interface KustoMapping {
  platform: string;
  timeColumn: string;
  logsources: { match: LogSource[]; views: View[] }[];
  /** The candidate views by log source key (product|category|service), the first entry winning. */
  byLogSource: ReadonlyMap<string, View[]>;
  /** Tables (with columns) known to this platform, for --validate. */
  tables: ReadonlyMap<string, TableSchema>;
  entities: EntitySpec[];
  /** `source:` of the mapping: only views of these sources are candidates, in this order of preference. */
  pin?: string[];
  /** Every view source of the mapping, for messages. */
  sources: string[];
}

const TYPE_NAMES: Record<string, ColumnType> = {
  string: 'string', int: 'int', int32: 'int', long: 'long', int64: 'long', bigint: 'long', real: 'real', double: 'real',
  decimal: 'decimal', bool: 'bool', boolean: 'bool', datetime: 'datetime', date: 'datetime', timespan: 'timespan',
  guid: 'guid', uniqueid: 'guid', dynamic: 'dynamic', object: 'dynamic',
};

export function normalizeType(t: string): ColumnType | undefined {
  return TYPE_NAMES[t.toLowerCase()];
}

const schemaCache = new Map<string, Map<string, TableSchema>>();

/** A schema file `{Table: {Column: type}}`: a name under backends/kusto/schemas/ or a path. */
function loadSchemaFile(ref: string): Map<string, TableSchema> {
  let tables = schemaCache.get(ref);
  if (tables) return tables;
  const url = isAbsolute(ref) || ref.startsWith('.') ? ref : backendFile('kusto', `schemas/${ref}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read Kusto schema file ${ref}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  tables = parseTables(raw, `schema file ${ref}`);
  schemaCache.set(ref, tables);
  return tables;
}

/**
 * `{Table: {Column: type}}`, or a list of Azure-Sentinel CustomTables documents
 * (`[{"Name": "Okta_CL", "Properties": [{"Name": "...", "Type": "..."}]}]`).
 */
function parseTables(raw: unknown, where: string): Map<string, TableSchema> {
  if (Array.isArray(raw)) {
    const o: Record<string, Record<string, unknown>> = {};
    for (const t of raw) {
      if (!isObject(t) || typeof t.Name !== 'string' || !Array.isArray(t.Properties)) throw new UsageError(`${where}: expected {Name, Properties: [{Name, Type}]} documents`);
      o[t.Name] = Object.fromEntries((t.Properties as Record<string, unknown>[]).map((c) => [String(c.Name), c.Type]));
    }
    raw = o;
  }
  if (!isObject(raw)) throw new UsageError(`${where}: expected a map of tables to {column: type}`);
  const tables = new Map<string, TableSchema>();
  for (const [table, cols] of Object.entries(raw)) {
    if (!isObject(cols)) throw new UsageError(`${where}: table ${table}: expected {column: type}`);
    const m = new Map<string, ColumnType>();
    for (const [c, t] of Object.entries(cols)) {
      const ty = typeof t === 'string' ? normalizeType(t) : undefined;
      if (!ty) throw new UsageError(`${where}: ${table}.${c}: unknown column type ${JSON.stringify(t)}; valid: ${Object.keys(TYPE_NAMES).join(', ')}`);
      m.set(c, ty);
    }
    tables.set(table, m);
  }
  return tables;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const cache = new WeakMap<object, KustoMapping>();

/** The typed mapping for the raw data the build passes (cached per object: parsed once per build). */
export function kustoMapping(raw: unknown, platform: string): KustoMapping {
  if (isObject(raw)) {
    const hit = cache.get(raw);
    if (hit) return hit;
  }
  const m = parseMapping(raw, platform);
  if (isObject(raw)) cache.set(raw, m);
  return m;
}

function parseMapping(raw: unknown, platform: string): KustoMapping {
  const at = `mapping for platform ${platform}`;
  const bad = (path: string, msg: string): never => {
    throw new UsageError(`${at}: ${path}: ${msg}`);
  };
  if (!isObject(raw)) bad('(top)', 'expected a map with logsources, views and schemas');
  const r = withIncludes(raw as Record<string, unknown>, bad);
  const timeColumn = typeof r.time_column === 'string' ? r.time_column : bad('time_column', 'expected a column name');

  const tables = new Map<string, TableSchema>();
  const schemas = Array.isArray(r.schemas) ? r.schemas : bad('schemas', 'expected a list of schema files');
  for (const s of schemas) {
    if (typeof s !== 'string') bad('schemas', 'expected file names');
    for (const [t, cols] of loadSchemaFile(s as string)) tables.set(t, cols);
  }
  if (r.columns !== undefined) for (const [t, cols] of parseTables(r.columns, `${at}: columns`)) tables.set(t, cols);

  const fieldsets = isObject(r.fieldsets) ? r.fieldsets : {};
  const rawViews = isObject(r.views) ? r.views : bad('views', 'expected a map of view names to views');
  const views = new Map<string, View>();
  for (const [name, v] of Object.entries(rawViews)) views.set(name, parseView(name, v, tables, fieldsets, timeColumn, bad));

  // A map, so that --mapping files override or add entries by key; the first entry that matches wins.
  const logsources: KustoMapping['logsources'] = [];
  const rawLs = isObject(r.logsources) ? r.logsources : bad('logsources', 'expected a map of names to {logsource, views}');
  for (const [name, e] of Object.entries(rawLs)) {
    const path = `logsources.${name}`;
    if (!isObject(e)) bad(path, 'expected {logsource, views}');
    const ls = (e as Record<string, unknown>).logsource;
    const match = (Array.isArray(ls) ? ls : [ls]).map((x, j) => {
      if (!isObject(x)) bad(`${path}.logsource[${j}]`, 'expected {product, category, service}');
      const o: LogSource = {};
      for (const k of ['product', 'category', 'service'] as const) {
        const val = (x as Record<string, unknown>)[k];
        if (val !== undefined) o[k] = String(val);
      }
      for (const k of Object.keys(x as object)) if (!['product', 'category', 'service'].includes(k)) bad(`${path}.logsource`, `unknown key '${k}'`);
      return o;
    });
    const vs = (e as Record<string, unknown>).views;
    if (!Array.isArray(vs) || vs.length === 0) bad(`${path}.views`, 'expected a non-empty list of view names');
    const resolved = (vs as unknown[]).map((n, j) => {
      // `{like: view, ...}`: that view with these keys merged over it (a channel, an event id).
      if (isObject(n)) {
        const base = rawViews[String(n.like)];
        if (base === undefined) bad(`${path}.views[${j}].like`, `unknown view '${String(n.like)}'; views: ${[...views.keys()].join(', ')}`);
        const { like, ...own } = n;
        return parseView(`${String(like)} (${path})`, deepMerge(base, own), tables, fieldsets, timeColumn, bad);
      }
      return views.get(String(n)) ?? bad(`${path}.views`, `unknown view '${String(n)}'; views: ${[...views.keys()].join(', ')}`);
    });
    logsources.push({ match, views: resolved });
  }

  const entities: EntitySpec[] = [];
  if (Array.isArray(r.entities)) {
    r.entities.forEach((e, i) => {
      if (!isObject(e) || typeof e.entityType !== 'string' || typeof e.identifier !== 'string' || !Array.isArray(e.columns)) {
        bad(`entities[${i}]`, 'expected {entityType, identifier, columns: [...]}');
      }
      const o = e as Record<string, unknown>;
      entities.push({ entityType: String(o.entityType), identifier: String(o.identifier), columns: (o.columns as unknown[]).map(String) });
    });
  }
  const byLogSource = new Map<string, View[]>();
  for (const e of logsources) for (const m of e.match) if (!byLogSource.has(lsKey(m))) byLogSource.set(lsKey(m), e.views);
  const sources = [...new Set(logsources.flatMap((e) => e.views.flatMap((v) => (v.source ? [v.source] : []))))].sort();
  let pin: string[] | undefined;
  if (r.source !== undefined) {
    const list = Array.isArray(r.source) ? r.source : [r.source];
    if (list.length === 0 || list.some((x) => typeof x !== 'string')) bad('source', `expected a source name or a list of them; sources: ${sources.join(', ')}`);
    for (const x of list as string[]) if (!sources.includes(x)) bad('source', `unknown source '${x}'; sources of platform ${platform}: ${sources.join(', ')}`);
    pin = list as string[];
  }
  return { platform, timeColumn, logsources, byLogSource, tables, entities, ...(pin ? { pin } : {}), sources };
}

/**
 * `include: [_defender-views.yml]`: shared data files of backends/kusto/ (their names start with
 * `_`, so they are not platforms), merged under the including file.
 */
function withIncludes(r: Record<string, unknown>, bad: (path: string, msg: string) => never): Record<string, unknown> {
  if (r.include === undefined) return r;
  if (!Array.isArray(r.include)) bad('include', 'expected a list of data files');
  let base: Record<string, unknown> = {};
  for (const f of r.include as unknown[]) {
    if (typeof f !== 'string' || !f.startsWith('_')) bad('include', `expected names of shared files starting with '_' in backends/kusto/, got ${JSON.stringify(f)}`);
    const inc = readYamlFile(backendFile('kusto', f as string));
    if (!isObject(inc)) bad('include', `${String(f)} is not a map`);
    base = deepMerge(base, inc) as Record<string, unknown>;
  }
  const { include: _ignored, ...own } = r;
  return deepMerge(base, own) as Record<string, unknown>;
}

function parseView(
  name: string,
  raw: unknown,
  tables: ReadonlyMap<string, TableSchema>,
  fieldsets: Record<string, unknown>,
  defaultTime: string,
  bad: (path: string, msg: string) => never,
): View {
  const path = `views.${name}`;
  if (!isObject(raw)) bad(path, 'expected a map');
  const v = raw as Record<string, unknown>;
  const table = typeof v.table === 'string' ? v.table : bad(`${path}.table`, 'expected a table name');
  const columns = tables.get(table) ?? bad(`${path}.table`, `unknown table '${table}' (not in the platform's schemas)`);
  const col = (p: string, c: unknown): [string, ColumnType] => {
    if (typeof c !== 'string') bad(p, 'expected a column name');
    const t = columns.get(c as string);
    if (!t) bad(p, `table ${table} has no column '${String(c)}'`);
    return [c as string, t!];
  };
  const timeColumn = v.time_column === undefined ? defaultTime : String(v.time_column);
  if (columns.get(timeColumn) !== 'datetime') bad(`${path}`, `table ${table} has no datetime column '${timeColumn}' (set time_column)`);

  const where: View['where'] = [];
  if (v.where !== undefined) {
    if (!isObject(v.where)) bad(`${path}.where`, 'expected {column: value or [values]}');
    for (const [c, val] of Object.entries(v.where as object)) {
      const [column, type] = col(`${path}.where.${c}`, c);
      const values = (Array.isArray(val) ? val : [val]).map((x) => (typeof x === 'number' ? x : String(x)));
      const numeric = ['int', 'long', 'real', 'decimal'].includes(type);
      if (type !== 'string' && !numeric) bad(`${path}.where.${c}`, `column ${column} is ${type}; row conditions take text or number columns`);
      for (const x of values) if (numeric && !Number.isFinite(Number(x))) bad(`${path}.where.${c}`, `column ${column} is ${type}; '${x}' is not a number`);
      where.push({ column, type, values });
    }
  }

  if (v.filter !== undefined && typeof v.filter !== 'string') bad(`${path}.filter`, 'expected a KQL condition');
  const filter = v.filter as string | undefined;

  const fields = new Map<string, FieldAccess>();
  const prefixes: View['prefixes'] = [];
  const refused = new Map<string, string>();
  const addFields = (src: unknown, p: string): void => {
    if (!isObject(src)) bad(p, 'expected {SigmaField: column or spec}');
    for (const [f, spec] of Object.entries(src)) {
      const fp = `${p}.${f}`;
      if (isObject(spec) && typeof spec.refuse === 'string') {
        refused.set(f, spec.refuse);
        continue;
      }
      if (f.endsWith('.*')) {
        if (!isObject(spec) || spec.json === undefined) bad(fp, 'a prefix field takes {json: column, path: optional.path}');
        const [column, columnType] = col(`${fp}.json`, (spec as Record<string, unknown>).json);
        const base = (spec as Record<string, unknown>).path;
        prefixes.push({ prefix: f.slice(0, -1), column, columnType, path: typeof base === 'string' && base ? base.split('.') : [] });
        continue;
      }
      fields.set(f, parseField(fp, spec, col, bad));
    }
  };
  const include = v.include === undefined ? [] : Array.isArray(v.include) ? v.include : bad(`${path}.include`, 'expected a list of fieldsets');
  for (const fs of include) addFields(fieldsets[String(fs)] ?? bad(`${path}.include`, `unknown fieldset '${String(fs)}'; fieldsets: ${Object.keys(fieldsets).join(', ')}`), `fieldsets.${String(fs)}`);
  if (v.fields !== undefined) addFields(v.fields, `${path}.fields`);

  let bag: View['bag'];
  if (v.bag !== undefined) {
    const [column, columnType] = col(`${path}.bag`, v.bag);
    if (columnType !== 'dynamic' && columnType !== 'string') bad(`${path}.bag`, `column ${column} is ${columnType}; a bag must be dynamic or JSON text`);
    bag = { column, columnType };
  }
  let keywords: string[] | undefined;
  if (v.keywords !== undefined) {
    if (!Array.isArray(v.keywords) || v.keywords.length === 0) bad(`${path}.keywords`, 'expected a non-empty list of columns');
    keywords = (v.keywords as unknown[]).map((c, i) => {
      const [column, type] = col(`${path}.keywords[${i}]`, c);
      if ((type === 'dynamic' || column === bag?.column) && !(column === bag?.column && type === 'dynamic')) {
        bad(`${path}.keywords[${i}]`, `${column} holds keys as well as values; only a dynamic bag column is searched value by value`);
      }
      return column;
    });
  }
  if (v.source !== undefined && (typeof v.source !== 'string' || !/^[a-z][a-z0-9-]*$/.test(v.source))) bad(`${path}.source`, 'expected a source name such as sysmon or security-event');
  let connector: View['connector'];
  if (isObject(v.connector)) {
    connector = { connectorId: String(v.connector.connectorId), dataTypes: Array.isArray(v.connector.dataTypes) ? v.connector.dataTypes.map(String) : [table] };
  }
  return {
    name, table, timeColumn, where, ...(filter ? { filter } : {}), columns, fields, prefixes, refused, bag,
    identity: v.identity === true, suffixed: v.suffixed === true, keywords, connector, ...(v.source ? { source: v.source as string } : {}),
  };
}

function parseField(
  p: string,
  spec: unknown,
  col: (p: string, c: unknown) => [string, ColumnType],
  bad: (path: string, msg: string) => never,
): FieldAccess {
  if (typeof spec === 'string') {
    const [column, type] = col(p, spec);
    return { kind: 'column', column, type };
  }
  if (!isObject(spec)) bad(p, 'expected a column name or a spec {column | json | join | constant | values}');
  const s = spec as Record<string, unknown>;
  if ('join' in s) return parseJoin(p, s, col, bad);
  if ('constant' in s) {
    const texts = textsOf(s.constant);
    if (texts.length !== 1) bad(`${p}.constant`, 'expected a scalar');
    return { kind: 'domain', values: new Map([[texts[0]!, []]]) };
  }
  if ('json' in s) {
    const [column, columnType] = col(`${p}.json`, s.json);
    if (columnType !== 'dynamic' && columnType !== 'string') bad(`${p}.json`, `column ${column} is ${columnType}, not dynamic or JSON text`);
    if (typeof s.path !== 'string' || !s.path) bad(`${p}.path`, 'expected a property path such as FileType or a.b');
    return { kind: 'json', column, columnType, path: (s.path as string).split('.') };
  }
  if (s.column === undefined && s.basename !== undefined) {
    const [b, bt] = col(`${p}.basename`, s.basename);
    if (bt !== 'string') bad(`${p}.basename`, 'basename needs a string column');
    return { kind: 'basename', basename: b };
  }
  const [column, type] = col(`${p}.column`, s.column);
  if ('values' in s) {
    if (!isObject(s.values)) bad(`${p}.values`, 'expected {SigmaValue: stored value or [stored values]}');
    const values = new Map<string, string[]>();
    const owner = new Map<string, string>();
    for (const [k, v] of Object.entries(s.values as object)) {
      const stored = (Array.isArray(v) ? v : [v]).map(String);
      for (const x of stored) {
        // The reverse map must be a function, or the stored value would not tell which Sigma value it was.
        if (owner.has(x)) bad(`${p}.values.${k}`, `stored value '${x}' also stands for '${owner.get(x)}'`);
        owner.set(x, k);
      }
      values.set(k, stored);
    }
    if (type !== 'string') bad(`${p}.column`, `a value map needs a string column; ${column} is ${type}`);
    return { kind: 'domain', column, values };
  }
  let basename: string | undefined;
  if (s.basename !== undefined) {
    const [b, bt] = col(`${p}.basename`, s.basename);
    if (bt !== 'string' || type !== 'string') bad(`${p}.basename`, 'basename needs string columns');
    basename = b;
  }
  return { kind: 'column', column, type, ...(basename ? { basename } : {}) };
}

/** `{join: [A, B], separator: '\\', rewrite: [{from, to}...]}` (see FieldAccess). */
function parseJoin(
  p: string,
  s: Record<string, unknown>,
  col: (p: string, c: unknown) => [string, ColumnType],
  bad: (path: string, msg: string) => never,
): FieldAccess {
  if (!Array.isArray(s.join) || s.join.length !== 2) bad(`${p}.join`, 'expected two text columns [first, second]');
  const columns = (s.join as unknown[]).map((c, i) => {
    const [column, type] = col(`${p}.join[${i}]`, c);
    if (type !== 'string') bad(`${p}.join[${i}]`, `column ${column} is ${type}; a join reads text columns`);
    return column;
  }) as [string, string];
  if (typeof s.separator !== 'string' || s.separator === '') bad(`${p}.separator`, "expected the text between the two parts, such as '\\'");
  const rewrite: { from: string; to: string }[] = [];
  if (s.rewrite !== undefined) {
    if (!Array.isArray(s.rewrite)) bad(`${p}.rewrite`, 'expected a list of {from, to}');
    (s.rewrite as unknown[]).forEach((r, i) => {
      const o = isObject(r) ? r : bad(`${p}.rewrite[${i}]`, 'expected {from, to}');
      // An empty `to` would make a non-empty first part empty, and the separator test reads the column itself.
      if (typeof o.from !== 'string' || !o.from || typeof o.to !== 'string' || !o.to) bad(`${p}.rewrite[${i}]`, 'expected non-empty texts {from, to}');
      rewrite.push({ from: o.from as string, to: o.to as string });
    });
  }
  for (const k of Object.keys(s)) if (!['join', 'separator', 'rewrite'].includes(k)) bad(p, `unknown key '${k}' in a join (join, separator, rewrite)`);
  return { kind: 'join', columns, separator: s.separator as string, rewrite };
}

/** A log source as written in messages: `windows/process_creation`, `windows/service:system`, `category:proxy`. */
export function logSourceName(ls: LogSource): string {
  const parts: string[] = [];
  if (ls.product) parts.push(ls.product);
  if (ls.category) parts.push(ls.product ? ls.category : `category:${ls.category}`);
  if (ls.service) parts.push(`service:${ls.service}`);
  return parts.join('/') || '(empty log source)';
}

function lsKey(ls: LogSource): string {
  return `${ls.product ?? ''}|${ls.category ?? ''}|${ls.service ?? ''}`;
}

/**
 * The candidate views of a rule's log source, or a mapping failure naming the valid log sources.
 * A pinned mapping (`source:`) keeps the views of the pinned sources, in the pin's order.
 */
export function viewsFor(m: KustoMapping, ls: LogSource): View[] {
  const hit = m.byLogSource.get(lsKey(ls));
  if (hit && m.pin) {
    const pin = m.pin;
    const rank = (v: View): number => (v.source ? pin.indexOf(v.source) : -1);
    const kept = hit.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b));
    if (kept.length) return kept;
    const offered = [...new Set(hit.map((v) => (v.source ? `${v.source} (${v.table})` : v.table)))];
    throw new TargetFailure(
      'mapping',
      `log source ${logSourceName(ls)} has no table of source ${pin.join(' or ')} on platform ${m.platform} (pinned by the mapping's source:); its sources: ${offered.join(', ')}`,
    );
  }
  if (hit) return hit;
  const all = m.logsources.flatMap((e) => e.match);
  // A log source without a product (category: webserver) has no "same product" to list: list them all.
  const sameProduct = ls.product === undefined ? [] : all.filter((x) => x.product === ls.product);
  const shown = (sameProduct.length ? sameProduct : all).map(logSourceName);
  throw new TargetFailure(
    'mapping',
    `log source ${logSourceName(ls)} has no table on platform ${m.platform}; ${sameProduct.length ? `log sources of product ${ls.product}` : 'mapped log sources'}: ${[...new Set(shown)].sort().join(', ')} (add one with --mapping)`,
  );
}

/** How `view` reads Sigma field `field`, or a mapping failure naming the fields it maps. */
export function fieldAccess(view: View, field: string, ls: LogSource, platform: string): FieldAccess {
  const direct = view.fields.get(field);
  if (direct) return direct;
  const why = view.refused.get(field);
  if (why) throw new TargetFailure('unsupported', `field '${field}' cannot be read exactly from ${view.table} (${logSourceName(ls)} on ${platform}): ${why}`);
  for (const p of view.prefixes) {
    const below = pathBelow(p.prefix, field);
    if (below) return { kind: 'json', column: p.column, columnType: p.columnType, path: [...p.path, ...below] };
  }
  if (view.identity) {
    const t = view.columns.get(field);
    if (t && field !== view.timeColumn) return { kind: 'column', column: field, type: t };
  }
  if (view.suffixed) {
    const base = field.replace(/\./g, '_');
    for (const sfx of ['_s', '_d', '_b', '_t', '_g']) {
      const t = view.columns.get(base + sfx);
      if (t) return { kind: 'column', column: base + sfx, type: t };
    }
  }
  if (view.bag) return { kind: 'json', column: view.bag.column, columnType: view.bag.columnType, path: [field] };
  if (view.native) {
    const cols = [...view.columns.keys()].filter((c) => c !== view.timeColumn).sort();
    throw new TargetFailure(
      'mapping',
      `field '${field}' is not a column of ${view.table} on platform ${platform} (the rule's native: columns)${closestNote(field, cols)}; its columns: ${cols.join(', ')}${view.prefixes.length ? `, and paths below its dynamic columns (${view.prefixes.map((p) => `${p.prefix}*`).join(', ')})` : ''}`,
    );
  }
  const names = [...view.fields.keys(), ...view.prefixes.map((p) => `${p.prefix}*`)].sort();
  throw new TargetFailure(
    'mapping',
    `field '${field}' is not mapped for log source ${logSourceName(ls)} on platform ${platform} (table ${view.table}); mapped fields: ${names.join(', ') || '(none)'}${view.identity ? `, or any column of ${view.table}` : ''}${view.suffixed ? `, or any field whose custom-log column (a.b -> a_b_s) ${view.table} has` : ''} (add it with --mapping)`,
  );
}

/**
 * The steps of `field` below a prefix (`AdditionalFields.`), read as the evaluator reads a path
 * (`fieldPath`): `AdditionalFields.a.b` and `TargetResources[0].name` (an index right after the
 * prefix's name) both go below it.
 */
function pathBelow(prefix: string, field: string): ReadonlyArray<string | number> | undefined {
  if (!prefix.endsWith('.')) return field.startsWith(prefix) && field.length > prefix.length ? fieldPath(field.slice(prefix.length)) : undefined;
  const head = prefix.slice(0, -1);
  if (!(field.startsWith(prefix) && field.length > prefix.length) && !field.startsWith(`${head}[`)) return undefined;
  const headSteps = fieldPath(head);
  const steps = fieldPath(field);
  if (steps.length <= headSteps.length || headSteps.some((s, i) => steps[i] !== s)) return undefined;
  return steps.slice(headSteps.length);
}

function closestNote(word: string, choices: string[]): string {
  const near = closest(word, choices);
  return near ? ` (did you mean ${near}?)` : '';
}

/**
 * The view of a rule whose fields are the native columns of one table (`native:`, from `rulec
 * import --fields native`): the whole table, every column by its name, and paths below its dynamic
 * columns (`AdditionalFields.FileType`), which the evaluator reads as nested objects. A path into a
 * string column holding JSON text is not offered: the evaluator does not parse text.
 */
export function nativeView(m: KustoMapping, table: string, from: string): View {
  const columns = m.tables.get(table);
  if (!columns) {
    const near = closestNote(table, [...m.tables.keys()]);
    throw new TargetFailure('mapping', `table ${table} (the rule's native: columns, imported from ${from}) is not a table of platform ${m.platform}${near}; build it for platform ${from}`);
  }
  const prefixes = [...columns].filter(([, t]) => t === 'dynamic').map(([c, t]) => ({ prefix: `${c}.`, column: c, columnType: t, path: [] as string[] }));
  return { name: `native ${table}`, table, timeColumn: m.timeColumn, where: [], columns, fields: new Map(), prefixes, refused: new Map(), identity: true, suffixed: false, native: true };
}

/** The Sigma value a stored value of a domain field stands for (exact text first, then folded). */
export function domainKeyOf(values: ReadonlyMap<string, readonly string[]>, sigmaText: string): string | undefined {
  if (values.has(sigmaText)) return sigmaText;
  const f = fold(sigmaText);
  for (const k of values.keys()) if (fold(k) === f) return k;
  return undefined;
}
