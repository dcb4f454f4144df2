/**
 * The benchmark harness: scan a JSON Lines file with any matcher and report rules loaded,
 * events/s, matches and peak RSS. A matcher comes from a factory given the loaded rules, so other
 * evaluators (e.g. the generated TypeScript target) can be measured on the same events.
 */
import { createReadStream } from 'node:fs';
import type { LoadedRule } from '../dist/collection/load.js';
import type { JsonObject } from '../dist/eval/event.js';
import { READ_CHUNK_BYTES, readEvents } from '../dist/eval/reader.js';

/** Evaluates one event, calling `onMatch` once per matching rule (any stable rule key). */
export interface BenchMatcher {
  evaluate(event: JsonObject, onMatch: (rule: string | number) => void): void;
}

export interface MatcherFactory {
  name: string;
  /** Compile the rules; the time it takes is reported separately from the scan. */
  create(rules: readonly LoadedRule[]): BenchMatcher;
}

export interface BenchResult {
  name: string;
  rules: number;
  compileSeconds: number;
  events: number;
  malformed: number;
  matches: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU time (user + system) of the process during the scan: less sensitive to other load. */
  cpuSeconds: number;
  eventsPerCpuSecond: number;
  /** Process peak resident set size so far, in MB. */
  peakRssMb: number;
  /** One entry per event with matches: `line:rule,rule,...` (for comparing matchers), when asked. */
  detections?: string[];
}

export async function runBench(
  factory: MatcherFactory,
  rules: readonly LoadedRule[],
  eventsFile: string,
  opts: { keepDetections?: boolean; limit?: number } = {},
): Promise<BenchResult> {
  const t0 = process.hrtime.bigint();
  const matcher = factory.create(rules);
  const compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let events = 0;
  let malformed = 0;
  let matches = 0;
  const detections: string[] | undefined = opts.keepDetections ? [] : undefined;
  const limit = opts.limit ?? Infinity;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await readEvents(
    createReadStream(eventsFile, { highWaterMark: READ_CHUNK_BYTES }),
    (item) => {
      if (item.kind === 'malformed') {
        malformed++;
        return;
      }
      if (events >= limit) return;
      events++;
      let hits: (string | number)[] | undefined;
      matcher.evaluate(item.event, (rule) => {
        matches++;
        if (detections) (hits ??= []).push(rule);
      });
      if (detections && hits) detections.push(`${item.line}:${hits.join(',')}`);
    },
    undefined,
    () => events >= limit,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const result: BenchResult = {
    name: factory.name,
    rules: rules.length,
    compileSeconds,
    events,
    malformed,
    matches,
    seconds,
    eventsPerSecond: events / seconds,
    cpuSeconds,
    eventsPerCpuSecond: events / cpuSeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  if (detections) result.detections = detections;
  return result;
}
