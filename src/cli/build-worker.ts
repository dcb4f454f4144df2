/**
 * A build worker thread (`rulec build --jobs N`, cli/build-parallel.ts starts it and speaks to it):
 * it runs the whole per-file pipeline for the runs of files it is given. First it reads, parses
 * and lowers them and keeps the documents, sending back only the facts the collection checks read
 * (ids, names, references), each file's cache value, and the few documents the main thread needs
 * whole (correlations, filters). Then, with the collection's own findings (duplicate ids, output
 * names, filters), it compiles its rules for every target, writes their files under --out, and
 * sends back what the build prints of each rule, the manifest entries and the cache's entries.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encode, decode, RuleCache, useForCode, type FileStamp } from '../collection/cache.js';
import { collectionFacts, loadFile, markSources, setSourceKey, sourceKey, type CollectionDoc, type LoadedRule, type LoadOptions } from '../collection/load.js';
import { effectiveIr, applyingFilters } from '../collection/filters.js';
import { OutputError, type Diagnostic } from '../diag/diagnostic.js';
import type { Parameter } from '../model/types.js';
import { loadTarget } from '../targets/registry.js';
import type { Target, TargetOptions } from '../targets/types.js';
import { writeOutFile, type OutDirPlan, type OutFileResult } from './out-dir.js';
import { compileKey, encodeResult, reportEntry, ruleEntry, summarize, type Entry, type RefusalKind, type ResultSummary } from './commands/build.js';
import type { Output } from './output.js';

/** One target of the build as a worker needs it (its settings; the target module it loads itself). */
export interface WorkerTarget {
  name: string;
  platform: string;
  format: string;
  index?: string[];
  enable?: boolean;
  /** Whether compile results go to the cache (their keys and values are sent back). */
  cached: boolean;
}

/** What the build prints of one rule, in order: `--json` rows and stderr lines. */
export type Said = ['json', unknown] | ['err', string];

/** A document's facts (collection/load.ts CollectionDoc) and what the main thread needs of it besides. */
export interface DocFacts extends CollectionDoc {
  index: number;
  /** It has an error of its own (before the collection checks). */
  invalid: boolean;
  /** The document is sent whole (`whole` of its run): a correlation or a filter. */
  whole: boolean;
}

export type ToBuildWorker =
  | { type: 'init'; placeholders: [string, Parameter][]; stamped: boolean; values: string; targets: WorkerTarget[]; json: boolean; failOn: RefusalKind[]; cacheRoot?: string }
  | { type: 'load'; seq: number; files: { path: string; cached?: Uint8Array; sha?: string }[] }
  /**
   * Sent once, after every run is loaded: the filters of the collection (each with its source key),
   * each target's platform mapping (read once, through the cache, by the main thread) and --out.
   */
  | { type: 'context'; filters: Uint8Array; filterKeys: (string | null)[]; mappings: unknown[]; dirs: ({ plan: Pick<OutDirPlan, 'out' | 'ours' | 'others'>; known: Map<string, FileStamp> } | null)[] }
  | { type: 'compile'; seq: number; extra: [number, Diagnostic[]][]; stems: (string | null)[]; exports: number[] };

/** Per file of a loaded run: its cache entry (stamp and value) when stamped, or whether a cached value decoded. */
export type FileOut = { docs: number; stamp?: FileStamp; len?: number; decoded?: boolean };

/** What a worker says of one rule for one target. */
export interface RuleOut {
  said: Said[];
  /** The refusal kind (null: compiled) and whether it is skipped; absent: a correlation, which the main thread builds. */
  outcome?: [RefusalKind | null, boolean];
  buildNotes?: string[];
  file?: OutFileResult;
  /** Why its file could not be written (the build fails with it once it has printed what one thread prints before). */
  writeError?: string;
  cache?: [key: string, summary: ResultSummary, blob?: Uint8Array];
}

export type FromBuildWorker =
  | { type: 'loaded'; seq: number; docs: DocFacts[]; files: FileOut[]; values: ArrayBuffer; whole: ArrayBuffer; sourceKeys: (string | null)[] }
  | { type: 'compiled'; seq: number; rules: RuleOut[][]; exports: ArrayBuffer }
  | { type: 'failed'; seq: number; message: string; output: boolean };

interface Port {
  on(e: 'message', f: (m: ToBuildWorker) => void): void;
  postMessage(m: FromBuildWorker, transfer?: ArrayBuffer[]): void;
}

/**
 * Writes one rule's file under --out; a file that cannot be written is its error's message (the
 * build fails with it once it has printed what one thread prints before), any other error is thrown.
 */
export function writeRuleFile(dir: { plan: Pick<OutDirPlan, 'out' | 'ours' | 'others'>; known: ReadonlyMap<string, FileStamp> }, path: string, content: string): { file: OutFileResult } | { writeError: string } {
  try {
    return { file: writeOutFile(dir.plan, { path, content }, dir.known) };
  } catch (err) {
    if (!(err instanceof OutputError)) throw err;
    return { writeError: err.message };
  }
}

/** One buffer of its own holding `parts` one after another (to move, not copy, to the main thread). */
function concat(parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.buffer;
}

export function serveBuildWorker(port: Port): void {
  let init: Extract<ToBuildWorker, { type: 'init' }> | undefined;
  let opts: LoadOptions = {};
  const targets: { target: Promise<Target>; topts: TargetOptions }[] = [];
  /** Each run's documents, by seq, kept from loading to compiling. */
  const runs = new Map<number, LoadedRule[]>();
  let filters: LoadedRule[] = [];
  let context: Extract<ToBuildWorker, { type: 'context' }> | undefined;

  const load = (m: Extract<ToBuildWorker, { type: 'load' }>): void => {
    const docs: LoadedRule[] = [];
    const facts: DocFacts[] = [];
    const files: FileOut[] = [];
    const values: Uint8Array[] = [];
    const whole: LoadedRule[] = [];
    const sourceKeys: (string | null)[] = [];
    for (const f of m.files) {
      let fileDocs: LoadedRule[] | undefined;
      let sha = f.sha;
      const out: FileOut = { docs: 0 };
      if (f.cached) {
        try {
          fileDocs = decode<LoadedRule[]>(Buffer.from(f.cached.buffer, f.cached.byteOffset, f.cached.length));
          out.decoded = true;
        } catch {
          // a corrupt value behind a good checksum: the file is loaded, and not kept (the next run parses it)
          sha = undefined;
          out.decoded = false;
        }
      }
      if (!fileDocs) {
        const loaded = loadFile(f.path, opts, init!.stamped && !f.cached);
        fileDocs = loaded.docs;
        if (loaded.stamp) {
          const blob = encode(loaded.docs);
          out.stamp = loaded.stamp;
          out.len = blob.length;
          values.push(blob);
          sha = loaded.stamp.sha;
        }
      }
      out.docs = fileDocs.length;
      files.push(out);
      if (sha !== undefined) markSources(fileDocs, f.path, sha, init!.values);
      for (const d of fileDocs) {
        const kind = d.rule?.kind;
        const isWhole = kind === 'correlation' || kind === 'filter';
        if (isWhole) whole.push(d);
        facts.push({ ...collectionFacts(d), index: d.index, invalid: d.diagnostics.some((x) => x.severity === 'error'), whole: isWhole });
        sourceKeys.push(isWhole ? (sourceKey(d) ?? null) : null);
        docs.push(d);
      }
    }
    runs.set(m.seq, docs);
    const valuesBuf = concat(values);
    const wholeBuf = concat([encode(whole)]);
    port.postMessage({ type: 'loaded', seq: m.seq, docs: facts, files, values: valuesBuf, whole: wholeBuf, sourceKeys }, [valuesBuf, wholeBuf]);
  };

  const compile = async (m: Extract<ToBuildWorker, { type: 'compile' }>): Promise<void> => {
    const docs = runs.get(m.seq)!;
    runs.delete(m.seq);
    for (const [pos, extra] of m.extra) docs[pos]!.diagnostics.push(...extra);
    const own = docs.filter((d) => d.rule?.kind !== 'filter');
    // The collection's filters first, in its order: effectiveIr AND-s them in that order.
    const pool = [...filters, ...own];
    const irs = effectiveIr(pool);
    const applied = targets.some((_, t) => init!.targets[t]!.cached) ? applyingFilters(pool) : undefined;
    const failOn = new Set(init!.failOn);
    const rules: RuleOut[][] = docs.map(() => []);
    const exported = new Map<number, { loaded: LoadedRule; entries: (Omit<Entry, 'loaded'> | null)[] }>(m.exports.map((p) => [p, { loaded: docs[p]!, entries: [] }]));
    for (const [t, { target: pending, topts }] of targets.entries()) {
      const target = await pending;
      const wt = init!.targets[t]!;
      const dir = context!.dirs[t];
      for (const [pos, loaded] of docs.entries()) {
        const out: RuleOut = { said: [] };
        let cache: RuleOut['cache'];
        const e = ruleEntry(loaded, irs, (input) => {
          const result = target.compile(input, topts);
          const key = wt.cached ? compileKey(loaded, applied!) : undefined;
          if (key !== undefined) {
            const summary = summarize(result);
            try {
              cache = 'failure' in summary ? [key, summary] : [key, summary, encodeResult(result)];
            } catch {
              // not kept exactly by the cache: not kept
            }
          }
          return result;
        });
        exported.get(pos)?.entries.push(e ? { result: e.result, ...(e.input ? { input: e.input } : {}) } : null);
        rules[pos]!.push(out);
        // No entry (a filter), or a correlation: the main thread builds it, with the rules it references.
        if (!e || loaded.rule?.kind === 'correlation') continue;
        const said: Said[] = [];
        const io: Output = { out: () => {}, err: (line) => said.push(['err', line]), json: (obj) => said.push(['json', obj]) };
        const skipped = reportEntry(e, { target, platform: wt.platform, format: wt.format }, init!, failOn, io);
        out.said = said;
        out.outcome = [e.result.ok ? null : e.result.kind, skipped];
        if (cache) out.cache = cache;
        const r = e.result;
        if (r.ok) {
          if (r.buildNotes?.length) out.buildNotes = r.buildNotes;
          const stem = m.stems[pos];
          if (dir && stem != null) Object.assign(out, writeRuleFile(dir, `${stem}.${r.ext}`, r.output));
        }
      }
    }
    const exports = concat([encode([...exported.values()])]);
    port.postMessage({ type: 'compiled', seq: m.seq, rules, exports }, [exports]);
  };


  let queue = Promise.resolve();
  port.on('message', (m) => {
    // One message at a time, in order: a compile waits for its target module to load.
    queue = queue.then(async () => {
      const seq = 'seq' in m ? m.seq : -1;
      try {
        if (m.type === 'init') {
          init = m;
          // What derives from rulec's code alone (the ts target's reading of its runtime) comes from the same cache.
          if (m.cacheRoot !== undefined) useForCode(new RuleCache(m.cacheRoot));
          opts = m.placeholders.length > 0 ? { placeholders: new Map(m.placeholders) } : {};
          for (const t of m.targets) {
            const topts = { platform: t.platform, format: t.format, ...(t.index ? { index: t.index } : {}), ...(t.enable ? { enable: true } : {}) } as TargetOptions;
            const i = targets.length;
            Object.defineProperty(topts, 'mapping', { enumerable: true, get: () => context!.mappings[i] });
            targets.push({ target: loadTarget(t.name), topts });
          }
        } else if (m.type === 'load') load(m);
        else if (m.type === 'context') {
          context = m;
          filters = decode<LoadedRule[]>(Buffer.from(m.filters.buffer, m.filters.byteOffset, m.filters.length));
          filters.forEach((f, i) => {
            const k = m.filterKeys[i];
            if (k != null) setSourceKey(f, k);
          });
        } else await compile(m);
      } catch (e) {
        port.postMessage({ type: 'failed', seq, message: (e as Error).message, output: e instanceof OutputError });
      }
    });
  });
}

if (parentPort && (workerData as { rulec?: string } | undefined)?.rulec === 'build') serveBuildWorker(parentPort as unknown as Port);
