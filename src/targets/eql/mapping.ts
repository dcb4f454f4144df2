/**
 * An EQL platform: backends/eql/<platform>.yml (merged with --mapping files) read into lookups for the
 * printer. Which log sources exist and how they are selected, where each Sigma field lives and what
 * type that field has: all of it is data (docs/targets/eql.md, "Platform files"). A broken platform
 * file is a usage error; a rule that needs something the platform does not have is a `mapping`
 * failure that names the valid choices.
 */
import { readFileSync } from 'node:fs';
import { backendFile, deepMerge, listPlatforms, loadPlatformMapping } from '../../config/mapping.js';
import { closest, UsageError } from '../../diag/diagnostic.js';
import type { LogSource } from '../../model/types.js';
import { fieldPath } from '../../eval/event.js';
import { fold } from '../../runtime/fold.js';
import { TargetFailure, type CatalogEntry } from '../types.js';

/**
 * How the printer treats a field. `keyword` covers ECS keyword, wildcard, constant_keyword and
 * flattened (all compared as exact text); `numeric_keyword` is a keyword that holds numbers in
 * canonical decimal form (event.code).
 */
export type FieldType = 'keyword' | 'numeric_keyword' | 'long' | 'double' | 'ip' | 'boolean' | 'date' | 'text' | 'other';

export interface FieldTarget {
  /** The Sigma field name the rule used. */
  sigma: string;
  field: string;
  type: FieldType;
  /** Value translation done at ingest (folded Sigma text -> stored value). */
  values?: Map<string, string>;
  /** For an ip field: a keyword field holding the original text, for text comparisons. */
  text?: string;
  /** The field comes from the fallback namespace and may be missing from the index mapping. */
  optional?: boolean;
}

export interface Condition {
  field: string;
  values: (string | number)[];
}

export interface LogSourceSpec {
  /** EQL event category (`any` when the log source has none). */
  category: string;
  conditions: Condition[];
  index: string[];
}

/** Log source keys to match; null means the rule must not set that key. */
type When = Partial<Record<'product' | 'category' | 'service', string | null>>;
type FieldSpec = { field: string; values?: Map<string, string>; text?: string };

const ECS_TYPES: Record<string, FieldType> = {
  keyword: 'keyword',
  wildcard: 'keyword',
  constant_keyword: 'keyword',
  flattened: 'keyword',
  long: 'long',
  integer: 'long',
  short: 'long',
  byte: 'long',
  unsigned_long: 'long',
  double: 'double',
  float: 'double',
  half_float: 'double',
  scaled_float: 'double',
  ip: 'ip',
  boolean: 'boolean',
  date: 'date',
  text: 'text',
  match_only_text: 'text',
};

let ecsTable: Map<string, string> | undefined;

/** ECS field -> ECS type, from backends/eql/ecs-fields.tsv (ECS 9.4.0). */
export function ecsFields(): Map<string, string> {
  if (!ecsTable) {
    ecsTable = new Map();
    for (const line of readFileSync(backendFile('eql', 'ecs-fields.tsv'), 'utf8').split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const [name, type] = line.split('\t');
      if (name && type) ecsTable.set(name, type);
    }
  }
  return ecsTable;
}

interface Route {
  when: When;
  platform: string;
}

/** The platform whose routes name the platform of every log source (backends/eql/ecs.yml). */
export const ROUTING_PLATFORM = 'ecs';

function readRoutes(v: unknown, where: string): Route[] {
  if (!Array.isArray(v)) throw new UsageError(`${where}: routes must be a list of {when, platform}`);
  return v.map((r, i) => {
    const w = `${where}: routes[${i}]`;
    if (!isObject(r) || typeof r.platform !== 'string') throw new UsageError(`${w}: expected {when, platform: <name>}`);
    return { when: readWhen(r.when, w), platform: r.platform };
  });
}

/**
 * The platform the shipped routing platform (backends/eql/ecs.yml) sends a log source to, for the
 * hint of a refusal; undefined when no route takes it. Read through the Router itself, so that the
 * hint and the routing cannot disagree.
 */
function routedPlatform(ls: LogSource): string | undefined {
  const router = platformOf(ROUTING_PLATFORM, loadPlatformMapping('eql', ROUTING_PLATFORM));
  if (!(router instanceof Router)) return undefined;
  try {
    return router.route(ls);
  } catch (e) {
    if (e instanceof TargetFailure) return undefined;
    throw e;
  }
}

function matches(when: When, ls: LogSource): boolean {
  for (const k of ['product', 'category', 'service'] as const) {
    const w = when[k];
    if (w === undefined) continue;
    if (w === null ? ls[k] !== undefined : w !== ls[k]) return false;
  }
  return true;
}

export function describeLogSource(ls: LogSource): string {
  const parts = (['product', 'category', 'service'] as const).filter((k) => ls[k] !== undefined).map((k) => `${k}: ${ls[k]}`);
  return parts.length ? `{${parts.join(', ')}}` : '{}';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readWhen(v: unknown, where: string): When {
  if (v === undefined) return {};
  if (!isObject(v)) throw new UsageError(`${where}: 'when' must be a map of product / category / service`);
  const out: When = {};
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'product' && k !== 'category' && k !== 'service') throw new UsageError(`${where}: 'when' key '${k}' is not one of product, category, service`);
    if (typeof x !== 'string' && x !== null) throw new UsageError(`${where}: 'when.${k}' must be a string, or null for "not set"`);
    out[k] = x;
  }
  return out;
}

function readFieldSpec(v: unknown, where: string): FieldSpec {
  if (typeof v === 'string' && v !== '') return { field: v };
  if (isObject(v) && typeof v.field === 'string') {
    if (v.text !== undefined) {
      if (typeof v.text !== 'string' || v.values !== undefined) throw new UsageError(`${where}: 'text' names the keyword twin of an ip field and cannot go with 'values'`);
      return { field: v.field, text: v.text };
    }
    if (v.values === undefined) return { field: v.field };
    if (!isObject(v.values)) throw new UsageError(`${where}: 'values' must map Sigma values to stored values`);
    const values = new Map<string, string>();
    for (const [from, to] of Object.entries(v.values)) values.set(fold(from), String(to));
    return { field: v.field, values };
  }
  throw new UsageError(`${where}: expected a field name, {field, values} or {field, text}`);
}

function readFieldMap(v: unknown, where: string): Map<string, FieldSpec> {
  const out = new Map<string, FieldSpec>();
  if (v === undefined) return out;
  if (!isObject(v)) throw new UsageError(`${where}: expected a map of Sigma field -> target field`);
  for (const [k, x] of Object.entries(v)) out.set(k, readFieldSpec(x, `${where}.${k}`));
  return out;
}

function readStrings(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UsageError(`${where}: expected a list of strings`);
  return v as string[];
}

const TYPE_NAMES: FieldType[] = ['keyword', 'numeric_keyword', 'long', 'double', 'ip', 'boolean', 'date', 'text', 'other'];

export class Platform {
  readonly ecs: boolean;
  readonly identity: boolean;
  readonly products: string[] | undefined;
  readonly index: string[];
  readonly fallbackPrefix: string | undefined;
  readonly namespaces: string[];
  /** Opt-in: a keyword field holding the raw event text, searched (approximately) by keyword selections. */
  readonly keywordField: string | undefined;
  /** Opt-in: accept Elasticsearch's ASCII case folding for case-insensitive literals. */
  readonly asciiCaseFolding: boolean;
  /**
   * False: a case-insensitive `k` / `K` keeps `:` / `like~` / the `~` functions, accepting that
   * Elasticsearch's ASCII folding does not match the KELVIN SIGN (U+212A) as rulec does (reported).
   */
  readonly foldKelvinSign: boolean;
  /**
   * Opt-in: compile temporal_ordered correlations to `sequence ... with maxspan`, whose completions
   * are a reported approximation of the correlation's hits (correlation.ts).
   */
  readonly temporalOrderedAsSequence: boolean;
  private readonly types = new Map<string, FieldType>();
  private readonly fields: Map<string, FieldSpec>;
  private readonly byLogsource: { when: When; fields: Map<string, FieldSpec> }[];
  private readonly logsources: { when: When; spec: LogSourceSpec }[];

  constructor(
    readonly name: string,
    data: unknown,
  ) {
    const at = `platform ${name}`;
    if (!isObject(data)) throw new UsageError(`${at}: the mapping is not a map`);
    this.ecs = data.ecs === true;
    this.asciiCaseFolding = data.ascii_case_folding === true;
    if (data.fold_kelvin_sign !== undefined && typeof data.fold_kelvin_sign !== 'boolean') throw new UsageError(`${at}: fold_kelvin_sign must be true (spell out [Kk\\u{212A}] in a regex) or false (keep wildcards; Elasticsearch does not match the KELVIN SIGN as k)`);
    this.foldKelvinSign = data.fold_kelvin_sign !== false;
    const seq = data.temporal_ordered_as_sequence;
    if (seq !== undefined && seq !== null && typeof seq !== 'boolean') throw new UsageError(`${at}: temporal_ordered_as_sequence must be true (compile temporal_ordered correlations to an approximate EQL sequence) or false`);
    this.temporalOrderedAsSequence = seq === true;
    this.identity = data.identity === true;
    this.products = data.products === undefined || data.products === null ? undefined : readStrings(data.products, `${at}: products`);
    this.index = readStrings(data.index, `${at}: index`);
    this.namespaces = readStrings(data.namespaces, `${at}: namespaces`);
    // A --mapping file can switch an option off with null.
    if (data.fallback !== undefined && data.fallback !== null) {
      if (!isObject(data.fallback) || typeof data.fallback.prefix !== 'string') throw new UsageError(`${at}: fallback must be {prefix: <text>}`);
      this.fallbackPrefix = data.fallback.prefix;
    }
    if (data.keyword_search !== undefined && data.keyword_search !== null) {
      if (!isObject(data.keyword_search) || typeof data.keyword_search.field !== 'string') throw new UsageError(`${at}: keyword_search must be {field: <a keyword field holding the raw event text>}`);
      this.keywordField = data.keyword_search.field;
    }
    if (data.types !== undefined) {
      if (!isObject(data.types)) throw new UsageError(`${at}: types must map field names to types`);
      for (const [f, t] of Object.entries(data.types)) {
        const mapped = typeof t === 'string' ? (TYPE_NAMES.includes(t as FieldType) ? (t as FieldType) : ECS_TYPES[t]) : undefined;
        if (!mapped) throw new UsageError(`${at}: types.${f}: unknown type '${String(t)}' (valid: ${[...TYPE_NAMES, ...Object.keys(ECS_TYPES)].join(', ')})`);
        this.types.set(f, mapped);
      }
    }
    this.fields = readFieldMap(data.fields, `${at}: fields`);
    const byLs = data.fields_by_logsource ?? [];
    if (!Array.isArray(byLs)) throw new UsageError(`${at}: fields_by_logsource must be a list`);
    this.byLogsource = byLs.map((e, i) => {
      const w = `${at}: fields_by_logsource[${i}]`;
      if (!isObject(e)) throw new UsageError(`${w}: expected {when, fields}`);
      return { when: readWhen(e.when, w), fields: readFieldMap(e.fields, `${w}.fields`) };
    });
    const ls = data.logsources ?? [];
    if (!Array.isArray(ls)) throw new UsageError(`${at}: logsources must be a list`);
    this.logsources = ls.map((e, i) => {
      const w = `${at}: logsources[${i}]`;
      if (!isObject(e)) throw new UsageError(`${w}: expected {when, category, conditions, index}`);
      const category = e.category === undefined ? 'any' : e.category;
      if (typeof category !== 'string') throw new UsageError(`${w}: category must be a string`);
      const conditions: Condition[] = [];
      if (e.conditions !== undefined) {
        if (!isObject(e.conditions)) throw new UsageError(`${w}: conditions must map fields to a value or a list of values`);
        for (const [f, v] of Object.entries(e.conditions)) {
          const values = Array.isArray(v) ? v : [v];
          if (values.length === 0 || values.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
            throw new UsageError(`${w}: conditions.${f} must be a string, a number or a list of them`);
          }
          conditions.push({ field: f, values: values as (string | number)[] });
        }
      }
      const index = e.index === undefined ? this.index : readStrings(e.index, `${w}.index`);
      return { when: readWhen(e.when, w), spec: { category, conditions, index } };
    });
  }

  /** The log sources this platform selects, each with the Sigma fields it maps by name (the platform's own and its log source's). */
  catalog(): CatalogEntry[] {
    const defined = (w: When): CatalogEntry['logsource'] =>
      Object.fromEntries(Object.entries(w).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const within = (inner: When, outer: When): boolean => Object.entries(inner).every(([k, v]) => outer[k as keyof When] === v);
    const global = [...this.fields.keys()];
    const whens = [...this.logsources.map((l) => l.when), ...this.byLogsource.map((b) => b.when)];
    return whens.map((when) => ({
      logsource: defined(when),
      fields: [...new Set([...global, ...this.byLogsource.filter((b) => within(b.when, when)).flatMap((b) => [...b.fields.keys()])])],
    }));
  }

  private readonly typeCache = new Map<string, FieldType>();
  private readonly fieldCache = new Map<string, FieldTarget | TargetFailure>();

  /** The type rulec assumes for a target field: declared, else ECS, else keyword. */
  typeOf(field: string): FieldType {
    let t = this.typeCache.get(field);
    if (t === undefined) {
      t = this.computeType(field);
      this.typeCache.set(field, t);
    }
    return t;
  }

  private computeType(field: string): FieldType {
    const declared = this.types.get(field);
    if (declared) return declared;
    if (this.ecs) {
      const t = ecsFields().get(field);
      if (t) return ECS_TYPES[t] ?? 'other';
    }
    return 'keyword';
  }

  /** True when the field is ECS or declared by the platform (the validator's field check). */
  knows(field: string): boolean {
    if (!this.ecs) return true;
    return this.types.has(field) || ecsFields().has(field) || this.namespaces.some((n) => field.startsWith(n));
  }

  private checkProduct(ls: LogSource): void {
    if (this.products === undefined) return;
    if (ls.product !== undefined && this.products.includes(ls.product)) return;
    const want = routedPlatform(ls);
    throw new TargetFailure(
      'mapping',
      `log source ${describeLogSource(ls)} is not one platform ${this.name} serves (products: ${this.products.join(', ')}); ` +
        (want !== undefined && want !== this.name ? `its log source calls for --platform ${want} (or --platform ${ROUTING_PLATFORM}, which routes every rule)` : 'give a platform whose products include it'),
    );
  }

  logSource(ls: LogSource): LogSourceSpec {
    this.checkProduct(ls);
    const hit = this.logsources.find((e) => matches(e.when, ls));
    if (hit) return hit.spec;
    const cats = this.logsources.map((e) => e.when.category).filter((x): x is string => typeof x === 'string');
    const svcs = this.logsources.map((e) => e.when.service).filter((x): x is string => typeof x === 'string');
    throw new TargetFailure(
      'mapping',
      `log source ${describeLogSource(ls)} has no mapping on platform ${this.name}` +
        (ls.category !== undefined ? `; categories it maps: ${cats.join(', ') || 'none'}` : '') +
        (ls.service !== undefined ? `; services it maps: ${svcs.join(', ') || 'none'}` : ''),
    );
  }

  /** Where a Sigma field lives for a log source (memoized: a build asks the same question often). */
  field(sigma: string, ls: LogSource): FieldTarget {
    const key = `${ls.product ?? ''}\u0000${ls.category ?? ''}\u0000${ls.service ?? ''}\u0000${sigma}`;
    let hit = this.fieldCache.get(key);
    if (!hit) {
      try {
        hit = this.resolveField(sigma, ls);
      } catch (e) {
        if (!(e instanceof TargetFailure)) throw e;
        hit = e;
      }
      this.fieldCache.set(key, hit);
    }
    if (hit instanceof TargetFailure) throw hit;
    return hit;
  }

  private resolveField(sigma: string, ls: LogSource): FieldTarget {
    let spec: FieldSpec | undefined;
    for (const e of this.byLogsource) {
      if (matches(e.when, ls) && e.fields.has(sigma)) {
        spec = e.fields.get(sigma);
        break;
      }
    }
    spec ??= this.fields.get(sigma);
    if (!spec && fieldPath(sigma).some((s) => typeof s === 'number')) {
      // The evaluator reads `a[0].b` as element 0 of array a; Elasticsearch flattens arrays of
      // objects, so no field name selects element 0 alone.
      throw new TargetFailure('unsupported', `field '${sigma}' reads one element of an array ([N]), which no Elasticsearch field name selects (arrays of objects are flattened); map the field with --mapping`);
    }
    if (!spec && this.identity) spec = { field: sigma };
    let fallback = false;
    if (!spec && this.fallbackPrefix !== undefined && /^\w+$/.test(sigma)) {
      spec = { field: this.fallbackPrefix + sigma };
      fallback = true;
    }
    if (!spec) {
      const known = [...new Set([...this.fields.keys(), ...this.byLogsource.filter((e) => matches(e.when, ls)).flatMap((e) => [...e.fields.keys()])])].sort();
      const near = closest(sigma, known);
      throw new TargetFailure(
        'mapping',
        `field '${sigma}' has no mapping on platform ${this.name} for log source ${describeLogSource(ls)}` +
          (near ? `; did you mean '${near}'?` : '') +
          `; fields it maps: ${known.join(', ')} (add one with --mapping)`,
      );
    }
    const out: FieldTarget = { sigma, field: spec.field, type: this.typeOf(spec.field) };
    if (spec.values) out.values = spec.values;
    if (spec.text) out.text = spec.text;
    if (fallback) out.optional = true;
    return out;
  }
}

/** Keys of a routing platform's file that are its own; every other key is merged into the platforms it routes to. */
const ROUTER_KEYS = new Set(['platform', 'description', 'routes', 'platforms']);

/**
 * A platform that serves every product by routing: each rule compiles on the platform its log source
 * calls for (`routes`, first match), whose data is that platform's file merged with the router's other
 * keys (so a --mapping file given for the router reaches every platform) and with `platforms.<name>`.
 */
export class Router {
  private readonly routes: Route[];
  private readonly shared: Record<string, unknown> = {};
  private readonly perPlatform: Record<string, unknown>;
  private readonly built = new Map<string, Platform>();

  constructor(
    readonly name: string,
    data: Record<string, unknown>,
  ) {
    const at = `platform ${name}`;
    this.routes = readRoutes(data.routes, at);
    const known = listPlatforms('eql');
    for (const r of this.routes) {
      if (!known.includes(r.platform) || r.platform === name) {
        throw new UsageError(`${at}: routes name platform '${r.platform}', which is not one it can route to (valid: ${known.filter((p) => p !== name).join(', ')})`);
      }
    }
    const per = data.platforms ?? {};
    if (!isObject(per)) throw new UsageError(`${at}: platforms must map a platform name to the keys it overrides`);
    for (const k of Object.keys(per)) if (!this.routes.some((r) => r.platform === k)) throw new UsageError(`${at}: platforms.${k}: no route leads to platform '${k}'`);
    this.perPlatform = per;
    for (const [k, v] of Object.entries(data)) if (!ROUTER_KEYS.has(k)) this.shared[k] = v;
  }

  /** The name of the platform a log source is routed to. */
  route(ls: LogSource): string {
    const hit = this.routes.find((r) => matches(r.when, ls));
    if (!hit) throw new TargetFailure('mapping', `log source ${describeLogSource(ls)} matches no route of platform ${this.name}; its routes lead to ${[...new Set(this.routes.map((r) => r.platform))].join(', ')}`);
    return hit.platform;
  }

  /** The platform a rule of this log source compiles on. */
  for(ls: LogSource): Platform {
    return this.platform(this.route(ls));
  }

  /** The log sources and fields of every platform this router sends rules to. */
  catalog(): CatalogEntry[] {
    return [...new Set(this.routes.map((r) => r.platform))].flatMap((name) => this.platform(name).catalog());
  }

  private platform(name: string): Platform {
    let p = this.built.get(name);
    if (!p) {
      const data = deepMerge(deepMerge(loadPlatformMapping('eql', name), this.shared), this.perPlatform[name] ?? {});
      if (isObject(data) && data.routes !== undefined) throw new UsageError(`platform ${this.name}: routes lead to '${name}', which routes itself`);
      p = new Platform(name, data);
      this.built.set(name, p);
    }
    return p;
  }
}

const cache = new WeakMap<object, Platform | Router>();

/** The Platform (or Router, for a file with `routes`) of a build's mapping object, parsed once per build. */
export function platformOf(name: string, mapping: unknown): Platform | Router {
  const make = (): Platform | Router => (isObject(mapping) && mapping.routes !== undefined ? new Router(name, mapping) : new Platform(name, mapping));
  if (!isObject(mapping)) return make();
  let p = cache.get(mapping);
  if (!p) {
    p = make();
    cache.set(mapping, p);
  }
  return p;
}

/** The platform one rule compiles on: the platform itself, or where a Router sends its log source. */
export function rulePlatform(name: string, mapping: unknown, ls: LogSource): Platform {
  const p = platformOf(name, mapping);
  return p instanceof Router ? p.for(ls) : p;
}
