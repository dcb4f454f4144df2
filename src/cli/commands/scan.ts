/**
 * `rulec scan --rules <path> [--json] [files... | -]`: run the native evaluator over event files.
 * Detections go to stdout (a table then a per-rule summary, or one JSON object per detection);
 * everything else (rule problems, malformed events, the summary line, progress) goes to stderr.
 */
import { createReadStream, statSync } from 'node:fs';
import { loadCollection } from '../../collection/load.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { formatDiagnostic } from '../../diag/diagnostic.js';
import { Engine, type CompiledRule } from '../../eval/engine.js';
import type { JsonObject } from '../../eval/event.js';
import { DEFAULT_LIMITS, READ_CHUNK_BYTES, readEvents, type ReadLimits } from '../../eval/reader.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { isFile } from '../../util/files.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';
import { progress as progressBar } from '../progress.js';
import { loadPlatformMapping, readYamlFile } from '../../config/mapping.js';
import type { EventView } from '../../eval/event.js';
import type { LogSource } from '../../model/types.js';
import { loadTarget } from '../../targets/registry.js';
import { TargetFailure } from '../../targets/types.js';
import { logSourceText, parseLogSource, serves } from '../catalog.js';

export interface ScanOptions extends PlaceholderOptions, CacheOptions {
  rules?: string[];
  json?: boolean;
  includeEvent?: boolean;
  /** Commander's `--no-index` sets this false. */
  index?: boolean;
  maxEventBytes?: string;
  maxDepth?: string;
  /** product/category/service of every event of the input: the rules of other log sources are left out. */
  logsource?: string;
  minLevel?: string;
  /** TARGET/PLATFORM (that platform's mapping read in reverse) or a YAML file `fields: {event field: Sigma field}`. */
  mapping?: string[];
}

/** How many malformed events are listed one by one before only counting them. */
const MALFORMED_SHOWN = 20;

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`${name} must be a positive whole number, got '${v}'`);
  return Number(v);
}

interface RuleCount {
  rule: CompiledRule;
  n: number;
}

export async function runScan(files: string[], opts: ScanOptions, io: Output): Promise<number> {
  const rulePaths = opts.rules ?? [];
  if (rulePaths.length === 0) throw new UsageError('give the rules to run with --rules <file or directory> (repeatable)');
  const limits: ReadLimits = {
    maxEventBytes: positiveInt(opts.maxEventBytes, '--max-event-bytes', DEFAULT_LIMITS.maxEventBytes),
    maxDepth: positiveInt(opts.maxDepth, '--max-depth', DEFAULT_LIMITS.maxDepth),
  };
  if (files.length === 0 && io.stdin === process.stdin && process.stdin.isTTY) {
    throw new UsageError('give event files to scan, or - to read events from standard input');
  }
  const inputs = files.length > 0 ? files : ['-'];
  const missing = inputs.filter((f) => f !== '-' && !isFile(f));
  if (missing.length > 0) throw new UsageError(missing.map((f) => `${f}: no such event file`).join('\n'));
  if (inputs.includes('-') && !io.stdin) throw new UsageError('no standard input to read events from');

  const loadStarted = process.hrtime.bigint();
  const given = opts.logsource === undefined ? undefined : parseLogSource(opts.logsource, '--logsource');
  const minRank = opts.minLevel === undefined ? undefined : minLevelRank(opts.minLevel);
  const renames = await eventRenames(opts.mapping ?? [], given);

  // Rules: report the invalid ones, scan with the rest.
  const bar = progressBar('loading rules', undefined, { since: Date.now() });
  const cache = ruleCache(opts);
  const { rules, pathErrors } = loadCollection(rulePaths, (d, t) => bar.update(d, t), { placeholders: placeholderValues(opts), ...(cache ? { cache } : {}) });
  cache?.close();
  bar.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  let failed = false;
  for (const r of rules) {
    for (const d of r.diagnostics) {
      if (d.severity !== 'error') continue;
      io.err(formatDiagnostic(r.path, d));
      failed = true;
    }
    const refused = unfilledRefusal(r);
    if (refused) {
      io.err(`${r.path}:${refused.at.line}:${refused.at.column}: error: ${refused.error}`);
      failed = true;
    }
  }
  const compiled = Engine.fromLoaded(rules);
  for (const p of compiled.problems) {
    io.err(`${p.path}:${p.line}:1: error: cannot evaluate rule '${p.title ?? p.id ?? ''}': ${p.message}`);
    failed = true;
  }
  if (compiled.engine.rules.length === 0) throw new UsageError(`no detection rules to run in ${rulePaths.join(', ')}`);
  const chosen = compiled.engine.rules.filter((r) => (minRank === undefined || levelRank(r.level) <= minRank) && (given === undefined || serves(r.logsource, given)));
  if (chosen.length === 0) {
    const why = [minRank !== undefined ? `level ${opts.minLevel} or higher` : '', given ? `log source ${logSourceText(given)}` : ''].filter(Boolean).join(' and ');
    throw new UsageError(`none of the ${compiled.engine.rules.length} rules in ${rulePaths.join(', ')} is of ${why}`);
  }
  // With --logsource, every event is of that log source: the rules left see even events without a Channel.
  const engine = new Engine(
    chosen.map((r, i) => ({ ...r, index: i })),
    { index: opts.index !== false, unknownOrigin: given ? 'all' : 'unconstrained' },
  );
  const loadSeconds = Number(process.hrtime.bigint() - loadStarted) / 1e9;
  const unconstrained = engine.rules.filter((r) => r.route.kind === 'all').length;
  let saidNoOrigin = given !== undefined;
  const correlations = rules.filter((r) => r.rule?.kind === 'correlation').length;
  if (correlations > 0) io.err(`note: ${correlations} correlation rule${correlations === 1 ? ' is' : 's are'} not evaluated by scan (correlation support comes later)`);
  const unrouted = new Map<string, number>();
  for (const u of engine.unroutedRules()) unrouted.set(u.reason, (unrouted.get(u.reason) ?? 0) + 1);
  for (const [reason, n] of unrouted) {
    io.err(`note: ${n} rule${n === 1 ? '' : 's'}: ${reason}, so ${n === 1 ? 'it matches' : 'they match'} only events without a Channel, in an input given --logsource`);
  }

  // Scan.
  const counts = new Map<CompiledRule, RuleCount>();
  let events = 0;
  let detections = 0;
  let malformed = 0;
  let bytesRead = 0;
  const totalBytes = inputs.reduce((a, f) => a + (f === '-' ? 0 : statSync(f).size), 0);
  const started = process.hrtime.bigint();
  // The first redraw waits a second: a quick scan shows no progress at all.
  let lastProgress = Date.now() + 800;
  const progress = (): void => {
    if (!io.progress) return;
    const now = Date.now();
    if (now - lastProgress < 200) return;
    lastProgress = now;
    const pct = totalBytes > 0 ? Math.min(1, bytesRead / totalBytes) : 0;
    const bar = totalBytes > 0 ? `[${'='.repeat(Math.round(pct * 20)).padEnd(20)}] ${(pct * 100).toFixed(0)}% ` : '';
    io.progress(`${bar}${mb(bytesRead)}${totalBytes > 0 ? '/' + mb(totalBytes) : ''}  ${events.toLocaleString('en')} events  ${detections.toLocaleString('en')} detections`);
  };

  for (const file of inputs) {
    if (io.closed?.()) break;
    const shown = file === '-' ? '-' : file;
    const source = file === '-' ? io.stdin! : createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        bytesRead += (chunk as Uint8Array).byteLength;
        progress();
        yield chunk as Uint8Array;
      }
    }
    try {
      await readEvents(
        counted(),
        (item) => {
          if (item.kind === 'malformed') {
            malformed++;
            if (malformed <= MALFORMED_SHOWN) io.err(`${shown}:${item.line}: malformed event: ${item.reason}`);
            return;
          }
          events++;
          const event = renames.length ? renamed(item.event, renames) : item.event;
          engine.evaluate(event, (rule, view) => {
            detections++;
            const c = counts.get(rule);
            if (c) c.n++;
            else counts.set(rule, { rule, n: 1 });
            emit(io, opts, rule, shown, item.line, event, view);
          });
          if (!saidNoOrigin && engine.eventsWithoutOrigin > 0) {
            saidNoOrigin = true;
            io.err(
              `note: ${shown}:${item.line}: this event carries no log source to route by (no Channel): ` +
                (unconstrained === 0
                  ? `no rule runs on events like it (each of the ${engine.rules.length} names a log source); `
                  : `events like it run only the ${unconstrained} rule${unconstrained === 1 ? '' : 's'} without product, category or service, not the ${engine.rules.length - unconstrained} others; `) +
                'give the input\'s log source with --logsource product/category/service (rulec list logsources)',
            );
          }
        },
        limits,
        () => io.closed?.() === true,
      );
    } catch (e) {
      io.progress?.(undefined);
      io.err(`${shown}: cannot read events: ${(e as Error).message}`);
      failed = true;
    }
  }
  io.progress?.(undefined);

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!opts.json && !io.closed?.()) summary(io, counts);
  if (malformed > MALFORMED_SHOWN) io.err(`... and ${malformed - MALFORMED_SHOWN} more malformed events`);
  const perSecond = seconds > 0 ? events / seconds : events;
  const rate = perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en');
  io.err(
    `${events.toLocaleString('en')} event${events === 1 ? '' : 's'} in ${inputs.length} input${inputs.length === 1 ? '' : 's'}` +
      `${malformed > 0 ? ` (${malformed.toLocaleString('en')} malformed, skipped)` : ''}: ` +
      `${detections.toLocaleString('en')} detection${detections === 1 ? '' : 's'} by ${counts.size} of ${engine.rules.length} rules, ` +
      `${seconds.toFixed(2)} s (${rate} events/s); ${engine.rules.length} rule${engine.rules.length === 1 ? '' : 's'} loaded in ${loadSeconds.toFixed(2)} s`,
  );
  return failed ? EXIT_FAILED : EXIT_OK;
}

/**
 * Where a detection's time and host are, by the names the usual event sources give them (Sysmon and
 * Windows as evtx_dump writes them, Defender XDR and Sentinel columns, ECS): shown, never matched on.
 */
const TIME_FIELDS = ['UtcTime', 'TimeCreated_SystemTime', 'Timestamp', 'TimeGenerated', '@timestamp', 'timestamp', 'EventTime', 'time'];
const HOST_FIELDS = ['Computer', 'DeviceName', 'host.name', 'Hostname', 'hostname', 'ComputerName', 'host'];

function firstText(view: EventView, fields: readonly string[]): string | null {
  for (const f of fields) {
    const v = view.get(f);
    if ((typeof v === 'string' && v !== '') || typeof v === 'number') return String(v);
  }
  return null;
}

function emit(io: Output, opts: ScanOptions, rule: CompiledRule, file: string, line: number, event: JsonObject, view: EventView): void {
  const time = firstText(view, TIME_FIELDS);
  const host = firstText(view, HOST_FIELDS);
  if (opts.json) {
    const row: Record<string, unknown> = { rule_id: rule.id ?? null, title: rule.title, level: rule.level ?? null, file, line, time, host };
    if (opts.includeEvent) row.event = event;
    io.json(row);
  } else {
    io.out(`${file}:${line}  ${time ?? '-'}  ${host ?? '-'}  ${(rule.level ?? '-').padEnd(13)}  ${rule.title}${rule.id ? `  (${rule.id})` : ''}`);
  }
}

function minLevelRank(level: string): number {
  const i = LEVEL_ORDER.indexOf(level);
  if (i < 0) throw new UsageError(`--min-level: unknown level '${level}'; valid levels: ${[...LEVEL_ORDER].reverse().join(', ')}`);
  return i;
}

/**
 * The event field renames of --mapping: TARGET/PLATFORM reads that platform's mapping in reverse
 * for the --logsource (Defender XDR's ProcessCommandLine is Sigma's CommandLine), a file gives them
 * as `fields: {event field: Sigma field}`.
 */
async function eventRenames(mappings: string[], given: LogSource | undefined): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const m of mappings) {
    if (isFile(m)) {
      const data = readYamlFile(m) as { fields?: unknown } | null;
      const fields = data?.fields;
      if (typeof fields !== 'object' || fields === null || Array.isArray(fields) || !Object.values(fields).every((v) => typeof v === 'string')) {
        throw new UsageError(`${m}: a scan mapping is \`fields: {<event field>: <Sigma field>, ...}\``);
      }
      out.push(...Object.entries(fields as Record<string, string>));
      continue;
    }
    const [target, platform, ...rest] = m.split('/');
    if (!target || !platform || rest.length) throw new UsageError(`--mapping ${m}: no such file, and not TARGET/PLATFORM (e.g. kusto/defender-xdr)`);
    const t = await loadTarget(target);
    if (!t.eventFields) throw new UsageError(`--mapping ${m}: target ${target} has no event columns to read back; use a file with fields: {<event field>: <Sigma field>}`);
    if (!t.platforms.includes(platform)) throw new UsageError(`--mapping ${m}: unknown platform '${platform}' for target ${target}; valid platforms: ${t.platforms.join(', ')}`);
    if (!given) throw new UsageError(`--mapping ${m} needs --logsource: a column means a different Sigma field in each log source (FolderPath is Image for process_creation, TargetFilename for file_event)`);
    try {
      for (const f of t.eventFields({ platform, format: 'query', mapping: loadPlatformMapping(target, platform, []) }, given)) out.push([f.event, f.sigma]);
    } catch (e) {
      if (e instanceof TargetFailure) throw new UsageError(`--mapping ${m}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

/** The event with each renamed field copied under its Sigma name, unless the event has that name. */
function renamed(event: JsonObject, renames: readonly [string, string][]): JsonObject {
  let out: JsonObject | undefined;
  for (const [from, to] of renames) {
    if (!(from in event) || to in event) continue;
    out ??= { ...event };
    out[to] = event[from];
  }
  return out ?? event;
}

const LEVEL_ORDER = ['critical', 'high', 'medium', 'low', 'informational'];

function summary(io: Output, counts: Map<CompiledRule, RuleCount>): void {
  if (counts.size === 0) return;
  const rows = [...counts.values()].sort(
    (a, b) => b.n - a.n || levelRank(a.rule.level) - levelRank(b.rule.level) || a.rule.title.localeCompare(b.rule.title),
  );
  const width = Math.max(7, ...rows.map((r) => r.n.toLocaleString('en').length));
  io.out('');
  io.out(`${'matches'.padStart(width)}  ${'level'.padEnd(13)}  rule`);
  for (const { rule, n } of rows) {
    io.out(`${n.toLocaleString('en').padStart(width)}  ${(rule.level ?? '-').padEnd(13)}  ${rule.title}  (${rule.id ?? rule.path})`);
  }
}

function levelRank(level: string | undefined): number {
  const i = LEVEL_ORDER.indexOf(level ?? '');
  return i < 0 ? LEVEL_ORDER.length : i;
}


function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
