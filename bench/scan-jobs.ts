/**
 * One parallel-scan measurement, in a process of its own so that its peak RSS is its own:
 * `node dist-bench/scan-jobs.js RULES EVENTS JOBS [CACHE]` starts JOBS worker threads (1: none,
 * as `rulec scan --jobs 1`), loads the rules (through the rule cache in CACHE, as `rulec scan
 * --cache CACHE` does), hands them to the threads and scans the file the way `rulec scan` does
 * (parallel.ts: workers read ranges of the file), then prints one JSON object (ScanRun).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadCollection } from '../dist/collection/load.js';
import { ruleCache } from '../dist/cli/cache.js';
import { scanner, startWorkers, threadCpuSeconds, type WorkerStats } from '../dist/eval/parallel.js';
import { DEFAULT_LIMITS } from '../dist/eval/reader.js';

export interface ScanRun {
  jobs: number;
  loadSeconds: number;
  /** From the rules loaded to every thread ready to scan (checking them, sending them, each thread building its engine). */
  compileSeconds: number;
  /** From the process's start to the first event: module loading, rules loaded and handed to the threads. */
  firstEventSeconds: number;
  /** CPU time of the main thread over firstEventSeconds. */
  firstEventCpuSeconds: number | undefined;
  events: number;
  matches: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU time of the process (every thread) during the scan. */
  cpuSeconds: number;
  /** CPU time of the main thread during the scan: with --jobs 1 the whole scan, else reading, cutting, merging. */
  mainCpuSeconds: number | undefined;
  /**
   * What the scan would take with a core per thread and nothing else running, from the threads' CPU
   * times: the busiest thread's, or all of them shared by the cores, whichever is longer. On a busy
   * machine it tells what wall-clock time cannot.
   */
  cpuBoundSeconds: number | undefined;
  peakRssMb: number;
  workers: WorkerStats[];
}

async function main(): Promise<void> {
  const [rulesDir, file, jobsText, cacheDir] = process.argv.slice(2);
  const jobs = Number(jobsText);
  // As rulec scan: the workers load their code while this thread loads the rules.
  const starting = jobs > 1 ? startWorkers(jobs) : undefined;
  let t = performance.now();
  const cache = ruleCache({ cache: cacheDir ?? false });
  const { rules } = loadCollection([rulesDir!], undefined, cache ? { cache } : {});
  cache?.close();
  const loadSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  // The same facts rulec scan reports (time and host), so workers send back what it sends.
  const setup = { index: true, limits: DEFAULT_LIMITS, facts: [['UtcTime', 'TimeCreated_SystemTime'], ['Computer']], includeEvent: false, renames: [] };
  const sc = await scanner(rules, setup, jobs, starting);
  sc.choose([...sc.compiled.keys()], 'unconstrained');
  const compileSeconds = (performance.now() - t) / 1000;
  // performance.now() counts from the process's start.
  const firstEventSeconds = performance.now() / 1000;
  const firstEventCpuSeconds = threadCpuSeconds();
  let events = 0;
  let matches = 0;
  const cpu = process.cpuUsage();
  const mainCpu = threadCpuSeconds();
  t = performance.now();
  await sc.scan(file!, (item) => {
    if (item.kind === 'events') events += item.n;
    else if (item.kind === 'detection') matches++;
  });
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const mainEnd = threadCpuSeconds();
  const mainCpuSeconds = mainCpu === undefined || mainEnd === undefined ? undefined : mainEnd - mainCpu;
  const workers = (await sc.stats?.()) ?? [];
  const threads = [mainCpuSeconds, ...workers.map((w) => w.scanCpuSeconds)];
  const cpuBoundSeconds = threads.some((x) => x === undefined)
    ? undefined
    : Math.max(...(threads as number[]), (threads as number[]).reduce((a, b) => a + b, 0) / Math.min(threads.length, availableParallelism()));
  await sc.close();
  const run: ScanRun = {
    jobs,
    loadSeconds,
    compileSeconds,
    firstEventSeconds,
    firstEventCpuSeconds,
    events,
    matches,
    seconds,
    eventsPerSecond: events / seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    mainCpuSeconds,
    cpuBoundSeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    workers,
  };
  console.log(JSON.stringify(run));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
