/**
 * Event coverage: which provider and event serve a rule's log source on each platform, from the
 * mapping data of every target (each target's `eventSources`) and the evaluator's Windows routing
 * data, titled from backends/explain/event-titles.yml. One row per (platform, provider, event).
 */
import { backendFile, loadPlatformMapping, readYamlFile } from '../config/mapping.js';
import { UsageError } from '../diag/diagnostic.js';
import { defaultRoutingData } from '../eval/route.js';
import type { Node } from '../ir/types.js';
import type { DetectionRule, LogSource, NativeColumns } from '../model/types.js';
import { loadTarget, targetNames } from '../targets/registry.js';
import { TargetFailure, type EventSource } from '../targets/types.js';

export interface CoverageRow {
  platform: string;
  provider: string;
  /** `Event ID 11`, an ActionType (`FileCreated`), or empty when every event of the source serves. */
  event: string;
  title: string;
  /** `eval` (rulec scan and test) and `target/platform` pairs whose mapping reads these events; empty for a related event no target reads. */
  readBy: string[];
  note?: string;
}

interface Provider {
  name: string;
  platform: string;
  channels: string[];
  tables: string[];
  events: Map<string, string>;
}

interface Titles {
  providers: Provider[];
  related: Map<string, { provider: string; event: string; why: string }[]>;
}

const TITLES_FILE = backendFile('explain', 'event-titles.yml');
let titles: Titles | undefined;

function loadTitles(): Titles {
  if (titles) return titles;
  const file = TITLES_FILE.pathname;
  const bad = (what: string): never => {
    throw new UsageError(`${file}: ${what}`);
  };
  const d = readYamlFile(TITLES_FILE) as { providers?: Record<string, Record<string, unknown>>; related?: Record<string, unknown[]> } | null;
  if (!d || typeof d.providers !== 'object') bad('expected a `providers` map');
  const providers: Provider[] = Object.entries(d!.providers!).map(([name, p]) => {
    if (typeof p.platform !== 'string') bad(`providers.${name}.platform must be a string`);
    const list = (k: string): string[] => (Array.isArray(p[k]) ? (p[k] as unknown[]).map(String) : []);
    const events = new Map(Object.entries((p.events ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    return { name, platform: p.platform as string, channels: list('channels'), tables: list('tables'), events };
  });
  const related = new Map<string, { provider: string; event: string; why: string }[]>();
  for (const [category, rows] of Object.entries(d!.related ?? {})) {
    related.set(
      category,
      rows.map((r, i) => {
        const x = r as Record<string, unknown>;
        if (typeof x.provider !== 'string' || x.event === undefined || typeof x.why !== 'string') bad(`related.${category}[${i}] needs provider, event and why`);
        if (!providers.some((p) => p.name === x.provider)) bad(`related.${category}[${i}].provider '${String(x.provider)}' is not under providers; valid: ${providers.map((p) => p.name).join(', ')}`);
        return { provider: x.provider as string, event: String(x.event), why: x.why as string };
      }),
    );
  }
  titles = { providers, related };
  return titles;
}

function providerOf(source: { channel?: string; store: string }, fallbackPlatform: string): { name: string; platform: string; events: Map<string, string> } {
  const t = loadTitles();
  if (source.channel) {
    const c = source.channel.toLowerCase();
    const p = t.providers.find((x) => x.channels.some((y) => y.toLowerCase() === c));
    // A channel the titles do not know is still a Windows event log.
    return p ?? { name: source.channel, platform: 'Windows', events: new Map() };
  }
  const p = t.providers.find((x) => x.tables.includes(source.store));
  return p ?? { name: source.store, platform: fallbackPlatform, events: new Map() };
}

class Rows {
  readonly rows: CoverageRow[] = [];

  add(source: { channel?: string; store: string; eventIds: number[]; actions: string[] }, readBy: string, fallbackPlatform: string, note?: string): void {
    const p = providerOf(source, fallbackPlatform);
    const events = [...source.eventIds.map((n) => ({ key: String(n), label: `Event ID ${n}` })), ...source.actions.map((a) => ({ key: a, label: a }))];
    for (const e of events.length ? events : [{ key: '', label: '' }]) {
      let row = this.rows.find((r) => r.platform === p.platform && r.provider === p.name && r.event === e.label);
      if (!row) {
        row = { platform: p.platform, provider: p.name, event: e.label, title: p.events.get(e.key) ?? '', readBy: [], ...(note ? { note } : {}) };
        this.rows.push(row);
      }
      if (readBy && !row.readBy.includes(readBy)) row.readBy.push(readBy);
    }
  }
}

/** The evaluator's Windows routes of a log source (none for another product). */
function evaluatorSources(ls: LogSource): EventSource[] {
  const data = defaultRoutingData();
  if (ls.product !== undefined && ls.product !== data.product) return [];
  if (ls.category !== undefined) {
    const alts = (data.categories.get(ls.category) ?? []).filter((a) => ls.service === undefined || a.service === ls.service);
    return alts.flatMap((a) => a.channels.map((channel) => ({ store: channel, channel, eventIds: a.eventIds, actions: [] })));
  }
  if (ls.service !== undefined) return (data.services.get(ls.service) ?? []).map((channel) => ({ store: channel, channel, eventIds: [], actions: [] }));
  return [];
}

const PLATFORM_RANK: Record<string, number> = { Windows: 0, 'Defender XDR': 1, 'Sentinel (ASIM)': 2 };

const mappings = new Map<string, unknown>();

/**
 * A target platform's shipped mapping, read once: the explain of a whole collection asks for it
 * per rule, and targets cache their parsed form on the object's identity.
 */
export function shippedMapping(target: string, platform: string): unknown {
  const key = `${target}/${platform}`;
  if (!mappings.has(key)) mappings.set(key, loadPlatformMapping(target, platform));
  return mappings.get(key);
}

const coverageCache = new Map<string, CoverageRow[]>();

/** A rule's event coverage: its log source's, or for a native rule (`native:`) its own table's. */
export async function ruleCoverage(rule: DetectionRule, ir: Node): Promise<CoverageRow[]> {
  return rule.native ? nativeCoverage(rule.native, ir) : eventCoverage(rule.logsource);
}

/** Every row of a log source's event coverage: Windows event logs first, then Defender, ASIM, and the rest. */
export async function eventCoverage(ls: LogSource): Promise<CoverageRow[]> {
  const key = JSON.stringify([ls.product, ls.category, ls.service]);
  let rows = coverageCache.get(key);
  if (!rows) coverageCache.set(key, (rows = await computeCoverage(ls)));
  // Callers get their own rows (the cache stays as computed).
  return rows.map((r) => ({ ...r, readBy: [...r.readBy] }));
}

/**
 * A native rule names the columns of one table: no Sigma mapping reads it (EQL and SPL refuse it),
 * so its coverage is that table on each platform of its target that has it, with the EventIDs or
 * ActionTypes its conditions select. The evaluator matches the columns by name: an export of the
 * table, whose rows have no channel to route by, reaches it with the rule's log source
 * (`rulec scan --logsource`).
 */
async function nativeCoverage(native: NativeColumns, ir: Node): Promise<CoverageRow[]> {
  const rows = new Rows();
  const target = await loadTarget(native.target);
  for (const platform of target.platforms) {
    if (!target.nativeEventSource) break;
    let source: EventSource;
    try {
      source = target.nativeEventSource(native, ir, { platform, mapping: shippedMapping(native.target, platform) });
    } catch (e) {
      // The platform has no such table: it does not read the rule.
      if (e instanceof TargetFailure) continue;
      throw e;
    }
    // One fallback platform name, so that a table the titles do not know is one row on every platform.
    const fallback = `${native.target} ${native.platform}`;
    if (rows.rows.length === 0) rows.add(source, 'eval', fallback);
    rows.add(source, `${native.target}/${platform}`, fallback);
  }
  return rows.rows;
}

async function computeCoverage(ls: LogSource): Promise<CoverageRow[]> {
  const rows = new Rows();
  for (const s of evaluatorSources(ls)) rows.add(s, 'eval', 'Windows');
  for (const name of targetNames()) {
    const target = await loadTarget(name);
    if (!target.eventSources) continue;
    for (const platform of target.platforms) {
      let sources: EventSource[];
      try {
        sources = target.eventSources(ls, { platform, mapping: shippedMapping(name, platform) });
      } catch (e) {
        // The platform has no mapping for the log source: it does not cover it.
        if (e instanceof TargetFailure) continue;
        throw e;
      }
      for (const s of sources) rows.add(s, `${name}/${platform}`, `${name} ${platform}`);
    }
  }
  for (const r of loadTitles().related.get(ls.category ?? '') ?? []) {
    const p = loadTitles().providers.find((x) => x.name === r.provider)!;
    const numeric = /^\d+$/.test(r.event);
    const source = { store: p.tables[0] ?? p.name, ...(p.channels[0] ? { channel: p.channels[0] } : {}), eventIds: numeric ? [Number(r.event)] : [], actions: numeric ? [] : [r.event] };
    rows.add(source, '', p.platform, r.why);
  }
  return rows.rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (PLATFORM_RANK[a.r.platform] ?? 3) - (PLATFORM_RANK[b.r.platform] ?? 3) || a.i - b.i)
    .map(({ r }) => r);
}
