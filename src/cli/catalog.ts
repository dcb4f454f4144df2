/**
 * What the platforms of every target know: their log sources and the Sigma fields they map by
 * name, gathered from each target's mapping data (Target.catalog) without --mapping files. `rulec
 * list` prints it; `rulec check` warns about log sources and fields that no platform knows.
 */
import { closest } from '../diag/diagnostic.js';
import { backendFile, loadPlatformMapping, readYamlFile } from '../config/mapping.js';
import type { DetectionRule, LogSource } from '../model/types.js';
import type { Position } from '../diag/diagnostic.js';
import { CATALOG_TARGETS, loadTarget } from '../targets/registry.js';
import type { CatalogEntry } from '../targets/types.js';
import { UsageError } from './exit-codes.js';

export type LogSourceKey = 'product' | 'category' | 'service';
export const LOGSOURCE_KEYS: readonly LogSourceKey[] = ['product', 'category', 'service'];

export interface PlatformEntry extends CatalogEntry {
  target: string;
  platform: string;
}

/** The Sigma log sources and the fields SigmaHQ rules use with them (backends/sigma/taxonomy.yml). */
export function sigmaTaxonomy(): PlatformEntry[] {
  const data = readYamlFile(backendFile('sigma', 'taxonomy.yml')) as { logsources: CatalogEntry[] };
  return data.logsources.map((e) => ({ ...e, target: 'sigma', platform: 'taxonomy' }));
}

export async function loadCatalog(targets: readonly string[] = CATALOG_TARGETS): Promise<PlatformEntry[]> {
  const out: PlatformEntry[] = sigmaTaxonomy();
  for (const name of targets) {
    const target = await loadTarget(name);
    if (!target.catalog) continue;
    for (const platform of target.platforms) {
      const mapping = loadPlatformMapping(target.name, platform, []);
      for (const e of target.catalog({ platform, format: 'query', mapping })) out.push({ ...e, target: target.name, platform });
    }
  }
  return out;
}

/**
 * Whether what `required` names (a platform entry's log source, a rule's) is met by log source
 * `ls`: every key it sets has the same value in `ls`.
 */
export function serves(required: Partial<Record<LogSourceKey, string>>, ls: LogSource): boolean {
  return LOGSOURCE_KEYS.every((k) => required[k] === undefined || required[k] === ls[k]);
}

/** `product/category/service`, each part optional: `windows/process_creation`, `windows//security`. */
export function parseLogSource(text: string, option: string): LogSource {
  const parts = text.split('/');
  if (parts.length > 3 || parts.every((p) => p === '')) {
    throw new UsageError(`${option}: expected product/category/service (parts may be empty: windows/process_creation, windows//security), got '${text}'`);
  }
  const ls: LogSource = {};
  parts.forEach((p, i) => {
    if (p !== '') ls[LOGSOURCE_KEYS[i]!] = p;
  });
  return ls;
}

export function logSourceText(ls: Partial<Record<LogSourceKey, string>>): string {
  return `${ls.product ?? ''}/${ls.category ?? ''}/${ls.service ?? ''}`.replace(/\/+$/, '');
}

export interface Unknown {
  key: LogSourceKey | 'field';
  value: string;
  /** For a field: the detection key that names it. */
  suggestion?: string;
}

/**
 * The log source keys and fields of a rule that no platform knows, each with the closest known
 * name. A field is looked for among the fields of the platforms that serve the rule's log source,
 * and then among every field any platform maps: a platform that passes unnamed fields through (an
 * EventData bag) lists few, and a name some platform knows is no typo.
 */
export function unknownNames(catalog: PlatformEntry[], ls: LogSource, fields: readonly string[]): Unknown[] {
  const ix = indexOf(catalog);
  const out: Unknown[] = [];
  let lsKnown = true;
  for (const k of LOGSOURCE_KEYS) {
    const v = ls[k];
    if (v === undefined) continue;
    if (ix.known[k].has(v)) continue;
    lsKnown = false;
    const near = closest(v, [...ix.known[k]]);
    out.push({ key: k, value: v, ...(near ? { suggestion: near } : {}) });
  }
  if (!lsKnown) return out;
  let served: string[] | undefined;
  for (const f of new Set(fields)) {
    if (ix.all.has(f)) continue;
    served ??= ix.served(ls);
    // Suggested only from the fields of this log source when some platform serves it: a near name of
    // another log source's field (Requester -> requestURI of a web log) is noise, not a typo.
    const near = closest(f, served.length ? served : [...ix.all]);
    out.push({ key: 'field', value: f, ...(near ? { suggestion: near } : {}) });
  }
  return out;
}

interface CatalogIndex {
  known: Record<LogSourceKey, Set<string>>;
  all: Set<string>;
  served(ls: LogSource): string[];
}

/**
 * What unknownNames looks up, built once per catalog: `rulec check` asks for every rule of a
 * collection, and rebuilding the 15,000 field names per rule made a check of the SigmaHQ corpus
 * take 10 s instead of 3.
 */
const indexes = new WeakMap<PlatformEntry[], CatalogIndex>();
function indexOf(catalog: PlatformEntry[]): CatalogIndex {
  let ix = indexes.get(catalog);
  if (ix) return ix;
  const known = Object.fromEntries(LOGSOURCE_KEYS.map((k) => [k, new Set(catalog.flatMap((e) => (e.logsource[k] ? [e.logsource[k]!] : [])))])) as Record<LogSourceKey, Set<string>>;
  const servedBy = new Map<string, string[]>();
  ix = {
    known,
    all: new Set(catalog.flatMap((e) => e.fields)),
    served(ls) {
      const key = logSourceText(ls);
      let fields = servedBy.get(key);
      if (!fields) servedBy.set(key, (fields = [...new Set(catalog.filter((e) => serves(e.logsource, ls)).flatMap((e) => e.fields))]));
      return fields;
    },
  };
  indexes.set(catalog, ix);
  return ix;
}

/** Each field a rule's detection names, with the position of its first detection key. */
export function fieldPositions(rule: DetectionRule): Map<string, Position> {
  const at = new Map<string, Position>();
  for (const search of rule.detection.searches.values()) {
    if (search.kind !== 'maps') continue;
    for (const map of search.maps) for (const item of map) if (item.field !== null && !at.has(item.field)) at.set(item.field, item.at);
  }
  return at;
}

/**
 * Where a target's refusal points in the rule: the detection key of the first field the message
 * quotes ('Image', 'Details|fieldref: Image'), else the log source for a log-source refusal, the
 * first keyword selection for a keyword refusal, the schedule for a schedule refusal, else the rule. Targets name what they refuse in their messages
 * but carry no position.
 */
export function locateRefusal(rule: DetectionRule, message: string): Position {
  const fields = fieldPositions(rule);
  for (const m of message.matchAll(/'([^'|:\s]+)[^']*'/g)) {
    const at = fields.get(m[1]!);
    if (at) return at;
  }
  const ls = rule.logsourceAt;
  if (/log source/.test(message) && ls) {
    // The most specific key the message names: a category or service says more than the product.
    const key = (['category', 'service', 'product'] as const).find((k) => rule.logsource[k] !== undefined && message.includes(rule.logsource[k]!) && ls[k]);
    const at = (key && ls[key]) ?? ls.category ?? ls.service ?? ls.product;
    if (at) return at;
  }
  if (/keyword/.test(message)) {
    for (const s of rule.detection.searches.values()) {
      if (s.kind === 'keywords') return s.at;
      for (const map of s.maps) for (const item of map) if (item.field === null) return item.at;
    }
  }
  if (/schedule|frequency|lookback/.test(message) && rule.schedule) return rule.schedule.at;
  return rule.at;
}
