import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const BIN = new URL('../../bin/rulec.js', import.meta.url).pathname;

function capture(stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l), json: (o) => out.push(JSON.stringify(o)) };
  if (stdin !== undefined) io.stdin = (async function* () { yield Buffer.from(stdin); })();
  return { out, err, io };
}

function temp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-scan-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const RULE = `title: Whoami
id: 11111111-1111-4111-8111-111111111111
level: high
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\\whoami.exe'}
  condition: selection
`;

const sysmon = (eid: number, image: string) =>
  JSON.stringify({ Event: { System: { EventID: eid, Channel: 'Microsoft-Windows-Sysmon/Operational' }, EventData: { Image: image } } });

describe('rulec scan', () => {
  const dir = temp({
    'rule.yml': RULE,
    'events.jsonl': [sysmon(1, 'C:\\Windows\\System32\\whoami.exe'), sysmon(1, 'C:\\Windows\\notepad.exe'), '{broken', sysmon(11, 'C:\\whoami.exe'), ''].join('\n'),
    'events.json': `[\n  ${sysmon(1, 'C:\\x\\WHOAMI.EXE')},\n  {"Channel": "Security", "EventID": 4688,\n   "NewProcessName": "C:\\\\whoami.exe"}\n]\n`,
  });
  const rule = join(dir, 'rule.yml');

  it('--json prints one detection a line with kind, rule_id, title, level, file, line', async () => {
    const c = capture();
    expect(await main(['scan', '--rules', rule, '--json', join(dir, 'events.jsonl'), join(dir, 'events.json')], c.io)).toBe(0);
    expect(c.out.map((l) => JSON.parse(l))).toEqual([
      { kind: 'detection', rule_id: '11111111-1111-4111-8111-111111111111', title: 'Whoami', level: 'high', file: join(dir, 'events.jsonl'), line: 1, time: null, host: null },
      { kind: 'detection', rule_id: '11111111-1111-4111-8111-111111111111', title: 'Whoami', level: 'high', file: join(dir, 'events.json'), line: 2, time: null, host: null },
      { kind: 'detection', rule_id: '11111111-1111-4111-8111-111111111111', title: 'Whoami', level: 'high', file: join(dir, 'events.json'), line: 3, time: null, host: null },
    ]);
    // the malformed line is reported with its place, and the scan goes on
    expect(c.err.some((l) => l.startsWith(`${join(dir, 'events.jsonl')}:3: malformed event: invalid JSON: `))).toBe(true);
    expect(c.err.at(-1)).toMatch(/^5 events in 2 inputs \(1 malformed, skipped\): 3 detections by 1 of 1 rules, [\d.]+ s \([\d,]+ events\/s\); 1 rule loaded in [\d.]+ s$/);
  });

  it('--include-event adds the event', async () => {
    const c = capture();
    await main(['scan', '-r', rule, '--json', '--include-event', join(dir, 'events.jsonl')], c.io);
    expect(JSON.parse(c.out[0]!).event.Event.EventData.Image).toBe('C:\\Windows\\System32\\whoami.exe');
  });

  it('prints a table of detections and a per-rule summary', async () => {
    const c = capture();
    expect(await main(['scan', '--rules', rule, join(dir, 'events.json')], c.io)).toBe(0);
    expect(c.out).toEqual([
      `${join(dir, 'events.json')}:2  -  -  high           Whoami  (11111111-1111-4111-8111-111111111111)`,
      `${join(dir, 'events.json')}:3  -  -  high           Whoami  (11111111-1111-4111-8111-111111111111)`,
      '',
      'matches  level          rule',
      '      2  high           Whoami  (11111111-1111-4111-8111-111111111111)',
    ]);
  });

  it('reads standard input', async () => {
    const c = capture(`${sysmon(1, 'C:\\whoami.exe')}\n`);
    expect(await main(['scan', '--rules', rule, '--json', '-'], c.io)).toBe(0);
    expect(JSON.parse(c.out[0]!)).toMatchObject({ file: '-', line: 1 });
  });

  it('gives the same detections with --no-index', async () => {
    const a = capture();
    const b = capture();
    await main(['scan', '--rules', RULES, '--json', join(dir, 'events.jsonl'), join(dir, 'events.json')], a.io);
    await main(['scan', '--rules', RULES, '--json', '--no-index', join(dir, 'events.jsonl'), join(dir, 'events.json')], b.io);
    expect(b.out).toEqual(a.out);
  });

  it('reports invalid rules, scans with the others, and exits 1', async () => {
    const bad = temp({ 'good.yml': RULE, 'bad.yml': RULE.replace('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222').replace('Image|endswith', 'Image|endswitch') });
    const c = capture();
    expect(await main(['scan', '--rules', bad, '--json', join(dir, 'events.jsonl')], c.io)).toBe(1);
    expect(c.err[0]).toMatch(/bad\.yml:6:21: error: unknown modifier 'endswitch'; did you mean 'endswith'\?/);
    expect(c.out).toHaveLength(1);
  });

  it('usage errors exit 2 with what is missing', async () => {
    const a = capture();
    expect(await main(['scan', join(dir, 'events.jsonl')], a.io)).toBe(2);
    expect(a.err[0]).toContain('give the rules to run with --rules');
    const b = capture();
    expect(await main(['scan', '--rules', rule, join(dir, 'nope.jsonl')], b.io)).toBe(2);
    expect(b.err[0]).toContain('nope.jsonl: no such event file');
    const c = capture();
    expect(await main(['scan', '--rules', rule, '--max-event-bytes', 'lots', join(dir, 'events.jsonl')], c.io)).toBe(2);
    expect(c.err[0]).toContain("--max-event-bytes must be a positive whole number, got 'lots'");
  });

  it('says which rules routing keeps away from Windows events', async () => {
    const d = temp({ 'fa.yml': RULE.replace('category: process_creation', 'category: file_access') });
    const c = capture();
    await main(['scan', '--rules', d, join(dir, 'events.jsonl')], c.io);
    expect(c.err[0]).toBe("note: 1 rule: category 'file_access' has no channel/EventID data, so it matches only events without a Channel, in an input given --logsource");
  });

  it('runs only the rules without a log source on events that carry none, and says so once; --logsource names the input\'s', async () => {
    const d = temp({
      'ps.yml': RULE.replace('category: process_creation', 'category: ps_script').replace("Image|endswith: '\\whoami.exe'", 'ScriptBlockText|contains: Mimikatz'),
      'zeek.yml': RULE.replace('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222').replace('{product: windows, category: process_creation}', '{product: zeek, service: http}').replace("{Image|endswith: '\\whoami.exe'}", "{'|all': [Invoke]}"),
      'proxy.yml': RULE.replace('11111111-1111-4111-8111-111111111111', '33333333-3333-4333-8333-333333333333').replace('{product: windows, category: process_creation}', '{category: proxy}').replace("{Image|endswith: '\\whoami.exe'}", "{'|all': [Mimikatz]}"),
      'any.yml': RULE.replace('11111111-1111-4111-8111-111111111111', '44444444-4444-4444-8444-444444444444').replace('{product: windows, category: process_creation}', '{definition: any event}').replace("Image|endswith: '\\whoami.exe'", 'Computer: pc2'),
      'e.jsonl': '{"ScriptBlockText": "Invoke-Mimikatz", "Computer": "pc2"}\n{"ScriptBlockText": "Invoke-Mimikatz x"}\n',
    });
    const c = capture();
    expect(await main(['scan', '--json', '-r', d, join(d, 'e.jsonl')], c.io), c.err.join('\n')).toBe(0);
    expect(c.out.map((l) => JSON.parse(l).rule_id)).toEqual(['44444444-4444-4444-8444-444444444444']);
    expect(c.err.filter((l) => l.includes('carries no log source'))).toEqual([
      `note: ${join(d, 'e.jsonl')}:1: this event carries no log source to route by (no Channel): events like it run only the 1 rule without product, category or service, not the 3 others; give the input's log source with --logsource product/category/service (rulec list logsources)`,
    ]);
    const l = capture();
    expect(await main(['scan', '--json', '-r', d, '--logsource', 'windows/ps_script', join(d, 'e.jsonl')], l.io)).toBe(0);
    expect(l.out.map((x) => [JSON.parse(x).rule_id, JSON.parse(x).line])).toEqual([
      ['44444444-4444-4444-8444-444444444444', 1],
      ['11111111-1111-4111-8111-111111111111', 1],
      ['11111111-1111-4111-8111-111111111111', 2],
    ]);
    expect(l.err.some((x) => x.includes('carries no log source'))).toBe(false);
    const u = capture();
    expect(await main(['scan', '-r', d, '--logsource', 'a/b/c/d', join(d, 'e.jsonl')], u.io)).toBe(2);
    expect(u.err[0]).toMatch(/--logsource: expected product\/category\/service/);
  });

  it('--mapping reads a platform mapping in reverse (Defender XDR columns as Sigma fields), or a file; time and host columns', async () => {
    const d = temp({
      'r.yml': RULE.replace("{Image|endswith: '\\whoami.exe'}", "{Image|endswith: '\\whoami.exe', CommandLine|contains: '/all'}"),
      'mde.jsonl': JSON.stringify({ Timestamp: '2026-01-02T03:04:05Z', DeviceName: 'pc1', ActionType: 'ProcessCreated', FolderPath: 'C:\\Windows\\System32\\whoami.exe', ProcessCommandLine: 'whoami /all' }) + '\n',
      'm.yml': 'fields:\n  FolderPath: Image\n  ProcessCommandLine: CommandLine\n',
    });
    const args = ['scan', '-r', join(d, 'r.yml'), '--logsource', 'windows/process_creation', join(d, 'mde.jsonl')];
    const none = capture();
    await main(args, none.io);
    expect(none.out).toEqual([]);
    const k = capture();
    expect(await main([...args, '--mapping', 'kusto/defender-xdr'], k.io)).toBe(0);
    expect(k.out[0]).toBe(`${join(d, 'mde.jsonl')}:1  2026-01-02T03:04:05Z  pc1  high           Whoami  (11111111-1111-4111-8111-111111111111)`);
    const f = capture();
    expect(await main([...args, '--mapping', join(d, 'm.yml'), '--json'], f.io)).toBe(0);
    expect(JSON.parse(f.out[0]!)).toMatchObject({ time: '2026-01-02T03:04:05Z', host: 'pc1' });
    const n = capture();
    expect(await main(['scan', '-r', join(d, 'r.yml'), '--mapping', 'kusto/defender-xdr', join(d, 'mde.jsonl')], n.io)).toBe(2);
    expect(n.err[0]).toMatch(/--mapping kusto\/defender-xdr needs --logsource/);
  });

  it('--min-level leaves out the rules below it and those without a level', async () => {
    const d = temp({ 'high.yml': RULE, 'low.yml': RULE.replace('level: high', 'level: low').replace('11111111-1111-4111-8111-111111111111', '55555555-5555-4555-8555-555555555555') });
    const c = capture();
    expect(await main(['scan', '--json', '-r', d, '--min-level', 'medium', join(dir, 'events.jsonl')], c.io)).toBe(0);
    expect(new Set(c.out.map((l) => JSON.parse(l).rule_id))).toEqual(new Set(['11111111-1111-4111-8111-111111111111']));
    const a = capture();
    await main(['scan', '--json', '-r', d, '--min-level', 'low', join(dir, 'events.jsonl')], a.io);
    expect(new Set(a.out.map((l) => JSON.parse(l).rule_id)).size).toBe(2);
    const b = capture();
    expect(await main(['scan', '-r', d, '--min-level', 'severe', join(dir, 'events.jsonl')], b.io)).toBe(2);
    expect(b.err[0]).toBe("rulec: --min-level: unknown level 'severe'; valid levels: informational, low, medium, high, critical");
  });

  it('writes every detection to a pipe, in blocks, and the malformed-event notes to stderr', () => {
    // Over 64 KiB of output: stdout is written in blocks; a note on stderr writes what stdout holds first.
    const dir = temp({ 'r.yml': RULE, 'e.jsonl': [...Array.from({ length: 3000 }, (_, i) => sysmon(1, `C:\\w${i}\\whoami.exe`)), '{bad'].join('\n') });
    const r = spawnSync(process.execPath, [BIN, 'scan', '--json', '-r', join(dir, 'r.yml'), join(dir, 'e.jsonl')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3000);
    expect(JSON.parse(lines[2999]!)).toMatchObject({ rule_id: '11111111-1111-4111-8111-111111111111', line: 3000 });
    expect(r.stderr).toContain('e.jsonl:3001: malformed event');
  });

  it('writes what stdout still holds when a command ends without a word on stderr', () => {
    const rules = Array.from({ length: 400 }, (_, i) => RULE.replace('11111111-1111-4111-8111-111111111111', `11111111-1111-4111-8111-${String(i).padStart(12, '0')}`));
    const dir = temp(Object.fromEntries(rules.map((r, i) => [`r${i}.yml`, r])));
    const r = spawnSync(process.execPath, [BIN, 'ir', dir], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.length).toBeGreaterThan(1 << 16);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toHaveLength(400);
  });

  it('reports a detection while its input is still open (tail -f | rulec scan -), and on SIGTERM writes what it found', async () => {
    const dir = temp({ 'r.yml': RULE });
    const child = spawn(process.execPath, [BIN, 'scan', '--json', '-r', join(dir, 'r.yml'), '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const firstLine = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no detection on stdout while stdin stayed open; stdout so far: ${out}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stdin.write(sysmon(1, 'C:\\Windows\\System32\\whoami.exe') + '\n');
    await firstLine;
    expect(JSON.parse(out.split('\n')[0]!)).toMatchObject({ rule_id: '11111111-1111-4111-8111-111111111111', line: 1 });
    const ended = new Promise<string | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    child.stdin.write(sysmon(1, 'C:\\x\\whoami.exe') + '\n');
    // Let the second event be read and evaluated, then stop the scan with its input still open.
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGTERM');
    expect(await ended).toBe('SIGTERM');
    expect(out.trimEnd().split('\n')).toHaveLength(2);
  }, 30_000);
});
