/**
 * One parallel-scan measurement, in a process of its own so that its peak RSS is its own:
 * `node dist-bench/scan-jobs.js RULES EVENTS JOBS` loads the rules, compiles them on JOBS threads
 * (1: the calling thread, as `rulec scan --jobs 1`) and scans the file the way `rulec scan` does
 * (reader.ts splitEvents, parallel.ts), then prints one JSON object (ScanRun).
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadCollection } from '../dist/collection/load.js';
import { scanner, type WorkerStats } from '../dist/eval/parallel.js';
import { DEFAULT_LIMITS, READ_CHUNK_BYTES } from '../dist/eval/reader.js';

export interface ScanRun {
  jobs: number;
  loadSeconds: number;
  /** From the rules loaded to every thread ready to scan (sending and compiling them). */
  compileSeconds: number;
  events: number;
  matches: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU time of the process (every thread) during the scan. */
  cpuSeconds: number;
  /** Time the main thread was busy during the scan (reading, cutting, merging). */
  mainBusySeconds: number;
  peakRssMb: number;
  workers: WorkerStats[];
}

async function main(): Promise<void> {
  const [rulesDir, file, jobsText] = process.argv.slice(2);
  const jobs = Number(jobsText);
  let t = performance.now();
  const { rules } = loadCollection([rulesDir!]);
  const loadSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  // The same facts rulec scan reports (time and host), so workers send back what it sends.
  const setup = { index: true, limits: DEFAULT_LIMITS, facts: [['UtcTime', 'TimeCreated_SystemTime'], ['Computer']], includeEvent: false, renames: [] };
  const sc = await scanner(rules, setup, jobs);
  sc.choose([...sc.compiled.keys()], 'unconstrained');
  const compileSeconds = (performance.now() - t) / 1000;
  let events = 0;
  let matches = 0;
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  t = performance.now();
  await sc.scan(createReadStream(file!, { highWaterMark: READ_CHUNK_BYTES }), (item) => {
    if (item.kind === 'events') events += item.n;
    else if (item.kind === 'detection') matches++;
  });
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const mainBusySeconds = performance.eventLoopUtilization(elu).active / 1000;
  const workers = (await sc.stats?.()) ?? [];
  await sc.close();
  const run: ScanRun = {
    jobs,
    loadSeconds,
    compileSeconds,
    events,
    matches,
    seconds,
    eventsPerSecond: events / seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    mainBusySeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    workers,
  };
  console.log(JSON.stringify(run));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
