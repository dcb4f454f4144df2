/**
 * Log-source routing: which events a rule may match, from its `logsource` and the Windows routing
 * data (backends/eval/_windows-logsources.yml, read through config/). A Windows event is one that
 * carries a channel (`Channel`, or a `Provider_Name` the data knows); it is routed on its channel
 * **and** EventID (EventID alone collides across providers):
 *
 * - a rule whose category or service has data matches only the events of those channels and event
 *   ids (and `where` values, e.g. the Sysmon EventType of registry_delete);
 * - a `product: windows` rule without category or service matches every Windows event;
 * - a rule of another product, or a Windows category/service without data (file_access, ...),
 *   matches no Windows event; the engine reports the latter at load;
 * - events without a channel are not routed: every rule applies (flat test events), or, for
 *   `rulec scan`, only the rules that name no log source (EngineOptions.unknownOrigin).
 *
 * The Security-log variants rename fields (4688: Sigma's `Image` is `NewProcessName`): the data
 * lists renames per channel and EventID, applied to the event before rules see it.
 */
import { backendFile, readYamlFile } from '../config/mapping.js';
import { UsageError } from '../diag/diagnostic.js';
import type { LogSource } from '../model/types.js';
import { fold } from '../runtime/fold.js';
import { isEmpty, numbersOf } from '../runtime/values.js';
import type { EventView, FieldMap } from './event.js';

export const ROUTING_FILE = backendFile('eval', '_windows-logsources.yml');

interface AlternativeData {
  service: string;
  channels: string[];
  eventIds: number[];
  where: { field: string; values: string[] }[];
  renames: [string, string][];
}

export interface RoutingData {
  product: string;
  services: Map<string, string[]>;
  /** Folded provider name -> folded channel. */
  providers: Map<string, string>;
  categories: Map<string, AlternativeData[]>;
}

/** One way an event can serve a rule; channels are folded, `undefined` = any. */
export interface Alternative {
  channels: Set<string> | undefined;
  eventIds: Set<number> | undefined;
  where: { field: string; values: Set<string> }[];
}

export type RuleRoute =
  /** No log source at all: every event. */
  | { kind: 'all' }
  | { kind: 'windows'; alternatives: Alternative[] }
  /** A Windows log source without routing data: no Windows event (only events without a channel). */
  | { kind: 'unrouted'; reason: string }
  /** Another product: no Windows event. */
  | { kind: 'other' };

/** Where an event comes from; `channel` undefined = not a Windows event (not routed). */
export interface EventOrigin {
  channel: string | undefined;
  /** The numbers of its EventID (usually one; none when absent). */
  eventIds: number[];
}

/** Broken routing data is a configuration error (exit 2), reported with the file and key. */
function fail(file: string, what: string): never {
  throw new UsageError(`${file}: ${what}`);
}

function stringList(file: string, v: unknown, where: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string')) fail(file, `${where} must be a string or a list of strings`);
  return list as string[];
}

/** Parse and check the routing data; every problem names the file and the key. */
export function parseRoutingData(data: unknown, file = 'routing data'): RoutingData {
  if (typeof data !== 'object' || data === null) fail(file, 'expected a mapping with product, services, providers, categories');
  const d = data as Record<string, unknown>;
  if (typeof d.product !== 'string') fail(file, '`product` must be a string');
  const services = new Map<string, string[]>();
  for (const [name, v] of Object.entries((d.services ?? {}) as Record<string, unknown>)) {
    services.set(name, stringList(file, v, `services.${name}`));
  }
  const providers = new Map<string, string>();
  for (const [name, v] of Object.entries((d.providers ?? {}) as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(file, `providers.${name} must be a channel name`);
    providers.set(fold(name), fold(v));
  }
  const categories = new Map<string, AlternativeData[]>();
  for (const [name, v] of Object.entries((d.categories ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(v)) fail(file, `categories.${name} must be a list of alternatives`);
    categories.set(
      name,
      v.map((alt: unknown, i: number) => {
        const at = `categories.${name}[${i}]`;
        if (typeof alt !== 'object' || alt === null) fail(file, `${at} must be a mapping`);
        const a = alt as Record<string, unknown>;
        if (typeof a.service !== 'string') fail(file, `${at}.service must be a service name`);
        const channels = services.get(a.service);
        if (!channels) fail(file, `${at}.service '${a.service}' is not under services; valid services: ${[...services.keys()].join(', ')}`);
        const ids = Array.isArray(a.EventID) ? a.EventID : [a.EventID];
        if (!ids.every((x) => Number.isInteger(x))) fail(file, `${at}.EventID must be an integer or a list of integers`);
        const where = Object.entries((a.where ?? {}) as Record<string, unknown>).map(([field, vals]) => ({
          field,
          values: stringList(file, vals, `${at}.where.${field}`),
        }));
        const renames = Object.entries((a.renames ?? {}) as Record<string, unknown>).map(([from, to]): [string, string] => {
          if (typeof to !== 'string') fail(file, `${at}.renames.${from} must be a field name`);
          return [from, to];
        });
        return { service: a.service, channels, eventIds: ids as number[], where, renames };
      }),
    );
  }
  return { product: d.product, services, providers, categories };
}

let defaultData: RoutingData | undefined;

/** The shipped routing data (read once). */
export function defaultRoutingData(): RoutingData {
  defaultData ??= parseRoutingData(readYamlFile(ROUTING_FILE), ROUTING_FILE.pathname);
  return defaultData;
}

function alternative(channels: string[] | undefined, eventIds: number[] | undefined, where: AlternativeData['where'] = []): Alternative {
  return {
    channels: channels && new Set(channels.map(fold)),
    eventIds: eventIds && new Set(eventIds),
    where: where.map((w) => ({ field: w.field, values: new Set(w.values.map(fold)) })),
  };
}

/** The route of a rule's log source. */
export function routeOf(ls: LogSource, data: RoutingData): RuleRoute {
  const { product, category, service } = ls;
  if (product === undefined && category === undefined && service === undefined) return { kind: 'all' };
  const ours = product === undefined || product === data.product;
  if (!ours) return { kind: 'other' };
  const unrouted = (reason: string): RuleRoute => (product === undefined ? { kind: 'other' } : { kind: 'unrouted', reason });
  if (category !== undefined) {
    let alts = data.categories.get(category);
    if (!alts) return unrouted(`category '${category}' has no channel/EventID data`);
    if (service !== undefined) {
      alts = alts.filter((a) => a.service === service);
      if (alts.length === 0) return unrouted(`category '${category}' has no data for service '${service}'`);
    }
    return { kind: 'windows', alternatives: alts.map((a) => alternative(a.channels, a.eventIds, a.where)) };
  }
  if (service !== undefined) {
    const channels = data.services.get(service);
    if (!channels) return unrouted(`service '${service}' has no channel data`);
    return { kind: 'windows', alternatives: [alternative(channels, undefined)] };
  }
  return { kind: 'windows', alternatives: [alternative(undefined, undefined)] };
}

/** The channel and EventID of a flattened event. */
export function originOf(event: FieldMap, data: RoutingData): EventOrigin {
  let channel: string | undefined;
  const c = event.get('Channel');
  if (typeof c === 'string' && c !== '') channel = fold(c);
  else {
    const p = event.get('Provider_Name');
    if (typeof p === 'string') channel = data.providers.get(fold(p));
  }
  return { channel, eventIds: numbersOf(event.get('EventID')) };
}

function hasEventId(ids: ReadonlySet<number> | readonly number[] | undefined, origin: EventOrigin): boolean {
  if (ids === undefined) return true;
  const set = ids instanceof Set ? ids : new Set(ids as readonly number[]);
  return origin.eventIds.some((x) => set.has(x));
}

export type RouteVerdict = 'yes' | 'no' | 'where';

/** Whether a route admits events of this origin: always, never, or when its `where` values hold. */
export function admits(route: RuleRoute, origin: EventOrigin): RouteVerdict {
  if (origin.channel === undefined) return 'yes';
  if (route.kind === 'all') return 'yes';
  if (route.kind !== 'windows') return 'no';
  let verdict: RouteVerdict = 'no';
  for (const a of route.alternatives) {
    if (a.channels && !a.channels.has(origin.channel)) continue;
    if (!hasEventId(a.eventIds, origin)) continue;
    if (a.where.length === 0) return 'yes';
    verdict = 'where';
  }
  return verdict;
}

/** For a `where` verdict: does some admitting alternative's `where` hold for this event? */
export function whereHolds(route: RuleRoute, origin: EventOrigin, ev: EventView): boolean {
  if (route.kind !== 'windows') return false;
  return route.alternatives.some(
    (a) =>
      (!a.channels || (origin.channel !== undefined && a.channels.has(origin.channel))) &&
      hasEventId(a.eventIds, origin) &&
      a.where.every((w) => ev.foldedOf(w.field).some((t) => w.values.has(t))),
  );
}

/** Field renames for events of one channel and EventID (from every alternative that names them). */
export function renamesFor(origin: EventOrigin, data: RoutingData): [string, string][] {
  if (origin.channel === undefined) return [];
  const out = new Map<string, string>();
  for (const alts of data.categories.values()) {
    for (const a of alts) {
      if (a.renames.length === 0 || !hasEventId(a.eventIds, origin)) continue;
      if (!a.channels.some((c) => fold(c) === origin.channel)) continue;
      for (const [from, to] of a.renames) if (!out.has(from)) out.set(from, to);
    }
  }
  return [...out];
}

/**
 * Each renamed Sigma field reads its Security-log field, unless the event has a value of its own:
 * changes `event` (the engine's own copy of the fields), reading only what it held before.
 */
export function applyRenames(event: FieldMap, renames: readonly [string, string][]): void {
  const sets: [string, unknown][] = [];
  for (const [sigma, field] of renames) if (isEmpty(event.get(sigma)) && !isEmpty(event.get(field))) sets.push([sigma, event.get(field)]);
  for (const [sigma, value] of sets) event.set(sigma, value);
}
