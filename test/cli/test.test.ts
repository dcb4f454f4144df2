import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const SHARED_MANIFEST = new URL('../../../shared/sigmahq/regression/manifest.json', import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), json: (o: unknown) => out.push(JSON.stringify(o)) } };
}

const RULE = (extra: string) => `title: Whoami
id: 11111111-1111-4111-8111-111111111111
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\\whoami.exe'}
  condition: selection
${extra}`;

describe('rulec test: inline tests', () => {
  it("runs the inline tests of rules/ (all pass)", async () => {
    const c = capture();
    expect(await main(['test', RULES], c.io)).toBe(0);
    expect(c.err.at(-1)).toMatch(/^\d+ test cases in 1 suite: (\d+) passed, 0 failed$/);
  });

  it('fails, names the case, and writes JUnit XML', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-test-'));
    writeFileSync(
      join(dir, 'r.yml'),
      RULE(`tests:
  - name: whoami
    event: {Image: 'C:\\Windows\\whoami.exe'}
    match: true
  - name: wrongly expected
    event: {Image: 'C:\\Windows\\notepad.exe'}
    match: true
`),
    );
    const junit = join(dir, 'out', 'junit.xml');
    const c = capture();
    expect(await main(['test', dir, '--junit', junit], c.io)).toBe(1);
    expect(c.out.join('\n')).toContain(`FAIL ${join(dir, 'r.yml')} › wrongly expected`);
    expect(c.out.join('\n')).toContain('expected the rule to match the event; it did not');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites name="rulec test" tests="2" failures="1">');
    expect(xml).toContain(`<testcase classname="${join(dir, 'r.yml')}:8" name="${join(dir, 'r.yml')} › whoami"`);
    expect(xml).toMatch(/<failure message="expected the rule to match the event; it did not">/);
    const j = capture();
    await main(['test', dir, '--json'], j.io);
    expect(j.out.map((l) => JSON.parse(l).ok)).toEqual([true, false]);
  });
});

describe('rulec test: regression manifests', () => {
  it.skipIf(!existsSync(SHARED_MANIFEST))('passes the SigmaHQ regression cases (at least 128 of 129)', async () => {
    const c = capture();
    const code = await main(['test', '--manifest', SHARED_MANIFEST, '--json'], c.io);
    const rows = c.out.map((l) => JSON.parse(l) as { ok: boolean; name: string; message?: string });
    expect(rows).toHaveLength(129);
    const failed = rows.filter((r) => !r.ok);
    // docs/evaluator.md lists every failure with its reason; today there is none
    expect(failed).toEqual([]);
    expect(code).toBe(0);
  }, 120_000);

  it('reads another corpus laid out the same way, and explains a log-source miss', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rulec-corpus-'));
    mkdirSync(join(root, 'rules'));
    mkdirSync(join(root, 'regression'));
    writeFileSync(join(root, 'rules', 'whoami.yml'), RULE(''));
    const ev = (eid: number) => JSON.stringify({ Event: { System: { EventID: eid, Channel: 'Microsoft-Windows-Sysmon/Operational' }, EventData: { Image: 'C:\\whoami.exe' } } });
    writeFileSync(join(root, 'regression', 'good.jsonl'), `${ev(1)}\n${ev(1)}\n`);
    writeFileSync(join(root, 'regression', 'wrong-eid.jsonl'), `${ev(11)}\n`);
    writeFileSync(
      join(root, 'regression', 'manifest.json'),
      JSON.stringify({
        cases: [
          { rule_id: '11111111-1111-4111-8111-111111111111', title: 'two', rule: 'rules/whoami.yml', events: 'good.jsonl', min_matches: 2 },
          { title: 'three', rule: 'rules/whoami.yml', events: 'good.jsonl', min_matches: 3 },
          { title: 'routed away', rule: 'rules/whoami.yml', events: 'wrong-eid.jsonl' },
          { title: 'missing', rule: 'rules/none.yml', events: 'good.jsonl' },
        ],
      }),
    );
    const c = capture();
    expect(await main(['test', '--manifest', join(root, 'regression', 'manifest.json'), '--json'], c.io)).toBe(1);
    const rows = c.out.map((l) => JSON.parse(l) as { name: string; ok: boolean; message?: string });
    expect(rows.map((r) => [r.name, r.ok])).toEqual([
      ['two (11111111-1111-4111-8111-111111111111)', true],
      ['three', false],
      ['routed away', false],
      ['missing', false],
    ]);
    expect(rows[1]!.message).toBe('matched 2 of 2 events, expected at least 3');
    expect(rows[2]!.message).toBe(
      "matched 0 of 1 event, expected at least 1 (the detection matches 1 of them, but the rule's log source {product: windows, category: process_creation} does not serve their channel 'microsoft-windows-sysmon/operational' / EventID 11)",
    );
    expect(rows[3]!.message).toBe(`rule file not found: ${join(root, 'rules', 'none.yml')}`);
  });

  it("passes SigmaHQ's windefend rules on Defender events whose EventData names have spaces", async () => {
    const windefend = new URL('../../../shared/sigmahq/rules/windows/builtin/windefend/', import.meta.url).pathname;
    if (!existsSync(windefend)) return; // the shared corpus is not available
    const root = mkdtempSync(join(tmpdir(), 'rulec-windefend-'));
    mkdirSync(join(root, 'rules'));
    mkdirSync(join(root, 'regression'));
    const lines = readFileSync(new URL('../fixtures/evtx/defender.jsonl', import.meta.url), 'utf8').split('\n');
    const cases = [
      { rule: 'win_defender_malware_detected_amsi_source.yml', line: 0 }, // `Source Name` as SourceName
      { rule: 'win_defender_config_change_exclusion_added.yml', line: 3 }, // `New Value` as NewValue
    ].map(({ rule, line }) => {
      writeFileSync(join(root, 'rules', rule), readFileSync(join(windefend, rule), 'utf8'));
      writeFileSync(join(root, 'regression', `${rule}.jsonl`), `${lines[line]}\n`);
      return { title: rule, rule: `rules/${rule}`, events: `${rule}.jsonl`, min_matches: 1 };
    });
    writeFileSync(join(root, 'regression', 'manifest.json'), JSON.stringify({ cases }));
    const c = capture();
    expect(await main(['test', '--manifest', join(root, 'regression', 'manifest.json'), '--json'], c.io)).toBe(0);
    expect(c.out.map((l) => (JSON.parse(l) as { ok: boolean }).ok)).toEqual([true, true]);
  });

  it('a broken manifest is a usage error naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-man-'));
    writeFileSync(join(dir, 'm.json'), '{"cases": [{"rule": 1}]}');
    const c = capture();
    expect(await main(['test', '--manifest', join(dir, 'm.json')], c.io)).toBe(2);
    expect(c.err[0]).toContain(`${join(dir, 'm.json')}: cases[0] needs "rule"`);
  });
});
