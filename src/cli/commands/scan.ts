/**
 * `rulec scan --rules <path> [--json] [files... | -]`: run the native evaluator over event files.
 * Detections go to stdout (a table then a per-rule summary, or one JSON object per detection);
 * everything else (rule problems, malformed events, the summary line, progress) goes to stderr.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { LoadedRule } from '../../collection/load.js';
import { loadCollectionParallel } from '../../collection/parallel.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { formatDiagnostic } from '../../diag/diagnostic.js';
import { scanner, startWorkers, type RuleInfo, type ScanItem, type ScanSetup } from '../../eval/parallel.js';
import { DEFAULT_LIMITS, type ReadLimits } from '../../eval/reader.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { isFile } from '../../util/files.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';
import { progress as progressBar } from '../progress.js';
import { loadPlatformMapping, readYamlFile } from '../../config/mapping.js';
import type { LogSource } from '../../model/types.js';
import { loadTarget } from '../../targets/registry.js';
import { TargetFailure } from '../../targets/types.js';
import { logSourceText, parseLogSource, serves } from '../catalog.js';
import { durationSeconds } from '../../parse/rule.js';
import { correlationFields, ScanCorrelations } from '../scan-correlations.js';
import { ruleKey } from '../../correlate/index.js';

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
  /** Threads that evaluate events (default: the machine's cores, or 1 for a small input). */
  jobs?: string;
  /** Correlations: the fields an event's time is read from, instead of backends/eval/time-fields.yml. */
  timeField?: string[];
  /** Correlations: how late (a duration, `30s`) an event may come and still be put back in time order. */
  reorder?: string;
  /** Report the matches of rules that correlations refer to even where `generate` is false. */
  allMatches?: boolean;
}

/** How many malformed events are listed one by one before only counting them. */
const MALFORMED_SHOWN = 20;

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`${name} must be a positive whole number, got '${v}'`);
  return Number(v);
}

interface RuleCount {
  rule: RuleInfo;
  n: number;
}

/**
 * Below this much input (files of known size), the default is one thread: starting workers and
 * handing them the rules costs about what one thread scans of this much (see docs/performance.md).
 */
const PARALLEL_MIN_BYTES = 16 << 20;

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

  const totalBytes = inputs.reduce((a, f) => a + (f === '-' ? 0 : statSync(f).size), 0);
  const jobs =
    opts.jobs !== undefined
      ? positiveInt(opts.jobs, '--jobs', 1)
      : !inputs.includes('-') && totalBytes < PARALLEL_MIN_BYTES
        ? 1
        : availableParallelism();
  // Workers load their code while this thread loads the rules.
  const starting = jobs > 1 ? startWorkers(jobs) : undefined;

  const loadStarted = process.hrtime.bigint();
  const given = opts.logsource === undefined ? undefined : parseLogSource(opts.logsource, '--logsource');
  const minRank = opts.minLevel === undefined ? undefined : minLevelRank(opts.minLevel);
  const renames = await eventRenames(opts.mapping ?? [], given);

  // Rules: report the invalid ones, scan with the rest.
  // Each stage's progress shows at once when the command has already run for a second.
  const since = Date.now();
  const bar = progressBar('loading rules', undefined, { since });
  const cache = ruleCache(opts);
  // --jobs N given also loads the rules on N threads; else by how much there is to parse (collection/parallel.ts).
  const { rules, pathErrors } = await loadCollectionParallel(rulePaths, (d, t) => bar.update(d, t), { placeholders: placeholderValues(opts), ...(cache ? { cache } : {}), ...(opts.jobs !== undefined ? { jobs } : {}) });
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
  const fields = correlationFields(rules);
  const hasCorrelations = rules.some((r) => r.rule?.kind === 'correlation');
  const setup: ScanSetup = {
    index: opts.index !== false,
    limits,
    facts: [TIME_FIELDS, HOST_FIELDS],
    includeEvent: opts.json === true && opts.includeEvent === true,
    renames,
    ...(hasCorrelations ? { correlation: { fields, ...(opts.timeField ? { timeFields: opts.timeField } : {}) } } : {}),
  };
  const reorder = reorderMs(opts.reorder);
  const compiling = progressBar(jobs > 1 ? `compiling rules on ${jobs} threads` : 'compiling rules', undefined, { since });
  const compiled = await scanner(rules, setup, jobs, starting, (d, t) => compiling.update(d, t));
  compiling.done();
  // Workers keep the process alive: every way out from here stops them.
  const refuse = async (message: string): Promise<never> => {
    await compiled.close();
    throw new UsageError(message);
  };
  for (const p of compiled.problems) {
    io.err(`${p.path}:${p.line}:1: error: cannot evaluate rule '${p.title ?? p.id ?? ''}': ${p.message}`);
    failed = true;
  }
  if (compiled.compiled.length === 0) await refuse(`no detection rules to run in ${rulePaths.join(', ')}`);
  const levelChosen = (level: string | undefined): boolean => minRank === undefined || levelRank(level) <= minRank;
  const byKey = new Map(rules.map((r) => [ruleKey(r), r]));
  const runnable = new Set(compiled.compiled.map((r) => byKey.get(r.key)));
  const corr = ScanCorrelations.create(rules, fields, (r) => runnable.has(r), (r) => levelChosen(r.rule?.level), { json: opts.json, includeEvent: opts.includeEvent, reorder, allMatches: opts.allMatches }, io);
  for (const p of corr?.setup.problems ?? []) {
    io.err(`${p.rule.path}:${p.rule.rule!.at.line}:${p.rule.rule!.at.column}: error: ${p.message}`);
    failed = true;
  }
  // A correlation's rules run whatever their level: the correlation's level is the one that counts.
  const picked = [...compiled.compiled.keys()].filter((i) => {
    const r = compiled.compiled[i]!;
    return (levelChosen(r.level) || corr?.needs(byKey.get(r.key)!) === true) && (given === undefined || serves(r.logsource, given));
  });
  if (corr && given) {
    const running = new Set(picked.map((i) => byKey.get(compiled.compiled[i]!.key)!));
    for (const o of corr.outOfScope((r) => running.has(r))) {
      io.err(`note: correlation '${o.correlation}' cannot hit: its rule '${o.rule}' is not of log source ${logSourceText(given)} (--logsource), so it does not run`);
    }
  }
  if (picked.length === 0) {
    const why = [minRank !== undefined ? `level ${opts.minLevel} or higher` : '', given ? `log source ${logSourceText(given)}` : ''].filter(Boolean).join(' and ');
    await refuse(`none of the ${compiled.compiled.length} rules in ${rulePaths.join(', ')} is of ${why}`);
  }
  // With --logsource, every event is of that log source: the rules left see even events without a Channel.
  compiled.choose(picked, given ? 'all' : 'unconstrained');
  const chosen = picked.map((i) => compiled.compiled[i]!);
  const sources = chosen.map((r) => byKey.get(r.key)!);
  const reported = chosen.map((r, i) => levelChosen(r.level) && (corr?.reports(sources[i]!) ?? true));
  const needed = chosen.map((_, i) => corr?.needs(sources[i]!) === true);
  const loadSeconds = Number(process.hrtime.bigint() - loadStarted) / 1e9;
  const unconstrained = chosen.filter((r) => r.route.kind === 'all').length;
  let saidNoOrigin = given !== undefined;
  const unrouted = new Map<string, number>();
  for (const r of chosen) if (r.route.kind === 'unrouted') unrouted.set(r.route.reason, (unrouted.get(r.route.reason) ?? 0) + 1);
  for (const [reason, n] of unrouted) {
    io.err(`note: ${n} rule${n === 1 ? '' : 's'}: ${reason}, so ${n === 1 ? 'it matches' : 'they match'} only events without a Channel, in an input given --logsource`);
  }

  // Scan.
  const counts = new Map<number, RuleCount>();
  let events = 0;
  let detections = 0;
  let malformed = 0;
  let bytesRead = 0;
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
    const rate = Math.round(events / Math.max(1e-3, Number(process.hrtime.bigint() - started) / 1e9));
    io.progress(`${bar}${mb(bytesRead)}${totalBytes > 0 ? '/' + mb(totalBytes) : ''}  ${events.toLocaleString('en')} events (${rate.toLocaleString('en')}/s)  ${detections.toLocaleString('en')} detections`);
  };

  for (const file of inputs) {
    if (io.closed?.()) break;
    const shown = file === '-' ? '-' : file;
    corr?.startFile();
    // The detections of one event that correlations want, handed on together once the event's items end.
    let pending: { item: ScanItem & { kind: 'detection' }; rules: LoadedRule[] } | undefined;
    const flush = (): void => {
      if (!pending) return;
      const { item, rules: matched } = pending;
      pending = undefined;
      corr!.event({ facts: item.corr!, raw: item.event, file: shown, line: item.line }, matched);
    };
    // Every item in input order, whichever thread found it: the one place detections are consumed.
    const take = (item: ScanItem): void => {
      if (pending && (item.kind !== 'detection' || item.line !== pending.item.line)) flush();
      if (item.kind === 'events') {
        events += item.n;
        return;
      }
      if (item.kind === 'malformed') {
        malformed++;
        if (malformed <= MALFORMED_SHOWN) io.err(`${shown}:${item.line}: malformed event: ${item.reason}`);
        return;
      }
      if (item.kind === 'detection') {
        if (needed[item.rule]) {
          if (pending) pending.rules.push(sources[item.rule]!);
          else pending = { item, rules: [sources[item.rule]!] };
        }
        if (!reported[item.rule]) return;
        detections++;
        const c = counts.get(item.rule);
        if (c) c.n++;
        else counts.set(item.rule, { rule: chosen[item.rule]!, n: 1 });
        emit(io, opts, chosen[item.rule]!, shown, item);
        return;
      }
      if (saidNoOrigin) return;
      saidNoOrigin = true;
      io.err(
        `note: ${shown}:${item.line}: this event carries no log source to route by (no Channel): ` +
          (unconstrained === 0
            ? `no rule runs on events like it (each of the ${chosen.length} names a log source); `
            : `events like it run only the ${unconstrained} rule${unconstrained === 1 ? '' : 's'} without product, category or service, not the ${chosen.length - unconstrained} others; `) +
          'give the input\'s log source with --logsource product/category/service (rulec list logsources)',
      );
    };
    try {
      const counted = (n: number): void => {
        bytesRead += n;
        progress();
      };
      await compiled.scan(file === '-' ? io.stdin! : file, take, () => io.closed?.() === true, counted);
      flush();
    } catch (e) {
      io.progress?.(undefined);
      io.err(`${shown}: cannot read events: ${(e as Error).message}`);
      failed = true;
    }
    corr?.endFile();
  }
  io.progress?.(undefined);
  await compiled.close();

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!opts.json && !io.closed?.()) summary(io, counts, corr);
  if (malformed > MALFORMED_SHOWN) io.err(`... and ${malformed - MALFORMED_SHOWN} more malformed events`);
  const perSecond = seconds > 0 ? events / seconds : events;
  const rate = perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en');
  io.err(
    `${events.toLocaleString('en')} event${events === 1 ? '' : 's'} in ${inputs.length} input${inputs.length === 1 ? '' : 's'}` +
      `${malformed > 0 ? ` (${malformed.toLocaleString('en')} malformed, skipped)` : ''}: ` +
      `${detections.toLocaleString('en')} detection${detections === 1 ? '' : 's'} by ${counts.size} of ${chosen.length} rules, ` +
      (corr ? `${corr.hits.toLocaleString('en')} correlation hit${corr.hits === 1 ? '' : 's'} by ${corr.counts.size} of ${corr.setup.specs.length} correlations, ` : '') +
      `${seconds.toFixed(2)} s (${rate} events/s${compiled.workers > 0 ? ` on ${compiled.workers} threads` : ''}); ${chosen.length} rule${chosen.length === 1 ? '' : 's'} loaded in ${loadSeconds.toFixed(2)} s`,
  );
  if (corr && corr.errors > 0) {
    io.err(`${corr.errors.toLocaleString('en')} event${corr.errors === 1 ? '' : 's'} could not be correlated (see the errors above): the correlations' results are incomplete`);
    failed = true;
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}

function reorderMs(v: string | undefined): number {
  if (v === undefined) return 0;
  const s = durationSeconds(v);
  if (!Number.isFinite(s)) throw new UsageError(`--reorder must be a duration such as 30s, 5m or 1h, got '${v}'`);
  return s * 1000;
}

/**
 * Where a detection's time and host are, by the names the usual event sources give them (Sysmon and
 * Windows as evtx_dump writes them, Defender XDR and Sentinel columns, ECS): shown, never matched on.
 */
const TIME_FIELDS = ['UtcTime', 'TimeCreated_SystemTime', 'Timestamp', 'TimeGenerated', '@timestamp', 'timestamp', 'EventTime', 'time'];
const HOST_FIELDS = ['Computer', 'DeviceName', 'host.name', 'Hostname', 'hostname', 'ComputerName', 'host'];

function emit(io: Output, opts: ScanOptions, rule: RuleInfo, file: string, item: ScanItem & { kind: 'detection' }): void {
  const [time, host] = item.facts;
  const line = item.line;
  if (opts.json) {
    // `kind` tells a detection from a correlation hit (`"kind":"correlation"`) on the same stream of lines.
    const row: Record<string, unknown> = { kind: 'detection', rule_id: rule.id ?? null, title: rule.title, level: rule.level ?? null, file, line, time, host };
    if (opts.includeEvent) row.event = item.event;
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

const LEVEL_ORDER = ['critical', 'high', 'medium', 'low', 'informational'];

function summary(io: Output, counts: Map<number, RuleCount>, corr: ScanCorrelations | undefined): void {
  const rows: { rule: { level: string | undefined; title: string; id: string | undefined; path: string }; n: number }[] = [...counts.values()];
  for (const [key, n] of corr?.counts ?? []) {
    const info = corr!.info.get(key)!;
    rows.push({ rule: { ...info, title: `${info.title} [${info.type}]` }, n });
  }
  if (rows.length === 0) return;
  rows.sort((a, b) => b.n - a.n || levelRank(a.rule.level) - levelRank(b.rule.level) || a.rule.title.localeCompare(b.rule.title));
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
