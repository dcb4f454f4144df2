import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture, walk } from '../helpers/cli.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const FIXTURE_RULES = new URL('../fixtures/rules', import.meta.url).pathname;
/** The correlation rules of rules/correlation/: the ir target compiles none of them. */
const CORRELATIONS = 5;

/** The CLI contract every target shares, exercised through the neutral `ir` target. */
describe('rulec build (shared contract)', () => {
  it('--out writes one file per rule, mirroring the rule tree', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rulec-build-'));
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, RULES], c.io)).toBe(0);
    const files = walk(out);
    expect(files).toContain('seed/custom_script_extension_executable_drop.json');
    expect(files.some((f) => f.includes('filter_win_inventory_agent'))).toBe(false);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(files[0]).toBe('.rulec-manifest.json');
    const ir = JSON.parse(readFileSync(join(out, 'windows/proc_creation_win_recon_command.json'), 'utf8'));
    // the filter rule of rules/ is AND-ed into the rule it names
    expect(ir.kind).toBe('and');
    expect(JSON.stringify(ir)).toContain('inventory-agent.exe');
    expect(c.err.at(-1)).toMatch(new RegExp(`^ir/neutral: \\d+ rules: \\d+ compiled, ${CORRELATIONS} skipped \\(${CORRELATIONS} unsupported\\) -> `));
  });

  it('--json prints one object per rule with the contract keys', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.filter((r) => !r.ok).map((r) => r.path)).toHaveLength(CORRELATIONS);
    for (const r of rows.filter((r) => !r.path.includes('/correlation/corr_'))) {
      expect(r).toMatchObject({ target: 'ir', platform: 'neutral', format: 'query', ok: true });
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['path', 'id', 'title', 'query']));
    }
  });

  it('an unsupported rule is reported and skipped by default (and by --skip-unsupported); --fail-on unsupported fails the build', async () => {
    const d = capture();
    expect(await main(['build', '--target', 'ir', RULES, FIXTURE_RULES], d.io)).toBe(0);
    expect(d.err.some((l) => /correlation_recon_burst\.yml:\d+:\d+: skipped \(unsupported\): correlation rules are not compiled/.test(l))).toBe(true);
    expect(d.err.at(-1)).toMatch(new RegExp(`^ir/neutral: \\d+ rules: \\d+ compiled, ${CORRELATIONS + 1} skipped \\(${CORRELATIONS + 1} unsupported\\)$`));
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'unsupported', RULES, FIXTURE_RULES], c.io)).toBe(1);
    expect(c.err.some((l) => /correlation_recon_burst\.yml:\d+:\d+: error \(unsupported\): correlation rules are not compiled/.test(l))).toBe(true);
    expect(c.err.at(-1)).toMatch(new RegExp(`, ${CORRELATIONS + 1} failed \\(${CORRELATIONS + 1} unsupported\\)$`));
    const m = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'mapping,invalid', RULES, FIXTURE_RULES], m.io)).toBe(0);
    const s = capture();
    expect(await main(['build', '--target', 'ir', '--skip-unsupported', '--json', RULES, FIXTURE_RULES], s.io)).toBe(0);
    const skipped = s.out.map((l) => JSON.parse(l)).filter((r) => r.skipped);
    expect(skipped).toHaveLength(CORRELATIONS + 1);
    expect(skipped[0]).toMatchObject({ ok: false, kind: 'unsupported' });
  });

  it('an invalid rule fails the build by default and with --skip-unsupported, and nothing is half-written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-bad-'));
    writeFileSync(join(dir, 'bad.yml'), 'title: x\nlogsource: {product: windows}\ndetection:\n  selection: {F|nope: x}\n  condition: selection\n');
    writeFileSync(join(dir, 'good.yml'), 'title: y\nlogsource: {product: windows}\ndetection:\n  selection: {F: x}\n  condition: selection\n');
    const out = join(mkdtempSync(join(tmpdir(), 'rulec-out-')), 'o');
    for (const args of [[], ['--skip-unsupported']]) {
      const c = capture();
      expect(await main(['build', '--target', 'ir', ...args, '--json', dir], c.io)).toBe(1);
      expect(c.out.map((l) => JSON.parse(l)).find((r) => !r.ok)).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/^unknown modifier 'nope'/) });
    }
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, join(dir, 'bad.yml')], c.io)).toBe(1);
    expect(c.err[0]).toMatch(/bad\.yml:4:17: error \(invalid\): unknown modifier 'nope'/);
    expect(existsSync(out)).toBe(false);
    // --fail-on without invalid reports the invalid rule and builds the rest.
    const f = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'unsupported', dir], f.io)).toBe(0);
    expect(f.err[0]).toMatch(/bad\.yml:4:17: skipped \(invalid\): unknown modifier 'nope'/);
  });

  it('exits 1 when nothing was produced, even when every refusal is skipped', async () => {
    // A mapping the ts target cannot use refuses every rule as a mapping gap.
    const dir = mkdtempSync(join(tmpdir(), 'rulec-none-'));
    writeFileSync(join(dir, 'bad.yml'), 'fields: [Image]\n');
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--skip-unsupported', '--mapping', join(dir, 'bad.yml'), '--', RULES], c.io)).toBe(1);
    expect(c.err.at(-2)).toMatch(/^ts\/\w+: \d+ rules: 0 compiled, \d+ skipped \((\d+ unsupported, )?\d+ mapping\)$/);
    expect(c.err.at(-1)).toBe('rulec: nothing was produced: no rule compiled for ts/' + c.err.at(-2)!.split(/[/:]/)[1]);
  });

  it('--fail-on names the valid kinds and does not combine with --skip-unsupported', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'unsuported', RULES], c.io)).toBe(2);
    expect(c.err[0]).toBe("rulec: --fail-on: unknown refusal kind 'unsuported'; valid kinds: unsupported, mapping, invalid (or all, none; validation always fails the build)");
    const s = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'all', '--skip-unsupported', RULES], s.io)).toBe(2);
  });

  it('an --out that cannot be written is a clear error naming the path, never a hang or a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-outfile-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', join(file, 'x'), RULES], c.io)).toBe(1);
    expect(c.err).toEqual([`rulec: cannot create directory ${join(file, 'x')}: ${file} is a file, not a directory`]);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  // Node 20's mkdirSync(..., { recursive: true }) loops forever on such a path.
  it.skipIf(process.platform !== 'linux' || !existsSync('/proc/self'))('an --out the system refuses to create ends with an error', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', '/proc/rulec-test/out', RULES], c.io)).toBe(1);
    expect(c.err.at(-1)).toMatch(/^rulec: cannot create directory \/proc\/rulec-test: /);
  }, 20_000);

  it('usage errors exit 2 and name the valid choices', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'nope', RULES], c.io)).toBe(2);
    expect(c.err[0]).toContain("unknown target 'nope'; valid targets: ir");
    const p = capture();
    expect(await main(['build', '--target', 'ir', '--platform', 'x', RULES], p.io)).toBe(2);
    expect(p.err[0]).toContain("unknown platform 'x' for target ir; valid platforms: neutral");
    const f = capture();
    expect(await main(['build', '--target', 'ir', '--format', 'x', RULES], f.io)).toBe(2);
    expect(f.err[0]).toContain("valid formats: query");
  });

  it('a broken --mapping file is a usage error with its location', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-map-'));
    mkdirSync(dir, { recursive: true });
    const bad = join(dir, 'm.yml');
    writeFileSync(bad, 'fields:\n  a: [unclosed\n');
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--mapping', bad, '--', RULES], c.io)).toBe(2);
    expect(c.err[0]).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error`));
  });
});

describe('rulec build --out: the manifest and stale files', () => {
  const rule = (title: string, field = 'Image'): string =>
    `title: ${title}\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {${field}: x}\n  condition: sel\n`;
  const manifest = (out: string) => JSON.parse(readFileSync(join(out, '.rulec-manifest.json'), 'utf8'));

  it('records what the build wrote, and a rebuild removes the file of a rule that now fails, and only that', async () => {
    const rules = mkdtempSync(join(tmpdir(), 'rulec-stale-'));
    mkdirSync(join(rules, 'sub'));
    writeFileSync(join(rules, 'a.yml'), rule('a'));
    writeFileSync(join(rules, 'sub', 'b.yml'), rule('b'));
    const out = mkdtempSync(join(tmpdir(), 'rulec-stale-out-'));
    writeFileSync(join(out, 'mine.txt'), 'not written by rulec');
    expect(await main(['build', '--target', 'ir', '--out', out, rules], capture().io)).toBe(0);
    expect(walk(out)).toEqual(['.rulec-manifest.json', 'a.json', 'mine.txt', 'sub/b.json']);
    const m = manifest(out);
    expect(m).toMatchObject({ rulec: 1, builds: [{ target: 'ir', platform: 'neutral', format: 'query' }] });
    expect(m.builds[0].files.map((f: { path: string }) => f.path)).toEqual(['a.json', 'sub/b.json']);
    expect(m.builds[0].files[0].sha256).toMatch(/^[0-9a-f]{64}$/);

    // b becomes invalid: its old artifact must not stay to be redeployed; the folder it leaves empty goes too.
    writeFileSync(join(rules, 'sub', 'b.yml'), rule('b', 'Image|nope'));
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, rules], c.io)).toBe(1);
    expect(walk(out)).toEqual(['.rulec-manifest.json', 'a.json', 'mine.txt']);
    expect(c.err).toContain(`${out}: removed 1 file of the previous build that this build no longer produces`);
    expect(readFileSync(join(out, 'mine.txt'), 'utf8')).toBe('not written by rulec');
  });

  it('keeps a file edited since rulec wrote it, and files of other builds in the same folder', async () => {
    const rules = mkdtempSync(join(tmpdir(), 'rulec-stale-'));
    writeFileSync(join(rules, 'a.yml'), rule('a'));
    writeFileSync(join(rules, 'b.yml'), rule('b'));
    const out = mkdtempSync(join(tmpdir(), 'rulec-stale-out-'));
    expect(await main(['build', '--target', 'ir', '--out', out, rules], capture().io)).toBe(0);
    expect(await main(['build', '--target', 'spl', '--out', out, rules], capture().io)).toBe(0);
    expect(walk(out)).toEqual(['.rulec-manifest.json', 'a.json', 'a.spl', 'b.json', 'b.spl']);
    writeFileSync(join(out, 'a.json'), 'edited by hand');
    writeFileSync(join(rules, 'a.yml'), rule('a', 'Image|nope'));
    writeFileSync(join(rules, 'b.yml'), rule('b', 'Image|nope'));
    writeFileSync(join(rules, 'c.yml'), rule('c'));
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, rules], c.io)).toBe(1);
    expect(walk(out)).toEqual(['.rulec-manifest.json', 'a.json', 'a.spl', 'b.spl', 'c.json']);
    expect(c.err).toContain(`${join(out, 'a.json')}: warning: written by a previous build but changed since, so kept; remove it by hand if it is stale`);
    // The edited file is no longer rulec's: the next build neither removes nor reports it.
    const d = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, rules], d.io)).toBe(1);
    expect(d.err.some((l) => l.includes('a.json'))).toBe(false);
    expect(manifest(out).builds.map((b: { target: string }) => b.target)).toEqual(['spl', 'ir']);
  });

  it('never removes a path a hand-edited manifest points outside the folder, and says when it cannot read one', async () => {
    const rules = mkdtempSync(join(tmpdir(), 'rulec-stale-'));
    writeFileSync(join(rules, 'a.yml'), rule('a'));
    const parent = mkdtempSync(join(tmpdir(), 'rulec-stale-out-'));
    const out = join(parent, 'out');
    mkdirSync(out);
    writeFileSync(join(parent, 'victim.json'), '{}');
    const sha = createHash('sha256').update('{}').digest('hex');
    const key = { target: 'ir', platform: 'neutral', format: 'query' };
    writeFileSync(join(out, '.rulec-manifest.json'), JSON.stringify({ rulec: 1, builds: [{ ...key, files: [{ path: '../victim.json', sha256: sha }, { path: join(parent, 'victim.json'), sha256: sha }] }] }));
    expect(await main(['build', '--target', 'ir', '--out', out, rules], capture().io)).toBe(0);
    expect(existsSync(join(parent, 'victim.json'))).toBe(true);
    writeFileSync(join(out, '.rulec-manifest.json'), '{not json');
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, rules], c.io)).toBe(0);
    expect(c.err[0]).toMatch(/\.rulec-manifest\.json: warning: cannot read the previous build's manifest \(.*\); no stale file was removed$/);
    expect(manifest(out).builds).toHaveLength(1);
  });
});

describe('rulec build --out: files rulec did not write', () => {
  // The lookback makes the Sentinel (TimeGenerated) and Defender (Timestamp) queries differ.
  const rule = `title: a\nlogsource: {product: windows, category: process_creation}\nschedule: {frequency: 1h, lookback: 1h}\ndetection:\n  sel: {Image: x}\n  condition: sel\n`;
  const setup = (): { rules: string; out: string } => {
    const rules = mkdtempSync(join(tmpdir(), 'rulec-own-'));
    writeFileSync(join(rules, 'a.yml'), rule);
    return { rules, out: mkdtempSync(join(tmpdir(), 'rulec-own-out-')) };
  };

  it('never overwrites a file that is not its own, and fails the build naming it', async () => {
    const { rules, out } = setup();
    writeFileSync(join(out, 'a.kql'), 'MY OWN FILE');
    const c = capture();
    expect(await main(['build', '--target', 'kusto', '--out', out, rules], c.io)).toBe(1);
    expect(readFileSync(join(out, 'a.kql'), 'utf8')).toBe('MY OWN FILE');
    expect(c.err).toContain(`${join(out, 'a.kql')}: error: not overwritten: rulec did not write it`);
  });

  it("leaves another build's file in the same folder as it is", async () => {
    const { rules, out } = setup();
    expect(await main(['build', '--target', 'kusto', '--out', out, rules], capture().io)).toBe(0);
    const sentinel = readFileSync(join(out, 'a.kql'), 'utf8');
    const c = capture();
    expect(await main(['build', '--target', 'kusto', '--platform', 'defender-xdr', '--out', out, rules], c.io)).toBe(1);
    expect(readFileSync(join(out, 'a.kql'), 'utf8')).toBe(sentinel);
    expect(c.err).toContain(`${join(out, 'a.kql')}: error: not overwritten: another build (target, platform or format) wrote it; give each build its own --out`);
    // Its own rebuild still rewrites it.
    expect(await main(['build', '--target', 'kusto', '--out', out, rules], capture().io)).toBe(0);
  });

  it("a rule's file name does not depend on which other rules compiled", async () => {
    const one = mkdtempSync(join(tmpdir(), 'rulec-names-'));
    const two = mkdtempSync(join(tmpdir(), 'rulec-names-'));
    writeFileSync(join(one, 'x.yml'), rule);
    writeFileSync(join(two, 'x.yml'), rule.replace('title: a', 'title: b'));
    const out = mkdtempSync(join(tmpdir(), 'rulec-names-out-'));
    expect(await main(['build', '--target', 'ir', '--out', out, one, two], capture().io)).toBe(0);
    const b = readFileSync(join(out, 'x-2.json'), 'utf8');
    // The first rule now fails: the second keeps its own name, and x.json (the first's) goes.
    writeFileSync(join(one, 'x.yml'), rule.replace('Image: x', 'Image|nope: x'));
    expect(await main(['build', '--target', 'ir', '--out', out, one, two], capture().io)).toBe(1);
    expect(readFileSync(join(out, 'x-2.json'), 'utf8')).toBe(b);
    expect(existsSync(join(out, 'x.json'))).toBe(false);
  });

  it('a manifest entry of the wrong shape is reported as unreadable, never a crash after writing', async () => {
    const { rules, out } = setup();
    writeFileSync(join(out, '.rulec-manifest.json'), JSON.stringify({ rulec: 1, builds: [{ target: 'eql', platform: 'ecs', format: 'query' }] }));
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--out', out, rules], c.io)).toBe(0);
    expect(c.err[0]).toMatch(/\.rulec-manifest\.json: warning: cannot read the previous build's manifest \(a build entry is not .*\); no stale file was removed$/);
  });
});

describe('rulec build: queries on stdout', () => {
  const SEED = join(RULES, 'seed', 'custom_script_extension_executable_drop.yml');

  it('each query starts with a comment in the target language naming the rule; --json and files keep the bare query', async () => {
    const id = /^id: (\S+)/m.exec(readFileSync(SEED, 'utf8'))![1]!;
    const title = /^title: (.+)$/m.exec(readFileSync(SEED, 'utf8'))![1]!;
    for (const [target, header] of [
      ['kusto', `// ${title} (${id}) ${SEED}`],
      ['eql', `// ${title} (${id}) ${SEED}`],
      ['spl', '```' + `${title} (${id}) ${SEED}` + '```'],
    ] as const) {
      const c = capture();
      expect(await main(['build', '--target', target, SEED], c.io)).toBe(0);
      expect(c.out[0], target).toBe(header);
      const j = capture();
      expect(await main(['build', '--target', target, '--json', SEED], j.io)).toBe(0);
      const row = JSON.parse(j.out[0]!);
      expect(c.out[1]).toBe(row.query.replace(/\n$/, '') + '\n');
      expect(row.query).not.toContain(title);
      const out = mkdtempSync(join(tmpdir(), 'rulec-q-'));
      expect(await main(['build', '--target', target, '--out', out, SEED], capture().io)).toBe(0);
      const file = walk(out).find((f) => !f.startsWith('.'))!;
      expect(readFileSync(join(out, file), 'utf8')).not.toContain(title);
    }
  });

  it('a title cannot end the comment early', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-q-'));
    writeFileSync(join(dir, 'r.yml'), 'title: "a ```| delete``` b"\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: x}\n  condition: sel\n');
    const c = capture();
    expect(await main(['build', '--target', 'spl', dir], c.io)).toBe(0);
    expect(c.out[0]).toBe("```a '''| delete''' b " + join(dir, 'r.yml') + '```');
  });
});

describe('rulec build: where a refusal points', () => {
  it('at the detection key of the field at fault, the log source key, or the keyword selection, never 1:1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-at-'));
    writeFileSync(join(dir, 'field.yml'), 'title: f\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image: x\n    Nope|contains: y\n  condition: sel\n');
    writeFileSync(join(dir, 'ls.yml'), 'title: l\nlogsource:\n  product: windows\n  category: network_connection\ndetection:\n  sel: {Image: x}\n  condition: sel\n');
    writeFileSync(join(dir, 'kw.yml'), 'title: k\nlogsource: {product: windows, service: system}\ndetection:\n  sel: {EventID: 1}\n  words: [mimikatz]\n  condition: sel and words\n');
    const c = capture();
    await main(['build', '--target', 'spl', '--platform', 'cim', dir], c.io);
    expect(c.err).toContain(`${join(dir, 'field.yml')}:6:5: skipped (mapping): field 'Nope' has no mapping for data model Endpoint.Processes on SPL platform cim; fields with a mapping: CommandLine, Computer, CurrentDirectory, Image, IntegrityLevel, OriginalFileName, ParentCommandLine, ParentImage, ParentProcessGuid, ParentProcessId, ProcessGuid, ProcessId, User`);
    expect(c.err.find((l) => l.includes('ls.yml'))).toMatch(/ls\.yml:4:13: skipped \(mapping\): log source \{product: windows, category: network_connection\} has no mapping/);
    const k = capture();
    await main(['build', '--target', 'eql', join(dir, 'kw.yml')], k.io);
    expect(k.err[0]).toMatch(/kw\.yml:5:3: skipped \(unsupported\): a keyword \(field-less\) search/);
  });
});
