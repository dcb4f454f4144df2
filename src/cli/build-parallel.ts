/**
 * `rulec build --jobs N` when most of the rules must be parsed (a cold build): N threads (this one
 * and N-1 worker threads, cli/build-worker.ts, all running the worker's code) each run the whole
 * per-file pipeline for runs of consecutive files taken from one queue (read, parse, lower,
 * compile for every target, write the output files); this thread also plans, checks the
 * collection and prints. Two phases, because some steps need the whole collection:
 *
 * 1. the workers load their runs and keep the documents; they send back each document's facts
 *    (id, name, references: collection/load.ts CollectionDoc), each file's cache value, and the
 *    correlations and filters whole;
 * 2. this thread checks the collection (duplicate ids and names, references), names each rule's
 *    output file (ruleStems over the whole collection), reads each --out folder's manifest, and
 *    sends each worker its findings and the filters; the workers compile and write, and send back
 *    what the build prints of each rule, its file's manifest entry and its compile result's cache
 *    entry, and (for the rules correlations reference) the compiled rule, from which this thread
 *    compiles the correlations.
 *
 * Everything is then printed and recorded in the collection's order, with the same functions the
 * one-thread build uses (commands/build.ts): the output is byte for byte the one `--jobs 1` gives
 * (test/cli/build-jobs.test.ts). Formats that bundle every rule in one file and --validate (which
 * need every query on one thread) are built the one-thread way, with loading on N threads.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { startBuildWorkers, type BuildWorkers } from './build-prestart.js';
import { decode, encode, ShardedStore, type FileStamp, type RuleCache } from '../collection/cache.js';
import { checkCollection, placeholderKey, ruleIndex, type LoadedRule, type LoadPlan } from '../collection/load.js';
import { cutRuns, IN_FLIGHT, RUNS_PER_THREAD } from '../collection/parallel.js';
import { PARALLEL_MIN_BYTES } from '../collection/files.js';
import { OutputError } from '../diag/diagnostic.js';
import type { Parameter } from '../model/types.js';
import { finishOutDir, planOutDir, ruleStems, type OutFileResult } from './out-dir.js';
import type { BuildRecorder } from './build-record.js';
import { Correlations, endTarget, outStamps, reportEntry, reportWritten, ruleEntry, Tally, type BuildOptions, type Entry, type RefusalKind, type ResultSummary, type TargetBuild } from './commands/build.js';
import { serveBuildWorker, writeRuleFile, type DocFacts, type FromBuildWorker, type RuleOut, type ToBuildWorker, type WorkerTarget } from './build-worker.js';
import { UsageError } from './exit-codes.js';
import type { Output } from './output.js';
import { progress } from './progress.js';


export interface WorkerBuildInput {
  roots: string[];
  builds: TargetBuild[];
  opts: BuildOptions;
  failOn: Set<RefusalKind>;
  io: Output;
  since: number;
  cache?: RuleCache;
  recorder?: BuildRecorder;
  placeholders: ReadonlyMap<string, Parameter>;
  /** Workers started already (cli/build-prestart.ts): as many of them as the build needs are taken. */
  workers?: BuildWorkers;
  /** The worker script (tests give one that fails). */
  workerScript?: URL;
}

/**
 * Whether a build can run on build workers: each rule's output is its own (no bundle), nothing
 * needs every query on one thread (--validate), and what is printed per rule is a --json row or a
 * refusal (with --out or --json; queries on stdout are printed the one-thread way).
 */
export function workersCanBuild(builds: readonly TargetBuild[], opts: BuildOptions): boolean {
  if (opts.validate || (!opts.out && !opts.json)) return false;
  return builds.every((b) => b.target.bundle?.(b.format, [], b.topts, []) === undefined);
}

/**
 * How many build workers: `--jobs`, else the cores when there are PARALLEL_MIN_BYTES of rules to
 * parse; 1 (build on this thread) when at most half the files must be parsed, since the workers
 * compile every rule again where the one-thread build takes compile results from the cache.
 */
export function workerCount(plan: LoadPlan, jobs: number | undefined): number {
  if (plan.toParse.length * 2 < plan.files.length || plan.files.length < 2) return 1;
  if (jobs !== undefined) return Math.min(jobs, plan.files.length);
  const bytes = plan.toParse.reduce((a, i) => a + sizeOf(plan.files[i]!), 0);
  return bytes >= PARALLEL_MIN_BYTES ? availableParallelism() : 1;
}

function sizeOf(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

/** A loaded run, as a worker described it. */
interface LoadedRun {
  docs: DocFacts[];
  files: Extract<FromBuildWorker, { type: 'loaded' }>['files'];
  values: Buffer;
  whole: LoadedRule[];
  sourceKeys: (string | null)[];
}

/** How many builds this process ran on build workers (tests check that a build took this path). */
export let workerBuilds = 0;

/**
 * Builds on `workers` threads; returns the exit status, and each rule file's stamp as loaded (for
 * the build's record) when the load went through a cache. The plan is the load's (planLoad).
 */
export async function buildInWorkers(plan: LoadPlan, workers: number, input: WorkerBuildInput): Promise<{ status: number; stamps: Map<string, FileStamp> | undefined }> {
  workerBuilds++;
  const { roots, builds, opts, failOn, io, since, cache, recorder } = input;
  if (plan.pathErrors.length > 0) throw new UsageError(plan.pathErrors.join('\n'));
  const sizes = plan.files.map(sizeOf);
  const runs = cutRuns(sizes, workers * RUNS_PER_THREAD);
  const restore = process.env.RULEC_BUILD_OPT === '1' ? () => {} : withoutOptimizingCompiler();
  // This thread is one of the `workers` (it has its modules loaded, and little else to do while
  // they run); the others are worker threads, taken from those started early when there are enough.
  const n = Math.min(workers, runs.length) - 1;
  const started = input.workers && input.workers.threads.length >= n ? input.workers : startBuildWorkers(n, input.workerScript);
  const remote = started.threads.slice(0, n);
  let fromLocal: (m: FromBuildWorker) => void = () => {};
  const local = localPeer((m) => fromLocal(m));
  const threads: Peer[] = [local, ...remote];
  const owner: Peer[] = [];
  const loaded: LoadedRun[] = [];
  const compiled: { rules: RuleOut[][]; exports: { loaded: LoadedRule; entries: (Omit<Entry, 'loaded'> | null)[] }[] }[] = [];
  let failure: Error | undefined;
  /** Messages in so far (runs loaded, then runs loaded and compiled), and the wait for a number of them. */
  let arrivals = 0;
  let waiting: { count: number; settle: () => void } | undefined;
  const fail = (e: Error): void => {
    failure ??= e;
    waiting?.settle();
  };
  const arrived = (): void => {
    if (++arrivals >= (waiting?.count ?? Infinity)) waiting!.settle();
  };
  const until = (count: number): Promise<void> => (arrivals >= count || failure ? Promise.resolve() : new Promise<void>((r) => (waiting = { count, settle: r })));
  let next = 0;
  const stamped = plan.cached !== undefined;
  const send = (w: Peer): void => {
    if (next >= runs.length || failure) return;
    const seq = next++;
    owner[seq] = w;
    const [start, end] = runs[seq]!;
    const files: Extract<ToBuildWorker, { type: 'load' }>['files'] = [];
    for (let i = start; i < end; i++) {
      const path = plan.files[i]!;
      const hit = plan.cached?.hits[i];
      const blob = hit ? plan.cached!.store.value(path) : undefined;
      files.push(hit && blob ? { path, cached: blob, sha: hit.stamp.sha } : { path });
    }
    w.postMessage({ type: 'load', seq, files } satisfies ToBuildWorker);
  };
  const bar = progress('loading rules', undefined, { since });
  let filesLoaded = 0;
  let compiling: ReturnType<typeof progress> | undefined;
  let runsCompiled = 0;
  try {
    const targets: WorkerTarget[] = builds.map((b) => ({
      name: b.target.name,
      platform: b.platform,
      format: b.format,
      ...(b.topts.index ? { index: b.topts.index } : {}),
      ...(b.topts.enable ? { enable: true } : {}),
      cached: cache !== undefined,
    }));
    const init: ToBuildWorker = {
      type: 'init',
      placeholders: [...input.placeholders],
      stamped,
      values: placeholderKey({ placeholders: input.placeholders }),
      targets,
      json: opts.json === true,
      failOn: [...failOn],
      ...(cache ? { cacheRoot: cache.root } : {}),
    };
    function onMessage(w: Peer, m: FromBuildWorker): void {
      if (failure) return;
      if (m.type === 'failed') return fail(m.output ? new OutputError(m.message) : new Error(`building on a worker thread: ${m.message}`));
      if (m.type === 'loaded') {
        try {
          loaded[m.seq] = { docs: m.docs, files: m.files, values: Buffer.from(m.values), whole: decode<LoadedRule[]>(Buffer.from(m.whole)), sourceKeys: m.sourceKeys };
        } catch (e) {
          return fail(new Error(`reading what a build worker sent: ${(e as Error).message}`));
        }
        filesLoaded += runs[m.seq]![1] - runs[m.seq]![0];
        bar.update(filesLoaded, plan.files.length);
        send(w);
      } else {
        try {
          compiled[m.seq] = { rules: m.rules, exports: decode(Buffer.from(m.exports)) };
        } catch (e) {
          return fail(new Error(`reading what a build worker sent: ${(e as Error).message}`));
        }
        compiling?.update(++runsCompiled, runs.length);
      }
      arrived();
    }
    fromLocal = (m) => onMessage(local, m);
    for (const w of remote) {
      w.on('error', (e) => fail(new Error(`a build worker failed: ${e.message}`)));
      w.on('messageerror', (e) => fail(new Error(`a build worker sent what cannot be read: ${e.message}`)));
      w.on('exit', (code) => fail(new Error(`a build worker stopped before it was done (exit code ${code})`)));
      w.on('message', (m: FromBuildWorker) => onMessage(w, m));
    }
    for (const w of threads) w.postMessage(init);
    if (started.failure) fail(started.failure);
    for (let k = 0; k < IN_FLIGHT; k++) for (const w of threads) send(w);
    // Each platform mapping, read once here (from the cache, else parsed) while the workers load
    // their modules, instead of parsed by every worker.
    const mappings = builds.map((b) => b.topts.mapping);
    await until(runs.length);
    if (failure) throw failure;
    bar.done();

    // The collection, as facts in file order; the documents stay on the workers.
    const facts = loaded.flatMap((r) => r.docs);
    if (facts.length === 0) throw new UsageError(`no rule files (*.yml, *.yaml) found in ${roots.join(', ')}`);
    checkCollection(facts);
    const whole: LoadedRule[] = [];
    const wholeAt = new Map<number, LoadedRule>();
    {
      let n = 0;
      for (const r of loaded) {
        let w = 0;
        for (const d of r.docs) {
          if (d.whole) {
            const doc = r.whole[w++]!;
            doc.diagnostics.push(...facts[n]!.diagnostics);
            whole.push(doc);
            wholeAt.set(n, doc);
          }
          n++;
        }
      }
    }
    const filterAt = [...wholeAt].filter(([, d]) => d.rule?.kind === 'filter' && d.ir);
    const filterKeys = filterAt.map(([n]) => sourceKeyAt(loaded, n));
    const hasError = (n: number): boolean => facts[n]!.diagnostics.some((d) => d.severity === 'error') || (facts[n] as DocFacts).invalid;
    const isEntry = (n: number): boolean => hasError(n) || !facts[n]!.rule || facts[n]!.rule!.kind !== 'filter';
    const entryAt = facts.map((_, n) => n).filter(isEntry);
    const stemOf = new Map<number, string>();
    ruleStems(entryAt.map((n) => facts[n] as DocFacts), roots).forEach((s, i) => stemOf.set(entryAt[i]!, s));
    // The detection rules correlations reference (by id, else name, over the whole collection, as the
    // one-thread build resolves them): their workers send them back compiled.
    const resolve = ruleIndex(facts).resolve;
    const exported = new Set<number>();
    const position = new Map(facts.map((f, n) => [f, n]));
    for (const d of wholeAt.values()) {
      if (d.rule?.kind !== 'correlation') continue;
      for (const ref of d.rule.correlation.rules) {
        const target = resolve(ref);
        const n = target && position.get(target);
        if (n !== undefined && !wholeAt.has(n)) exported.add(n);
      }
    }
    const dirs = builds.map((b) => (b.out ? { plan: planOutDir(b.out, { target: b.target.name, platform: b.platform, format: b.format }), stamps: outStamps(cache, b) } : undefined));
    const context: ToBuildWorker = {
      type: 'context',
      filters: encode(filterAt.map(([, d]) => d)),
      filterKeys,
      mappings,
      dirs: dirs.map((d) => (d ? { plan: { out: d.plan.out, ours: d.plan.ours, others: d.plan.others }, known: d.stamps.known } : null)),
    };
    for (const w of threads) w.postMessage(context);
    compiling = progress(`compiling for ${builds.map((b) => `${b.target.name}/${b.platform}`).join(', ')}`, undefined, { since });
    {
      let n = 0;
      for (const [seq, r] of loaded.entries()) {
        const extra: [number, (typeof facts)[number]['diagnostics']][] = [];
        const stems: (string | null)[] = [];
        const exports: number[] = [];
        r.docs.forEach((_, pos) => {
          if (facts[n]!.diagnostics.length > 0) extra.push([pos, facts[n]!.diagnostics]);
          stems.push(stemOf.get(n) ?? null);
          if (exported.has(n)) exports.push(pos);
          n++;
        });
        owner[seq]!.postMessage({ type: 'compile', seq, extra, stems, exports } satisfies ToBuildWorker);
      }
    }
    // While the workers compile: the load store's packs (the workers encoded the values).
    const stamps = saveLoaded(plan, runs, loaded);
    await until(2 * runs.length);
    if (failure) throw failure;
    compiling.done();

    // Printed in the collection's order, target after target, as the one-thread build prints.
    let status = 0;
    for (const [t, b] of builds.entries()) {
      const dir = dirs[t];
      const correlationEntries = correlationsOf(b, loaded, compiled, wholeAt, exported, t);
      const tally = new Tally();
      const buildNotes = new Map<string, number>();
      const files: OutFileResult[] = [];
      const store = cache ? new ShardedStore<ResultSummary>(cache, 'out', b.optionsKey) : undefined;
      let rules = 0;
      let writeError: string | undefined;
      let n = 0;
      for (const r of compiled) {
        for (const per of r.rules) {
          const main = correlationEntries.get(n);
          const stem = stemOf.get(n);
          n++;
          if (main) {
            rules++;
            tally.add(main.result.ok ? undefined : main.result.kind, reportEntry(main, b, opts, failOn, io));
            if (main.result.ok) {
              for (const note of main.result.buildNotes ?? []) buildNotes.set(note, (buildNotes.get(note) ?? 0) + 1);
              if (dir && stem !== undefined && writeError === undefined) {
                const w = writeRuleFile({ plan: dir.plan, known: dir.stamps.known }, `${stem}.${main.result.ext}`, main.result.output);
                if ('file' in w) files.push(w.file);
                else writeError = w.writeError;
              }
            }
            continue;
          }
          const out = per[t]!;
          if (!out.outcome) continue;
          rules++;
          for (const [kind, what] of out.said) kind === 'json' ? io.json(what) : io.err(what as string);
          tally.add(out.outcome[0] ?? undefined, out.outcome[1]);
          for (const note of out.buildNotes ?? []) buildNotes.set(note, (buildNotes.get(note) ?? 0) + 1);
          if (out.file) files.push(out.file);
          writeError ??= out.writeError;
          if (store && out.cache) {
            const [key, summary, blob] = out.cache;
            store.put(key, summary, blob ? Buffer.from(blob.buffer, blob.byteOffset, blob.length) : undefined);
          }
        }
      }
      store?.save();
      // One thread writes after printing every rule's lines, and stops at the first file it cannot write.
      if (writeError !== undefined) throw new OutputError(writeError);
      let refusedFiles = 0;
      if (dir) refusedFiles = reportWritten(b.out!, finishOutDir(dir.plan, files), dir.stamps, recorder, io);
      status = Math.max(status, endTarget(b, rules, tally, buildNotes, refusedFiles, opts, io));
    }
    return { status, stamps };
  } finally {
    await started.release();
    restore();
  }
}

/**
 * V8's optimizing compiler off while the build workers run (every thread of the process: V8's
 * flags are the process's), back on after. Each worker is a V8 isolate that would optimize the
 * parser, lowering and printers again on its own, on background threads that take the cores the
 * workers need: a cold corpus build spent about 1.7 s of CPU there with 2 workers, against 0.5 s
 * more in the workers without it (docs/performance.md). RULEC_BUILD_OPT=1 leaves it on (to measure).
 */
function withoutOptimizingCompiler(): () => void {
  setFlagsFromString('--no-opt');
  return () => setFlagsFromString('--opt');
}

/** A build worker as this thread speaks to it: a worker thread, or this thread itself (localPeer). */
type Peer = Pick<Worker, 'postMessage'>;

/**
 * This thread as a build worker: the worker's own code (serveBuildWorker), its messages passed
 * through the event loop (each run is a task of its own, so that the worker threads' messages are
 * heard between this thread's runs) and not copied: what it sends is its own, as a worker's is.
 */
function localPeer(toMain: (m: FromBuildWorker) => void): Peer {
  let handler: ((m: ToBuildWorker) => void) | undefined;
  serveBuildWorker({
    on: (_event, f) => (handler = f),
    postMessage: (m) => setImmediate(() => toMain(m)),
  });
  return { postMessage: (m: ToBuildWorker) => setImmediate(() => handler!(m)) } as Peer;
}

/** The cache's load store, as finishLoad leaves it: each parsed file's value put, each hit kept; returns each file's stamp as loaded. */
function saveLoaded(plan: LoadPlan, runs: [number, number][], loaded: LoadedRun[]): Map<string, FileStamp> | undefined {
  const cached = plan.cached;
  if (!cached) return undefined;
  const stamps = new Map<string, FileStamp>();
  for (const [seq, [start, end]] of runs.entries()) {
    const r = loaded[seq]!;
    let at = 0;
    for (let i = start; i < end; i++) {
      const f = plan.files[i]!;
      const out = r.files[i - start]!;
      const hit = cached.hits[i];
      if (hit && out.decoded) {
        if (hit.kept) cached.store.keep(f);
        else cached.store.put(f, hit.stamp, 'previous');
        stamps.set(f, hit.stamp);
      } else if (out.stamp && out.len !== undefined) {
        cached.store.put(f, out.stamp, r.values.subarray(at, at + out.len));
        stamps.set(f, out.stamp);
        at += out.len;
      }
    }
  }
  cached.store.save();
  return stamps;
}

/** The source key a worker sent of the n-th document (filters' only). */
function sourceKeyAt(loaded: LoadedRun[], n: number): string | null {
  for (const r of loaded) {
    if (n < r.docs.length) return r.sourceKeys[n] ?? null;
    n -= r.docs.length;
  }
  return null;
}

/**
 * The correlations of one target, compiled on this thread (Correlations, as the one-thread build)
 * from the documents held whole and the referenced rules the workers compiled; by document number.
 */
function correlationsOf(
  b: TargetBuild,
  loaded: LoadedRun[],
  compiled: { exports: { loaded: LoadedRule; entries: (Omit<Entry, 'loaded'> | null)[] }[] }[],
  wholeAt: ReadonlyMap<number, LoadedRule>,
  exported: ReadonlySet<number>,
  t: number,
): Map<number, Entry> {
  const out = new Map<number, Entry>();
  if (![...wholeAt.values()].some((d) => d.rule?.kind === 'correlation')) return out;
  const docs: [number, LoadedRule, Entry | undefined][] = [];
  let n = 0;
  for (const [seq, r] of loaded.entries()) {
    let x = 0;
    for (let pos = 0; pos < r.docs.length; pos++, n++) {
      const w = wholeAt.get(n);
      if (w) docs.push([n, w, ruleEntry(w, new Map(), () => ({ ok: false, kind: 'invalid', error: 'not a detection rule' }))]);
      else if (exported.has(n)) {
        const ex = compiled[seq]!.exports[x++]!;
        const e = ex.entries[t];
        docs.push([n, ex.loaded, e ? { loaded: ex.loaded, ...e } : undefined]);
      }
    }
  }
  const entries = docs.flatMap(([, , e]) => (e ? [e] : []));
  const correlations = new Correlations(b.target, b.topts, docs.map(([, d]) => d), entries);
  for (const e of entries) correlations.compile(e);
  for (const [n, d, e] of docs) if (e && d.rule?.kind === 'correlation') out.set(n, e);
  return out;
}
