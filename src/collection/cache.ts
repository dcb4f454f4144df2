/**
 * The on-disk rule cache (`--cache DIR`, `--no-cache`; docs/cli.md#the-rule-cache). Two kinds of
 * pack file, each one file read and written whole:
 *
 * - `load-<roots>.bin`: what loading produced for each file found below a set of roots (the
 *   LoadedRule documents: model, IR, diagnostics), with the file's content hash and stat. A file
 *   whose size, mtime, ctime and inode are unchanged is not read again; a changed one is read,
 *   hashed and, when its content is new, parsed and lowered.
 * - `out-<options>.bin`: the compile results of one target, platform, format and option set, keyed
 *   by the rule's file content, path, document and the filters that apply to it.
 * - `import-<options>.bin`: `rulec import` results of one option set and list of inputs, keyed by
 *   each input's path and content.
 *
 * Both live in a folder per code fingerprint (a hash of rulec's own code, backends data and schema,
 * and the V8 version), so that no entry outlives the code that made it: the cache can make a run
 * faster but never change what it prints. Values are V8 structured-clone data (node:v8), which keeps
 * Maps, undefined, -0, NaN, bigints, RegExps and shared references as they were.
 *
 * Safe under concurrent runs: packs are written to a temporary file and renamed (util/atomic.ts), so
 * a reader sees an old pack or a new one; a pack that is truncated or corrupt (checksums, lengths)
 * is a miss. The last writer wins, which costs at most a later miss.
 *
 * Self-cleaning: a pack not used for 14 days is removed, and so is a fingerprint folder (an older
 * rulec) not used for 14 days; the sweep runs at most once a day per cache folder.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import * as zlib from 'node:zlib';
import { ensureDir, writeFileAtomic } from '../util/atomic.js';

/** Entries not used for this long are removed. */
export const MAX_AGE_DAYS = 14;
const DAY_MS = 86_400_000;
/**
 * A file whose mtime is this close to the moment it was last read may have changed again within
 * the file system's timestamp resolution without its stat showing it (git's "racy clean"): it is
 * read again until a later run sees it older than this. 2 s covers the coarsest file systems
 * (FAT); where the recorded ctime has digits below the millisecond, the file system keeps
 * fine timestamps and the window is FINE_RACY_MS: Linux stamps files from a clock that ticks every
 * few milliseconds (a jiffy), so a change that soon after a read could still share its stamp.
 */
const RACY_MS = 2000;
const FINE_RACY_MS = 100;
const MAGIC = Buffer.from('RULECPK1');
/** magic, header length, header checksum, body checksum */
const PREFIX = MAGIC.length + 12;

/** The platform's cache folder: `$XDG_CACHE_HOME/rulec`, else `~/.cache/rulec`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'rulec');
}

export const hash = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? `${p.length}:${p}` : p);
  return h.digest('hex');
};

const crc = (b: Uint8Array): number => (zlib.crc32 ? zlib.crc32(b) : createHash('sha1').update(b).digest().readUInt32BE(0));

export interface PackEntry<M> {
  key: string;
  meta: M;
  /** The value, serialized; deserialized only when asked for. */
  blob: Buffer;
}

/** A pack file's entries, or undefined for a missing, truncated or corrupt one (a miss). */
export function readPack<M>(path: string): PackEntry<M>[] | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return undefined;
  }
  try {
    if (buf.length < PREFIX || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const headerLen = buf.readUInt32LE(MAGIC.length);
    if (PREFIX + headerLen > buf.length) return undefined;
    const header = buf.subarray(PREFIX, PREFIX + headerLen);
    const body = buf.subarray(PREFIX + headerLen);
    if (crc(header) !== buf.readUInt32LE(MAGIC.length + 4) || crc(body) !== buf.readUInt32LE(MAGIC.length + 8)) return undefined;
    const entries = JSON.parse(header.toString('utf8')) as { key: string; meta: M; at: number; len: number }[];
    if (!Array.isArray(entries)) return undefined;
    const out: PackEntry<M>[] = [];
    for (const e of entries) {
      if (typeof e.key !== 'string' || !Number.isInteger(e.at) || !Number.isInteger(e.len) || e.at < 0 || e.at + e.len > body.length) return undefined;
      out.push({ key: e.key, meta: e.meta, blob: body.subarray(e.at, e.at + e.len) });
    }
    return out;
  } catch {
    return undefined;
  }
}

export function writePack<M>(path: string, entries: readonly PackEntry<M>[]): void {
  let at = 0;
  const index = entries.map((e) => {
    const r = { key: e.key, meta: e.meta, at, len: e.blob.length };
    at += e.blob.length;
    return r;
  });
  const header = Buffer.from(JSON.stringify(index), 'utf8');
  const body = Buffer.concat(entries.map((e) => e.blob), at);
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(header.length, MAGIC.length);
  prefix.writeUInt32LE(crc(header), MAGIC.length + 4);
  prefix.writeUInt32LE(crc(body), MAGIC.length + 8);
  writeFileAtomic(path, Buffer.concat([prefix, header, body]));
}

/**
 * A value as the cache stores it; throws on a function or symbol. A class instance would come back
 * a plain object: the model, IR and compile results are plain data by design (ir/types.ts), which
 * the cache tests check with `plainDataProblem` over the SigmaHQ corpus instead of every run paying
 * for a walk of every value (a tenth of a second over the corpus).
 */
export function encode(value: unknown): Buffer {
  return serialize(value);
}

export function decode<T>(blob: Buffer): T {
  return deserialize(blob) as T;
}

/**
 * A hash of a plain-data value that depends on the value only: V8's serialization is not canonical
 * (the same value read in a worker thread, or decoded and encoded again, can give other bytes), so
 * this hashes a JSON text in which what JSON cannot say (undefined, -0, NaN, infinities, bigints,
 * Maps, Sets, RegExps) is tagged, and strings that could be mistaken for a tag are escaped.
 */
export function valueHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value, tagged) ?? '\u0000u').digest('hex');
}

function tagged(this: unknown, _key: string, v: unknown): unknown {
  switch (typeof v) {
    case 'undefined':
      return '\u0000u';
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? v : `\u0000${Object.is(v, -0) ? '-0' : String(v)}`;
    case 'bigint':
      return `\u0000n${v}`;
    case 'string':
      return v.startsWith('\u0000') ? `\u0000s${v}` : v;
    case 'object':
      if (v instanceof Map) return { '\u0000Map': [...v] };
      if (v instanceof Set) return { '\u0000Set': [...v] };
      if (v instanceof RegExp) return { '\u0000re': [v.source, v.flags] };
      return v;
    default:
      return v;
  }
}

/** What structured clone would not give back as it was (a class instance, a function), or undefined. */
export function plainDataProblem(v: unknown): string | undefined {
  try {
    checkPlain(v, new Set());
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function checkPlain(v: unknown, seen: Set<object>): void {
  if (typeof v === 'function' || typeof v === 'symbol') throw new Error(`cannot cache a ${typeof v}`);
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const x of v) checkPlain(x, seen);
    return;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) {
      checkPlain(k, seen);
      checkPlain(x, seen);
    }
    return;
  }
  if (v instanceof Set) {
    for (const x of v) checkPlain(x, seen);
    return;
  }
  if (v instanceof RegExp || v instanceof Date) return;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new Error(`cannot cache an instance of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? 'a class'}`);
  for (const x of Object.values(v)) checkPlain(x, seen);
}

let fingerprintMemo: string | undefined;

/**
 * What every cached value depends on besides its own inputs: rulec's code (the compiled modules
 * beside this one, and src/), its data (backends/, schema/), its version and the V8 serialization
 * format.
 */
export function codeFingerprint(): string {
  const code = dirname(dirname(fileURLToPath(import.meta.url))); // dist/ (or src/ under the tests)
  return (fingerprintMemo ??= fingerprintOf(code, dirname(code)));
}

/** The fingerprint of the rulec whose compiled modules are in `code` and whose checkout is `root`. */
export function fingerprintOf(code: string, root: string): string {
  const h = createHash('sha256');
  h.update(`v8 ${process.versions.v8}\n`);
  const add = (dir: string, rel: string, only?: RegExp): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = statSync(p);
      if (st.isDirectory()) add(p, `${rel}/${n}`, only);
      else if (!only || only.test(n)) h.update(`${rel}/${n} ${st.size}\n`).update(readFileSync(p));
    }
  };
  add(code, 'code', /\.(js|ts)$/);
  // The ts target inlines rulec's runtime from its TypeScript source (src/runtime, ...), read at
  // run time beside dist/: that source is code too.
  if (join(root, 'src') !== code) add(join(root, 'src'), 'src', /\.ts$/);
  add(join(root, 'backends'), 'backends');
  add(join(root, 'schema'), 'schema');
  try {
    h.update(readFileSync(join(root, 'package.json')));
  } catch {
    // a copied dist/ without package.json: the code's own hash still says which rulec this is
  }
  return h.digest('hex').slice(0, 32);
}

/** The stat of a source file that says it is unchanged since it was read. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** When it was read (ms since the epoch). */
  read: number;
  /** sha256 of its bytes */
  sha: string;
}

export function stampOf(st: Stats, read: number, sha: string): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, read, sha };
}

export function unchanged(st: Stats, s: FileStamp | undefined): boolean {
  return s !== undefined && sameStat(st, s) && st.mtimeMs < s.read - racyMs(s) && st.ctimeMs < s.read - racyMs(s);
}

/**
 * The stat is the one stamped, whether or not it can be trusted: a file for which this holds but
 * `unchanged` does not was stamped within the change window, and only its content can tell.
 */
export function sameStat(st: Stats, s: FileStamp): boolean {
  return s.size === st.size && s.mtimeMs === st.mtimeMs && s.ctimeMs === st.ctimeMs && s.ino === st.ino;
}

function racyMs(s: FileStamp): number {
  return Number.isInteger(s.ctimeMs) ? RACY_MS : FINE_RACY_MS;
}

let codeCache: RuleCache | undefined;

/**
 * A value derived from rulec's own code and nothing else (the ts target's reading of its runtime
 * source takes a second and a half of TypeScript analysis): kept in the cache folder of the run's
 * cache (`useForCode`), whose fingerprint covers that code, and computed afresh without one.
 * `compute` must give plain data (structured clone keeps Maps, Sets and shared references).
 */
export function codeMemo<T>(name: string, compute: () => T): T {
  const cache = codeCache;
  if (!cache) return compute();
  const key = hash('code', name);
  const pack = cache.path('code', key);
  const hit = cache.read<0>(pack)?.[0];
  if (hit?.key === key) {
    try {
      return decode<T>(hit.blob);
    } catch {
      // a corrupt value: compute it again
    }
  }
  const value = compute();
  if (plainDataProblem(value) === undefined) cache.write(pack, [{ key, meta: 0, blob: encode(value) }]);
  return value;
}

/** The cache that codeMemo keeps its values in for the rest of this process (none: --no-cache). */
export function useForCode(cache: RuleCache | undefined): void {
  codeCache = cache;
}

/** One cache folder, for one rulec (its code fingerprint). */
export class RuleCache {
  readonly root: string;
  readonly dir: string;
  private readonly used: string[] = [];

  constructor(root: string) {
    this.root = resolve(root);
    this.dir = join(this.root, codeFingerprint());
  }

  path(kind: 'load' | 'out' | 'mapping' | 'import' | 'stamps' | 'build' | 'code', key: string): string {
    const p = join(this.dir, `${kind}-${key.slice(0, 40)}.bin`);
    this.used.push(p);
    return p;
  }

  read<M>(path: string): PackEntry<M>[] | undefined {
    return readPack<M>(path);
  }

  /** The packs this run has used so far. */
  usedPaths(): string[] {
    return [...new Set(this.used)];
  }

  /** Packs this run relies on without reading them (a replayed build's): kept by the sweep like the ones it read. */
  markUsed(paths: readonly string[]): void {
    for (const p of paths) if (typeof p === 'string' && dirname(p) === this.dir) this.used.push(p);
  }

  /** Writes a pack; a cache that cannot be written is no cache (the run goes on, uncached). */
  write<M>(path: string, entries: readonly PackEntry<M>[]): void {
    try {
      ensureDir(this.dir);
      writePack(path, entries);
    } catch {
      // read-only or full disk: the next run misses again
    }
  }

  /**
   * Marks what this run used (the mtime is a pack's last use) and, once a day, removes packs and
   * fingerprint folders not used for MAX_AGE_DAYS.
   */
  close(now = Date.now()): void {
    const t = new Date(now);
    for (const p of new Set(this.used)) {
      try {
        utimesSync(p, t, t);
      } catch {
        // not written (nothing to cache, or no space): nothing to mark
      }
    }
    try {
      const stamp = join(this.root, '.swept');
      let last = 0;
      try {
        last = statSync(stamp).mtimeMs;
      } catch {
        // never swept
      }
      if (now - last < DAY_MS) return;
      ensureDir(this.root);
      writeFileSync(stamp, '');
      sweep(this.root, now - MAX_AGE_DAYS * DAY_MS, this.dir);
    } catch {
      // a cache folder we cannot clean is still usable
    }
  }
}

/**
 * Many values under one key, for work proportional to what changed: an index pack (every entry's
 * meta, read whole) and the values in `shards` shard packs, each read only when one of its values
 * is asked for and written only when what it holds changes. Two runs at once may leave a shard
 * older or newer than the index: where keys are content hashes (the same key is always the same
 * value) that can only lose a value; where they are not (the load store's keys are paths), `tag`
 * names the content an entry's meta stands for, each value is written with its tag, and a value
 * whose tag is not its index entry's is a miss, never a wrong value.
 */
export class ShardedStore<M> {
  private readonly index: string;
  private readonly shardPaths: string[];
  private readonly previous: Map<string, { m: M; s: number }>;
  private readonly next = new Map<string, { m: M; s: number }>();
  /** Shards read so far (key to value and tag). */
  private readonly loaded = new Map<number, Map<string, { blob: Buffer; tag: string }>>();
  /** Values new in this run, by shard. */
  private readonly fresh = new Map<number, Map<string, Buffer>>();
  private changed = false;

  constructor(
    private readonly cache: RuleCache,
    kind: 'load' | 'out',
    key: string,
    readonly shards = 32,
    private readonly tag: (meta: M) => string = () => '',
  ) {
    this.index = cache.path(kind, key);
    this.shardPaths = Array.from({ length: shards }, (_, i) => cache.path(kind, hash(key, `shard ${i} of ${shards}`)));
    const entries = cache.read<{ m: M; s: number }>(this.index) ?? [];
    this.previous = new Map(entries.map((e) => [e.key, e.meta]));
  }

  /** How many entries the previous run left. */
  get size(): number {
    return this.previous.size;
  }

  /** The meta of a previous run's entry. */
  meta(key: string): M | undefined {
    return this.previous.get(key)?.m;
  }

  /** The value of a previous run's entry (its shard is read on first use), or undefined when it is lost. */
  value(key: string): Buffer | undefined {
    const p = this.previous.get(key);
    if (!p || p.s < 0) return undefined;
    const e = this.shard(p.s).get(key);
    return e && e.tag === this.tag(p.m) ? e.blob : undefined;
  }

  /** Keeps a previous run's entry, as it was, for the next run. */
  keep(key: string): void {
    const p = this.previous.get(key);
    if (p) this.next.set(key, p);
  }

  /** Keeps every entry of the previous run not put or kept in this one (a run that looked at a few only). */
  keepAll(): void {
    for (const [k, p] of this.previous) if (!this.next.has(k)) this.next.set(k, p);
  }

  /**
   * Puts an entry: with a value, or with the previous run's value (`blob` 'previous': only the meta
   * changed), or with none (the meta says it all).
   */
  put(key: string, meta: M, blob: Buffer | 'previous' | undefined): void {
    this.changed = true;
    if (blob === 'previous') {
      this.next.set(key, { m: meta, s: this.previous.get(key)?.s ?? -1 });
      return;
    }
    if (blob === undefined) {
      this.next.set(key, { m: meta, s: -1 });
      return;
    }
    const s = shardOf(key, this.shards);
    this.next.set(key, { m: meta, s });
    let f = this.fresh.get(s);
    if (!f) this.fresh.set(s, (f = new Map()));
    f.set(key, blob);
  }

  /** Writes what changed: the index, and the shards that gained a value or lost one no longer kept. */
  save(): void {
    if (!this.changed && this.next.size === this.previous.size) return;
    const rewrite = new Set(this.fresh.keys());
    for (const [k, p] of this.previous) if (p.s >= 0 && this.next.get(k)?.s !== p.s) rewrite.add(p.s);
    const byShard = new Map<number, PackEntry<string>[]>([...rewrite].map((s) => [s, []]));
    for (const [key, e] of this.next) {
      const into = byShard.get(e.s);
      if (!into) continue;
      const blob = this.fresh.get(e.s)?.get(key) ?? this.value(key);
      if (blob) into.push({ key, meta: this.tag(e.m), blob });
      else this.next.delete(key); // its value was lost: the next run computes it again
    }
    for (const [s, entries] of byShard) this.cache.write(this.shardPaths[s]!, entries);
    const empty = Buffer.alloc(0);
    this.cache.write(this.index, [...this.next].map(([key, meta]) => ({ key, meta, blob: empty })));
  }

  private shard(s: number): Map<string, { blob: Buffer; tag: string }> {
    let m = this.loaded.get(s);
    if (!m) {
      m = new Map((this.cache.read<unknown>(this.shardPaths[s]!) ?? []).map((e) => [e.key, { blob: e.blob, tag: typeof e.meta === 'string' ? e.meta : '' }]));
      this.loaded.set(s, m);
    }
    return m;
  }
}

/**
 * The key of the load store of a set of roots (as given, from this working directory) and
 * placeholder values (collection/load.ts planLoad).
 */
export const loadStoreKey = (paths: readonly string[], values: string): string => hash(process.cwd(), JSON.stringify(paths.map((r) => [r, resolve(r)])), values);

/** The shard of a key (FNV-1a of its text): stable across runs, spread evenly. */
function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** Removes packs older than `before` and fingerprint folders left empty (never `keep`'s packs in use). */
export function sweep(root: string, before: number, keep?: string): void {
  for (const d of readdirSync(root, { withFileTypes: true })) {
    if (!d.isDirectory() || !/^[0-9a-f]{32}$/.test(d.name)) continue;
    const dir = join(root, d.name);
    let left = 0;
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      try {
        if (statSync(p).mtimeMs < before) rmSync(p, { force: true });
        else left++;
      } catch {
        // removed by a concurrent sweep
      }
    }
    if (left === 0 && dir !== keep) rmSync(dir, { recursive: true, force: true });
  }
}
