/**
 * Rule collections: find rule files, parse and lower every document, and check what only the
 * collection can see (duplicate ids, correlation and filter references).
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { decode, encode, hash, loadStoreKey, ShardedStore, stampOf, unchanged, type FileStamp, type PackEntry, type RuleCache } from './cache.js';
import { findRuleFiles } from './files.js';
import { error, type Diagnostic } from '../diag/diagnostic.js';
import type { Node } from '../ir/types.js';
import { lowerFilter, lowerRule } from '../lower/lower.js';
import type { Parameter, RuleDocument } from '../model/types.js';
import { parseRuleText } from '../parse/rule.js';

export interface LoadedRule {
  /** Path as given on the command line, joined with what was found below a directory. */
  path: string;
  /** Index of the YAML document within its file. */
  index: number;
  id?: string;
  title?: string;
  rule?: RuleDocument;
  /** The match IR of a detection rule, or of a filter's detection. */
  ir?: Node;
  diagnostics: Diagnostic[];
  /**
   * The warnings of a valid detection rule that has no IR because placeholders of it have no value
   * (they are in diagnostics too): every command refuses the rule with them.
   */
  unfilled?: Diagnostic[];
}

export interface LoadOptions {
  /** Placeholder values of the deployment (`--placeholders`, `--placeholder`); they override a rule's parameter of the same name. */
  placeholders?: ReadonlyMap<string, Parameter>;
  /** The on-disk cache of what loading produced (collection/cache.ts); none: every file is parsed. */
  cache?: RuleCache;
}

export interface Collection {
  rules: LoadedRule[];
  /** Problems with the paths themselves (missing files). */
  pathErrors: string[];
  /** Rule files found, read from disk, and parsed (read and parsed are fewer with a warm cache). */
  files: { found: number; read: number; parsed: number };
  /** The rule files found below the paths, in the order loaded. */
  found: string[];
  /**
   * Loaded through a cache: each file's stamp as loaded (its stat before the read and the SHA-256
   * of the bytes its documents come from), for the build's record (cli/build-record.ts).
   */
  stamps?: Map<string, FileStamp>;
}

export { findRuleFiles } from './files.js';

export function loadText(path: string, text: string, opts: LoadOptions = {}): LoadedRule[] {
  const values = opts.placeholders ?? new Map<string, Parameter>();
  const parsed = parseRuleText(text, path);
  return parsed.documents.map((d) => {
    const out: LoadedRule = { path, index: d.index, diagnostics: d.diagnostics };
    if (d.id !== undefined) out.id = d.id;
    if (d.title !== undefined) out.title = d.title;
    if (d.diagnostics.some((x) => x.severity === 'error') || !d.rule) return out;
    out.rule = d.rule;
    if (d.rule.kind === 'detection') {
      const r = lowerRule(d.rule, values);
      out.diagnostics.push(...r.diagnostics);
      if (r.ir) out.ir = r.ir;
      if (r.unfilled.length > 0) out.unfilled = r.unfilled;
      // Backends read the lists by name (KQL `let`): the deployment's values become the rule's parameters.
      if (values.size > 0) out.rule = { ...d.rule, parameters: r.parameters };
    } else if (d.rule.kind === 'filter') {
      const ir = lowerFilter(d.rule.filter.detection, values, out.diagnostics, d.rule.at);
      if (ir) out.ir = ir;
    }
    return out;
  });
}

export type ProgressCallback = (done: number, total: number) => void;

/**
 * Load a collection on the calling thread (collection/parallel.ts loads on worker threads: the
 * same steps, with the parsing of planLoad's `toParse` files spread over them).
 */
export function loadCollection(paths: string[], onProgress: ProgressCallback = () => {}, opts: LoadOptions = {}): Collection {
  const plan = planLoad(paths, opts);
  const onFile = (n: number): void => onProgress(n, plan.files.length);
  const parsed = plan.toParse.map((i, n) => {
    onFile(n);
    return loadFile(plan.files[i]!, opts, plan.cached !== undefined);
  });
  return finishLoad(plan, parsed.map((p, n) => keep(plan.files[plan.toParse[n]!]!, p, plan)), onFile);
}

/** Parse and lower files (no cross-document checks). Paths are shown as given. */
export function loadFiles(files: string[], onFile: (done: number) => void = () => {}, opts: LoadOptions = {}): LoadedRule[] {
  const rules: LoadedRule[] = [];
  for (const [i, f] of files.entries()) {
    onFile(i);
    rules.push(...loadFile(f, opts, false).docs);
  }
  onFile(files.length);
  return rules;
}

/** A file's documents, and (when stamped) what the cache records of the file. */
export interface FileLoad {
  docs: LoadedRule[];
  stamp?: FileStamp;
}

/**
 * Read, parse and lower one file. `stamped`: also stat and hash it for the cache (the stat is
 * taken before the read, so a change during the read shows as a changed stat next time).
 */
export function loadFile(f: string, opts: LoadOptions, stamped: boolean): FileLoad {
  let st: Stats | undefined;
  const read = Date.now();
  if (stamped) {
    try {
      st = statSync(f);
    } catch {
      // unreadable: the read below says why
    }
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(f);
  } catch (e) {
    return { docs: [{ path: f, index: 0, diagnostics: [error('io', `cannot read file: ${(e as Error).message}`, undefined)] }] };
  }
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const docs = loadText(f, text, opts);
  return st ? { docs, stamp: stampOf(st, read, hash(bytes)) } : { docs };
}

/** A parsed file as finishLoad takes it: its documents and, when the cache keeps it, its entry. */
export interface ParsedFile {
  docs: LoadedRule[];
  entry?: PackEntry<FileStamp>;
}

/** A loaded file's cache entry (none without a cache, or for a value the cache cannot keep exactly). */
export function keep(file: string, p: FileLoad, plan: LoadPlan): ParsedFile {
  if (!plan.cached || !p.stamp) return { docs: p.docs };
  try {
    return { docs: p.docs, entry: { key: file, meta: p.stamp, blob: encode(p.docs) } };
  } catch {
    return { docs: p.docs }; // a value the cache cannot keep exactly is not kept
  }
}

/**
 * What a load must do: the files found, which of them the cache holds (a file whose stat is
 * unchanged is not read; a changed one is read and hashed, and taken from the cache when its
 * content is the same), and which must be parsed (`toParse`, indexes into `files`, in order).
 */
export interface LoadPlan {
  files: string[];
  pathErrors: string[];
  toParse: number[];
  counts: { found: number; read: number; parsed: number };
  opts: LoadOptions;
  cached?: {
    /** One store per set of roots (as given, from this working directory, with these placeholder values), in shards. */
    store: ShardedStore<FileStamp>;
    /** The placeholder values' key. */
    values: string;
    /**
     * By file index: what the cache holds of a file not to be parsed, its stamp (`kept`: the stat is
     * unchanged; else the file was read again and its content is the same).
     */
    hits: ({ stamp: FileStamp; kept: boolean } | undefined)[];
  };
}

export function planLoad(paths: string[], opts: LoadOptions = {}): LoadPlan {
  const { files, errors } = findRuleFiles(paths);
  const counts = { found: files.length, read: files.length, parsed: files.length };
  const all = files.map((_, i) => i);
  const cache = opts.cache;
  if (!cache) return { files, pathErrors: errors, toParse: all, counts, opts };
  counts.read = counts.parsed = 0;
  const values = placeholderKey(opts);
  const store = new ShardedStore<FileStamp>(cache, 'load', loadStoreKey(paths, values), undefined, (stamp) => stamp.sha);
  const hits: ({ stamp: FileStamp; kept: boolean } | undefined)[] = [];
  const toParse: number[] = [];
  for (const [i, f] of files.entries()) {
    const prev = store.meta(f);
    let hit: { stamp: FileStamp; kept: boolean } | undefined;
    if (prev) {
      try {
        const st = statSync(f);
        if (unchanged(st, prev)) hit = { stamp: prev, kept: true };
        else {
          const read = Date.now();
          const bytes = readFileSync(f);
          const sha = hash(bytes);
          // A file to parse is counted as read once, when it is parsed (finishLoad).
          if (prev.sha === sha) {
            hit = { stamp: stampOf(st, read, sha), kept: false };
            counts.read++;
          }
        }
      } catch {
        // unreadable: loading it says why
      }
    }
    hits.push(hit);
    if (!hit) toParse.push(i);
  }
  return { files, pathErrors: errors, toParse, counts, opts, cached: { store, values, hits } };
}

/**
 * The collection from a plan and its parsed files (`parsed[n]` is file `toParse[n]`): the cached
 * documents decoded, the store's changed shards written, the cross-document checks made.
 */
export function finishLoad(plan: LoadPlan, parsed: ParsedFile[], onFile: (done: number) => void = () => {}): Collection {
  const { files, cached, counts } = plan;
  const rules: LoadedRule[] = [];
  if (!cached) {
    for (const p of parsed) rules.push(...p.docs);
    onFile(files.length);
    checkCollection(rules);
    return { rules, pathErrors: plan.pathErrors, files: counts, found: files };
  }
  const { store, values, hits } = cached;
  const stamps = new Map<string, FileStamp>();
  let p = 0;
  let decoded = 0;
  for (const [i, f] of files.entries()) {
    const hit = hits[i];
    let docs: LoadedRule[] | undefined;
    let sha: string | undefined;
    if (hit) {
      onFile(plan.toParse.length + decoded++);
      const blob = store.value(f);
      try {
        docs = blob ? decode<LoadedRule[]>(blob) : undefined;
      } catch {
        docs = undefined;
      }
      if (docs) {
        if (hit.kept) store.keep(f);
        else store.put(f, hit.stamp, 'previous');
        sha = hit.stamp.sha;
        stamps.set(f, hit.stamp);
      } else {
        // a value lost, or corrupt behind a good checksum: load the file (not kept: the next run parses it)
        docs = loadFile(f, plan.opts, false).docs;
        counts.read++;
      }
    } else {
      const parsedFile = parsed[p++]!;
      docs = parsedFile.docs;
      counts.read++;
      if (parsedFile.entry) {
        counts.parsed++;
        store.put(f, parsedFile.entry.meta, parsedFile.entry.blob);
        sha = parsedFile.entry.meta.sha;
        stamps.set(f, parsedFile.entry.meta);
      }
    }
    if (sha !== undefined) markSources(docs, f, sha, values);
    rules.push(...docs);
  }
  onFile(files.length);
  store.save();
  checkCollection(rules);
  return { rules, pathErrors: plan.pathErrors, files: counts, found: files, stamps };
}

const sources = new WeakMap<LoadedRule, string>();

/** Gives a file's documents their sourceKey: its path and content (`sha`), the placeholder values' key (`LoadPlan.cached.values`), the index. */
export function markSources(docs: readonly LoadedRule[], file: string, sha: string, values: string): void {
  for (const d of docs) sources.set(d, hash(file, sha, values, String(d.index)));
}

/**
 * A key of what a loaded document was made from (its file's path and content, the placeholder
 * values, the document's index); present for documents loaded through a cache.
 */
export function sourceKey(r: LoadedRule): string | undefined {
  return sources.get(r);
}

/** Gives a document the sourceKey another thread computed for it (markSources there). */
export function setSourceKey(r: LoadedRule, key: string): void {
  sources.set(r, key);
}

export function placeholderKey(opts: LoadOptions): string {
  return opts.placeholders && opts.placeholders.size > 0 ? hash(encode([...opts.placeholders])) : '';
}

/**
 * What the collection checks and reference resolution read of a document: a LoadedRule, or the
 * compact facts a build worker sends of one (collection/build-parallel.ts keeps the documents on
 * the workers and checks the collection on the main thread from these).
 */
export interface CollectionDoc {
  path: string;
  title?: string;
  diagnostics: Diagnostic[];
  rule?:
    | { kind: 'detection'; id?: string; name?: string; at: { line: number; column: number } }
    | { kind: 'correlation'; id?: string; name?: string; at: { line: number; column: number }; correlation: { rules: string[] } }
    | { kind: 'filter'; id?: string; name?: string; at: { line: number; column: number }; filter: { rules: string[] | 'any' } };
}

/** The facts of a loaded document that the collection checks read (a copy: its diagnostics are a new array). */
export function collectionFacts(r: LoadedRule): CollectionDoc {
  const out: CollectionDoc = { path: r.path, diagnostics: [] };
  if (r.title !== undefined) out.title = r.title;
  const rule = r.rule;
  if (!rule) return out;
  const base = { ...(rule.id !== undefined ? { id: rule.id } : {}), ...(rule.name !== undefined ? { name: rule.name } : {}), at: rule.at };
  out.rule =
    rule.kind === 'correlation'
      ? { kind: 'correlation', ...base, correlation: { rules: rule.correlation.rules } }
      : rule.kind === 'filter'
        ? { kind: 'filter', ...base, filter: { rules: rule.filter.rules } }
        : { kind: 'detection', ...base };
  return out;
}

/**
 * The rules a reference (a correlation's or filter's `rules:` entry) can name: by id, else by
 * name; the first document wins where ids or names repeat (checkCollection reports the others).
 */
export function ruleIndex<T extends CollectionDoc>(rules: readonly T[]): { byId: Map<string, T>; byName: Map<string, T>; resolve(ref: string): T | undefined } {
  const byId = new Map<string, T>();
  const byName = new Map<string, T>();
  for (const r of rules) {
    if (!r.rule) continue;
    const { id, name } = r.rule;
    if (id !== undefined && !byId.has(id)) byId.set(id, r);
    if (name !== undefined && !byName.has(name)) byName.set(name, r);
  }
  return { byId, byName, resolve: (ref) => byId.get(ref) ?? byName.get(ref) };
}

/** Cross-document checks: ids unique, names unique, references of correlations and filters resolved. */
export function checkCollection(rules: readonly CollectionDoc[]): void {
  const { byId, byName } = ruleIndex(rules);
  for (const r of rules) {
    if (!r.rule) continue;
    const { id, name, at } = r.rule;
    if (id !== undefined) {
      const first = byId.get(id)!;
      if (first !== r) r.diagnostics.push(error('duplicate-id', `duplicate rule id ${id}: already used by ${first.path}:${first.rule!.at.line} ('${first.title ?? ''}')`, at));
    }
    if (name !== undefined) {
      const first = byName.get(name)!;
      if (first !== r) r.diagnostics.push(error('duplicate-name', `duplicate rule name '${name}': already used by ${first.path}:${first.rule!.at.line}`, at));
    }
  }
  for (const r of rules) {
    const rule = r.rule;
    if (!rule) continue;
    const refs = rule.kind === 'correlation' ? rule.correlation.rules : rule.kind === 'filter' && rule.filter.rules !== 'any' ? rule.filter.rules : [];
    for (const ref of refs) {
      if (!byId.has(ref) && !byName.has(ref)) {
        // Filters commonly target rules of another collection; only correlations must resolve here.
        if (rule.kind === 'correlation') {
          r.diagnostics.push(error('unknown-rule', `correlation refers to rule '${ref}', which is not in the loaded rules (give its id or name, and load its file too)`, rule.at));
        }
      }
    }
  }
}
