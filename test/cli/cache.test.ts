import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Stats } from 'node:fs';
import { decode, defaultCacheDir, encode, fingerprintOf, loadStoreKey, plainDataProblem, readPack, RuleCache, ShardedStore, stampOf, sweep, unchanged, writePack } from '../../src/collection/cache.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { loadTarget } from '../../src/targets/registry.js';
import { loadCollection } from '../../src/collection/load.js';
import { main } from '../../src/cli/main.js';
import { placeholderValues } from '../../src/cli/placeholders.js';
import { capture, walk } from '../helpers/cli.js';
import { SIGMAHQ } from '../helpers/corpus.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const BIN = new URL('../../bin/rulec.js', import.meta.url).pathname;
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `rulec-${name}-`));
/** Files younger than the racy window are read again whatever their stat says: age the copy first. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 2100));
const packs = (cache: string): string[] => walk(cache).filter((f) => f.endsWith('.bin'));

describe('cache values', () => {
  it('round-trip what JSON would lose: Maps, undefined, -0, NaN, bigints, RegExps, shared references', () => {
    const shared = { line: 3, column: 7 };
    const value = {
      searches: new Map<string, unknown>([['sel', { at: shared, items: [undefined, -0, NaN, Infinity] }]]),
      aliases: new Map([['a', new Map([['x', 'y']])]]),
      big: 12345678901234567890n,
      re: /a.b/giu,
      absent: undefined,
      again: shared,
    };
    const back = decode<typeof value>(encode(value));
    expect(back).toEqual(value);
    expect('absent' in back).toBe(true);
    expect(Object.is((back.searches.get('sel') as { items: number[] }).items[1], -0)).toBe(true);
    expect(back.again).toBe((back.searches.get('sel') as { at: unknown }).at);
    expect(back.re.flags).toBe('giu');
  });

  it('finds a class instance, which structured clone would turn into a plain object, and refuses a function', () => {
    class Position {
      line = 1;
    }
    expect(plainDataProblem({ at: [new Position()] })).toMatch(/instance of Position/);
    expect(plainDataProblem({ m: new Map([[1, { re: /x/ }]]) })).toBeUndefined();
    expect(() => encode({ f: () => 1 })).toThrow();
  });

  it('what loading and compiling the SigmaHQ corpus produce is plain data, which the cache keeps exactly', async () => {
    // folder by folder, yielding in between: one load of the corpus would hold the test worker's event loop
    const rules = [];
    for (const dir of [...readdirSync(SIGMAHQ).map((d) => join(SIGMAHQ, d)), RULES]) {
      rules.push(...loadCollection([dir]).rules);
      await new Promise((r) => setImmediate(r));
    }
    const problems = rules.map((r) => plainDataProblem(r)).filter((p) => p !== undefined);
    expect(problems).toEqual([]);
    const c = capture();
    expect(await main(['build', '--no-cache', '--target', 'all', '--json', RULES], c.io)).toBe(0);
    expect(c.out.length).toBeGreaterThan(30);
    // every compile result of a slice of the corpus, in each target's richest format
    const inputs = rules.filter((r) => r.rule?.kind === 'detection' && r.ir).filter((_, i) => i % 10 === 0);
    for (const name of ['kusto', 'eql', 'spl', 'ts']) {
      const target = await loadTarget(name);
      const platform = name === 'kusto' ? 'defender-xdr' : target.platforms[0]!; // defender-json is Defender's
      const opts = { platform, format: target.formats.at(-1)!, mapping: loadPlatformMapping(name, platform, []) };
      for (const [i, r] of inputs.entries()) {
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        const problem = plainDataProblem(target.compile({ path: r.path, rule: r.rule as never, ir: r.ir! }, opts));
        if (problem) expect.fail(`${name}: ${r.path}: ${problem}`);
      }
    }
  }, 120_000);

  it('a truncated, corrupt or foreign pack is a miss, never a wrong value', () => {
    const dir = tmp('pack');
    const p = join(dir, 'x.bin');
    writePack(p, [{ key: 'a', meta: { n: 1 }, blob: encode({ v: 'one' }) }, { key: 'b', meta: { n: 2 }, blob: encode([2]) }]);
    const good = readPack<{ n: number }>(p)!;
    expect(good.map((e) => [e.key, e.meta.n, decode(e.blob)])).toEqual([['a', 1, { v: 'one' }], ['b', 2, [2]]]);
    const bytes = readFileSync(p);
    writeFileSync(p, bytes.subarray(0, bytes.length - 3));
    expect(readPack(p)).toBeUndefined();
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 2]! ^= 0x20;
    writeFileSync(p, flipped);
    expect(readPack(p)).toBeUndefined();
    writeFileSync(p, 'title: not a pack\n');
    expect(readPack(p)).toBeUndefined();
    expect(readPack(join(dir, 'missing.bin'))).toBeUndefined();
  });

  it("the code fingerprint follows rulec's compiled code, its TypeScript source (the ts target inlines it), data and schema", () => {
    const root = tmp('fingerprint');
    const files: Record<string, string> = {
      'dist/x.js': 'export const x = 1;\n',
      'src/runtime/fold.ts': 'export const f = 1;\n',
      'backends/kusto/sentinel.yml': 'a: 1\n',
      'schema/rule.schema.json': '{}\n',
      'package.json': '{"version": "0.1.0"}\n',
    };
    const print = (): string => fingerprintOf(join(root, 'dist'), root);
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), text);
    }
    const seen = new Set([print()]);
    expect(print()).toBe([...seen][0]);
    for (const f of Object.keys(files)) {
      appendFileSync(join(root, f), ' ');
      seen.add(print());
    }
    expect(seen.size).toBe(Object.keys(files).length + 1);
  });

  it("a file read within the change window is read again: 2 s, or 100 ms where ctimes show sub-millisecond digits (the file system's stamps are fine)", () => {
    const st = (mtimeMs: number, ctimeMs: number) => ({ size: 10, mtimeMs, ctimeMs, ino: 7 }) as Stats;
    const read = 1_000_000_000_000;
    const coarse = st(read - 500, read - 500);
    const fine = st(read - 500.25, read - 500.25);
    expect(unchanged(coarse, stampOf(coarse, read, 'x'))).toBe(false);
    expect(unchanged(fine, stampOf(fine, read, 'x'))).toBe(true);
    const justNow = st(read - 50.25, read - 50.25);
    expect(unchanged(justNow, stampOf(justNow, read, 'x'))).toBe(false);
    const old = st(read - 2500, read - 2500);
    expect(unchanged(old, stampOf(old, read, 'x'))).toBe(true);
    expect(unchanged(st(read - 2500, read - 100), stampOf(old, read, 'x'))).toBe(false); // its ctime moved: changed
  });

  it('a sharded store rewrites only the shard whose values changed, and a lost shard is a miss', () => {
    const cache = new RuleCache(tmp('sharded'));
    const open = () => new ShardedStore<{ n: number }>(cache, 'out', 'k'.repeat(64), 4);
    const first = open();
    for (let i = 0; i < 40; i++) first.put(`key${i}`, { n: i }, encode({ v: i }));
    first.put('meta-only', { n: -1 }, undefined);
    first.save();
    const shards = (): Map<string, Buffer> => new Map(packs(cache.dir).map((p) => [p, readFileSync(join(cache.dir, p))]));
    const before = shards();
    expect(before.size).toBe(5); // the index and 4 shards
    const second = open();
    for (let i = 0; i < 40; i++) second.keep(`key${i}`);
    second.keep('meta-only');
    second.put('key7', { n: 70 }, encode({ v: 70 }));
    second.save();
    const after = shards();
    const rewritten = [...after].filter(([p, b]) => !before.get(p)!.equals(b)).map(([p]) => p);
    expect(rewritten.length).toBe(2); // the index and the shard of key7
    const third = open();
    expect(third.meta('key7')).toEqual({ n: 70 });
    expect(decode(third.value('key7')!)).toEqual({ v: 70 });
    expect(decode(third.value('key8')!)).toEqual({ v: 8 });
    expect(third.meta('meta-only')).toEqual({ n: -1 });
    expect(third.value('meta-only')).toBeUndefined();
    // a shard lost (or written by another run): its values are misses, never wrong ones
    for (const p of after.keys()) if (!rewritten.includes(p)) writeFileSync(join(cache.dir, p), 'garbage');
    const fourth = open();
    expect(decode(fourth.value('key7')!)).toEqual({ v: 70 });
    const lost = Array.from({ length: 40 }, (_, i) => `key${i}`).filter((k) => fourth.value(k) === undefined);
    expect(lost.length).toBeGreaterThan(0);
    for (const k of lost) expect(fourth.meta(k)).toBeDefined();
  });

  it('lives in the platform cache folder by default', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/rulec');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/rulec$/);
    expect(defaultCacheDir({})).toMatch(/\/\.cache\/rulec$/);
  });

  it('a sweep removes packs not used for the age limit, and emptied fingerprint folders', () => {
    const root = tmp('sweep');
    const cache = new RuleCache(root);
    const fresh = cache.path('load', 'a'.repeat(64));
    cache.write(fresh, []);
    const oldDir = join(root, 'f'.repeat(32));
    const old = new RuleCache(root).path('out', 'b'.repeat(64)).replace(cache.dir, oldDir);
    writePack(old, []);
    const longAgo = new Date(Date.now() - 30 * 86_400_000);
    utimesSync(old, longAgo, longAgo);
    sweep(root, Date.now() - 14 * 86_400_000, cache.dir);
    expect(readdirSync(root).sort()).toEqual([cache.dir.split('/').at(-1)]);
    expect(readPack(fresh)).toEqual([]);
  });
});

describe('loading through the cache', () => {
  it('reads only changed files, parses only new content, and gives what a fresh load gives', async () => {
    const rules = tmp('rules');
    cpSync(RULES, rules, { recursive: true });
    const cacheDir = tmp('cache');
    await settle();
    const fresh = loadCollection([rules]);
    const load = () => loadCollection([rules], undefined, { cache: new RuleCache(cacheDir) });

    const cold = load();
    expect(cold.files.parsed).toBe(fresh.files.found);
    expect(cold.rules).toEqual(fresh.rules);
    const warm = load();
    expect(warm.files).toEqual({ found: fresh.files.found, read: 0, parsed: 0 });
    expect(warm.rules).toEqual(fresh.rules);

    // one file changed: that file alone is read and parsed
    const changed = join(rules, 'windows/proc_creation_win_recon_command.yml');
    appendFileSync(changed, '# a comment\n');
    const one = load();
    expect(one.files).toMatchObject({ read: 1, parsed: 1 });
    expect(one.rules).toEqual(loadCollection([rules]).rules);

    // touched, same content: read to be sure, not parsed
    const later = new Date(Date.now() + 1000);
    utimesSync(changed, later, later);
    expect(load().files).toMatchObject({ read: 1, parsed: 0 });

    // a corrupt pack is a miss, and the result is the same
    for (const p of packs(cacheDir)) writeFileSync(join(cacheDir, p), 'garbage');
    const again = load();
    expect(again.files.parsed).toBe(fresh.files.found);
    expect(again.rules).toEqual(loadCollection([rules]).rules);

    // other placeholder values are other results
    const withValues = loadCollection([rules], undefined, { cache: new RuleCache(cacheDir), placeholders: placeholderValues({ placeholder: ['x=1'] }) });
    expect(withValues.files.parsed).toBe(fresh.files.found);

    // a removed file is gone from the next load
    rmSync(changed);
    const fewer = load();
    expect(fewer.rules.some((r) => r.path === changed)).toBe(false);
    expect(fewer.files.found).toBe(fresh.files.found - 1);
  }, 60_000);
});

describe('two runs at once', () => {
  it("the load store's index of one run with the shards of another: a miss, never another version's documents", async () => {
    const rules = tmp('rules');
    cpSync(join(RULES, 'windows'), rules, { recursive: true });
    const cacheDir = tmp('cache');
    await settle();
    const load = () => loadCollection([rules], undefined, { cache: new RuleCache(cacheDir) });
    const index = new RuleCache(cacheDir).path('load', loadStoreKey([rules], ''));
    const snapshot = (): Map<string, Buffer> => new Map(readdirSync(cacheDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.bin')).map((d) => [join(d.parentPath, d.name), readFileSync(join(d.parentPath, d.name))]));
    load();
    const changed = join(rules, 'proc_creation_win_recon_command.yml');
    // run A reads the file as it is and keeps its documents...
    const a = snapshot();
    writeFileSync(changed, readFileSync(changed, 'utf8').replace(/^title: .*$/m, 'title: Recon commands, version B'));
    // ...run B reads it changed; A's shards are written last, B's index stays
    load();
    const b = snapshot();
    expect(b.has(index), 'the load store index').toBe(true);
    for (const [p, bytes] of a) if (p !== index && !bytes.equals(b.get(p)!)) writeFileSync(p, bytes);
    await settle();
    const mixed = load();
    expect(mixed.rules).toEqual(loadCollection([rules]).rules);
    expect(mixed.rules.find((r) => r.path === changed)?.title).toBe('Recon commands, version B');
  }, 60_000);
});

describe('build: a cached result is never a different result', () => {
  // One run of the three query targets loads the corpus once; cold (empty cache), warm, replayed
  // and with one file changed, and without a cache, must print and write the same bytes
  // (build-warm.test.ts goes through more changes on a smaller rule set).
  // As a user runs it (bin/rulec.js over dist/, which npm test builds first), in a child process:
  // a corpus build in this one would hold the test worker's event loop for a minute on a busy machine.
  it('SigmaHQ corpus, kusto, eql and spl: every output file, every line printed and every --json row, cold, warm and with one file changed', async () => {
    const rules = tmp('corpus');
    cpSync(SIGMAHQ, rules, { recursive: true });
    const cacheDir = tmp('corpus-cache');
    const outs = { cache: tmp('corpus-out'), none: tmp('corpus-out') };
    const run = async (args: string[], out?: string): Promise<{ status: number; out: string[]; err: string[]; files?: Map<string, string> }> => {
      const argv = [BIN, 'build', '--target', 'kusto,eql,spl', ...(out ? ['--out', out] : []), ...args, rules];
      const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, argv, { maxBuffer: 1 << 30 }, (e, stdout, stderr) => resolve({ status: e ? Number(e.code) : 0, stdout, stderr })),
      );
      const files = out ? new Map(walk(out).map((f) => [f, readFileSync(join(out, f), 'utf8')])) : undefined;
      const lines = (t: string): string[] => t.split('\n').filter((l) => l !== '');
      return { status: r.status, out: lines(r.stdout), err: lines(r.stderr.split(out ?? '\0').join('OUT')), ...(files ? { files } : {}) };
    };
    const same = (a: Awaited<ReturnType<typeof run>>, b: Awaited<ReturnType<typeof run>>): void => {
      expect([...a.files!.keys()]).toEqual([...b.files!.keys()]);
      for (const [f, text] of b.files!) if (a.files!.get(f) !== text) expect.fail(`${f} differs`);
      expect(a.err).toEqual(b.err);
      expect(a.out).toEqual(b.out);
      expect(a.status).toBe(b.status);
    };
    await settle();
    const none = await run(['--no-cache'], outs.none);
    expect(none.files!.size).toBeGreaterThan(9000);
    const cold = await run(['--cache', cacheDir], outs.cache);
    // the rules (an index and its shards), per target its compile results (the same) and its platform mapping, the stamps of --out, the build's record; never code (parse/schema.ts)
    const kinds = new Set(packs(cacheDir).map((p) => p.split('/').at(-1)!.split('-')[0]));
    expect([...kinds].sort()).toEqual(['build', 'load', 'mapping', 'out', 'stamps']);
    same(cold, none);
    await settle();
    same(await run(['--cache', cacheDir], outs.cache), none); // outputs checked by their bytes (too young for their stat)
    await settle();
    same(await run(['--cache', cacheDir], outs.cache), none); // replayed
    const changed = join(rules, 'windows/process_creation/proc_creation_win_renamed_whoami.yml');
    writeFileSync(changed, readFileSync(changed, 'utf8').replace(/^title: .*$/m, 'title: Renamed Whoami, retitled'));
    const none2 = await run(['--no-cache'], outs.none);
    same(await run(['--cache', cacheDir], outs.cache), none2);
    const jsonNone = await run(['--json', '--no-cache']);
    const jsonWarm = await run(['--json', '--cache', cacheDir]);
    expect(jsonNone.out.length).toBeGreaterThan(9000);
    expect(jsonWarm.out).toEqual(jsonNone.out);
    expect(jsonWarm.err).toEqual(jsonNone.err);
  }, 900_000);
});
