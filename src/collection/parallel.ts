/**
 * Loading a collection on several threads (`--jobs N`): the files to parse (planLoad's `toParse`)
 * are cut into runs of consecutive files of about equal bytes, which N-1 workers and the calling
 * thread take from one queue. A worker reads, parses and lowers a run (loadFile) and sends its
 * documents back already serialized, the form the rule cache keeps (one ArrayBuffer a run, moved,
 * not copied); the calling thread decodes each as it arrives, between its own runs, and puts every
 * run in file order. So the collection (and every output made from it) is the one a single thread
 * loads: the same documents, through the same serialization a warm cache already uses.
 *
 * Runs from a queue, not one shard a thread: on a shared machine a thread may get less of a core
 * than another, and whichever finishes a run takes the next. The calling thread parses too: it
 * starts at once while the workers load their modules, and its documents need no serializing.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { decode, encode, type FileStamp } from './cache.js';
import { PARALLEL_MIN_BYTES } from './files.js';
import { finishLoad, keep, loadFile, planLoad, type Collection, type LoadedRule, type LoadOptions, type LoadPlan, type ParsedFile, type ProgressCallback } from './load.js';
import type { Parameter } from '../model/types.js';

export { PARALLEL_MIN_BYTES } from './files.js';

/**
 * The default thread count: one core is left to V8's own threads (concurrent garbage collection
 * and compilation, which parsing keeps busy). On this project's 2-core machines, idle, a cold
 * corpus build with 2 threads took 2.4 s against 2.0 s with one (docs/performance.md).
 */
export const defaultJobs = (): number => Math.max(1, availableParallelism() - 1);
/** Runs per thread: small enough to even out workers that get less of a core, large enough that a message per run costs nothing. */
export const RUNS_PER_THREAD = 6;
/** Runs sent to a worker before it answers, so that it never waits for the next one. */
export const IN_FLIGHT = 2;

export interface ParallelOptions extends LoadOptions {
  /** Threads to parse on: 1 is the calling thread; undefined: the cores when there is enough to parse. */
  jobs?: number;
  /** The worker script (tests give one that fails). */
  workerScript?: URL;
  /** The load's plan when the caller has made it already (planLoad with these options). */
  plan?: LoadPlan;
}

/** To a load worker. */
export type ToLoadWorker =
  | { type: 'init'; placeholders: [string, Parameter][]; stamped: boolean }
  | { type: 'load'; seq: number; files: string[] };

/** From a load worker: a run's documents, serialized one file after another in `buffer`. */
export type FromLoadWorker =
  | { type: 'loaded'; seq: number; buffer: ArrayBuffer; files: { len: number; stamp?: FileStamp }[] }
  | { type: 'failed'; seq: number; file: string; message: string };

/**
 * Loads a collection as loadCollection does, parsing on `jobs` threads; the same collection, in the
 * same order. `threads`: how many threads parsed (1: the calling thread alone).
 */
export async function loadCollectionParallel(paths: string[], onProgress: ProgressCallback = () => {}, opts: ParallelOptions = {}): Promise<Collection & { threads: number }> {
  const plan = opts.plan ?? planLoad(paths, opts);
  const total = plan.files.length;
  const onFile = (n: number): void => onProgress(n, total);
  const sizes = plan.toParse.map((i) => sizeOf(plan.files[i]!));
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const jobs = Math.min(opts.jobs ?? (bytes >= PARALLEL_MIN_BYTES ? defaultJobs() : 1), plan.toParse.length);
  let parsed: ParsedFile[];
  let threads = 1;
  if (jobs <= 1) {
    parsed = plan.toParse.map((i, n) => {
      onFile(n);
      return keep(plan.files[i]!, loadFile(plan.files[i]!, opts, plan.cached !== undefined), plan);
    });
  } else {
    ({ parsed, threads } = await parseInWorkers(plan, sizes, jobs, onFile, opts.workerScript ?? workerScript()));
  }
  return { ...finishLoad(plan, parsed, onFile), threads };
}

/** A file's size for cutting runs (0 when it cannot be read: loading it reports why). */
function sizeOf(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

/** Consecutive runs of `toParse` (positions into it) of about `total / runs` bytes each, none empty. */
export function cutRuns(sizes: readonly number[], runs: number): [start: number, end: number][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const target = Math.max(1, total / Math.max(1, runs));
  const out: [number, number][] = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < sizes.length; i++) {
    acc += sizes[i]!;
    if (acc >= target || i === sizes.length - 1) {
      out.push([start, i + 1]);
      start = i + 1;
      acc = 0;
    }
  }
  return out;
}

/**
 * The worker script: beside this module when running the build; when this module runs from source
 * (vitest), the build's (`npm test` builds first) since a worker thread cannot load TypeScript.
 */
function workerScript(): URL {
  const here = new URL('./load-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/collection/load-worker.js', import.meta.url);
}

/**
 * Parses the runs on `jobs` threads: `jobs - 1` workers and this one, which takes runs from the
 * same queue and decodes the workers' runs between its own (its own documents need no
 * serialization, and it starts at once while the workers load their modules).
 */
async function parseInWorkers(plan: LoadPlan, sizes: number[], jobs: number, onFile: (done: number) => void, script: URL): Promise<{ parsed: ParsedFile[]; threads: number }> {
  const runs = cutRuns(sizes, jobs * RUNS_PER_THREAD);
  const workers = Array.from({ length: Math.min(jobs - 1, runs.length) }, () => new Worker(script));
  const parsed: ParsedFile[] = new Array(plan.toParse.length);
  const placeholders = [...(plan.opts.placeholders ?? new Map<string, Parameter>())];
  const stamped = plan.cached !== undefined;
  let done = 0;
  let next = 0;
  let finished = 0;
  let failure: Error | undefined;
  let settle: () => void = () => {};
  const fail = (e: Error): void => {
    failure ??= e;
    settle();
  };
  const finish = (start: number, end: number): void => {
    done += end - start;
    onFile(done);
    if (++finished === runs.length) settle();
  };
  const send = (w: Worker): void => {
    if (next >= runs.length) return;
    const [start, end] = runs[next]!;
    const files = plan.toParse.slice(start, end).map((i) => plan.files[i]!);
    w.postMessage({ type: 'load', seq: next++, files } satisfies ToLoadWorker);
  };
  try {
    for (const w of workers) {
      w.on('error', (e) => fail(new Error(`a rule-loading worker failed: ${e.message}`)));
      w.on('messageerror', (e) => fail(new Error(`a rule-loading worker sent what cannot be read: ${e.message}`)));
      w.on('exit', (code) => {
        if (finished < runs.length) fail(new Error(`a rule-loading worker stopped before it was done (exit code ${code})`));
      });
      w.on('message', (m: FromLoadWorker) => {
        if (failure) return;
        if (m.type === 'failed') return fail(new Error(`loading ${m.file} on a worker thread: ${m.message}`));
        try {
          const [start, end] = runs[m.seq]!;
          const buf = Buffer.from(m.buffer);
          let at = 0;
          for (let k = start; k < end; k++) {
            const f = m.files[k - start]!;
            const blob = buf.subarray(at, at + f.len);
            at += f.len;
            const docs = decode<LoadedRule[]>(blob);
            parsed[k] = stamped && f.stamp ? { docs, entry: { key: plan.files[plan.toParse[k]!]!, meta: f.stamp, blob } } : { docs };
          }
          finish(start, end);
        } catch (e) {
          return fail(new Error(`reading what a rule-loading worker sent: ${(e as Error).message}`));
        }
        send(w);
      });
      w.postMessage({ type: 'init', placeholders, stamped } satisfies ToLoadWorker);
    }
    for (let k = 0; k < IN_FLIGHT; k++) for (const w of workers) send(w);
    // This thread's share: a run at a time, then the workers' messages that came meanwhile.
    while (next < runs.length && !failure) {
      const [start, end] = runs[next++]!;
      for (let k = start; k < end; k++) {
        const f = plan.files[plan.toParse[k]!]!;
        parsed[k] = keep(f, loadFile(f, plan.opts, stamped), plan);
        onFile(done + k - start + 1);
      }
      finish(start, end);
      await new Promise((r) => setImmediate(r));
    }
    if (finished < runs.length && !failure) await new Promise<void>((r) => (settle = r));
    if (failure) throw failure;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { parsed, threads: workers.length + 1 };
}

/**
 * A load worker's side: loads each run of files it is sent, one file's documents serialized after
 * another. A file whose documents cannot be serialized (never so for plain data) fails the load
 * with its name, as an exception while loading it does.
 */
export function serveLoadWorker(port: { on(e: 'message', f: (m: ToLoadWorker) => void): void; postMessage(m: FromLoadWorker, transfer?: ArrayBuffer[]): void }): void {
  let opts: LoadOptions = {};
  let stamped = false;
  port.on('message', (m) => {
    if (m.type === 'init') {
      opts = m.placeholders.length > 0 ? { placeholders: new Map(m.placeholders) } : {};
      stamped = m.stamped;
      return;
    }
    const blobs: Buffer[] = [];
    const files: { len: number; stamp?: FileStamp }[] = [];
    for (const f of m.files) {
      try {
        const loaded = loadFile(f, opts, stamped);
        const blob = encode(loaded.docs);
        blobs.push(blob);
        files.push(loaded.stamp ? { len: blob.length, stamp: loaded.stamp } : { len: blob.length });
      } catch (e) {
        port.postMessage({ type: 'failed', seq: m.seq, file: f, message: (e as Error).message });
        return;
      }
    }
    const all = Buffer.concat(blobs);
    // Buffer.concat may return a view of a shared pool: copy into a buffer of our own to move it.
    const buffer = all.byteOffset === 0 && all.byteLength === all.buffer.byteLength ? (all.buffer as ArrayBuffer) : new Uint8Array(all).buffer;
    port.postMessage({ type: 'loaded', seq: m.seq, buffer, files }, [buffer]);
  });
}
