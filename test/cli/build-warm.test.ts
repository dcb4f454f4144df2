/**
 * Warm rebuilds (docs/cli.md#the-rule-cache): a build through the cache, replayed or partly
 * recompiled, prints and writes exactly what the same build without a cache prints and writes,
 * whatever changed in between: rule files edited, added, removed or renamed, output files edited or
 * removed by hand, a --mapping file, the options. And only what changed is parsed and compiled.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadCollectionParallel } from '../../src/collection/parallel.js';
import { replayBuildFromOptions } from '../../src/cli/build-record.js';
import * as buildParallel from '../../src/cli/build-parallel.js';
import { parseRuleText } from '../../src/parse/rule.js';
import { loadTarget } from '../../src/targets/registry.js';
import { capture, walk } from '../helpers/cli.js';

vi.mock('../../src/parse/rule.js', async (original) => {
  const m = await original<typeof import('../../src/parse/rule.js')>();
  return { ...m, parseRuleText: vi.fn(m.parseRuleText) };
});
vi.mock('../../src/collection/parallel.js', async (original) => {
  const m = await original<typeof import('../../src/collection/parallel.js')>();
  return { ...m, loadCollectionParallel: vi.fn(m.loadCollectionParallel) };
});
vi.mock('../../src/cli/build-record.js', async (original) => {
  const m = await original<typeof import('../../src/cli/build-record.js')>();
  return { ...m, replayBuildFromOptions: vi.fn(m.replayBuildFromOptions) };
});

const RULES = new URL('../../rules', import.meta.url).pathname;
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `rulec-warm-${name}-`));
/** Past the window in which a file's stat may not show a change (collection/cache.ts): a warm build then trusts the stats it recorded. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 2100));

afterEach(() => {
  vi.restoreAllMocks();
});

interface Run {
  status: number;
  out: string[];
  err: string[];
  files: Map<string, string>;
}

/**
 * The same build twice: through a cache into one folder, and without a cache into another; each
 * folder has seen the same builds before. Returns both runs, with the folder's path taken out of
 * what they print.
 */
function pair(rules: string) {
  const cache = tmp('cache');
  const outs = { warm: join(tmp('a'), 'out'), none: join(tmp('b'), 'out') };
  const run = async (which: 'warm' | 'none', args: string[]): Promise<Run> => {
    const c = capture();
    const out = outs[which];
    const status = await main(['build', ...args, ...(which === 'warm' ? ['--cache', cache] : ['--no-cache']), '--out', out, '--', rules], c.io);
    const files = existsSync(out) ? new Map(walk(out).map((f) => [f, readFileSync(join(out, f), 'utf8')])) : new Map<string, string>();
    const strip = (l: string): string => l.split(out).join('OUT');
    return { status, out: c.out.map(strip), err: c.err.map(strip), files };
  };
  return {
    outs,
    /** Builds both ways and checks that they printed and wrote the same; returns the warm run. */
    async same(args: string[], afterWarm?: () => void): Promise<Run> {
      const warm = await run('warm', args);
      afterWarm?.();
      const none = await run('none', args);
      expect(warm.status).toBe(none.status);
      expect(warm.err).toEqual(none.err);
      expect(warm.out).toEqual(none.out);
      expect([...warm.files.keys()]).toEqual([...none.files.keys()]);
      for (const [f, text] of none.files) if (warm.files.get(f) !== text) expect.fail(`${f} differs`);
      return warm;
    },
    /** Applies a change to both output folders. */
    both(change: (out: string) => void): void {
      change(outs.warm);
      change(outs.none);
    },
  };
}

/** Counts what a build parses (rule files) and compiles (documents, per target). */
async function counting(targets: string[]) {
  const parse = vi.mocked(parseRuleText);
  const compiles = await Promise.all(targets.map(async (t) => vi.spyOn(await loadTarget(t), 'compile')));
  return {
    reset(): void {
      parse.mockClear();
      for (const c of compiles) c.mockClear();
    },
    // Each file once: a build that finds it cannot be incremental (build-incremental.ts) has parsed the changed files, and its full build parses them again (cheaper than writing them to the cache for it).
    parsed: (): string[] => [...new Set(parse.mock.calls.map((c) => c[1] ?? '').map((p) => p.split('/').at(-1)!))],
    compiled: (): number[] => compiles.map((c) => c.mock.calls.length),
  };
}

describe('build: a warm rebuild prints and writes what a build without a cache does', () => {
  it('nothing changed, one file changed, files added, removed and renamed: only what changed is parsed and compiled', async () => {
    const rules = tmp('rules');
    cpSync(RULES, rules, { recursive: true });
    const targets = ['kusto', 'eql', 'spl', 'ts'];
    const args = ['--target', targets.join(',')];
    const p = pair(rules);
    await settle();
    const count = await counting(targets);

    const cold = await p.same(args);
    expect(cold.files.size).toBeGreaterThan(40);
    expect(cold.err.at(-1)).toMatch(/^ts\/node: \d+ rules: /);

    // Nothing changed (twice: the first rebuild sees the outputs the cold build has just written,
    // too young to be trusted by their stat, and reads them; the second trusts them).
    await settle();
    await p.same(args);
    await settle();
    // the record of the last build is replayed: nothing is parsed or compiled
    expect(await counted(p, args, count)).toMatchObject({ parsed: [], compiled: [0, 0, 0, 0] });

    // One detection rule changed: only it is parsed and compiled again, for each target.
    const changed = join(rules, 'windows/proc_creation_win_recon_command.yml');
    writeFileSync(changed, readFileSync(changed, 'utf8').replace(/^title: .*$/m, 'title: Recon commands, retitled'));
    const retitled = await counted(p, args, count);
    expect(retitled).toMatchObject({ parsed: ['proc_creation_win_recon_command.yml'], compiled: [1, 1, 1, 1] });
    expect([...retitled.run.files.values()].filter((t) => t.includes('Recon commands, retitled')).length).toBeGreaterThan(0);
    // a comment appended: new content, so parsed again and compiled again (the key is the file's content)
    appendFileSync(changed, '# a comment\n');
    expect(await counted(p, args, count)).toMatchObject({ parsed: ['proc_creation_win_recon_command.yml'], compiled: [1, 1, 1, 1] });
    await settle();
    expect(await counted(p, args, count)).toMatchObject({ parsed: [], compiled: [0, 0, 0, 0] });

    // A file removed (its outputs removed, and said so), added back under another name (renamed), then a new one added.
    const removed = join(rules, 'web/proxy_powershell_webdav_download.yml');
    const text = readFileSync(removed, 'utf8');
    rmSync(removed);
    const gone = await p.same(args);
    expect(gone.err.some((l) => /removed \d+ files? of the previous build/.test(l))).toBe(true);
    writeFileSync(join(rules, 'web/proxy_webdav_renamed.yml'), text);
    await p.same(args);
    renameSync(join(rules, 'web/proxy_webdav_renamed.yml'), join(rules, 'network/proxy_webdav_moved.yml'));
    await p.same(args);
    writeFileSync(join(rules, 'web/proxy_webdav_copy.yml'), text.replace(/^id: .*$/m, 'id: 3f6f7b8e-0b39-4b1e-9a1f-0d5c1a7e2b11'));
    await p.same(args);
    // the same id twice would be an error of the later file: a change to one file changes another's result
    writeFileSync(join(rules, 'web/proxy_webdav_copy.yml'), text);
    const clash = await p.same(args);
    expect(clash.err.some((l) => /duplicate rule id/.test(l))).toBe(true);
    // a rule the schema refuses: its diagnostics come from the schema validators kept beside rulec's code (parse/schema.ts)
    writeFileSync(join(rules, 'web/proxy_webdav_copy.yml'), text.replace(/^level: .*$/m, 'level: urgent').replace(/^status: .*$/m, 'status: [1]'));
    const invalid = await p.same(args);
    expect(invalid.err.some((l) => /proxy_webdav_copy\.yml:\d+:\d+: error \(invalid\)/.test(l))).toBe(true);
    await settle();
    await p.same(args);
  }, 300_000);

  it('a rebuild right after a build is replayed (the files stamped within the change window are checked by content), and a change is still seen', async () => {
    const rules = tmp('rules');
    cpSync(join(RULES, 'windows'), rules, { recursive: true });
    const args = ['--target', 'kusto,ts'];
    const p = pair(rules);
    const replayed = vi.mocked(replayBuildFromOptions);
    // No settle anywhere: every rule file was copied, and every output written, moments before the next build.
    const cold = await p.same(args);
    // what the warm half of each pair (the one through the cache, run first) returned: a status when replayed
    const warmReplay = (): unknown => replayed.mock.results[0]!.value;
    replayed.mockClear();
    const again = await p.same(args);
    expect(warmReplay()).toBe(again.status);
    replayed.mockClear();
    expect(await p.same(args)).toEqual(again);
    expect(warmReplay()).toBe(again.status);
    // a rule file changed, then an output edited by hand: each a build, the same as without a cache
    const rule = join(rules, 'proc_creation_win_recon_command.yml');
    writeFileSync(rule, readFileSync(rule, 'utf8').replace(/^title: .*$/m, 'title: Recon, retitled'));
    replayed.mockClear();
    const retitled = await p.same(args);
    expect(warmReplay()).toBeUndefined();
    expect([...retitled.files.values()].some((t) => t.includes('Recon, retitled'))).toBe(true);
    const kql = [...cold.files.keys()].find((f) => f.endsWith('.kql'))!;
    p.both((out) => writeFileSync(join(out, kql), readFileSync(join(out, kql), 'utf8').replace(/./, '#')));
    replayed.mockClear();
    const edited = await p.same(args);
    expect(warmReplay()).toBeUndefined();
    expect(edited.err.some((l) => l.includes(kql) && /changed since rulec wrote it/.test(l))).toBe(true);
  }, 120_000);

  it('a rebuild right after a build on build workers is replayed too', async () => {
    const rules = tmp('rules');
    cpSync(RULES, rules, { recursive: true });
    const args = ['--target', 'kusto,eql', '--jobs', '2'];
    const p = pair(rules);
    const replayed = vi.mocked(replayBuildFromOptions);
    const before = buildParallel.workerBuilds;
    const cold = await p.same(args);
    expect(buildParallel.workerBuilds, 'the cold build ran on build workers').toBeGreaterThan(before);
    replayed.mockClear();
    const again = await p.same(args);
    expect(replayed.mock.results[0]!.value, 'replayed').toBe(cold.status);
    expect(again).toEqual(cold);
  }, 120_000);

  it('a few files changed: only they are read and compiled when nothing else can change, and every change prints and writes what a cold build does', async () => {
    const rules = tmp('rules');
    cpSync(RULES, rules, { recursive: true });
    const base = readFileSync(join(rules, 'windows/proc_creation_win_utf16_encodings.yml'), 'utf8');
    // an invalid rule and a duplicate id among the rules
    writeFileSync(join(rules, 'web/broken.yml'), base.replace(/^id: .*$/m, 'id: 0b8d0e4e-6a57-4bd0-8b0c-3a4c0e1b9f01').replace(/^level: .*$/m, 'level: urgent'));
    writeFileSync(join(rules, 'web/duplicate.yml'), base.replace(/^title: .*$/m, 'title: A duplicate'));
    // a filter that applies to every process creation rule
    writeFileSync(
      join(rules, 'windows/filter_backup_agent.yml'),
      readFileSync(join(rules, 'windows/filter_win_inventory_agent.yml'), 'utf8')
        .replace(/^id: .*$/m, 'id: 7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f')
        .replace(/rules:\n {4}- recon_command/, 'rules: any')
        .replace('inventory-agent.exe', 'backup-agent.exe'),
    );
    const targets = ['kusto', 'eql', 'spl', 'ts'];
    const args = ['--target', targets.join(','), '--fail-on', 'none'];
    const p = pair(rules);
    const count = await counting(targets);
    // a full build loads the collection; an incremental one does not (the build without a cache, second of the pair, always does)
    const loads = vi.mocked(loadCollectionParallel);
    await p.same(args);
    /** Changes a file, builds both ways, and says whether the warm build was incremental, with what it parsed and compiled. */
    const change = async (file: string, edit: (text: string) => string) => {
      const path = join(rules, file);
      writeFileSync(path, edit(readFileSync(path, 'utf8')));
      loads.mockClear();
      const r = await counted(p, args, count);
      return { incremental: loads.mock.calls.length === 1, parsed: r.parsed, compiled: r.compiled, run: r.run };
    };

    // a comment: the documents are the ones compiled before, so nothing is compiled
    expect(await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t + '# reviewed\n')).toMatchObject({ incremental: true, parsed: ['proc_creation_win_certutil_download_terms.yml'], compiled: [0, 0, 0, 0] });
    // a detection rule's title and its detection: compiled for each target, alone
    const retitled = await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t.replace(/^title: .*$/m, 'title: Certutil, retitled'));
    expect(retitled).toMatchObject({ incremental: true, compiled: [1, 1, 1, 1] });
    expect([...retitled.run.files.values()].some((t) => t.includes('Certutil, retitled'))).toBe(true);
    // rules a filter applies to (the filter's file is read from the cache, not parsed)
    const filtered = await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t.replace(/^level: .*$/m, 'level: low'));
    expect(filtered).toMatchObject({ incremental: true, parsed: ['proc_creation_win_certutil_download_terms.yml'], compiled: [1, 1, 1, 1] });
    expect([...filtered.run.files].filter(([f, t]) => f.includes('certutil') && t.includes('backup-agent.exe')).length).toBe(4);
    // the invalid rule, still invalid in another way: its refusal changes
    const broken = await change('web/broken.yml', (t) => t.replace(/^status: .*$/m, 'status: [1]'));
    expect(broken).toMatchObject({ incremental: true, compiled: [0, 0, 0, 0] });
    expect(broken.run.err.some((l) => /broken\.yml:\d+:\d+: skipped \(invalid\)/.test(l))).toBe(true);
    // changes that reach other rules: each a full build
    for (const [file, edit] of [
      ['windows/filter_win_inventory_agent.yml', (t: string) => t.replace("inventory-agent.exe'", "inventory-agent2.exe'")], // a filter
      ['correlation/win_security_failed_logon.yml', (t: string) => t.replace(/^level: .*$/m, 'level: low')], // a rule a correlation names
      ['windows/proc_creation_win_recon_command.yml', (t: string) => t.replace(/^level: .*$/m, 'level: high')], // another (and a filter names it)
      ['windows/proc_creation_win_encoded_powershell.yml', (t: string) => t.replace(/^level: .*$/m, 'level: low')], // another
      ['correlation/corr_win_password_spray.yml', (t: string) => t + '# reviewed\n'], // a correlation
      ['web/duplicate.yml', (t: string) => t.replace(/^level: .*$/m, 'level: low')], // a duplicate id
      ['windows/proc_creation_win_encoded_powershell.yml', (t: string) => t.replace(/^id: .*$/m, 'id: 5d8e1c9a-2f7b-4e3a-9c6d-1b0a2e3f4d5c')], // an id
      ['web/broken.yml', (t: string) => t.replace(/^level: .*$/m, 'level: low').replace(/^status: .*$/m, 'status: test')], // invalid to valid
    ] as const) {
      expect(await change(file, edit), file).toMatchObject({ incremental: false });
    }
    // after a full build, incremental again; and an output edited by hand is left to the full build, which refuses it
    expect(await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t.replace(/^level: .*$/m, 'level: medium'))).toMatchObject({ incremental: true });
    const kql = [...retitled.run.files.keys()].find((f) => f.startsWith('kusto/') && f.includes('registry_set'))!;
    p.both((out) => writeFileSync(join(out, kql), 'edited by hand\n'));
    const edited = await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t + '# again\n');
    expect(edited).toMatchObject({ incremental: false });
    expect(edited.run.err.some((l) => l.includes(kql) && /changed since rulec wrote it/.test(l))).toBe(true);
    p.both((out) => rmSync(join(out, kql)));
    // --json rows come from the state too
    args.push('--json');
    expect(await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t + '# json\n')).toMatchObject({ incremental: false });
    const json = await change('windows/proc_creation_win_certutil_download_terms.yml', (t) => t.replace(/^title: .*$/m, 'title: Certutil, in JSON'));
    expect(json).toMatchObject({ incremental: true, compiled: [1, 1, 1, 1] });
    expect(json.run.out.filter((l) => l.includes('"title":"Certutil, in JSON"')).length).toBe(4);
  }, 300_000);

  it('an output file edited or removed by hand between builds is seen, even when its stat was trusted before', async () => {
    const rules = tmp('rules');
    cpSync(join(RULES, 'windows'), rules, { recursive: true });
    const args = ['--target', 'kusto'];
    const p = pair(rules);
    await settle();
    const cold = await p.same(args);
    await settle();
    await p.same(args);
    await settle();
    await p.same(args); // replayed
    const [first, second] = [...cold.files.keys()].filter((f) => f.endsWith('.kql'));
    p.both((out) => rmSync(join(out, first!)));
    const rewritten = await p.same(args);
    expect(rewritten.files.get(first!)).toBe(cold.files.get(first!));
    await settle();
    await p.same(args);
    await settle();
    p.both((out) => writeFileSync(join(out, second!), 'edited by hand\n'));
    const edited = await p.same(args);
    // An edited output is not overwritten (out-dir.ts): a warm build must not take it for its own.
    expect(edited.err.some((l) => l.includes(second!) && /changed since rulec wrote it/.test(l))).toBe(true);
    p.both((out) => rmSync(join(out, second!)));
    await p.same(args);
    expect(existsSync(join(p.outs.warm, second!))).toBe(true);
  }, 120_000);

  it('a changed --mapping file and changed options are other builds', async () => {
    const rules = tmp('rules');
    cpSync(join(RULES, 'seed'), rules, { recursive: true });
    const mapping = join(tmp('mapping'), 'm.yml');
    writeFileSync(mapping, 'fields:\n  FileType: file.type\n');
    const p = pair(rules);
    await settle();
    const before = await p.same(['--target', 'eql', '--mapping', mapping]);
    await settle();
    await p.same(['--target', 'eql', '--mapping', mapping]);
    writeFileSync(mapping, 'fields:\n  FileType: file.kind\n');
    await settle();
    const after = await p.same(['--target', 'eql', '--mapping', mapping]);
    expect([...after.files.values()].join('\n')).toContain('file.kind');
    expect([...after.files.values()]).not.toEqual([...before.files.values()]);
    // options: a format, --fail-on and --enable change what is printed, written or the exit status
    for (const more of [['--fail-on', 'all'], ['--format', 'elastic-rule'], ['--format', 'elastic-rule', '--enable'], []]) {
      await settle();
      await p.same(['--target', 'eql', ...more]);
      await p.same(['--target', 'eql', ...more]);
    }
  }, 120_000);
});

/** One build of the pair, with what its warm half (the one through the cache) parsed and compiled. */
async function counted(p: ReturnType<typeof pair>, args: string[], count: Awaited<ReturnType<typeof counting>>) {
  count.reset();
  let parsed: string[] = [];
  let compiled: number[] = [];
  const run = await p.same(args, () => {
    parsed = count.parsed();
    compiled = count.compiled();
  });
  return { run, parsed, compiled };
}
