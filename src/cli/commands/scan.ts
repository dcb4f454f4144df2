/**
 * `rulec scan --rules <path> [--json] [files... | -]`: run the native evaluator over event files.
 * Detections go to stdout (a table then a per-rule summary, or one JSON object per detection);
 * everything else (rule problems, malformed events, the summary line, progress) goes to stderr.
 */
import { createReadStream, statSync } from 'node:fs';
import { loadCollection } from '../../collection/load.js';
import { formatDiagnostic } from '../../diag/diagnostic.js';
import { Engine, type CompiledRule } from '../../eval/engine.js';
import type { JsonObject } from '../../eval/event.js';
import { DEFAULT_LIMITS, READ_CHUNK_BYTES, readEvents, type ReadLimits } from '../../eval/reader.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { isFile } from '../../util/files.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';

export interface ScanOptions extends PlaceholderOptions {
  rules?: string[];
  json?: boolean;
  includeEvent?: boolean;
  /** Commander's `--no-index` sets this false. */
  index?: boolean;
  maxEventBytes?: string;
  maxDepth?: string;
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

  // Rules: report the invalid ones, scan with the rest.
  const { rules, pathErrors } = loadCollection(rulePaths, undefined, { placeholders: placeholderValues(opts) });
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
  const { engine, problems } = Engine.fromLoaded(rules, { index: opts.index !== false });
  for (const p of problems) {
    io.err(`${p.path}:${p.line}:1: error: cannot evaluate rule '${p.title ?? p.id ?? ''}': ${p.message}`);
    failed = true;
  }
  if (engine.rules.length === 0) throw new UsageError(`no detection rules to run in ${rulePaths.join(', ')}`);
  const correlations = rules.filter((r) => r.rule?.kind === 'correlation').length;
  if (correlations > 0) io.err(`note: ${correlations} correlation rule${correlations === 1 ? ' is' : 's are'} not evaluated by scan (correlation support comes later)`);
  const unrouted = new Map<string, number>();
  for (const u of engine.unroutedRules()) unrouted.set(u.reason, (unrouted.get(u.reason) ?? 0) + 1);
  for (const [reason, n] of unrouted) {
    io.err(`note: ${n} rule${n === 1 ? '' : 's'}: ${reason}, so ${n === 1 ? 'it matches' : 'they match'} only events without a Channel`);
  }

  // Scan.
  const counts = new Map<CompiledRule, RuleCount>();
  let events = 0;
  let detections = 0;
  let malformed = 0;
  let bytesRead = 0;
  const totalBytes = inputs.reduce((a, f) => a + (f === '-' ? 0 : statSync(f).size), 0);
  const started = process.hrtime.bigint();
  let lastProgress = 0;
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
          engine.evaluate(item.event, (rule) => {
            detections++;
            const c = counts.get(rule);
            if (c) c.n++;
            else counts.set(rule, { rule, n: 1 });
            emit(io, opts, rule, shown, item.line, item.event);
          });
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
      `${seconds.toFixed(2)} s (${rate} events/s)`,
  );
  return failed ? EXIT_FAILED : EXIT_OK;
}

function emit(io: Output, opts: ScanOptions, rule: CompiledRule, file: string, line: number, event: JsonObject): void {
  if (opts.json) {
    const row: Record<string, unknown> = { rule_id: rule.id ?? null, title: rule.title, level: rule.level ?? null, file, line };
    if (opts.includeEvent) row.event = event;
    io.json(row);
  } else {
    io.out(`${file}:${line}  ${(rule.level ?? '-').padEnd(13)}  ${rule.title}${rule.id ? `  (${rule.id})` : ''}`);
  }
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
