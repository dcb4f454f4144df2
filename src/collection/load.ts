/**
 * Rule collections: find rule files, parse and lower every document, and check what only the
 * collection can see (duplicate ids, correlation and filter references).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { decode, encode, hash, ShardedStore, stampOf, unchanged, type FileStamp, type RuleCache } from './cache.js';
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
 * Load a collection on the calling thread. Worker threads were tried and measured slower on this
 * 2-core machine (Kusto corpus build 3.4 s against 2.9 s, also at three times the corpus): YAML
 * parsing is allocation- and JIT-heavy, and one thread already keeps the second core busy with
 * V8's concurrent garbage collection and compilation.
 */
export function loadCollection(paths: string[], onProgress: ProgressCallback = () => {}, opts: LoadOptions = {}): Collection {
  const { files, errors } = findRuleFiles(paths);
  const onFile = (n: number): void => onProgress(n, files.length);
  const counts = { found: files.length, read: files.length, parsed: files.length };
  const rules = opts.cache ? loadFilesCached(opts.cache, paths, files, onFile, opts, counts) : loadFiles(files, onFile, opts);
  checkCollection(rules);
  return { rules, pathErrors: errors, files: counts, found: files };
}

/** Parse and lower files (no cross-document checks). Paths are shown as given. */
export function loadFiles(files: string[], onFile: (done: number) => void = () => {}, opts: LoadOptions = {}): LoadedRule[] {
  const rules: LoadedRule[] = [];
  for (const [i, f] of files.entries()) {
    onFile(i);
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      rules.push({ path: f, index: 0, diagnostics: [error('io', `cannot read file: ${(e as Error).message}`, undefined)] });
      continue;
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    rules.push(...loadText(f, text, opts));
  }
  onFile(files.length);
  return rules;
}

const sources = new WeakMap<LoadedRule, string>();

/**
 * A key of what a loaded document was made from (its file's path and content, the placeholder
 * values, the document's index); present for documents loaded through a cache.
 */
export function sourceKey(r: LoadedRule): string | undefined {
  return sources.get(r);
}

function placeholderKey(opts: LoadOptions): string {
  return opts.placeholders && opts.placeholders.size > 0 ? hash(encode([...opts.placeholders])) : '';
}

/**
 * loadFiles through the cache: one store per set of roots (as given, from this working directory,
 * with these placeholder values) holds each file's documents, in shards (cache.ts ShardedStore),
 * so that a change rewrites the shard of the file that changed. A file whose stat is unchanged is
 * not read; a changed one is read and hashed, and parsed only when its content is new.
 */
function loadFilesCached(
  cache: RuleCache,
  roots: string[],
  files: string[],
  onFile: (done: number) => void,
  opts: LoadOptions,
  counts: { read: number; parsed: number },
): LoadedRule[] {
  counts.read = counts.parsed = 0;
  const values = placeholderKey(opts);
  const store = new ShardedStore<FileStamp>(cache, 'load', hash(process.cwd(), JSON.stringify(roots.map((r) => [r, resolve(r)])), values));
  const rules: LoadedRule[] = [];
  /** The documents of a cached value, or undefined for a value lost or corrupt (then the file is loaded). */
  const cached = (f: string): LoadedRule[] | undefined => {
    const blob = store.value(f);
    try {
      return blob ? decode<LoadedRule[]>(blob) : undefined;
    } catch {
      return undefined;
    }
  };
  for (const [i, f] of files.entries()) {
    onFile(i);
    const prev = store.meta(f);
    let st;
    try {
      st = statSync(f);
    } catch {
      st = undefined; // unreadable: loadFiles says why
    }
    let docs = st && prev && unchanged(st, prev) ? cached(f) : undefined;
    let sha = prev?.sha;
    if (docs) store.keep(f);
    else if (st) {
      const read = Date.now();
      counts.read++;
      let bytes: Buffer | undefined;
      try {
        bytes = readFileSync(f);
      } catch {
        // unreadable: loadFiles says why
      }
      if (bytes) {
        sha = hash(bytes);
        const stamp = stampOf(st, read, sha);
        if (prev?.sha === sha && (docs = cached(f))) store.put(f, stamp, 'previous');
        else {
          let text = bytes.toString('utf8');
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          docs = loadText(f, text, opts);
          counts.parsed++;
          try {
            store.put(f, stamp, encode(docs));
          } catch {
            // a value the cache cannot keep exactly is not kept
          }
        }
      }
    }
    if (!docs || sha === undefined) {
      if (!st) counts.read++;
      rules.push(...(docs ?? loadFiles([f], () => {}, opts)));
      continue;
    }
    for (const d of docs) sources.set(d, hash(f, sha, values, String(d.index)));
    rules.push(...docs);
  }
  onFile(files.length);
  store.save();
  return rules;
}

/**
 * The rules a reference (a correlation's or filter's `rules:` entry) can name: by id, else by
 * name; the first document wins where ids or names repeat (checkCollection reports the others).
 */
export function ruleIndex(rules: readonly LoadedRule[]): { byId: Map<string, LoadedRule>; byName: Map<string, LoadedRule>; resolve(ref: string): LoadedRule | undefined } {
  const byId = new Map<string, LoadedRule>();
  const byName = new Map<string, LoadedRule>();
  for (const r of rules) {
    if (!r.rule) continue;
    const { id, name } = r.rule;
    if (id !== undefined && !byId.has(id)) byId.set(id, r);
    if (name !== undefined && !byName.has(name)) byName.set(name, r);
  }
  return { byId, byName, resolve: (ref) => byId.get(ref) ?? byName.get(ref) };
}

/** Cross-document checks: ids unique, names unique, references of correlations and filters resolved. */
export function checkCollection(rules: LoadedRule[]): void {
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
