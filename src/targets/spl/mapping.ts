/**
 * The SPL platform data (backends/spl/<platform>.yml, merged with --mapping files by the build):
 * which events a log source stands for (a search prefix or a CIM data model), what Sigma fields are
 * called, which fields hold canonical numbers, and how `_raw` holds an event (for keywords).
 * Read once per mapping object; a malformed file is a usage error naming the key.
 */
import { UsageError } from '../../diag/diagnostic.js';
import { backendFile, deepMerge, readYamlFile } from '../../config/mapping.js';
import { fieldPath } from '../../eval/event.js';
import type { LogSource } from '../../model/types.js';
import { TargetFailure } from '../types.js';

export type RawFormat = 'json' | 'xml' | 'w3c' | 'text' | 'none';
const RAW_FORMATS: readonly RawFormat[] = ['json', 'xml', 'w3c', 'text', 'none'];
const LS_KEYS = ['product', 'category', 'service'] as const;
type UnknownFields = 'clean' | 'as-is' | 'error';
const UNKNOWN_FIELDS: readonly UnknownFields[] = ['clean', 'as-is', 'error'];

/**
 * The characters of a Splunk field name (Knowledge Manager Manual, "Proper field name syntax":
 * a-z, A-Z, 0-9, `.`, `:` and `_`). A search or eval naming anything else names no field of any
 * event, so no emitted query may hold such a name (checked by the printer and again on the query).
 */
export const SPLUNK_FIELD_NAME = /^[A-Za-z0-9_.:]+$/;

/**
 * The name Splunk gives a key it extracts, as CLEAN_KEYS (transforms.conf, on by default for
 * search-time extractions; automatic key-value and W3C header extraction name fields the same way)
 * does: every character outside the field-name set becomes `_` (one per code point), and leading
 * `_` and digits are dropped (`cs-uri-query` -> `cs_uri_query`, `cs(User-Agent)` -> `cs_User_Agent_`,
 * `$my-field` -> `my_field`). `.` and `:` are kept: JSON extraction writes nested keys with dots.
 * Empty when nothing is left.
 */
export function cleanKey(name: string): string {
  return name.replace(/[^A-Za-z0-9_.:]/gu, '_').replace(/^[_0-9]+/, '');
}

/** Which character of a name Splunk cannot hold, named for a message. */
function outsideChar(name: string): string {
  const ch = [...name].find((c) => !SPLUNK_FIELD_NAME.test(c))!;
  const names: Record<string, string> = { '`': 'a backtick (`)', "'": "a single quote (')", '"': 'a double quote (")', ' ': 'a space' };
  const cp = ch.codePointAt(0)!;
  return names[ch] ?? (cp < 0x20 || cp === 0x7f ? `the control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`);
}

export interface PrefixTerm {
  field: string;
  values: (string | number)[];
}

export interface SourceEntry {
  key: string;
  /** Values the rule's log source must have; null: the rule must not set that key. */
  match: Partial<Record<(typeof LS_KEYS)[number], string | null>>;
  prefix: PrefixTerm[];
  /** The Windows event log channels of `channel:` (before channel_source makes them a source). */
  channels: string[];
  datamodel?: { model: string; dataset: string };
  fields: Record<string, string>;
  /** A field without an entry: `clean` renames it as Splunk's key cleaning does, `as-is` keeps it, `error` refuses it. */
  unknownFields: UnknownFields;
  /** Splunk fields holding canonical decimal numbers in this log source's events: the platform's `numeric` and the entry's. */
  numeric: ReadonlySet<string>;
  raw: RawFormat;
  rawReason?: string;
  note?: string;
  error?: string;
}

export interface PlatformMapping {
  platform: string;
  description: string;
  /** Splunk fields whose values are canonical decimal numbers on this platform. */
  numeric: ReadonlySet<string>;
  /** Most specific first, then file order. */
  entries: SourceEntry[];
  /** Indexes every search starts with (`index`, overridden by --index); none: the user's default indexes. */
  index: string[];
  /** Settings of the savedsearches app over backends/spl/_savedsearches.yml (read by artifacts.ts). */
  savedsearches: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(platform: string, path: string, what: string): never {
  throw new UsageError(`SPL mapping for platform ${platform}: ${path}: ${what}`);
}

function str(platform: string, path: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') bad(platform, path, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function strMap(platform: string, path: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) bad(platform, path, 'expected a map of Sigma field to Splunk field');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = str(platform, `${path}.${k}`, x);
  return out;
}

function scalarList(platform: string, path: string, v: unknown): (string | number)[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) bad(platform, path, 'expected at least one value');
  return list.map((x, i) => {
    if (typeof x === 'number' && Number.isFinite(x)) return x;
    if (typeof x === 'string' && x !== '') return x;
    return bad(platform, `${path}[${i}]`, `expected a string or a number, got ${JSON.stringify(x)}`);
  });
}

const cache = new WeakMap<object, PlatformMapping>();

/** The mapping of a platform from the build's merged data (resolving `include`), validated. */
export function platformMapping(data: unknown, platform: string): PlatformMapping {
  if (isObj(data)) {
    const hit = cache.get(data);
    if (hit && hit.platform === platform) return hit;
  }
  if (!isObj(data)) bad(platform, '(top level)', 'expected a map');
  let merged: Obj = data;
  const include = data.include;
  if (include !== undefined) {
    const names = Array.isArray(include) ? include : [include];
    let base: unknown = {};
    for (const n of names) {
      const name = str(platform, 'include', n);
      if (!/^_[\w.-]+\.yml$/.test(name)) bad(platform, 'include', `'${name}' must name a shared file of backends/spl/ (starting with '_')`);
      base = deepMerge(base, readYamlFile(backendFile('spl', name)));
    }
    merged = deepMerge(base, data) as Obj;
  }
  const pm = build(merged, platform);
  cache.set(data, pm);
  return pm;
}

function build(d: Obj, platform: string): PlatformMapping {
  const known = new Set(['description', 'channel_source', 'include', 'numeric', 'groups', 'logsources', 'anchors', 'index', 'savedsearches']);
  for (const k of Object.keys(d)) if (!known.has(k)) bad(platform, k, `unknown key; valid keys: ${[...known].join(', ')}`);
  const index = d.index === undefined || d.index === null ? [] : scalarList(platform, 'index', d.index).map(String);
  if (d.savedsearches !== undefined && d.savedsearches !== null && !isObj(d.savedsearches)) bad(platform, 'savedsearches', 'expected a map of settings (see backends/spl/_savedsearches.yml)');
  const savedsearches = isObj(d.savedsearches) ? d.savedsearches : {};
  const channelSource = d.channel_source === undefined ? undefined : str(platform, 'channel_source', d.channel_source);
  if (channelSource !== undefined && !channelSource.includes('{channel}')) bad(platform, 'channel_source', "must contain '{channel}'");
  const numeric = numericSet(platform, 'numeric', d.numeric);
  const groups = d.groups === undefined ? {} : d.groups;
  if (!isObj(groups)) bad(platform, 'groups', 'expected a map of group name to defaults');
  if (!isObj(d.logsources)) bad(platform, 'logsources', 'expected a map of entry name to log source mapping');
  const entries: { e: SourceEntry; order: number }[] = [];
  let order = 0;
  for (const [key, raw] of Object.entries(d.logsources)) {
    if (raw === null) continue; // a --mapping file may remove an entry with `key: null`
    const path = `logsources.${key}`;
    if (!isObj(raw)) bad(platform, path, 'expected a map');
    let v: Obj = raw;
    if (raw.group !== undefined) {
      const g = groups[str(platform, `${path}.group`, raw.group)];
      if (!isObj(g)) bad(platform, `${path}.group`, `unknown group '${String(raw.group)}'; groups: ${Object.keys(groups).join(', ')}`);
      v = { ...g, ...raw, fields: { ...(isObj(g.fields) ? g.fields : {}), ...(isObj(raw.fields) ? raw.fields : {}) } };
    }
    // A --mapping file unsets a key with `key: null` (e.g. `note: null` once it sets `search`).
    v = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null));
    entries.push({ e: entry(platform, path, key, v, channelSource, numeric), order: order++ });
  }
  entries.sort((a, b) => Object.keys(b.e.match).length - Object.keys(a.e.match).length || a.order - b.order);
  return {
    platform,
    description: d.description === undefined ? platform : str(platform, 'description', d.description),
    numeric,
    entries: entries.map((x) => x.e),
    index,
    savedsearches,
  };
}

function numericSet(platform: string, path: string, v: unknown): Set<string> {
  const names = v === undefined ? [] : scalarList(platform, path, v).map(String);
  names.forEach((n, i) => {
    if (!SPLUNK_FIELD_NAME.test(n)) bad(platform, `${path}[${i}]`, `'${n}' is not a Splunk field name: it holds ${outsideChar(n)}; field names hold letters, digits, '_', '.' and ':'`);
  });
  return new Set(names);
}

function entry(platform: string, path: string, key: string, v: Obj, channelSource: string | undefined, platformNumeric: ReadonlySet<string>): SourceEntry {
  const known = new Set(['group', 'match', 'channel', 'search', 'datamodel', 'fields', 'unknown_fields', 'numeric', 'raw', 'raw_reason', 'note', 'error']);
  for (const k of Object.keys(v)) if (!known.has(k)) bad(platform, `${path}.${k}`, `unknown key; valid keys: ${[...known].join(', ')}`);
  if (!isObj(v.match)) bad(platform, `${path}.match`, 'expected a map of product / category / service');
  const match: SourceEntry['match'] = {};
  for (const [k, x] of Object.entries(v.match)) {
    if (!(LS_KEYS as readonly string[]).includes(k)) bad(platform, `${path}.match.${k}`, `unknown log source key; valid: ${LS_KEYS.join(', ')}`);
    match[k as (typeof LS_KEYS)[number]] = x === null ? null : str(platform, `${path}.match.${k}`, x);
  }
  const own = numericSet(platform, `${path}.numeric`, v.numeric);
  const numeric = own.size ? new Set([...platformNumeric, ...own]) : platformNumeric;
  const e: SourceEntry = { key, match, prefix: [], channels: [], fields: strMap(platform, `${path}.fields`, v.fields), unknownFields: 'as-is', numeric, raw: 'none' };
  if (v.error !== undefined) {
    e.error = str(platform, `${path}.error`, v.error);
    return e;
  }
  if (v.channel !== undefined) {
    if (!channelSource) bad(platform, `${path}.channel`, 'needs a top-level channel_source');
    e.channels = scalarList(platform, `${path}.channel`, v.channel).map(String);
    e.prefix.push({ field: 'source', values: e.channels.map((c) => channelSource.replace('{channel}', c)) });
  }
  if (v.search !== undefined) {
    if (!isObj(v.search)) bad(platform, `${path}.search`, 'expected a map of Splunk field to value or list of values');
    for (const [f, x] of Object.entries(v.search)) e.prefix.push({ field: f, values: scalarList(platform, `${path}.search.${f}`, x) });
  }
  if (v.datamodel !== undefined) {
    const dm = str(platform, `${path}.datamodel`, v.datamodel);
    const m = /^(\w+)\.(\w+)$/.exec(dm);
    if (!m) bad(platform, `${path}.datamodel`, `expected <model>.<dataset>, got '${dm}'`);
    e.datamodel = { model: m[1]!, dataset: m[2]! };
  }
  if (v.unknown_fields !== undefined) {
    if (!UNKNOWN_FIELDS.includes(v.unknown_fields as UnknownFields)) bad(platform, `${path}.unknown_fields`, `expected one of ${UNKNOWN_FIELDS.join(', ')}`);
    e.unknownFields = v.unknown_fields as UnknownFields;
  }
  if (v.raw !== undefined) {
    if (!RAW_FORMATS.includes(v.raw as RawFormat)) bad(platform, `${path}.raw`, `expected one of ${RAW_FORMATS.join(', ')}`);
    e.raw = v.raw as RawFormat;
  }
  if (v.raw_reason !== undefined) e.rawReason = str(platform, `${path}.raw_reason`, v.raw_reason);
  if (v.note !== undefined) e.note = str(platform, `${path}.note`, v.note).replace(/\{key\}/g, key);
  return e;
}

function describe(ls: SourceEntry['match']): string {
  const parts = LS_KEYS.filter((k) => typeof ls[k] === 'string').map((k) => `${k}: ${ls[k]}`);
  return `{${parts.join(', ')}}`;
}

function matches(e: SourceEntry, ls: LogSource): boolean {
  for (const k of LS_KEYS) {
    const want = e.match[k];
    if (want === null ? ls[k] !== undefined : want !== undefined && want !== ls[k]) return false;
  }
  return true;
}

const resolved = new WeakMap<PlatformMapping, Map<string, SourceEntry | undefined>>();

/** The entry a rule's log source uses; a failure of kind `mapping` that names the valid ones otherwise. */
export function resolveLogSource(pm: PlatformMapping, ls: LogSource): SourceEntry {
  let memo = resolved.get(pm);
  if (!memo) resolved.set(pm, (memo = new Map()));
  const key = `${ls.product ?? ''}\u0000${ls.category ?? ''}\u0000${ls.service ?? ''}`;
  let e = memo.get(key);
  if (!memo.has(key)) memo.set(key, (e = pm.entries.find((x) => matches(x, ls))));
  if (e && !e.error) return e;
  // The valid choices for the rule's product (or, without one, the entries that name no product).
  const related = pm.entries.filter((x) => !x.error && Object.keys(x.match).length > 0 && x.match.product === ls.product);
  const valid = related
    .map((x) => {
      const own = LS_KEYS.filter((k) => typeof x.match[k] === 'string' && !(k === 'product' && x.match.product === ls.product));
      return own.length ? own.map((k) => `${k} ${x.match[k]}`).join(' ') : `product ${x.match.product} alone`;
    })
    .join(', ');
  const why = e?.error ?? 'no entry matches it';
  throw new TargetFailure('mapping', `log source ${describe(ls)} has no mapping on SPL platform ${pm.platform}: ${why}; log sources with a mapping: ${valid}`);
}

/**
 * The Splunk name of a Sigma field for this log source: its `fields` entry, else per
 * `unknown_fields`. A name with a character Splunk field names cannot hold is a mapping failure
 * that says which character and how to name the field.
 */
export function splunkField(pm: PlatformMapping, e: SourceEntry, sigma: string): string {
  const where = e.datamodel ? `data model ${e.datamodel.model}.${e.datamodel.dataset}` : `log source ${describe(e.match)}`;
  const mapped = e.fields[sigma];
  if (mapped === undefined && fieldPath(sigma).some((s) => typeof s === 'number')) {
    // The evaluator reads `a[0].b` as element 0 of array a; Splunk's JSON extraction names every
    // element alike (`a{}.b`), so no Splunk name selects element 0 alone.
    throw new TargetFailure(
      'unsupported',
      `field '${sigma}' reads one element of an array ([N]), which no Splunk field name selects (JSON extraction names all elements alike, a{}.b); name the field with logsources.${e.key}.fields in a --mapping file`,
    );
  }
  const name = mapped ?? (e.unknownFields === 'clean' ? cleanKey(sigma) : e.unknownFields === 'as-is' ? sigma : undefined);
  if (name === undefined) {
    throw new TargetFailure(
      'mapping',
      `field '${sigma}' has no mapping for ${where} on SPL platform ${pm.platform}; fields with a mapping: ${Object.keys(e.fields).sort().join(', ')}`,
    );
  }
  if (name === '') {
    throw new TargetFailure(
      'mapping',
      `field '${sigma}' has no Splunk name for ${where} on SPL platform ${pm.platform}: Splunk's key cleaning leaves nothing of it; name it with logsources.${e.key}.fields in a --mapping file`,
    );
  }
  if (!SPLUNK_FIELD_NAME.test(name)) {
    const how = mapped !== undefined ? `logsources.${e.key}.fields maps it to '${name}'` : `the log source keeps unknown field names as they are (unknown_fields: as-is)`;
    const clean = cleanKey(name);
    const fix = mapped !== undefined ? `map it to the name Splunk extracts${clean ? ` ('${clean}' if Splunk's key cleaning named it)` : ''}` : `map it to the name Splunk extracts, or set unknown_fields: clean${clean ? ` (Splunk's key cleaning: '${clean}')` : ''}`;
    throw new TargetFailure(
      'mapping',
      `field '${sigma}' has no Splunk name for ${where} on SPL platform ${pm.platform}: ${how}, which holds ${outsideChar(name)}, and Splunk field names hold letters, digits, '_', '.' and ':' only; ${fix} (logsources.${e.key} in a --mapping file)`,
    );
  }
  return name;
}
