/**
 * The worker threads of a cold build (cli/build-parallel.ts), started before the main thread loads
 * the compiler: a worker takes a few hundred milliseconds to load its modules, which then overlap
 * the main thread's own start-up (its modules, the targets, the plan of the load) instead of
 * following it. Its own module, without the parser, so that main.ts can load it first.
 *
 * Started only when the build will run on workers: --out or --json, no --validate, the default
 * format, no placeholder values, no cached load of these paths (the cache's index of them is
 * absent: a warm build parses few files and runs on one thread), PARALLEL_MIN_BYTES of rule files
 * or --jobs N. Whatever the guess, the build decides again from its plan and ends the workers it
 * does not take.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadStoreKey } from '../collection/cache.js';
import { findRuleFiles, PARALLEL_MIN_BYTES } from '../collection/files.js';
import { ruleCache, type CacheOptions } from './cache.js';

/** Build workers started, with what went wrong with them before the build took them. */
export interface BuildWorkers {
  threads: Worker[];
  /** A worker that failed or stopped before the build took them: the build reports it. */
  failure?: Error;
  /** Ends the workers (the build's, or unused ones). */
  release(): Promise<void>;
}

/** Starts `n` build workers (the script: beside this module, else the build's when run from source). */
export function startBuildWorkers(n: number, script: URL = buildWorkerScript()): BuildWorkers {
  const threads = Array.from({ length: n }, () => new Worker(script, { workerData: { rulec: 'build' } }));
  const started: BuildWorkers = {
    threads,
    release: async () => {
      for (const w of threads) w.removeAllListeners('exit');
      await Promise.all(threads.map((w) => w.terminate()));
    },
  };
  for (const w of threads) {
    // Until the build listens: an early failure is kept for it to report.
    w.on('error', (e) => (started.failure ??= new Error(`a build worker failed: ${e.message}`)));
    w.on('exit', (code) => (started.failure ??= new Error(`a build worker stopped before it was done (exit code ${code})`)));
  }
  return started;
}

function buildWorkerScript(): URL {
  const here = new URL('./build-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/cli/build-worker.js', import.meta.url);
}

export interface PrestartOptions extends CacheOptions {
  out?: string;
  json?: boolean;
  validate?: boolean;
  format?: string;
  jobs?: string;
  placeholders?: string;
  placeholder?: string[];
}

/** The build workers a cold build will run on, started now; undefined when the build may not run on workers. */
export function prestartBuildWorkers(paths: string[], opts: PrestartOptions): BuildWorkers | undefined {
  if (opts.validate || (!opts.out && !opts.json) || (opts.format !== undefined && opts.format !== 'query')) return undefined;
  if (opts.placeholders !== undefined || (opts.placeholder?.length ?? 0) > 0) return undefined;
  const jobs = opts.jobs === undefined ? undefined : /^[1-9]\d*$/.test(opts.jobs) ? Number(opts.jobs) : 1;
  if (jobs === 1) return undefined;
  const roots = paths.length ? paths : ['rules/'];
  const cache = ruleCache(opts);
  if (cache && existsSync(cache.path('load', loadStoreKey(roots, '')))) return undefined;
  const { files } = findRuleFiles(roots);
  if (files.length < 2) return undefined;
  if (jobs === undefined) {
    let bytes = 0;
    for (const f of files) {
      try {
        bytes += statSync(f).size;
      } catch {
        // unreadable: loading it says why
      }
      if (bytes >= PARALLEL_MIN_BYTES) break;
    }
    if (bytes < PARALLEL_MIN_BYTES) return undefined;
  }
  // The main thread is one of the build's threads (build-parallel.ts): the others are workers.
  const threads = Math.min(jobs ?? availableParallelism(), files.length) - 1;
  return threads > 0 ? startBuildWorkers(threads) : undefined;
}
