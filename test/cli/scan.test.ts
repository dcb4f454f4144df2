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

  it('--json prints one detection a line with rule_id, title, level, file, line', async () => {
    const c = capture();
    expect(await main(['scan', '--rules', rule, '--json', join(dir, 'events.jsonl'), join(dir, 'events.json')], c.io)).toBe(0);
    expect(c.out.map((l) => JSON.parse(l))).toEqual([
      { rule_id: '11111111-1111-4111-8111-111111111111', title: 'Whoami', level: 'high', file: join(dir, 'events.jsonl'), line: 1 },
      { rule_id: '11111111-1111-4111-8111-111111111111', title: 'Whoami', level: 'high', file: join(dir, 'events.json'), line: 2 },
      { rule_id: '11111111-1111-4111-8111-111111111111', title: 'Whoami', level: 'high', file: join(dir, 'events.json'), line: 3 },
    ]);
    // the malformed line is reported with its place, and the scan goes on
    expect(c.err.some((l) => l.startsWith(`${join(dir, 'events.jsonl')}:3: malformed event: invalid JSON: `))).toBe(true);
    expect(c.err.at(-1)).toMatch(/^5 events in 2 inputs \(1 malformed, skipped\): 3 detections by 1 of 1 rules, [\d.]+ s \([\d,]+ events\/s\)$/);
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
      `${join(dir, 'events.json')}:2  high           Whoami  (11111111-1111-4111-8111-111111111111)`,
      `${join(dir, 'events.json')}:3  high           Whoami  (11111111-1111-4111-8111-111111111111)`,
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
    expect(c.err[0]).toBe("note: 1 rule: category 'file_access' has no channel/EventID data, so it matches only events without a Channel");
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
