/**
 * The whole-build record of `rulec build` (docs/cli.md#the-rule-cache): what a build printed (stdout,
 * stderr, `--json` rows, in order) and its exit status, with the stat of everything its result
 * depends on that can change between runs: the rule files found below its roots, the files it holds
 * under `--out`, each folder's manifest, and the files it refused to overwrite. The next build with
 * the same options and the same code (the cache folder is per code fingerprint) that finds all of
 * them unchanged prints the record and does nothing else: it reads no rule, decodes no pack and
 * compiles nothing, which is what a CI rebuild with nothing changed needs.
 *
 * A file whose stat is the one recorded but was stamped within the change window (cache.ts
 * `unchanged`: it may have changed again unseen, as every file a build has just written or a rule
 * file just checked out may) is read and its SHA-256 compared with the one recorded; when all such
 * files hold what the build saw, the build is replayed and its record stamped again, so that the
 * next rebuild trusts their stats.
 *
 * Anything else is not replayed but built: a missing, corrupt or foreign record, another file
 * found, a file whose stat differs or whose content differs from the recorded hash (or has none
 * recorded), and a build that removed or kept stale files or could not read its manifest (the
 * next build would not print those lines again, so its output is not this one's).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { decode, encode, hash, sameStat, stampOf, unchanged, type FileStamp, type RuleCache } from '../collection/cache.js';
import { findRuleFiles } from '../collection/files.js';
import { ruleCache, type CacheOptions } from './cache.js';
import type { Output } from './output.js';

export type Printed = ['out', string] | ['err', string] | ['json', unknown];

/** A record, in two entries: this, then what the build printed (decoded only to replay it). */
interface BuildRecord {
  /** The rule files found below the roots, in order. */
  rules: string[];
  /** Every file the result depends on, with its stamp; null: a file that must stay absent. */
  watched: [string, FileStamp | null][];
  status: number;
  /** The other packs the build used: a replay marks them used too, so that the sweep keeps them. */
  packs: string[];
}

/** The options of `rulec build` as commander gives them. */
export type BuildRecordOptions = CacheOptions & { mapping?: string[]; placeholders?: string };

/**
 * The key of a build's record: what its whole output depends on besides the rule files and the
 * --out folders (which the record watches): the working directory and paths as given (paths are
 * printed as given), every option, and the content of the files options name (--mapping,
 * --placeholders). Undefined when one of those cannot be read: the build says why.
 */
export function buildRecordKey(paths: string[], opts: BuildRecordOptions): string | undefined {
  const options = Object.entries(opts)
    .filter(([k]) => k !== 'cache')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  try {
    const named = [...(opts.mapping ?? []), ...(opts.placeholders !== undefined ? [opts.placeholders] : [])];
    return hash(process.cwd(), JSON.stringify(paths), JSON.stringify(options), ...named.map((f) => hash(readFileSync(f))));
  } catch {
    return undefined;
  }
}

/**
 * `rulec build` from its record, before any of the parser, the model or a target is loaded:
 * the exit status, or undefined when the build must run (no cache, no record, something changed).
 */
export function replayBuildFromOptions(paths: string[], opts: BuildRecordOptions, io: Output): number | undefined {
  const cache = ruleCache(opts);
  const key = cache && buildRecordKey(paths, opts);
  if (!cache || key === undefined) return undefined;
  const status = replayBuild(cache, key, paths.length ? paths : ['rules/'], io);
  if (status !== undefined) cache.close();
  return status;
}

/** Replays the record of this build (`key`: its options and inputs) when nothing it depends on changed; returns the exit status, or undefined to build. */
export function replayBuild(cache: RuleCache, key: string, roots: string[], io: Output): number | undefined {
  const pack = cache.path('build', key);
  const [entry, output] = cache.read<0>(pack) ?? [];
  if (entry?.key !== key || !output) return undefined;
  let record: BuildRecord;
  try {
    record = decode<BuildRecord>(entry.blob);
  } catch {
    return undefined;
  }
  const found = findRuleFiles(roots);
  if (found.errors.length > 0 || found.files.length !== record.rules.length || found.files.some((f, i) => f !== record.rules[i])) return undefined;
  let restamped = false;
  const buffer = { bytes: Buffer.alloc(0) };
  for (const [i, [path, stamp]] of record.watched.entries()) {
    let st;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (stamp === null) {
      if (st !== undefined) return undefined;
      continue;
    }
    if (st === undefined) return undefined;
    if (unchanged(st, stamp)) continue;
    const checked = sameStat(st, stamp) ? recheck(path, stamp, buffer) : undefined;
    if (!checked) return undefined;
    record.watched[i] = [path, checked];
    restamped = true;
  }
  let printed: Printed[];
  try {
    printed = decode<Printed[]>(output.blob);
  } catch {
    return undefined;
  }
  for (const [stream, value] of printed) {
    if (stream === 'json') io.json(value);
    else io[stream](value as string);
  }
  cache.markUsed(record.packs);
  if (restamped) {
    try {
      cache.write(pack, [{ key, meta: 0, blob: encode(record) }, output]);
    } catch {
      // not stamped again: the next rebuild reads those files once more
    }
  }
  return record.status;
}

/**
 * A file whose stat is as recorded but too close to when it was stamped to be trusted: its new
 * stamp when its bytes still hash to the recorded SHA-256, else undefined. The stamp's time is
 * taken before its stat and read, as a load's is, so a change during the read is not trusted next
 * time either. `buffer` is reused from file to file (a rebuild right after a build reads back
 * every output it wrote, 60 MB for four targets over the SigmaHQ corpus).
 */
export function recheck(path: string, stamp: FileStamp, buffer: { bytes: Buffer }): FileStamp | undefined {
  if (!stamp.sha) return undefined; // no hash recorded (a file the build refused to overwrite): only a build can say
  const read = Date.now();
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (!sameStat(st, stamp)) return undefined;
    if (buffer.bytes.length < st.size + 1) buffer.bytes = Buffer.allocUnsafe(Math.max(st.size + 1, 2 * buffer.bytes.length, 1 << 16));
    const h = createHash('sha256');
    let total = 0;
    for (let n; (n = readSync(fd, buffer.bytes, 0, buffer.bytes.length, total)) > 0; total += n) h.update(buffer.bytes.subarray(0, n));
    if (total !== st.size || h.digest('hex') !== stamp.sha) return undefined;
    return stampOf(st, read, stamp.sha);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Gathers the record while a build runs: `io` passes everything on and keeps it; `watch` and
 * `absent` name the files the result depends on; `save` writes the record once the build is done.
 */
export class BuildRecorder {
  private readonly printed: Printed[] = [];
  private readonly watched = new Map<string, FileStamp | null>();
  /** Set when the build printed something a rebuild would not print again. */
  private once = false;
  readonly io: Output;

  constructor(
    private readonly cache: RuleCache,
    private readonly key: string,
    /** When the build started reading its inputs: a file changed since may not show in its stat. */
    private readonly since: number,
    inner: Output,
  ) {
    this.io = {
      ...inner,
      out: (line) => {
        this.printed.push(['out', line]);
        inner.out(line);
      },
      err: (line) => {
        this.printed.push(['err', line]);
        inner.err(line);
      },
      json: (obj) => {
        this.printed.push(['json', obj]);
        inner.json(obj);
      },
    };
  }

  /**
   * A file the build read or wrote, stamped now (or with the stamp it was checked with); `sha`: the
   * SHA-256 of the bytes the build left in it, which lets a rebuild within the change window check
   * it by content.
   */
  watch(path: string, stamp?: FileStamp, sha = ''): void {
    if (stamp) {
      this.watched.set(path, stamp);
      return;
    }
    try {
      this.watched.set(path, stampOf(statSync(path), this.since, sha));
    } catch {
      this.watched.set(path, null);
    }
  }

  /** The build did something that a rebuild would not do again (removed stale files): no record. */
  printedOnce(): void {
    this.once = true;
  }

  /** `stamps`: each rule file's stamp as the load read it (with the hash of what it read), where the load kept one. */
  save(rules: string[], status: number, stamps?: ReadonlyMap<string, FileStamp>): void {
    if (this.once) return;
    // The rule files first: they are what changes most often, and a replay stops at the first change.
    const outputs = [...this.watched];
    this.watched.clear();
    for (const r of rules) this.watch(r, stamps?.get(r));
    const record: BuildRecord = { rules, watched: [...this.watched, ...outputs], status, packs: this.cache.usedPaths() };
    let blobs: Buffer[];
    try {
      blobs = [encode(record), encode(this.printed)];
    } catch {
      return; // something printed that the cache cannot keep exactly: no record
    }
    this.cache.write(this.cache.path('build', this.key), [
      { key: this.key, meta: 0, blob: blobs[0]! },
      { key: `${this.key} printed`, meta: 0, blob: blobs[1]! },
    ]);
  }
}
