/**
 * `build --out`: the folder holds what the last build produced and nothing stale. Each build writes
 * its files atomically, then removes the files the previous build of the same target, platform and
 * format wrote and this one no longer produces (a rule that now fails must not leave its old
 * artifact to be redeployed), then records what it wrote in `.rulec-manifest.json`. Only files named
 * in that manifest are ever removed, and only while they are as rulec wrote them: a file someone
 * else put there, or edited since, is kept and reported.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { stampOf, unchanged, type FileStamp } from '../collection/cache.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Output } from './output.js';

export const MANIFEST = '.rulec-manifest.json';

/** One build's files: target, platform and format say which build wrote them. */
export interface ManifestBuild {
  target: string;
  platform: string;
  format: string;
  files: { path: string; sha256: string }[];
}

interface Manifest {
  rulec: 1;
  builds: ManifestBuild[];
}

export interface OutFile {
  /** Relative to the output folder, with `/` separators. */
  path: string;
  content: string;
  /**
   * The SHA-256 of `content`, when the caller knows it: then `content` (which may be a getter that
   * reads it from a cache) is read only if the file must be compared or written.
   */
  sha256?: string;
}

export interface OutResult {
  written: number;
  removed: string[];
  /** Files of the previous build that were changed since: kept, and no longer rulec's. */
  kept: string[];
  /** Why the previous manifest could not be read (then nothing was removed). */
  unreadable?: string;
  /**
   * Files this build did not write because a file that is not this build's is already there (one
   * rulec did not write, one edited since, or another build's): never overwritten.
   */
  refused: { path: string; why: string }[];
  /**
   * What each file this build holds looked like once written or checked (its stat and the SHA-256
   * of its bytes): given back to the next build as `known`, a file whose stat is the same is not
   * read again to see whether it already holds its bytes.
   */
  stamps: Map<string, FileStamp>;
  /** The SHA-256 of the manifest this build left (written or found as it should be). */
  manifest?: string;
}

const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** A manifest path that stays inside the folder (a hand-edited manifest must not reach outside it). */
function inside(out: string, path: string): string | undefined {
  if (typeof path !== 'string' || path === '' || isAbsolute(path)) return undefined;
  const n = normalize(path);
  if (n === MANIFEST || n.startsWith('..' + sep) || n === '..') return undefined;
  return join(out, n);
}

const isEntry = (f: unknown): boolean => typeof f === 'object' && f !== null && typeof (f as { path?: unknown }).path === 'string' && typeof (f as { sha256?: unknown }).sha256 === 'string';
const isBuild = (b: unknown): boolean => {
  if (typeof b !== 'object' || b === null) return false;
  const x = b as Record<string, unknown>;
  return typeof x.target === 'string' && typeof x.platform === 'string' && typeof x.format === 'string' && Array.isArray(x.files) && x.files.every(isEntry);
};

/** The manifest, and its text as read (a build that changes nothing does not write it again). */
function readManifest(out: string): { manifest: Manifest; text?: string; unreadable?: string } {
  let text: string;
  try {
    text = readFileSync(join(out, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { manifest: { rulec: 1, builds: [] } };
    return { manifest: { rulec: 1, builds: [] }, unreadable: (e as Error).message };
  }
  try {
    const m = JSON.parse(text) as Manifest;
    if (m.rulec !== 1 || !Array.isArray(m.builds)) throw new Error('not a rulec manifest of version 1');
    // A hand-edited entry must not crash the build after its files are written.
    if (!m.builds.every(isBuild)) throw new Error('a build entry is not {target, platform, format, files: [{path, sha256}]}');
    return { manifest: m, text };
  } catch (e) {
    return { manifest: { rulec: 1, builds: [] }, unreadable: (e as Error).message };
  }
}

/**
 * Writes `files` under `out` for the build `key` and removes what the previous build of `key`
 * produced that this one does not. Writes nothing (and creates no folder) when there is nothing to
 * write and nothing recorded to remove. `onProgress` hears of each file before it is written.
 */
export function writeOutDir(
  out: string,
  key: Omit<ManifestBuild, 'files'>,
  files: OutFile[],
  onProgress?: (done: number, total: number) => void,
  known?: ReadonlyMap<string, FileStamp>,
): OutResult {
  const plan = planOutDir(out, key);
  if (files.length === 0 && !plan.previous) return emptyResult(plan);
  const results = files.map((f, i) => {
    onProgress?.(i, files.length);
    return writeOutFile(plan, f, known);
  });
  return finishOutDir(plan, results);
}

/**
 * What writing one build's files needs to know of the folder: the previous manifest, the files the
 * previous build of this key wrote (`ours`, path to SHA-256) and those other builds wrote. Plain
 * data: a build worker (cli/build-parallel.ts) writes its rules' files with it.
 */
export interface OutDirPlan {
  out: string;
  key: Omit<ManifestBuild, 'files'>;
  manifest: Manifest;
  manifestText?: string;
  unreadable?: string;
  previous?: ManifestBuild;
  ours: Map<string, string>;
  others: Set<string>;
}

/** What became of one file: written (or already there with its bytes), or refused. */
export type OutFileResult = { path: string; sha256: string; stamp?: FileStamp } | { path: string; refused: string };

const sameBuild = (key: Omit<ManifestBuild, 'files'>) => (b: ManifestBuild): boolean => b.target === key.target && b.platform === key.platform && b.format === key.format;

export function planOutDir(out: string, key: Omit<ManifestBuild, 'files'>): OutDirPlan {
  const { manifest, text, unreadable } = readManifest(out);
  const same = sameBuild(key);
  const previous = manifest.builds.find(same);
  const ours = new Map((previous?.files ?? []).map((f) => [normalize(f.path), f.sha256]));
  const others = new Set<string>();
  for (const b of manifest.builds) if (!same(b)) for (const f of b.files) others.add(normalize(f.path));
  return { out, key, manifest, ours, others, ...(text !== undefined ? { manifestText: text } : {}), ...(unreadable ? { unreadable } : {}), ...(previous ? { previous } : {}) };
}

function emptyResult(plan: OutDirPlan): OutResult {
  return { written: 0, removed: [], kept: [], refused: [], stamps: new Map(), ...(plan.unreadable ? { unreadable: plan.unreadable } : {}) };
}

/** Writes one file of the build unless it already holds its bytes; refuses to overwrite a file that is not this build's. */
export function writeOutFile(plan: Pick<OutDirPlan, 'out' | 'ours' | 'others'>, f: OutFile, known?: ReadonlyMap<string, FileStamp>): OutFileResult {
  const abs = join(plan.out, f.path);
  const sha = f.sha256 ?? sha256(f.content);
  let st;
  try {
    // Not there yet (a cold build: every file) is undefined, not an exception to build and throw.
    st = statSync(abs, { throwIfNoEntry: false });
  } catch {
    st = undefined; // a path through a file: writing it says why
  }
  // As the rule files are trusted: a file whose stat is the one recorded when it was written holds what was written.
  const stamp = known?.get(f.path);
  const trusted = st !== undefined && stamp?.sha === sha && unchanged(st, stamp);
  let now: Buffer | undefined;
  if (st && !trusted) {
    try {
      now = readFileSync(abs);
    } catch {
      now = undefined;
    }
  }
  // With its hash known, a file is compared by hash: its content (read from the cache) is not needed unless it must be written.
  const same = trusted || (now !== undefined && (f.sha256 !== undefined ? sha256(now) === f.sha256 : now.equals(Buffer.from(f.content))));
  if (now !== undefined && !same) {
    const n = normalize(f.path);
    const why = plan.others.has(n)
      ? 'another build (target, platform or format) wrote it; give each build its own --out'
      : plan.ours.get(n) === undefined
        ? 'rulec did not write it'
        : plan.ours.get(n) !== sha256(now)
          ? 'it was changed since rulec wrote it'
          : undefined;
    if (why) return { path: f.path, refused: why };
  }
  // A file that already holds these bytes is left alone: a rebuild that changes nothing writes nothing.
  if (trusted) return { path: f.path, sha256: sha, stamp: stamp! };
  const read = Date.now();
  if (!same) writeFileAtomic(abs, f.content);
  try {
    return { path: f.path, sha256: sha, stamp: stampOf(statSync(abs), read, sha) };
  } catch {
    return { path: f.path, sha256: sha }; // gone already: the next build reads it
  }
}

/**
 * After every file of the build (`results`, in the build's order): removes what the previous build
 * of the key wrote and this one does not, and records this build in the manifest. Without files
 * and without a previous build of the key, nothing is written (no folder is created).
 */
export function finishOutDir(plan: OutDirPlan, results: readonly OutFileResult[]): OutResult {
  const { out, manifest, previous } = plan;
  const result = emptyResult(plan);
  if (results.length === 0 && !previous) return result;
  const entries: ManifestBuild['files'] = [];
  for (const r of results) {
    if ('refused' in r) {
      result.refused.push({ path: r.path, why: r.refused });
      continue;
    }
    if (r.stamp) result.stamps.set(r.path, r.stamp);
    entries.push({ path: r.path, sha256: r.sha256 });
    result.written++;
  }
  const same = sameBuild(plan.key);

  // Files that another build recorded are that build's: never removed by this one.
  const claimed = new Set<string>(results.map((f) => normalize(f.path)));
  for (const b of manifest.builds) if (!same(b)) for (const f of b.files) claimed.add(normalize(f.path));
  for (const old of previous?.files ?? []) {
    const abs = inside(out, old.path);
    if (!abs || claimed.has(normalize(old.path))) continue;
    let now: Buffer;
    try {
      now = readFileSync(abs);
    } catch {
      continue; // already gone
    }
    if (sha256(now) !== old.sha256) {
      result.kept.push(old.path);
      continue;
    }
    rmSync(abs, { force: true });
    result.removed.push(old.path);
    pruneEmptyDirs(out, dirname(abs));
  }

  const builds = manifest.builds.filter((b) => !same(b));
  builds.push({ ...plan.key, files: entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) });
  const text = JSON.stringify({ rulec: 1, builds } satisfies Manifest, null, 2) + '\n';
  if (text !== plan.manifestText) writeFileAtomic(join(out, MANIFEST), text);
  result.manifest = sha256(text);
  return result;
}

/** Removes `dir` and its parents below `out` while they are empty (folders a removed rule left). */
function pruneEmptyDirs(out: string, dir: string): void {
  for (let d = dir; relative(out, d) !== '' && !relative(out, d).startsWith('..'); d = dirname(d)) {
    try {
      if (readdirSync(d).length > 0) return;
      rmdirSync(d);
    } catch {
      return;
    }
  }
}

/**
 * Each rule's output name without extension: its path below the root folder it was found in
 * (`.N` for the N-th document of a file, `-2` for a clash). Every rule gets a name, refused ones
 * included, so that a rule's file name does not depend on which other rules compiled (a refused
 * rule must not hand its name to a rule that would then be redeployed under it).
 */
export function ruleStems(rules: readonly { path: string; index: number }[], roots: readonly string[]): string[] {
  const dirs = roots.filter((r) => {
    try {
      return statSync(r).isDirectory();
    } catch {
      return false;
    }
  });
  // A path found below a root starts with it as given (joined): its tail is what relative() would
  // give, without resolving both paths for every rule and root (a tenth of a second per target
  // over the SigmaHQ corpus).
  const prefixes = dirs.map((d) => (d.endsWith(sep) ? d : d + sep));
  const below = (d: number, path: string): string | undefined => {
    if (path.startsWith(prefixes[d]!) && !path.includes(`${sep}..${sep}`)) return path.slice(prefixes[d]!.length);
    const rel = relative(dirs[d]!, path);
    return rel.startsWith('..') ? undefined : rel;
  };
  const used = new Set<string>();
  return rules.map((r) => {
    let rel: string | undefined;
    for (let d = 0; d < dirs.length && rel === undefined; d++) rel = below(d, r.path);
    rel ??= basename(r.path);
    let stem = rel.slice(0, rel.length - extname(rel).length);
    if (r.index > 0) stem += `.${r.index}`;
    let name = stem;
    for (let n = 2; used.has(name); n++) name = `${stem}-${n}`;
    used.add(name);
    return name;
  });
}

/** What writing the folder did besides writing: removed, kept and refused files, each named. */
export function reportOutDir(io: Output, out: string, r: OutResult): void {
  if (r.unreadable) io.err(`${join(out, MANIFEST)}: warning: cannot read the previous build's manifest (${r.unreadable}); no stale file was removed`);
  if (r.removed.length) io.err(`${out}: removed ${r.removed.length} file${r.removed.length === 1 ? '' : 's'} of the previous build that this build no longer produces`);
  for (const f of r.kept) io.err(`${join(out, f)}: warning: written by a previous build but changed since, so kept; remove it by hand if it is stale`);
  for (const f of r.refused) io.err(`${join(out, f.path)}: error: not overwritten: ${f.why}`);
}
