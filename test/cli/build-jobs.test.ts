/**
 * `--jobs N` of build, check and catalog: rule files are read, parsed and lowered on N threads
 * (collection/parallel.ts), and what comes out must be byte for byte what one thread gives: every
 * output file, every --json line, every diagnostic in its order. (The workers run the build,
 * dist/collection/load-worker.js: `npm test` builds first.)
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/collection/load.js';
import { cutRuns, loadCollectionParallel } from '../../src/collection/parallel.js';
import { RuleCache } from '../../src/collection/cache.js';
import { main } from '../../src/cli/main.js';
import * as buildParallel from '../../src/cli/build-parallel.js';
import { capture, walk } from '../helpers/cli.js';

const SHARED = new URL('../../../shared/sigmahq/rules', import.meta.url).pathname;
const WORKERS = new URL('../fixtures/load-workers/', import.meta.url);

interface Ran {
  status: number;
  out: string[];
  err: string[];
}

async function run(args: string[]): Promise<Ran> {
  const c = capture();
  const status = await main(args, c.io);
  return { status, out: c.out, err: c.err };
}

/** Every file below `dir` with its bytes. */
function tree(dir: string): Map<string, string> {
  return new Map(walk(dir).map((f) => [f, readFileSync(join(dir, f), 'latin1')]));
}

/** A build (`ran`, its --out folder) printed and wrote what the reference build did: status, stdout, stderr (the folders' paths taken out), every file. */
function expectSameBuild(ran: Ran, out: string, ref: Ran, refOut: string): void {
  expect(ran.status).toBe(ref.status);
  expect(ran.out).toEqual(ref.out);
  expect(ran.err.map((l) => l.replaceAll(out, 'OUT'))).toEqual(ref.err.map((l) => l.replaceAll(refOut, 'OUT')));
  const a = tree(refOut);
  const b = tree(out);
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [f, text] of a) if (b.get(f) !== text) expect(b.get(f), f).toBe(text);
}

/** A collection with problems in some files: YAML and schema errors, duplicate ids across files, an unresolved correlation, an empty file, a BOM, several documents. */
function brokenCollection(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-jobs-bad-'));
  const src = join(SHARED, 'windows/process_creation');
  for (const f of readdirSync(src).sort().slice(0, 40)) cpSync(join(src, f), join(dir, 'good', f));
  const rule = (id: string, body = "selection:\n    Image|endswith: '\\\\whoami.exe'\n  condition: selection") =>
    `title: Rule ${id}\nid: ${id}\nstatus: test\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  ${body}\nlevel: low\n`;
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad/a_yaml.yml'), 'title: [unclosed\nid: x\n');
  writeFileSync(join(dir, 'bad/b_modifier.yml'), rule('5f5c6c1e-0000-4000-8000-000000000001', "selection:\n    Image|endswiht: 'x'\n  condition: selection"));
  writeFileSync(join(dir, 'bad/c_dup1.yml'), rule('5f5c6c1e-0000-4000-8000-000000000002'));
  writeFileSync(join(dir, 'bad/d_dup2.yml'), rule('5f5c6c1e-0000-4000-8000-000000000002'));
  writeFileSync(join(dir, 'bad/e_empty.yml'), '');
  writeFileSync(join(dir, 'bad/f_bom.yml'), '\ufeff' + rule('5f5c6c1e-0000-4000-8000-000000000003'));
  writeFileSync(
    join(dir, 'bad/g_corr.yml'),
    'title: Many whoami\nid: 5f5c6c1e-0000-4000-8000-000000000004\ncorrelation:\n  type: event_count\n  rules:\n    - no-such-rule\n  group-by:\n    - User\n  timespan: 5m\n  condition:\n    gte: 3\nlevel: high\n',
  );
  writeFileSync(join(dir, 'bad/h_multi.yml'), `${rule('5f5c6c1e-0000-4000-8000-000000000005')}---\n${rule('5f5c6c1e-0000-4000-8000-000000000006', 'condition: nothing')}`);
  return dir;
}

describe('loading on several threads', () => {
  it('gives the collection one thread gives, documents and diagnostics in the same order, on the threads asked for', async () => {
    const dir = brokenCollection();
    const one = loadCollection([dir]);
    const three = await loadCollectionParallel([dir], undefined, { jobs: 3 });
    expect(three.threads).toBe(3);
    expect(three.rules.map((r) => `${r.path}#${r.index}`)).toEqual(one.rules.map((r) => `${r.path}#${r.index}`));
    expect(isDeepStrictEqual(three.rules, one.rules)).toBe(true);
    expect(three.files).toEqual(one.files);
    const messages = one.rules.flatMap((r) => r.diagnostics.map((d) => d.message));
    expect(messages.some((m) => m.includes('duplicate rule id'))).toBe(true);
    expect(messages.some((m) => m.includes("correlation refers to rule 'no-such-rule'"))).toBe(true);
    expect(messages.length, 'problems to compare').toBeGreaterThan(4);
  });

  it('through the cache: what workers serialized is what a warm load reads back', async () => {
    const dir = brokenCollection();
    const cache = mkdtempSync(join(tmpdir(), 'rulec-jobs-cache-'));
    const one = loadCollection([dir]);
    const cold = await loadCollectionParallel([dir], undefined, { jobs: 2, cache: new RuleCache(cache) });
    expect(cold.threads).toBe(2);
    expect(cold.files.parsed).toBe(cold.files.found);
    const warm = loadCollection([dir], undefined, { cache: new RuleCache(cache) });
    // Files written this second are read again (their stat cannot prove them unchanged), not parsed.
    expect(warm.files.parsed).toBe(0);
    expect(isDeepStrictEqual(cold.rules, one.rules)).toBe(true);
    expect(isDeepStrictEqual(warm.rules, one.rules)).toBe(true);
  });

  it('loads a few files on the calling thread unless --jobs asks for more', async () => {
    const dir = brokenCollection();
    expect((await loadCollectionParallel([dir])).threads).toBe(1);
    expect((await loadCollectionParallel([dir], undefined, { jobs: 1 })).threads).toBe(1);
    expect((await loadCollectionParallel([join(dir, 'bad/c_dup1.yml')], undefined, { jobs: 4 })).threads).toBe(1);
  });

  it("reports a worker's failure (at start, exit, a thrown error, unreadable results) instead of waiting for it", async () => {
    const dir = brokenCollection();
    const expected: [string, RegExp][] = [
      ['throws.mjs', /^a rule-loading worker failed: this worker cannot start$/],
      ['exits.mjs', /^a rule-loading worker stopped before it was done \(exit code 3\)$/],
      ['fails.mjs', /^loading .*\.yml on a worker thread: the parser threw$/],
      ['garbage.mjs', /^reading what a rule-loading worker sent: /],
    ];
    for (const [script, message] of expected) {
      await expect(loadCollectionParallel([dir], undefined, { jobs: 2, workerScript: new URL(script, WORKERS) }), script).rejects.toThrow(message);
    }
  }, 60_000);

  it('cuts the files into runs of about equal bytes, in order, none empty', () => {
    const sizes = [5, 1, 1, 1, 1, 1, 10, 2, 2, 2, 2];
    const runs = cutRuns(sizes, 4);
    expect(runs.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i))).toEqual(sizes.map((_, i) => i));
    expect(runs.every(([s, e]) => e > s)).toBe(true);
    expect(runs.map(([s, e]) => sizes.slice(s, e).reduce((a, b) => a + b, 0))).toEqual([7, 13, 8]);
    expect(cutRuns([3], 8)).toEqual([[0, 1]]);
  });
});

describe('rulec build, check --jobs', () => {
  it('builds the SigmaHQ corpus with 2 threads as with 1: every output file, --json line and message; and through a cache the workers filled', async () => {
    const outs = [1, 2, 1].map(() => mkdtempSync(join(tmpdir(), 'rulec-jobs-out-')));
    const cache = mkdtempSync(join(tmpdir(), 'rulec-jobs-cache-'));
    const one = await run(['build', '--target', 'eql', '--jobs', '1', '--no-cache', '--json', '--out', outs[0]!, SHARED]);
    const two = await run(['build', '--target', 'eql', '--jobs', '2', '--cache', cache, '--json', '--out', outs[1]!, SHARED]);
    // Warm, from the pack the workers' documents went into.
    const warm = await run(['build', '--target', 'eql', '--jobs', '1', '--cache', cache, '--json', '--out', outs[2]!, SHARED]);
    expect(one.out.length, 'rows to compare').toBeGreaterThan(3000);
    for (const [i, other] of [two, warm].entries()) expectSameBuild(other, outs[i + 1]!, one, outs[0]!);
  }, 300_000);

  it('reports the same problems in the same order with 3 threads as with 1 (check --json, build messages)', async () => {
    const dir = brokenCollection();
    for (const args of [['check', '--json', '--warnings'], ['check', '--warnings'], ['build', '--target', 'spl', '--fail-on', 'all']]) {
      const one = await run([...args, '--no-cache', '--jobs', '1', dir]);
      const three = await run([...args, '--no-cache', '--jobs', '3', dir]);
      expect(three, args.join(' ')).toEqual(one);
      expect(one.status).toBe(1);
      expect([...one.out, ...one.err].join('\n')).toContain('duplicate rule id');
    }
  }, 120_000);

  it('builds on build workers what one thread builds: several targets, correlations across files, a filter, duplicate ids, refusals; and a warm build from the cache they filled', async () => {
    // rulec's own rules (correlations referencing rules of other files, chained ones, a filter) and a broken collection.
    const dir = brokenCollection();
    cpSync(new URL('../../rules', import.meta.url).pathname, join(dir, 'rules'), { recursive: true });
    for (const args of [['build', '--target', 'kusto,eql,spl', '--fail-on', 'all', '--json'], ['build', '--target', 'eql,kusto', '--fail-on', 'unsupported']]) {
      const outs = [1, 3, 1].map(() => mkdtempSync(join(tmpdir(), 'rulec-jobs-out-')));
      const cache = mkdtempSync(join(tmpdir(), 'rulec-jobs-cache-'));
      const before = buildParallel.workerBuilds;
      const one = await run([...args, '--jobs', '1', '--no-cache', '--out', outs[0]!, dir]);
      expect(buildParallel.workerBuilds, 'one thread').toBe(before);
      const three = await run([...args, '--jobs', '3', '--cache', cache, '--out', outs[1]!, dir]);
      expect(buildParallel.workerBuilds, 'built on workers').toBe(before + 1);
      const warm = await run([...args, '--jobs', '1', '--cache', cache, '--out', outs[2]!, dir]);
      expect(one.status).toBe(1);
      const said = [...one.out, ...one.err].join('\n');
      expect(said).toContain('duplicate rule id');
      for (const target of args[2]!.split(',')) expect(walk(outs[0]!).filter((f) => f.startsWith(`${target}/`) && f.includes('correlation/')).length, `${target} correlations`).toBeGreaterThan(2);
      for (const [i, other] of [three, warm].entries()) expectSameBuild(other, outs[i + 1]!, one, outs[0]!);
    }
  }, 120_000);

  it('fails as one thread does when an output file cannot be written: the same lines printed first, the same error', async () => {
    const dir = brokenCollection();
    const results = [];
    for (const jobs of ['1', '3']) {
      const out = mkdtempSync(join(tmpdir(), 'rulec-jobs-out-'));
      writeFileSync(join(out, 'good'), 'a file where the build wants a folder\n');
      const r = await run(['build', '--target', 'kusto', '--json', '--no-cache', '--jobs', jobs, '--out', out, dir]);
      results.push({ ...r, err: r.err.map((l) => l.replaceAll(out, 'OUT')) });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!.status).toBe(1);
    expect(results[0]!.err.join('\n')).toContain('OUT/good');
    expect(results[0]!.out.length).toBeGreaterThan(40);
  }, 60_000);

  it('ends the build workers it started early when the build does not take them (a usage error after they started)', () => {
    const dir = brokenCollection();
    const bin = new URL('../../bin/rulec.js', import.meta.url).pathname;
    // --jobs 2 with --json starts the workers before the target is known; an unknown target ends the build.
    const r = spawnSync(process.execPath, [bin, 'build', '--target', 'nosuch', '--jobs', '2', '--json', '--no-cache', dir], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, 'the process ended by itself').toBeUndefined();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown target 'nosuch'");
  }, 60_000);

  it('--jobs takes a positive whole number', async () => {
    for (const bad of ['0', 'two', '1.5']) {
      const r = await run(['build', '--target', 'eql', '--jobs', bad, '--no-cache', SHARED]);
      expect(r.status).toBe(2);
      expect(r.err).toEqual([`rulec: --jobs must be a positive whole number, got '${bad}'`]);
    }
  }, 30_000);
});
