/**
 * `rulec build`: the CLI contract shared by every target. Loads the rules, compiles each detection
 * rule with the chosen target, optionally validates the queries, and prints them or writes one file
 * per rule (atomically) under --out.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../../diag/diagnostic.js';
import type { Node } from '../../ir/types.js';
import { applyingFilters, effectiveIr } from '../../collection/filters.js';
import { decode, encode, hash, plainDataProblem, ShardedStore, type FileStamp, type RuleCache } from '../../collection/cache.js';
import { planLoad, ruleIndex, sourceKey, type LoadedRule, type LoadPlan } from '../../collection/load.js';
import { loadCollectionParallel } from '../../collection/parallel.js';
import { loadPlatformMapping } from '../../config/mapping.js';
import { loadTarget, targetNames } from '../../targets/registry.js';
import type { AnyInput, CompileInput, CompileResult, CorrelationInput, FailureKind, Target, TargetOptions } from '../../targets/types.js';
import { missingDirs } from '../../util/atomic.js';
import { MANIFEST, reportOutDir, ruleStems, writeOutDir, type OutFile, type OutResult } from '../out-dir.js';
import { BuildRecorder, buildRecordKey } from '../build-record.js';
import { buildIncremental, saveBuildState, TargetKeeper } from '../build-incremental.js';
import { locateRefusal } from '../catalog.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { progress } from '../progress.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { loadJobs, type JobsOptions } from '../jobs.js';
import type { BuildWorkers } from '../build-prestart.js';

export interface BuildOptions extends PlaceholderOptions, CacheOptions, JobsOptions {
  target: string;
  platform?: string;
  format?: string;
  mapping?: string[];
  out?: string;
  json?: boolean;
  validate?: boolean;
  /** Kinds of refusal that fail the build, comma-separated (`--fail-on`); default `invalid`. */
  failOn?: string;
  skipUnsupported?: boolean;
  index?: string;
  enable?: boolean;
}

/**
 * Why a rule produced nothing: the target's own kinds (`unsupported`: the target language cannot
 * express it exactly; `mapping`: a field or log source the platform mapping lacks), `invalid` (the
 * rule itself is wrong), and `validation` (a query rulec emitted failed the target's validator:
 * rulec's defect, so it fails the build whatever --fail-on says).
 */
export type RefusalKind = FailureKind | 'invalid' | 'validation';
export const REFUSAL_KINDS = ['unsupported', 'mapping', 'invalid'] as const;

export type EntryResult = CompileResult | { ok: false; kind: 'invalid' | 'validation' | 'unsupported'; error: string; at?: { line: number; column: number } };

export interface Entry {
  loaded: LoadedRule;
  input?: AnyInput;
  result: EntryResult;
  /** Output file, relative to --out. */
  file?: string;
}

/** One target's build settings, checked before any rule is loaded. */
export interface TargetBuild {
  target: Target;
  platform: string;
  format: string;
  topts: TargetOptions;
  /** Where its files go: --out itself for one target, --out/<target>/<platform> for several. */
  out?: string;
  /** What its compile results depend on besides each rule (the output cache's key). */
  optionsKey: string;
}

/** `workers`: build workers started early (cli/build-prestart.ts), taken when the build runs on workers; the caller ends them. */
export async function runBuild(paths: string[], opts: BuildOptions, io: Output, workers?: BuildWorkers): Promise<number> {
  const names = targetList(opts.target);
  const jobs = loadJobs(opts);
  const cache = ruleCache(opts);
  const several = names.length > 1;
  if (several && opts.mapping?.length) throw new UsageError('--mapping extends one platform mapping: give it with a single --target');
  const builds: TargetBuild[] = [];
  for (const name of names) {
    const target = await loadTarget(name);
    const platform = perTarget(opts.platform, 'platform', name, names) ?? target.platforms[0]!;
    if (!target.platforms.includes(platform)) {
      const pairs = several ? ` (several targets: give target=platform pairs, as in --platform ${target.name}=${target.platforms[0]})` : '';
      throw new UsageError(`unknown platform '${platform}' for target ${target.name}; valid platforms: ${target.platforms.join(', ')}${pairs}`);
    }
    const format = perTarget(opts.format, 'format', name, names) ?? 'query';
    if (!target.formats.includes(format)) {
      const pairs = several ? ` (several targets: give target=format pairs, as in --format ${target.name}=${target.formats.at(-1)})` : '';
      throw new UsageError(`unknown format '${format}' for target ${target.name}; valid formats: ${target.formats.join(', ')}${pairs}`);
    }
    const topts = { platform, format, ...artifactOptions(target, opts) } as TargetOptions;
    // Read on first use: a build whose results all come from the cache never parses the platform's
    // mapping (half a second for kusto). --mapping files are read now, so that a missing or broken
    // one is a usage error before any rule is loaded.
    let mapping: { value: unknown } | undefined;
    if (opts.mapping?.length) mapping = { value: loadPlatformMapping(target.name, platform, opts.mapping) };
    const mappingFiles = (opts.mapping ?? []).map((f) => hash(f, readFileSync(f)));
    const read = (): unknown => readMapping(cache, target.name, platform, opts.mapping ?? [], hash(target.name, platform, ...mappingFiles));
    Object.defineProperty(topts, 'mapping', { enumerable: true, get: () => (mapping ??= { value: read() }).value });
    const optionsKey = hash(target.name, platform, format, JSON.stringify([topts.index ?? null, topts.enable ?? null]), ...mappingFiles);
    builds.push({ target, platform, format, topts, optionsKey, ...(opts.out ? { out: several ? join(opts.out, target.name, platform) : opts.out } : {}) });
  }
  const failOn = failingKinds(opts);

  // An --out through a file is reported before any work is done (and nothing is created yet).
  if (opts.out) missingDirs(opts.out);
  const roots = paths.length ? paths : ['rules/'];
  const placeholders = placeholderValues(opts);
  const since = Date.now();
  // main.ts has replayed this build's record when nothing changed (build-record.ts): this build records itself for the next.
  const recordKey = cache ? buildRecordKey(paths, opts) : undefined;
  const recorder = cache && recordKey !== undefined ? new BuildRecorder(cache, recordKey, since, io) : undefined;
  if (recorder) io = recorder.io;
  if (recorder && recordKey !== undefined) {
    // A few rule files changed since the last build with these options: those are read and compiled, the rest comes from that build's state.
    const done = buildIncremental({ cache: cache!, recordKey, roots, builds, opts, failOn, placeholders, io, recorder });
    if (done) {
      recorder.save(done.found, done.status, done.stamps);
      cache!.close();
      return done.status;
    }
  }
  const loadOpts = { placeholders, ...(cache ? { cache } : {}) };
  let plan: LoadPlan | undefined;
  const parallel = await import('../build-parallel.js');
  if (parallel.workersCanBuild(builds, opts)) {
    plan = planLoad(roots, loadOpts);
    const count = parallel.workerCount(plan, jobs);
    if (count > 1) {
      const { status, stamps } = await parallel.buildInWorkers(plan, count, { roots, builds, opts, failOn, io, since, placeholders, ...(cache ? { cache } : {}), ...(recorder ? { recorder } : {}), ...(workers ? { workers } : {}) });
      // Not yet the state of an incremental rebuild (build-incremental.ts): the next build with a changed file is a full one, which keeps it.
      recorder?.save(plan.files, status, stamps);
      cache?.close();
      return status;
    }
  }
  const bar = progress('loading rules', undefined, { since });
  const { rules, pathErrors, found, stamps } = await loadCollectionParallel(roots, (d, t) => bar.update(d, t), { ...loadOpts, ...(jobs ? { jobs } : {}), ...(plan ? { plan } : {}) });
  bar.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  if (rules.length === 0) throw new UsageError(`no rule files (*.yml, *.yaml) found in ${roots.join(', ')}`);

  let status = EXIT_OK;
  // What the next build needs to redo only the rules of changed files (build-incremental.ts).
  const keepers = recorder && opts.out && !opts.validate ? builds.map(() => new TargetKeeper()) : undefined;
  for (const [i, b] of builds.entries()) {
    if (several && !opts.out && !opts.json) io.out(header(b));
    status = Math.max(status, await buildTarget(b, rules, roots, failOn, opts, io, since, cache, recorder, keepers?.[i]));
  }
  recorder?.save(found, status, stamps);
  if (keepers) saveBuildState(cache!, recordKey!, rules, found, stamps, keepers);
  cache?.close();
  return status;
}

/** `--target kusto,eql` or `all` (every target but the neutral ir), in the order given, each once. */
function targetList(value: string): string[] {
  const all = targetNames().filter((t) => t !== 'ir');
  const names = value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const out: string[] = [];
  for (const n of names.flatMap((x) => (x === 'all' ? all : [x]))) if (!out.includes(n)) out.push(n);
  if (out.length === 0) throw new UsageError(`--target: no target given; valid targets: ${targetNames().join(', ')}, all`);
  return out;
}

/**
 * A per-target option: one value for every target (`--format query`), or `target=value` pairs
 * (`--platform kusto=defender-xdr,spl=cim`) where an unnamed target takes its default.
 */
function perTarget(value: string | undefined, option: string, name: string, names: string[]): string | undefined {
  if (value === undefined || !value.includes('=')) return value;
  let found: string | undefined;
  for (const pair of value.split(',')) {
    const [t, v] = pair.split('=').map((x) => x.trim());
    if (!t || !v || pair.split('=').length !== 2) throw new UsageError(`--${option}: '${pair}' is not target=${option} (as in kusto=${option === 'platform' ? 'defender-xdr' : 'sentinel-yaml'})`);
    if (!names.includes(t)) throw new UsageError(`--${option}: '${t}' is not a target of this build; the targets are: ${names.join(', ')}`);
    if (t === name) found = v;
  }
  return found;
}

/** The line above each target's queries on stdout when several are built. */
function header(b: TargetBuild): string {
  const text = `==== ${b.target.name}/${b.platform} (${b.format}) ====`;
  return b.target.lineComment ? b.target.lineComment(text) : text;
}

/** Compiles the loaded rules for one target and writes or prints them; returns the exit status. */
async function buildTarget(
  b: TargetBuild,
  rules: LoadedRule[],
  roots: string[],
  failOn: Set<RefusalKind>,
  opts: BuildOptions,
  io: Output,
  since: number,
  cache: RuleCache | undefined,
  recorder?: BuildRecorder,
  keeping?: TargetKeeper,
): Promise<number> {
  const { target, platform, format, topts } = b;
  const compiled = compiledCache(cache, b.optionsKey, rules);
  const irs = effectiveIr(rules);
  const entries: Entry[] = [];
  const compiling = progress(`compiling for ${target.name}/${platform}`, undefined, { since });
  for (const [i, loaded] of rules.entries()) {
    compiling.update(i, rules.length);
    const e = ruleEntry(loaded, irs, (input) => compiled.get(loaded, () => target.compile(input, topts)));
    if (e) entries.push(e);
  }
  const correlations = new Correlations(target, topts, rules, entries);
  for (const e of entries) correlations.compile(e);
  compiling.done();
  compiled.save();

  if (opts.validate && target.validate) {
    const okEntries = entries.filter((e) => e.result.ok && e.input);
    const keyed = okEntries.map((e, i) => ({ key: String(i), query: (e.result as { query: string }).query, input: e.input! }));
    const validating = progress(`validating ${target.name}/${platform} queries`, undefined, { since });
    // Drawn before the first query: a validator that checks all at once (ts) shows this line throughout.
    validating.update(0, keyed.length);
    const diags = await target.validate(keyed, topts, (done) => validating.update(done, keyed.length));
    validating.done();
    okEntries.forEach((e, i) => {
      const d: Diagnostic[] = diags.get(String(i)) ?? [];
      const errs = d.filter((x) => x.severity === 'error');
      if (errs.length) e.result = { ok: false, kind: 'validation', error: `emitted query does not validate: ${errs.map((x) => x.message).join('; ')}` };
    });
    // A correlation whose referenced rule's query failed validation is not deployed without it.
    correlations.recheck();
  }

  const stems = assignFiles(entries, roots);
  const tally = new Tally();
  const bundleInputs: { input: CompileInput; result: Extract<CompileResult, { ok: true }> }[] = [];
  const bundleCorrelations: { input: CorrelationInput; result: Extract<CompileResult, { ok: true }> }[] = [];
  const buildNotes = new Map<string, number>();
  for (const [i, e] of entries.entries()) {
    const r = e.result;
    const skippable = !r.ok && !fails(r.kind, failOn);
    tally.add(r.ok ? undefined : r.kind, skippable);
    printEntry(keeping ? keeping.entry(io, e, skippable, stems[i]!) : io, e, b, skippable, opts.json === true);
    if (r.ok) for (const n of r.buildNotes ?? []) buildNotes.set(n, (buildNotes.get(n) ?? 0) + 1);
    if (r.ok && e.input) {
      if ('ir' in e.input) bundleInputs.push({ input: e.input, result: r });
      else bundleCorrelations.push({ input: e.input, result: r });
    }
  }

  const bundled = target.bundle?.(format, bundleInputs, topts, bundleCorrelations);
  // A bundle is made of every rule's result: a rebuild cannot replace one rule's part of it.
  if (bundled) keeping?.cannot();
  let refusedFiles = 0;
  if (b.out) {
    const files = bundled ?? entries.flatMap((e) => (e.result.ok && e.file ? [outFile(e.file, e.result)] : []));
    refusedFiles = writeTarget(b, files, io, cache, recorder);
  } else if (!opts.json) {
    if (bundled) for (const f of bundled) io.out(f.content.replace(/\n$/, ''));
    else for (const e of entries) if (e.result.ok) printQuery(io, target, format, e.loaded, e.result.output);
  }
  return endTarget(b, entries.length, tally, buildNotes, refusedFiles, opts, io);
}

/**
 * Writes a target's files under its --out (out-dir.ts) and says what else that did; returns how
 * many files it refused to overwrite. `stamps`: the folder's stamps when already read.
 */
export function writeTarget(b: TargetBuild, files: OutFile[], io: Output, cache: RuleCache | undefined, recorder?: BuildRecorder, stamps = outStamps(cache, b)): number {
  const written = writeOutDir(b.out!, { target: b.target.name, platform: b.platform, format: b.format }, files, undefined, stamps.known);
  return reportWritten(b.out!, written, stamps, recorder, io);
}

/** After a target's --out folder is written: its stamps kept, the record told what to watch, what writing did reported; returns the files refused. */
export function reportWritten(out: string, written: OutResult, stamps: OutStamps, recorder: BuildRecorder | undefined, io: Output): number {
  stamps.save(written.stamps);
  if (recorder) watchOutDir(recorder, out, written);
  reportOutDir(io, out, written);
  return written.refused.length;
}

/** A target's last lines (build notes, the summary) and its exit status. */
export function endTarget(b: TargetBuild, rules: number, tally: Tally, buildNotes: ReadonlyMap<string, number>, refusedFiles: number, opts: BuildOptions, io: Output): number {
  const { target, platform } = b;
  for (const [n, count] of buildNotes) io.err(`note: ${n} (${count} rule${count === 1 ? '' : 's'})`);
  if (!opts.json || opts.out) {
    io.err(`${target.name}/${platform}: ${rules} rule${rules === 1 ? '' : 's'}: ${tally.text()}${b.out ? ` -> ${b.out}` : ''}`);
  }
  if (tally.compiled === 0) io.err(`rulec: nothing was produced: no rule compiled for ${target.name}/${platform}`);
  return tally.failed > 0 || tally.compiled === 0 || refusedFiles > 0 ? EXIT_FAILED : EXIT_OK;
}

/**
 * A rule's entry in a build: refused as invalid or for unfilled placeholders, a correlation to
 * compile once the rules it references are (Correlations), or a detection rule compiled by
 * `compile`. None for a valid filter, which is AND-ed into the rules it applies to.
 */
export function ruleEntry(loaded: LoadedRule, irs: ReadonlyMap<LoadedRule, Node>, compile: (input: CompileInput) => EntryResult): Entry | undefined {
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !loaded.rule) {
    const first = errors[0];
    return {
      loaded,
      result: { ok: false, kind: 'invalid', error: first ? first.message : 'invalid rule', ...(first ? { at: { line: first.line, column: first.column } } : {}) },
    };
  }
  if (loaded.rule.kind === 'filter') return undefined;
  const refused = unfilledRefusal(loaded);
  if (refused) return { loaded, result: { ok: false, kind: 'unsupported', ...refused } };
  // Compiled by Correlations, once every rule it may reference has been.
  if (loaded.rule.kind === 'correlation') return { loaded, result: { ok: false, kind: 'unsupported', error: 'not compiled' } };
  const input: CompileInput = { path: loaded.path, rule: loaded.rule, ir: irs.get(loaded)! };
  return { loaded, input, result: compile(input) };
}

/**
 * What a build says of one rule: its --json row, else its refusal or notes on stderr. Returns
 * whether a refusal is skipped (its kind does not fail the build).
 */
export function reportEntry(e: Entry, b: Pick<TargetBuild, 'target' | 'platform' | 'format'>, opts: Pick<BuildOptions, 'json'>, failOn: Set<RefusalKind>, io: Output): boolean {
  const r = e.result;
  const skippable = !r.ok && !fails(r.kind, failOn);
  printEntry(io, e, b, skippable, opts.json === true);
  return skippable;
}

/**
 * Compiles the correlations of a build: resolves each reference (by id, else name, as the
 * collection checks them) to the compiled detection rule or, for a chained correlation, to the
 * referenced correlation, compiled first. A correlation fails with the reason of a reference that
 * did not compile, since the deployment would lack the events it counts.
 */
export class Correlations {
  private readonly entryOf = new Map<LoadedRule, Entry>();
  private readonly resolve: (ref: string) => LoadedRule | undefined;
  /** Correlations being compiled, to find a cycle of references. */
  private readonly active = new Set<Entry>();
  private readonly done = new Set<Entry>();

  constructor(
    private readonly target: Target,
    private readonly topts: TargetOptions,
    rules: readonly LoadedRule[],
    entries: readonly Entry[],
  ) {
    for (const e of entries) this.entryOf.set(e.loaded, e);
    this.resolve = ruleIndex(rules).resolve;
  }

  compile(e: Entry): void {
    if (this.done.has(e)) return;
    const rule = e.loaded.rule;
    if (rule?.kind !== 'correlation') return;
    this.done.add(e);
    // An invalid correlation keeps its diagnostic (and fails the correlations over it).
    if (e.loaded.diagnostics.some((d) => d.severity === 'error')) return;
    this.active.add(e);
    e.result = this.attempt(e);
    this.active.delete(e);
  }

  /** After validation: a correlation fails when a rule it references (through chains too) failed. */
  recheck(): void {
    for (const e of this.done) {
      if (!e.result.ok || !e.input || 'ir' in e.input) continue;
      const failed = this.failedRef(e.input);
      if (failed) e.result = failed;
    }
  }

  private failedRef(input: CorrelationInput): EntryResult | undefined {
    for (const { ref } of input.refs) {
      const loaded = this.resolve(ref)!;
      const r = this.entryOf.get(loaded)!;
      if (!r.result.ok) return this.refFailure(ref, loaded, r.result);
      if (r.input && !('ir' in r.input)) {
        const deeper = this.failedRef(r.input);
        if (deeper) return deeper;
      }
    }
    return undefined;
  }

  private refFailure(ref: string, loaded: LoadedRule, r: Extract<EntryResult, { ok: false }>): EntryResult {
    const where = `${loaded.path}:${loaded.rule?.at.line ?? 1}`;
    return { ok: false, kind: r.kind, error: `referenced rule '${ref}' (${where}) did not compile: ${r.error}` };
  }

  private attempt(e: Entry): EntryResult {
    const rule = e.loaded.rule;
    if (rule?.kind !== 'correlation') throw new Error('not a correlation');
    const refs: CorrelationInput['refs'] = [];
    for (const ref of rule.correlation.rules) {
      const loaded = this.resolve(ref);
      // checkCollection already made an unresolved reference an error of the rule.
      if (!loaded?.rule) return { ok: false, kind: 'invalid', error: `correlation refers to rule '${ref}', which is not in the loaded rules` };
      if (loaded.rule.kind === 'filter') return { ok: false, kind: 'invalid', error: `correlation refers to '${ref}' (${loaded.path}:${loaded.rule.at.line}), a filter; give a detection or correlation rule` };
      const r = this.entryOf.get(loaded)!;
      if (loaded.rule.kind === 'correlation') {
        if (this.active.has(r)) return { ok: false, kind: 'invalid', error: `correlation refers to '${ref}' (${loaded.path}:${loaded.rule.at.line}), which refers back to it: a cycle of correlations` };
        this.compile(r);
      }
      if (!r.result.ok || !r.input) return this.refFailure(ref, loaded, r.result.ok ? { ok: false, kind: 'unsupported', error: 'no input' } : r.result);
      refs.push({ ref, input: r.input });
    }
    const input: CorrelationInput = { path: e.loaded.path, rule, refs };
    e.input = input;
    if (!this.target.compileCorrelation) return { ok: false, kind: 'unsupported', error: `correlation rules are not compiled to ${this.target.name}` };
    return this.target.compileCorrelation(input, this.topts);
  }
}

/**
 * A platform mapping (with --mapping files merged in) through the cache: parsed YAML is plain
 * data, read back in milliseconds where parsing it again takes up to half a second (kusto's). The
 * key holds the --mapping files' content; the platform's own file is in the code fingerprint.
 */
function readMapping(cache: RuleCache | undefined, target: string, platform: string, files: string[], key: string): unknown {
  const load = (): unknown => loadPlatformMapping(target, platform, files);
  if (!cache) return load();
  const pack = cache.path('mapping', key);
  const hit = cache.read<0>(pack)?.[0];
  if (hit?.key === key) {
    try {
      return decode(hit.blob);
    } catch {
      // a corrupt value: read the files
    }
  }
  const value = load();
  if (plainDataProblem(value) === undefined) cache.write(pack, [{ key, meta: 0, blob: encode(value) }]);
  return value;
}

/** What the output cache's index holds of a compile result: a refusal whole, else what a build reads of it without the query. */
export type ResultSummary =
  | { failure: Extract<CompileResult, { ok: false }> }
  | { keys: string[]; eager: Partial<Extract<CompileResult, { ok: true }>>; sha256: string };

/** The fields of a compiled result that a build with --out reads for every rule; the rest (query, output) is read when needed. */
const EAGER = ['ok', 'ext', 'notes', 'buildNotes'] as const;

export function summarize(r: CompileResult): ResultSummary {
  if (!r.ok && Object.keys(r).every((k) => k === 'ok' || k === 'kind' || k === 'error') && typeof r.error === 'string') return { failure: r };
  const ok = r as Extract<CompileResult, { ok: true }>;
  const eager: Record<string, unknown> = {};
  for (const k of EAGER) if (k in ok) eager[k] = ok[k];
  return { keys: Object.keys(ok), eager, sha256: outputHash(ok.output) };
}

const outputHashes = new WeakMap<object, string>();
const outputHash = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The SHA-256 of a result's output (known without reading it when it came from the cache). */
export const resultSha = (r: Extract<CompileResult, { ok: true }>): string => outputHashes.get(r) ?? outputHash(r.output);

/**
 * A compiled result from its summary: the same keys in the same order, the query, output and the
 * rest read from the cache (`full`) on first use. Its output's SHA-256 is known without it.
 */
function fromSummary(s: ResultSummary, full: () => CompileResult): CompileResult {
  if ('failure' in s) return { ...s.failure };
  let value: Record<string, unknown> | undefined;
  const r: Record<string, unknown> = {};
  for (const k of s.keys) {
    if (k in s.eager) r[k] = (s.eager as Record<string, unknown>)[k];
    else Object.defineProperty(r, k, { enumerable: true, configurable: true, get: () => (value ??= full() as unknown as Record<string, unknown>)[k] });
  }
  outputHashes.set(r, s.sha256);
  return r as unknown as CompileResult;
}

/**
 * A compile result as the output cache keeps it: a query that is the output (a ts module, 16 KB
 * with its runtime) is kept once, not twice (a cold ts corpus build wrote 135 MB of results).
 */
export function encodeResult(r: CompileResult): Buffer {
  return encode(r.ok && r.query === r.output ? { ...r, query: undefined } : r);
}

export function decodeResult(blob: Buffer): CompileResult {
  const r = decode<CompileResult>(blob);
  // A kept result's query is a string unless it was the output.
  if (r.ok && (r as { query?: string }).query === undefined) r.query = r.output;
  return r;
}

/**
 * Compile results through the output cache: a rule's result is keyed by what it was compiled from
 * (its file's path and content, placeholder values, document, and the filters AND-ed into it) and
 * the target's settings. A rule loaded without a cache key is compiled every time. The index
 * holds each result's summary (a refusal whole); queries and outputs are in shards read only when
 * a query or output is needed (--json, a file to write), so that a warm build with --out reads
 * the few that changed.
 */
export type CompiledCache = ReturnType<typeof compiledCache>;

/** The output cache's key of a rule: its source and the filters AND-ed into it (`applied`: applyingFilters); none when one is not from the cache. */
export function compileKey(r: LoadedRule, applied: ReadonlyMap<LoadedRule, LoadedRule[]>): string | undefined {
  const own = sourceKey(r);
  const fs = (applied.get(r) ?? []).map(sourceKey);
  return own === undefined || fs.includes(undefined) ? undefined : hash(own, ...(fs as string[]));
}

export function compiledCache(cache: RuleCache | undefined, optionsKey: string, rules: LoadedRule[]) {
  type Result = CompileResult;
  const store = cache ? new ShardedStore<ResultSummary>(cache, 'out', optionsKey) : undefined;
  const filters = cache ? applyingFilters(rules) : new Map<LoadedRule, LoadedRule[]>();
  return {
    get(r: LoadedRule, compile: () => Result): Result {
      const key = store ? compileKey(r, filters) : undefined;
      if (!store || key === undefined) return compile();
      const hit = store.meta(key);
      if (hit) {
        store.keep(key);
        return fromSummary(hit, () => {
          const blob = store.value(key);
          try {
            if (blob) return decodeResult(blob);
          } catch {
            // a corrupt value: compiled again below, which gives the same result
          }
          return compile();
        });
      }
      const result = compile();
      const summary = summarize(result);
      if ('sha256' in summary) outputHashes.set(result, summary.sha256);
      try {
        store.put(key, summary, 'failure' in summary ? undefined : encodeResult(result));
      } catch {
        // not kept exactly by the cache: not kept
      }
      return result;
    },
    save(): void {
      store?.save();
    },
    /** Keeps every result of the previous build too (a rebuild that compiles only the rules of changed files). */
    keepAll(): void {
      store?.keepAll();
    },
  };
}

/** A file to write under --out, with its SHA-256 when the output cache knows it (then its bytes are read only if it must be written). */
export function outFile(path: string, result: Extract<CompileResult, { ok: true }>): OutFile {
  const sha256 = outputHashes.get(result);
  if (sha256 === undefined) return { path, content: result.output };
  return Object.defineProperty({ path, sha256 } as OutFile, 'content', { enumerable: true, get: () => result.output });
}

/**
 * What the files of one build's --out looked like when it last wrote or checked them (out-dir.ts):
 * a file whose stat is unchanged is not read again to compare its bytes. Keyed by the folder and
 * the build (target, platform, format) that writes there.
 */
export type OutStamps = ReturnType<typeof outStamps>;

export function outStamps(cache: RuleCache | undefined, b: TargetBuild) {
  const pack = cache && b.out ? cache.path('stamps', hash(resolve(b.out), b.target.name, b.platform, b.format)) : undefined;
  const previous = pack ? (cache!.read<FileStamp>(pack) ?? []) : [];
  const known = new Map(previous.map((e) => [e.key, e.meta]));
  const empty = Buffer.alloc(0);
  let restamped = false;
  return {
    known,
    /** A file checked by its content since: its new stamp, kept by save. */
    restamp(path: string, stamp: FileStamp): void {
      known.set(path, stamp);
      restamped = true;
    },
    save(stamps: ReadonlyMap<string, FileStamp>): void {
      if (!pack || (!restamped && stamps.size === known.size && [...stamps].every(([k, s]) => known.get(k) === s))) return;
      cache!.write(pack, [...stamps].map(([key, meta]) => ({ key, meta, blob: empty })));
    },
  };
}

/** What a build's record must see unchanged in its --out folder before it is replayed (build-record.ts). */
export function watchOutDir(recorder: BuildRecorder, out: string, written: OutResult): void {
  if (written.removed.length > 0 || written.kept.length > 0 || written.unreadable) recorder.printedOnce();
  for (const [path, stamp] of written.stamps) recorder.watch(join(out, path), stamp);
  for (const f of written.refused) recorder.watch(join(out, f.path));
  recorder.watch(join(out, MANIFEST), undefined, written.manifest);
}

/**
 * The refusal kinds that fail the build. `--skip-unsupported` predates `--fail-on` and means its
 * default (only invalid rules fail); it is kept so that existing scripts keep working.
 */
export function failingKinds(opts: Pick<BuildOptions, 'failOn' | 'skipUnsupported'>): Set<RefusalKind> {
  if (opts.failOn === undefined) return new Set(['invalid']);
  if (opts.skipUnsupported) throw new UsageError('--skip-unsupported is the default --fail-on invalid; give one of --skip-unsupported and --fail-on');
  const kinds = new Set<RefusalKind>();
  for (const k of opts.failOn.split(',').map((x) => x.trim())) {
    if (k === 'all') for (const a of REFUSAL_KINDS) kinds.add(a);
    else if (k === 'none' || k === '') continue;
    else if ((REFUSAL_KINDS as readonly string[]).includes(k)) kinds.add(k as RefusalKind);
    // A query that fails validation always fails the build; naming it is allowed and changes nothing.
    else if (k === 'validation') continue;
    else throw new UsageError(`--fail-on: unknown refusal kind '${k}'; valid kinds: ${REFUSAL_KINDS.join(', ')} (or all, none; validation always fails the build)`);
  }
  return kinds;
}

/** A query rulec emitted that its target rejects is rulec's defect: it fails whatever --fail-on says. */
export function fails(kind: RefusalKind, failOn: Set<RefusalKind>): boolean {
  return kind === 'validation' || failOn.has(kind);
}

/** Counts of the build's outcomes, by refusal kind, for the summary line and the exit status. */
export class Tally {
  compiled = 0;
  failed = 0;
  private readonly skipped = new Map<RefusalKind, number>();
  private readonly failures = new Map<RefusalKind, number>();

  add(kind: RefusalKind | undefined, skipped: boolean): void {
    if (kind === undefined) {
      this.compiled++;
      return;
    }
    const into = skipped ? this.skipped : this.failures;
    into.set(kind, (into.get(kind) ?? 0) + 1);
    if (!skipped) this.failed++;
  }

  /** `7 compiled, 2 skipped (1 unsupported, 1 mapping), 1 failed (1 invalid)` */
  text(): string {
    const parts = [`${this.compiled} compiled`];
    const byKind = (m: Map<RefusalKind, number>): string => [...m].map(([k, n]) => `${n} ${k}`).join(', ');
    const total = (m: Map<RefusalKind, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    if (this.skipped.size) parts.push(`${total(this.skipped)} skipped (${byKind(this.skipped)})`);
    if (this.failures.size) parts.push(`${total(this.failures)} failed (${byKind(this.failures)})`);
    return parts.join(', ');
  }
}

/** What one rule's entry prints: its --json row, else its refusal or its notes on stderr. */
export function printEntry(io: Output, e: Entry, b: Pick<TargetBuild, 'target' | 'platform' | 'format'>, skippable: boolean, json: boolean): void {
  const { target, platform, format } = b;
  const r = e.result;
  if (json) {
    io.json({
      path: e.loaded.path,
      ...(e.loaded.index > 0 ? { document: e.loaded.index } : {}),
      id: e.loaded.id ?? null,
      title: e.loaded.title ?? null,
      target: target.name,
      platform,
      format,
      ok: r.ok,
      ...(r.ok
        ? { query: r.query, ...(r.source ? { source: r.source } : {}), ...(format !== 'query' && !target.bundle ? { output: r.output } : {}), ...(r.notes?.length || r.buildNotes?.length ? { notes: [...(r.notes ?? []), ...(r.buildNotes ?? [])] } : {}) }
        : { error: r.error, kind: r.kind, ...(skippable ? { skipped: true } : {}) }),
    });
  } else if (!r.ok) {
    const rule = e.loaded.rule;
    const at = 'at' in r && r.at ? r.at : rule?.kind === 'detection' ? locateRefusal(rule, r.error) : (rule?.at ?? { line: 1, column: 1 });
    io.err(`${e.loaded.path}:${at.line}:${at.column}: ${skippable ? 'skipped' : 'error'} (${r.kind}): ${r.error}`);
  } else if (r.notes?.length) {
    for (const n of r.notes) io.err(`${e.loaded.path}: note: ${n}`);
  }
}

/**
 * A query on stdout starts with a comment naming its rule, so that a terminal full of queries says
 * which is which. Files and --json keep the query as the product imports it (a Defender continuous
 * rule must have no comment at all).
 */
function printQuery(io: Output, target: Target, format: string, loaded: LoadedRule, output: string): void {
  if (format === 'query' && target.lineComment) {
    const name = `${loaded.title ?? '(untitled)'}${loaded.id ? ` (${loaded.id})` : ''} ${loaded.path}${loaded.index > 0 ? `#${loaded.index}` : ''}`;
    io.out(target.lineComment(name.replace(/[\r\n\u2028\u2029]+/g, ' ')));
  }
  io.out(output.replace(/\n$/, '') + '\n');
}

/** One output file per rule, mirroring the rule's path below the root it was found in; returns each entry's name without extension. */
function assignFiles(entries: Entry[], roots: string[]): string[] {
  const stems = ruleStems(entries.map((e) => e.loaded), roots);
  entries.forEach((e, i) => {
    if (e.result.ok) e.file = `${stems[i]}.${e.result.ext}`;
  });
  return stems;
}

/** --index and --enable, for the targets that read them. */
function artifactOptions(target: Target, opts: BuildOptions): Pick<TargetOptions, 'index' | 'enable'> {
  const out: Pick<TargetOptions, 'index' | 'enable'> = {};
  for (const [name, given] of [['index', opts.index !== undefined], ['enable', opts.enable === true]] as const) {
    if (given && !target.artifactOptions?.includes(name)) throw new UsageError(`--${name} does not apply to target ${target.name}`);
  }
  if (opts.index !== undefined) {
    const names = opts.index.split(',').map((x) => x.trim());
    const badName = names.find((n) => !/^[A-Za-z0-9_*][A-Za-z0-9_.*:-]*$/.test(n));
    if (badName !== undefined) throw new UsageError(`--index: '${badName}' is not an index name (letters, digits, _ . * : -; comma-separated)`);
    out.index = names;
  }
  if (opts.enable) out.enable = true;
  return out;
}
