/**
 * A rebuild with a few rule files changed (docs/cli.md#the-rule-cache): a build with --out keeps,
 * beside its record (build-record.ts), what each rule's entry printed and wrote per target and what
 * the collection-level steps read of each document (its id, name, title, kind, line). The next build
 * with the same options finds the files whose content changed, reads and lowers those only, and when
 * nothing in them can change another rule's result, compiles their documents alone (none when they
 * are the documents the previous build compiled: a comment edited) and puts them in the previous
 * build's place: the other rules' lines are printed again from the state and their
 * files checked by stamp, the manifests rewritten. Its output is the same as a full build's.
 *
 * It falls back to the full build (loading every document) whenever a change can reach another rule
 * or is not one it can place: a file added, removed or renamed; a document added or removed, or
 * whose id, name, kind or validity changed (duplicate checks, references and output names read
 * those); a filter or correlation in a changed file (filters apply to
 * other rules, correlations read the rules they name); a changed document whose id or name a
 * correlation names or another document shares; a bundle format; --validate; an output of another
 * rule that is not as the previous build left it; more than MAX_CHANGED files changed.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode, hash, sameStat, unchanged, valueHash, type FileStamp, type RuleCache } from '../collection/cache.js';
import { effectiveIr } from '../collection/filters.js';
import { keep, loadFile, markSources, planLoad, type LoadedRule, type LoadOptions, type ParsedFile } from '../collection/load.js';
import type { Parameter } from '../model/types.js';
import { recheck, type BuildRecorder, type Printed } from './build-record.js';
import type { Output } from './output.js';
import { finishOutDir, planOutDir, writeOutFile, type OutFileResult } from './out-dir.js';
import {
  compiledCache,
  endTarget,
  fails,
  outFile,
  outStamps,
  printEntry,
  resultSha,
  ruleEntry,
  Tally,
  reportWritten,
  type BuildOptions,
  type Entry,
  type OutStamps,
  type RefusalKind,
  type TargetBuild,
} from './commands/build.js';

/** Beyond this many changed files a full build is about as fast, and simpler to trust. */
const MAX_CHANGED = 32;

/**
 * What the collection-level steps read of a document (checkCollection, ruleIndex, ruleStems). Its
 * title and line are read by other rules' lines too, but only where its id or name is shared or
 * referenced (a duplicate's error, a correlation's refusal), which `shared` covers.
 */
interface DocFace {
  index: number;
  id?: string;
  kind?: string;
  ruleId?: string;
  name?: string;
}

const face = (d: LoadedRule): DocFace => ({
  index: d.index,
  ...(d.id !== undefined ? { id: d.id } : {}),
  ...(d.rule ? { kind: d.rule.kind } : {}),
  ...(d.rule?.id !== undefined ? { ruleId: d.rule.id } : {}),
  ...(d.rule?.name !== undefined ? { name: d.rule.name } : {}),
});
const sameFace = (a: DocFace, b: DocFace | undefined): boolean => b !== undefined && JSON.stringify(a) === JSON.stringify(b);

/** One rule's entry in one target's build: what it printed, how it counts, the file it gave. */
interface EntryState {
  path: string;
  index: number;
  /** Its output name without extension (out-dir.ts ruleStems: the same for every target). */
  stem: string;
  rows: Printed[];
  kind?: RefusalKind;
  skippable: boolean;
  notes?: string[];
  file?: string;
  sha?: string;
}

interface BuildState {
  files: string[];
  /** The SHA-256 of each file's content as the build read it. */
  shas: string[];
  faces: DocFace[][];
  /** Ids and names that more than one document has or that a correlation names. */
  shared: string[];
  /** Files holding filters (their documents are read to find the filters that apply to a changed rule). */
  filterFiles: string[];
  /** Per target, in the build's order: its entries in rule order. */
  targets: EntryState[][];
}

const stateKey = (recordKey: string): string => hash(recordKey, 'incremental state');

/** Gathers one target's entries while a full build prints them. */
export class TargetKeeper {
  readonly entries: EntryState[] = [];
  ok = true;

  /** Where entry `e` prints: `io`, with what it prints kept. */
  entry(io: Output, e: Entry, skippable: boolean, stem: string): Output {
    const r = e.result;
    const s: EntryState = {
      path: e.loaded.path,
      index: e.loaded.index,
      stem,
      rows: [],
      skippable,
      ...(r.ok ? {} : { kind: r.kind }),
      ...(r.ok && r.buildNotes?.length ? { notes: r.buildNotes } : {}),
      ...(r.ok && e.file ? { file: e.file, sha: resultSha(r) } : {}),
    };
    this.entries.push(s);
    return tee(io, s.rows);
  }

  /** This target's build cannot be redone a rule at a time (a bundle). */
  cannot(): void {
    this.ok = false;
  }
}

function tee(io: Output, rows: Printed[]): Output {
  return {
    ...io,
    out: (line) => {
      rows.push(['out', line]);
      io.out(line);
    },
    err: (line) => {
      rows.push(['err', line]);
      io.err(line);
    },
    json: (obj) => {
      rows.push(['json', obj]);
      io.json(obj);
    },
  };
}

/** Keeps a full build's state for the next build with the same options (`recordKey`, build-record.ts). */
export function saveBuildState(cache: RuleCache, recordKey: string, rules: readonly LoadedRule[], files: readonly string[], stamps: ReadonlyMap<string, FileStamp> | undefined, keepers: readonly TargetKeeper[]): void {
  const shas = files.map((f) => stamps?.get(f)?.sha);
  if (keepers.some((k) => !k.ok) || shas.some((s) => !s)) return;
  const faces = new Map<string, DocFace[]>(files.map((f) => [f, []]));
  const seen = new Set<string>();
  const shared = new Set<string>();
  const filterFiles = new Set<string>();
  for (const r of rules) {
    faces.get(r.path)?.push(face(r));
    const rule = r.rule;
    if (!rule) continue;
    for (const n of [rule.id, rule.name]) {
      if (n === undefined) continue;
      if (seen.has(n)) shared.add(n);
      seen.add(n);
    }
    if (rule.kind === 'correlation') for (const ref of rule.correlation.rules) shared.add(ref);
    if (rule.kind === 'filter') filterFiles.add(r.path);
  }
  const state: BuildState = { files: [...files], shas: shas as string[], faces: files.map((f) => faces.get(f)!), shared: [...shared], filterFiles: [...filterFiles], targets: keepers.map((k) => k.entries) };
  write(cache, recordKey, state);
}

/**
 * The state in parts (the files and their hashes; the documents' faces; each target's entries), so
 * that a build that changed none of a part's values writes the bytes it read (`same`, by part:
 * encoding twelve thousand entries again is a tenth of a second).
 */
function write(cache: RuleCache, recordKey: string, state: BuildState, same: (Buffer | undefined)[] = []): void {
  const key = stateKey(recordKey);
  const { faces, targets, ...head } = state;
  const parts: unknown[] = [head, faces, ...targets];
  try {
    cache.write(
      cache.path('build', key),
      parts.map((part, i) => ({ key: i === 0 ? key : `${key} ${i}`, meta: 0, blob: same[i] ?? encode(part) })),
    );
  } catch {
    // not kept: the next build is a full one
  }
}

/** The state and the bytes of its parts, or undefined. */
function read(cache: RuleCache, recordKey: string): { state: BuildState; parts: Buffer[] } | undefined {
  const key = stateKey(recordKey);
  const entries = cache.read<0>(cache.path('build', key)) ?? [];
  if (entries[0]?.key !== key || entries.length < 2 || entries.some((e, i) => i > 0 && e.key !== `${key} ${i}`)) return undefined;
  try {
    const [head, faces, ...targets] = entries.map((e) => decode<unknown>(e.blob));
    return { state: { ...(head as Omit<BuildState, 'faces' | 'targets'>), faces: faces as DocFace[][], targets: targets as EntryState[][] }, parts: entries.map((e) => e.blob) };
  } catch {
    return undefined;
  }
}

export interface IncrementalArgs {
  cache: RuleCache;
  recordKey: string;
  roots: string[];
  builds: TargetBuild[];
  opts: BuildOptions;
  failOn: Set<RefusalKind>;
  placeholders: ReadonlyMap<string, Parameter>;
  /** The recorder's output: what this build prints is its record too. */
  io: Output;
  recorder: BuildRecorder;
}

/**
 * The build from the previous build's state and the changed files, or undefined (having printed and
 * written nothing) when a full build is needed.
 */
export function buildIncremental(a: IncrementalArgs): { status: number; found: string[]; stamps: Map<string, FileStamp> } | undefined {
  const { cache, builds, opts, io } = a;
  if (!opts.out || opts.validate) return undefined;
  const previous = read(cache, a.recordKey);
  if (!previous || previous.state.targets.length !== builds.length) return undefined;
  const state = previous.state;

  // The files, and which of them changed since the state's build (by content).
  const loadOpts: LoadOptions = { placeholders: a.placeholders, cache };
  const plan = planLoad(a.roots, loadOpts);
  const files = plan.files;
  if (!plan.cached || plan.pathErrors.length > 0 || files.length !== state.files.length || files.some((f, i) => f !== state.files[i])) return undefined;
  const { store, values, hits } = plan.cached;
  const changed = files.flatMap((_, i) => (hits[i]?.stamp.sha === state.shas[i] ? [] : [i]));
  if (changed.length === 0 || changed.length > MAX_CHANGED) return undefined;
  const shared = new Set(state.shared);

  // Each changed file's documents, which must leave every other rule's result as it was.
  /** `same`: the file's documents are those the previous build compiled (only comments or blank lines changed). */
  const fresh = new Map<string, { docs: LoadedRule[]; stamp: FileStamp; parsed?: ParsedFile; same: boolean }>();
  for (const i of changed) {
    const f = files[i]!;
    const hit = hits[i];
    let docs: LoadedRule[];
    let stamp: FileStamp;
    let parsed: ParsedFile | undefined;
    if (hit) {
      // The cache holds this content already (another build read it): decoded, not parsed.
      const blob = store.value(f);
      if (!blob) return undefined;
      try {
        docs = decode<LoadedRule[]>(blob);
      } catch {
        return undefined;
      }
      stamp = hit.stamp;
    } else {
      const loaded = loadFile(f, loadOpts, true);
      parsed = keep(f, loaded, plan);
      if (!loaded.stamp || !parsed.entry) return undefined;
      docs = loaded.docs;
      stamp = loaded.stamp;
    }
    const before = state.faces[i]!;
    if (docs.length !== before.length || docs.some((d, n) => !sameFace(face(d), before[n]))) return undefined;
    for (const d of docs) {
      const r = d.rule;
      if (r?.kind === 'filter' || r?.kind === 'correlation') return undefined;
      if ((r?.id !== undefined && shared.has(r.id)) || (r?.name !== undefined && shared.has(r.name))) return undefined;
    }
    markSources(docs, f, stamp.sha, values);
    fresh.set(f, { docs, stamp, ...(parsed ? { parsed } : {}), same: sameDocs(store.meta(f), store.value(f), state.shas[i]!, docs) });
  }

  const compiling = (path: string): boolean => fresh.get(path)?.same === false;

  // Every other rule's file must be as the previous build left it (by stamp, else by content).
  const buffer = { bytes: Buffer.alloc(0) };
  const outs: OutStamps[] = [];
  /** Per target, each such file's stamp as just checked: what writing it would find again. */
  const checked: Map<string, FileStamp>[] = [];
  for (const [t, b] of builds.entries()) {
    const stamps = outStamps(cache, b);
    outs.push(stamps);
    const known = stamps.known;
    const ok = new Map<string, FileStamp>();
    checked.push(ok);
    for (const s of state.targets[t]!) {
      if (!s.file || compiling(s.path)) continue;
      const stamp = known.get(s.file);
      if (!stamp || stamp.sha !== s.sha) return undefined;
      const abs = join(b.out!, s.file);
      let st;
      try {
        st = statSync(abs);
      } catch {
        return undefined;
      }
      if (unchanged(st, stamp)) {
        ok.set(s.file, stamp);
        continue;
      }
      const again = sameStat(st, stamp) ? recheck(abs, stamp, buffer) : undefined;
      if (!again) return undefined;
      stamps.restamp(s.file, again);
      ok.set(s.file, again);
    }
  }

  // The filters, for the ones that apply to a changed rule (their files are unchanged: checked above).
  const filters: LoadedRule[] = [];
  for (const f of state.filterFiles) {
    const i = files.indexOf(f);
    const blob = store.value(f);
    if (i < 0 || !blob) return undefined;
    let docs: LoadedRule[];
    try {
      docs = decode<LoadedRule[]>(blob);
    } catch {
      return undefined;
    }
    markSources(docs, f, state.shas[i]!, values);
    filters.push(...docs);
  }

  // From here on, the build: nothing above printed or wrote anything.
  const changedDocs = [...fresh.values()].flatMap((x) => (x.same ? [] : x.docs));
  const rules = [...filters, ...changedDocs];
  let status = 0;
  const next: EntryState[][] = [];
  const irs = changedDocs.length > 0 ? effectiveIr(rules) : new Map<LoadedRule, never>();
  for (const [t, b] of builds.entries()) {
    const made = new Map<LoadedRule, Entry | undefined>();
    if (changedDocs.length > 0) {
      const compiled = compiledCache(cache, b.optionsKey, rules);
      for (const d of changedDocs) made.set(d, ruleEntry(d, irs, (input) => compiled.get(d, () => b.target.compile(input, b.topts))));
      compiled.keepAll();
      compiled.save();
    }
    const byDoc = new Map(changedDocs.map((d) => [`${d.index} ${d.path}`, d]));
    const keeper = new TargetKeeper();
    const tally = new Tally();
    const buildNotes = new Map<string, number>();
    // Every other rule's file was checked above: its result is that check's, not a second stat and read.
    const dir = planOutDir(b.out!, { target: b.target.name, platform: b.platform, format: b.format });
    const files: OutFileResult[] = [];
    for (const s of state.targets[t]!) {
      let kept: EntryState;
      if (!compiling(s.path)) {
        kept = s;
        keeper.entries.push(s);
        for (const [stream, value] of s.rows) {
          if (stream === 'json') io.json(value);
          else io[stream](value as string);
        }
        if (s.file) files.push({ path: s.file, sha256: s.sha!, stamp: checked[t]!.get(s.file)! });
      } else {
        const e = made.get(byDoc.get(`${s.index} ${s.path}`)!);
        if (!e) throw new Error(`rulec: no entry for ${s.path} document ${s.index} in the incremental build`);
        const r = e.result;
        const skippable = !r.ok && !fails(r.kind, a.failOn);
        if (r.ok) e.file = `${s.stem}.${r.ext}`;
        printEntry(keeper.entry(io, e, skippable, s.stem), e, b, skippable, opts.json === true);
        kept = keeper.entries.at(-1)!;
        if (r.ok && e.file) files.push(writeOutFile(dir, outFile(e.file, r), outs[t]!.known));
      }
      tally.add(kept.kind, kept.skippable);
      for (const n of kept.notes ?? []) buildNotes.set(n, (buildNotes.get(n) ?? 0) + 1);
    }
    const refused = reportWritten(b.out!, finishOutDir(dir, files), outs[t]!, a.recorder, io);
    status = Math.max(status, endTarget(b, keeper.entries.length, tally, buildNotes, refused, opts, io));
    next.push(keeper.entries);
  }

  // The rules' cache as a full load leaves it, and the state for the next build.
  const stamps = new Map<string, FileStamp>();
  for (const [i, f] of files.entries()) {
    const x = fresh.get(f);
    const hit = hits[i];
    if (x?.parsed?.entry) {
      store.put(f, x.parsed.entry.meta, x.parsed.entry.blob);
      stamps.set(f, x.stamp);
    } else if (hit) {
      if (hit.kept) store.keep(f);
      else store.put(f, hit.stamp, 'previous');
      stamps.set(f, hit.stamp);
    }
  }
  store.save();
  // Faces are unchanged (checked above); so is every target's part when no document was compiled.
  const same = [undefined, previous.parts[1], ...(changedDocs.length === 0 ? previous.parts.slice(2) : [])];
  write(cache, a.recordKey, { ...state, shas: files.map((f, i) => fresh.get(f)?.stamp.sha ?? state.shas[i]!), targets: next }, same);
  return { status, found: files, stamps };
}

/**
 * Whether a changed file's documents are the ones the previous build compiled: the rules' cache
 * still holds what it read then (`meta`, `blob`: its entry before this build, whose content is the
 * state's `sha`), and both are the same value (cache.ts valueHash: V8's serialization is not
 * canonical, so bytes cannot be compared). Then every target's result is the previous one.
 */
function sameDocs(meta: FileStamp | undefined, blob: Buffer | undefined, sha: string, docs: readonly LoadedRule[]): boolean {
  if (meta?.sha !== sha || !blob) return false;
  try {
    return valueHash(decode<LoadedRule[]>(blob)) === valueHash(docs);
  } catch {
    return false;
  }
}

/**
 * A file of a rule that did not change: checked above to hold these bytes, so out-dir.ts finds it
 * the same and never asks for its content (unless it changes during this build).
 */
