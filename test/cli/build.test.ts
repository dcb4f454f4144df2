import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture, walk } from '../helpers/cli.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const FIXTURE_RULES = new URL('../fixtures/rules', import.meta.url).pathname;

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
    const ir = JSON.parse(readFileSync(join(out, 'windows/proc_creation_win_recon_command.json'), 'utf8'));
    // the filter rule of rules/ is AND-ed into the rule it names
    expect(ir.kind).toBe('and');
    expect(JSON.stringify(ir)).toContain('inventory-agent.exe');
    expect(c.err.at(-1)).toMatch(/^ir\/neutral: \d+ rules: \d+ compiled -> /);
  });

  it('--json prints one object per rule with the contract keys', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) {
      expect(r).toMatchObject({ target: 'ir', platform: 'neutral', format: 'query', ok: true });
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['path', 'id', 'title', 'query']));
    }
  });

  it('an unsupported rule is reported and skipped by default (and by --skip-unsupported); --fail-on unsupported fails the build', async () => {
    const d = capture();
    expect(await main(['build', '--target', 'ir', RULES, FIXTURE_RULES], d.io)).toBe(0);
    expect(d.err.some((l) => /correlation_recon_burst\.yml:\d+:\d+: skipped \(unsupported\): correlation rules are not compiled/.test(l))).toBe(true);
    expect(d.err.at(-1)).toMatch(/^ir\/neutral: \d+ rules: \d+ compiled, 1 skipped \(1 unsupported\)$/);
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'unsupported', RULES, FIXTURE_RULES], c.io)).toBe(1);
    expect(c.err.some((l) => /correlation_recon_burst\.yml:\d+:\d+: error \(unsupported\): correlation rules are not compiled/.test(l))).toBe(true);
    expect(c.err.at(-1)).toMatch(/, 1 failed \(1 unsupported\)$/);
    const m = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'mapping,invalid', RULES, FIXTURE_RULES], m.io)).toBe(0);
    const s = capture();
    expect(await main(['build', '--target', 'ir', '--skip-unsupported', '--json', RULES, FIXTURE_RULES], s.io)).toBe(0);
    const skipped = s.out.map((l) => JSON.parse(l)).filter((r) => r.skipped);
    expect(skipped).toHaveLength(1);
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
    expect(c.err.at(-2)).toMatch(/^ts\/\w+: \d+ rules: 0 compiled, \d+ skipped \(\d+ mapping\)$/);
    expect(c.err.at(-1)).toBe('rulec: nothing was produced: no rule compiled for ts/' + c.err.at(-2)!.split(/[/:]/)[1]);
  });

  it('--fail-on names the valid kinds and does not combine with --skip-unsupported', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--fail-on', 'unsuported', RULES], c.io)).toBe(2);
    expect(c.err[0]).toBe("rulec: --fail-on: unknown refusal kind 'unsuported'; valid kinds: unsupported, mapping, invalid (or all, none)");
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
