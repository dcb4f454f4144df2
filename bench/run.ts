/**
 * `npm run bench`: load the SigmaHQ corpus (../shared/sigmahq/rules), write >= 200,000
 * Sysmon-shaped events built from the regression samples, scan them on one thread with the
 * native evaluator, and check on a slice that the witness index changes no detection.
 *
 * Then `rulec scan`'s parallel scan of the same file at 1 and N threads (--jobs, default the cores,
 * at least 2), each run in a process of its own (its peak RSS), --runs times each, every run shown,
 * loading the rules through a warm rule cache (a temporary one, filled by a first run); then two
 * one-thread scans of half the events each, at the same time (the machine's limit for 2 threads).
 *
 *   npm run bench [-- --events N] [--seed S] [--check N] [--jobs N] [--runs R]
 */
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { loadCollection } from '../dist/collection/load.js';
import { Engine } from '../dist/eval/engine.js';
import { benchEvents, loadSamples } from './events.js';
import { runBench, type BenchResult, type MatcherFactory } from './harness.js';
import type { ScanRun } from './scan-jobs.js';

const SHARED = new URL('../../shared/sigmahq/', import.meta.url).pathname;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} takes a whole number`);
  return v;
}

/** The native evaluator, with or without the witness index. */
export function nativeEngine(index: boolean): MatcherFactory {
  return {
    name: `native evaluator${index ? '' : ' (no index)'}`,
    create(rules) {
      const { engine, problems } = Engine.fromLoaded(rules, { index });
      if (problems.length > 0) throw new Error(`${problems.length} rules did not compile: ${problems[0]!.message}`);
      return { evaluate: (event, onMatch) => engine.evaluate(event, (r) => onMatch(r.index)) };
    },
  };
}

function report(r: BenchResult): void {
  console.log(`${r.name}:`);
  console.log(`  rules compiled      ${r.rules.toLocaleString('en')} in ${r.compileSeconds.toFixed(2)} s`);
  console.log(`  events scanned      ${r.events.toLocaleString('en')} in ${r.seconds.toFixed(2)} s`);
  console.log(`  events/s            ${Math.round(r.eventsPerSecond).toLocaleString('en')} (wall clock, one thread)`);
  console.log(`  events/CPU-second   ${Math.round(r.eventsPerCpuSecond).toLocaleString('en')} (${r.cpuSeconds.toFixed(2)} s of CPU: less affected by other processes)`);
  console.log(`  matches             ${r.matches.toLocaleString('en')}`);
  console.log(`  peak RSS            ${r.peakRssMb.toFixed(0)} MB`);
}

/** Machine load at the start: figures measured on a busy machine are not comparable. */
function loadNote(): string {
  const [one] = loadavg();
  return `load average ${one!.toFixed(2)} on ${availableParallelism()} core${availableParallelism() === 1 ? '' : 's'}`;
}

async function main(): Promise<void> {
  console.log(`machine               ${loadNote()}`);
  const count = arg('events', 200_000);
  const check = arg('check', 5_000);
  const seed = arg('seed', 1);
  let t = process.hrtime.bigint();
  const { rules, pathErrors } = loadCollection([`${SHARED}rules`]);
  if (pathErrors.length > 0) throw new Error(pathErrors.join('\n'));
  const detection = rules.filter((r) => r.rule?.kind === 'detection' && r.ir).length;
  console.log(`rules loaded          ${rules.length.toLocaleString('en')} (${detection.toLocaleString('en')} detection rules) in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(2)} s`);

  t = process.hrtime.bigint();
  const dir = mkdtempSync(join(tmpdir(), 'rulec-bench-'));
  const file = join(dir, 'events.jsonl');
  const out = createWriteStream(file);
  let bytes = 0;
  for (const line of benchEvents(loadSamples(`${SHARED}regression`), count, seed)) {
    bytes += line.length + 1;
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  console.log(`events written        ${count.toLocaleString('en')} (${(bytes / 1048576).toFixed(0)} MB of JSON Lines) in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(2)} s`);

  try {
    const r = await runBench(nativeEngine(true), rules, file);
    report(r);
    if (check > 0) {
      const on = await runBench(nativeEngine(true), rules, file, { keepDetections: true, limit: check });
      const off = await runBench(nativeEngine(false), rules, file, { keepDetections: true, limit: check });
      const same = JSON.stringify(on.detections) === JSON.stringify(off.detections);
      console.log(`index on/off          ${same ? 'identical' : 'DIFFERENT'} detections on the first ${on.events.toLocaleString('en')} events (${on.matches.toLocaleString('en')} matches; ${Math.round(off.eventsPerSecond).toLocaleString('en')} events/s without the index)`);
      if (!same) process.exitCode = 1;
    }
    parallelScan(file, dir);
    await halvesAtOnce(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `rulec scan --jobs 1` against `--jobs N` on the bench events, every run reported. */
function parallelScan(file: string, dir: string): void {
  const jobs = arg('jobs', Math.max(2, availableParallelism()));
  const runs = arg('runs', 2);
  const script = new URL('./scan-jobs.js', import.meta.url).pathname;
  const cache = join(dir, 'cache');
  const child = (input: string, j: number): ScanRun => {
    const r = spawnSync(process.execPath, [script, `${SHARED}rules`, input, String(j), cache], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`scan-jobs ${j}: ${r.stderr}`);
    return JSON.parse(r.stdout) as ScanRun;
  };
  // Fill the rule cache (the runs measure a warm start, as a responder's second scan is).
  const first = join(dir, 'first.jsonl');
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(1 << 20);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  writeFileSync(first, head.subarray(0, head.subarray(0, n).indexOf(10) + 1));
  child(first, 1);
  console.log(`parallel scan (rulec scan --jobs; ${runs} run${runs === 1 ? '' : 's'} each, alternating; warm rule cache; ${loadNote()}):`);
  const rates = new Map<number, number[]>();
  const bound = new Map<number, number[]>();
  const starts = new Map<number, string[]>();
  const push = <T>(m: Map<number, T[]>, j: number, v: T): void => void (m.get(j) ?? m.set(j, []).get(j)!).push(v);
  for (let r = 0; r < runs; r++) {
    for (const j of [1, jobs]) {
      const run = child(file, j);
      push(rates, j, run.eventsPerSecond);
      if (run.cpuBoundSeconds !== undefined) push(bound, j, run.events / run.cpuBoundSeconds);
      const s = (x: number | undefined): string => (x === undefined ? '?' : x.toFixed(2));
      push(starts, j, `${s(run.firstEventSeconds)} s (CPU ${s(run.firstEventCpuSeconds)} s)`);
      const workers = run.workers.map((w) => `${w.heapPeakMb.toFixed(0)} MB heap, ready after ${s(w.readyCpuSeconds)} s CPU, scan ${s(w.scanCpuSeconds)} s CPU`).join('; ');
      console.log(
        `  --jobs ${String(j).padEnd(2)} ${Math.round(run.eventsPerSecond).toLocaleString('en').padStart(7)} events/s  ` +
          `scan ${run.seconds.toFixed(2)} s (CPU ${run.cpuSeconds.toFixed(2)} s in all, main thread ${s(run.mainCpuSeconds)} s` +
          `${run.cpuBoundSeconds === undefined ? '' : `; ${Math.round(run.events / run.cpuBoundSeconds).toLocaleString('en')} events/s with a core per thread`})  ` +
          `rules loaded ${run.loadSeconds.toFixed(2)} s, ready ${run.compileSeconds.toFixed(2)} s later, first event ${s(run.firstEventSeconds)} s after start (main thread CPU ${s(run.firstEventCpuSeconds)} s)  ` +
          `peak RSS ${run.peakRssMb.toFixed(0)} MB${workers ? ` (workers: ${workers})` : ''}  matches ${run.matches.toLocaleString('en')}`,
      );
    }
  }
  for (const j of [1, jobs]) console.log(`  first event, warm cache, --jobs ${j}: ${starts.get(j)!.join(', ')} after the process started`);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const ratio = (m: Map<number, number[]>): string => {
    const one = m.get(1)!;
    const many = m.get(jobs)!;
    return `${(median(many) / median(one)).toFixed(2)}x (medians; runs: ${many.map((x, i) => (x / one[i]!).toFixed(2)).join(', ')})`;
  };
  console.log(`  speed-up ${jobs} threads / 1, wall clock: ${ratio(rates)}`);
  if (bound.get(1)?.length && bound.get(jobs)?.length) console.log(`  speed-up ${jobs} threads / 1, from the threads' CPU times (a core per thread): ${ratio(bound)}`);
}

/**
 * The machine's own limit for two threads: two one-thread scans (`--jobs 1`, separate processes),
 * each of half the events, at the same time. Two workers cannot beat it (they run the same code on
 * the same cores, and each also warms up on its own); what `--jobs 2` falls short of it is what
 * the workers' design costs, the rest is the cores slowing each other down (shared caches, memory).
 */
async function halvesAtOnce(file: string, dir: string): Promise<void> {
  const runs = arg('runs', 2);
  const script = new URL('./scan-jobs.js', import.meta.url).pathname;
  const cache = join(dir, 'cache');
  // Cut after the first newline past the middle (bench lines are about 1.4 KB).
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const around = Buffer.alloc(1 << 16);
  const got = readSync(fd, around, 0, around.length, size >> 1);
  closeSync(fd);
  const nl = around.subarray(0, got).indexOf(10);
  const mid = nl < 0 ? size : (size >> 1) + nl + 1;
  const halves = [join(dir, 'half1.jsonl'), join(dir, 'half2.jsonl')];
  const copy = async (to: string, start: number, end: number): Promise<void> => {
    const out = createWriteStream(to);
    if (end > start) for await (const chunk of createReadStream(file, { start, end: end - 1 })) if (!out.write(chunk)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  };
  await copy(halves[0]!, 0, mid);
  await copy(halves[1]!, mid, size);
  const child = (input: string): Promise<ScanRun> =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [script, `${SHARED}rules`, input, '1', cache], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (err += d));
      c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as ScanRun) : reject(new Error(`scan-jobs: ${err}`))));
    });
  console.log(`two one-thread scans of half the events each, at the same time (the machine's limit for 2 threads; ${loadNote()}):`);
  for (let r = 0; r < runs; r++) {
    // Started together, each scans from its first event on (after its rules): the two scans' span, from the first start to the last end.
    const both = await Promise.all(halves.map(child));
    const events = both.reduce((a, b) => a + b.events, 0);
    const span = Math.max(...both.map((b) => b.firstEventSeconds + b.seconds)) - Math.min(...both.map((b) => b.firstEventSeconds));
    const cpu = both.map((b) => b.cpuSeconds.toFixed(2)).join(' + ');
    const main = both.map((b) => (b.mainCpuSeconds ?? 0).toFixed(2)).join(' + ');
    console.log(`  ${Math.round(events / span).toLocaleString('en').padStart(7)} events/s (both scans ${span.toFixed(2)} s, each ${both.map((b) => b.seconds.toFixed(2)).join(' and ')} s; CPU ${cpu} s in all, scanning threads ${main} s)  matches ${both.reduce((a, b) => a + b.matches, 0).toLocaleString('en')}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
