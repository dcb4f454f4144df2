import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parsePipeline, parseQuery } from '../../src/targets/spl/parser.js';

const RULES = new URL('../../rules', import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), json: (o: unknown) => out.push(JSON.stringify(o)) } };
}

function ruleDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-spl-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const AWS_RULE = `title: Console login
id: 0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin}
  condition: sel
`;

describe('rulec build --target spl', () => {
  it('compiles rules/ on the default platform, and every query validates', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--validate', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.length).toBe(20);
    // Every rule compiles, the correlations of rules/correlation/ (the chained one too) included.
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(rows.filter((r) => r.query.includes('| streamstats ')).length).toBe(5);
    for (const r of rows) {
      expect(r).toMatchObject({ target: 'spl', platform: 'sysmon', format: 'query', ok: true });
      if (r.query.includes('rulec_rule=')) expect(() => parsePipeline(r.query)).not.toThrow();
      else expect(() => parseQuery(r.query)).not.toThrow();
    }
    expect(rows.find((r) => r.path.endsWith('proc_creation_win_off_hours_admin_tool.yml')).notes).toEqual([expect.stringMatching(/time-part/)]);
  });

  it('writes one .spl file per rule with --out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rulec-spl-out-'));
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--out', out, RULES], c.io)).toBe(0);
    expect(readFileSync(join(out, 'windows/proc_creation_win_recon_command.spl'), 'utf8')).toMatch(/^source="XmlWinEventLog:Microsoft-Windows-Sysmon\/Operational" EventCode=1 Image IN/);
    expect(c.err.at(-1)).toMatch(/^spl\/sysmon: 20 rules: 20 compiled -> /);
  });

  it('bundles every rule into one Splunk app folder with --format savedsearches', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rulec-spl-app-'));
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--format', 'savedsearches', '--out', out, RULES], c.io)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.rulec-manifest.json', 'default', 'metadata']);
    expect(readdirSync(join(out, 'default')).sort()).toEqual(['app.conf', 'savedsearches.conf']);
    const conf = readFileSync(join(out, 'default/savedsearches.conf'), 'utf8');
    // 15 detection rules and 5 correlations.
    expect(conf.match(/^\[rulec - /gm)).toHaveLength(20);
    expect(conf).toContain('[rulec - Executable Drop via Azure Custom Script Extension]\n');
    expect(conf).toContain('action.correlationsearch.annotations = {"mitre_attack":["T1651","T1021.008"]}');
    // A multi-line search continues with a trailing backslash, and every search is a query rulec parses.
    const searches = [...conf.matchAll(/^search = ((?:.* \\\n)*.*)$/gm)].map((m) => m[1]!.replace(/ \\\n/g, '\n'));
    expect(searches).toHaveLength(20);
    for (const s of searches) expect(() => (s.includes('rulec_rule=') ? parsePipeline(s) : parseQuery(s))).not.toThrow();
    expect(readFileSync(join(out, 'metadata/default.meta'), 'utf8')).toContain('access = read : [ * ]');
  });

  it('a schedule cron cannot run at a fixed interval fails that rule, with the reason', async () => {
    const dir = ruleDir({ 'r.yml': AWS_RULE.replace('logsource:', 'schedule: {frequency: 7m}\nlogsource:') });
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--format', 'savedsearches', dir], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/r\.yml:\d+:\d+: skipped \(unsupported\): schedule frequency 7m cannot be a Splunk cron_schedule at a fixed interval: 7 minutes does not divide an hour/);
  });

  it('reports the log-source approximation as a note, and a --mapping file removes it', async () => {
    const dir = ruleDir({ 'r.yml': AWS_RULE });
    const c = capture();
    expect(await main(['build', '--target', 'spl', dir], c.io)).toBe(0);
    expect(c.out.join('\n')).toBe('```Console login (0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b) ' + join(dir, 'r.yml') + '```\neventName="ConsoleLogin"\n');
    expect(c.err[0]).toMatch(/r\.yml: note: no Splunk source or sourcetype is known for this log source.*logsources\.aws\.search/);
    const m = ruleDir({ 'm.yml': "logsources:\n  aws:\n    search: {sourcetype: 'aws:cloudtrail'}\n    note: null\n" });
    const d = capture();
    expect(await main(['build', '--target', 'spl', '--mapping', join(m, 'm.yml'), '--', dir], d.io)).toBe(0);
    expect(d.out.slice(1).join('\n')).toBe('sourcetype="aws:cloudtrail" eventName="ConsoleLogin"\n');
    expect(d.err.some((l) => l.includes('note:'))).toBe(false);
  });

  it('platforms cim and windows refuse what they cannot map; --fail-on mapping fails the build, the default and --skip-unsupported skip it', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--platform', 'cim', '--fail-on', 'mapping', RULES], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/win_system_susp_keywords\.yml:\d+:\d+: error \(mapping\): log source \{product: windows, service: system\} has no mapping on SPL platform cim/);
    const s = capture();
    expect(await main(['build', '--target', 'spl', '--platform', 'windows', '--skip-unsupported', RULES], s.io)).toBe(0);
    expect(s.err.at(-1)).toBe('spl/windows: 20 rules: 18 compiled, 2 skipped (2 mapping)');
    const d = capture();
    expect(await main(['build', '--target', 'spl', '--platform', 'windows', RULES], d.io)).toBe(0);
    expect(d.err).toEqual(s.err);
  });

  it('a malformed mapping file is a usage error naming the key', async () => {
    const m = ruleDir({ 'm.yml': 'logsources:\n  aws: {raw: csv}\n' });
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--mapping', join(m, 'm.yml'), '--', RULES], c.io)).toBe(2);
    expect(c.err[0]).toBe('rulec: SPL mapping for platform sysmon: logsources.aws.raw: expected one of json, xml, w3c, text, none');
  });

  it('usage errors name the valid platforms and formats', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'spl', '--platform', 'x', RULES], c.io)).toBe(2);
    expect(c.err[0]).toContain("unknown platform 'x' for target spl; valid platforms: sysmon, windows, cim");
    const f = capture();
    expect(await main(['build', '--target', 'spl', '--format', 'x', RULES], f.io)).toBe(2);
    expect(f.err[0]).toContain('valid formats: query, savedsearches');
  });
});
