import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture } from '../helpers/cli.js';

function temp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-scan-corr-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const BASE = `title: Failed logon
name: failed_logon
id: 11111111-1111-4111-8111-111111111111
level: low
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4625}
  condition: selection
`;

const corr = (generate: boolean) => `${BASE}---
title: Many failed logons
id: 22222222-2222-4222-8222-222222222222
level: high
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 3}
  generate: ${generate}
`;

const logon = (time: string | undefined, user: string) =>
  JSON.stringify({
    Event: {
      System: { EventID: 4625, Channel: 'Security', Computer: 'dc1', ...(time ? { TimeCreated: { '#attributes': { SystemTime: time } } } : {}) },
      EventData: { TargetUserName: user },
    },
  });

const EVENTS = [
  logon('2024-05-01T10:00:00.000Z', 'alice'),
  logon('2024-05-01T10:01:00.000Z', 'alice'),
  logon('2024-05-01T10:01:30.000Z', 'bob'),
  logon('2024-05-01T10:02:00.000Z', 'alice'),
  logon('2024-05-01T10:03:00.000Z', 'alice'),
].join('\n');

describe('rulec scan: correlation rules', () => {
  const dir = temp({ 'r.yml': corr(false), 'g.yml': corr(true), 'e.jsonl': EVENTS + '\n' });

  it('--json prints one record per hit, with its group, window, value and events as file:line', async () => {
    const c = capture();
    expect(await main(['scan', '--json', '-r', join(dir, 'r.yml'), join(dir, 'e.jsonl')], c.io), c.err.join('\n')).toBe(0);
    const e = join(dir, 'e.jsonl');
    // generate: false, so the four failed logons are not detections of their own.
    expect(c.out.map((l) => JSON.parse(l))).toEqual([
      {
        kind: 'correlation',
        rule: { id: '22222222-2222-4222-8222-222222222222', title: 'Many failed logons' },
        level: 'high',
        type: 'event_count',
        group: { TargetUserName: 'alice' },
        window: { start: '2024-05-01T09:57:00.000Z', end: '2024-05-01T10:02:00.000Z' },
        value: 3,
        events: [`${e}:1`, `${e}:2`, `${e}:4`],
      },
    ]);
    expect(c.err.at(-1)).toMatch(/0 detections by 0 of 1 rules, 1 correlation hit by 1 of 1 correlations/);
  });

  it('--include-event gives each event whole, with its time and the rules it matched', async () => {
    const c = capture();
    await main(['scan', '--json', '--include-event', '-r', join(dir, 'r.yml'), join(dir, 'e.jsonl')], c.io);
    const hit = JSON.parse(c.out[0]!);
    expect(hit.events[0]).toEqual({ file: join(dir, 'e.jsonl'), line: 1, time: '2024-05-01T10:00:00.000Z', rules: ['11111111-1111-4111-8111-111111111111'], event: JSON.parse(EVENTS.split('\n')[0]!) });
  });

  it('the text output lists hits in the table and the summary', async () => {
    const c = capture();
    await main(['scan', '-r', join(dir, 'r.yml'), join(dir, 'e.jsonl')], c.io);
    expect(c.out[0]).toBe(
      `${join(dir, 'e.jsonl')}:4  2024-05-01T10:02:00.000Z  -  high           Many failed logons  (22222222-2222-4222-8222-222222222222)  [event_count TargetUserName=alice: value 3, 3 events since 2024-05-01T09:57:00.000Z]`,
    );
    expect(c.out.slice(1)).toEqual(['', 'matches  level          rule', '      1  high           Many failed logons [event_count]  (22222222-2222-4222-8222-222222222222)']);
  });

  it('generate: true, or --all-matches, reports the referenced rule too', async () => {
    for (const args of [['-r', join(dir, 'g.yml')], ['-r', join(dir, 'r.yml'), '--all-matches']]) {
      const c = capture();
      await main(['scan', '--json', ...args, join(dir, 'e.jsonl')], c.io);
      const kinds = c.out.map((l) => JSON.parse(l)).map((o) => (o.kind === 'detection' ? o.title : o.kind));
      expect(kinds.filter((k) => k === 'Failed logon')).toHaveLength(5);
      expect(kinds.filter((k) => k === 'correlation')).toHaveLength(1);
    }
  });

  it('an event without a time, or out of order, is an error with its file:line, and the scan exits 1', async () => {
    const d = temp({ 'e.jsonl': [logon('2024-05-01T10:00:00Z', 'a'), logon(undefined, 'a'), logon('2024-05-01T09:00:00Z', 'a'), logon('bad', 'a')].join('\n') });
    const c = capture();
    expect(await main(['scan', '--json', '-r', join(dir, 'r.yml'), join(d, 'e.jsonl')], c.io)).toBe(1);
    const e = join(d, 'e.jsonl');
    expect(c.err.filter((l) => l.includes(': error: '))).toEqual([
      `${e}:2: error: event cannot be correlated (rule 'Failed logon' matched it): it has no time field (looked for TimeCreated_SystemTime; name another with --time-field)`,
      `${e}:3: error: event cannot be correlated: the event's time 2024-05-01T09:00:00.000Z is before 2024-05-01T10:00:00.000Z, the latest time seen: correlations read events in time order (sort the input, or allow a reorder window)`,
      `${e}:4: error: event cannot be correlated (rule 'Failed logon' matched it): its time field TimeCreated_SystemTime holds "bad", not a timestamp (ISO 8601, e.g. 2024-05-01T22:10:03.123Z)`,
    ]);
  });

  it('--reorder puts late events back in order; --time-field reads another field', async () => {
    const flat = (t: string) => JSON.stringify({ EventID: 4625, TargetUserName: 'alice', When: t });
    const d = temp({ 'e.jsonl': [flat('2024-05-01T10:02:00Z'), flat('2024-05-01T10:00:00Z'), flat('2024-05-01T10:01:00Z')].join('\n') });
    const c = capture();
    const args = ['scan', '--json', '-r', join(dir, 'r.yml'), '--logsource', 'windows//security', '--time-field', 'When', join(d, 'e.jsonl')];
    expect(await main([...args, '--reorder', '2m'], c.io), c.err.join('\n')).toBe(0);
    expect(c.out.map((l) => JSON.parse(l).window)).toEqual([{ start: '2024-05-01T09:57:00.000Z', end: '2024-05-01T10:02:00.000Z' }]);
    const late = capture();
    expect(await main([...args, '--reorder', '1m'], late.io)).toBe(1);
    const bad = capture();
    expect(await main([...args, '--reorder', 'soon'], bad.io)).toBe(2);
  });

  it('each input file is correlated on its own', async () => {
    const lines = EVENTS.split('\n');
    const d = temp({ 'a.jsonl': lines.slice(0, 2).join('\n'), 'b.jsonl': lines.slice(2).join('\n') });
    const c = capture();
    expect(await main(['scan', '--json', '-r', join(dir, 'r.yml'), join(d, 'a.jsonl'), join(d, 'b.jsonl')], c.io)).toBe(0);
    expect(c.out).toEqual([]);
  });

  it('a correlation whose rule cannot run is an error naming it', async () => {
    const d = temp({
      'r.yml': `${BASE.replace("{EventID: 4625}", "{CommandLine|re: '(?<=a)b'}")}---\ntitle: Many\ncorrelation: {type: event_count, rules: [failed_logon], group-by: [User], timespan: 5m, condition: {gte: 3}}\n---\ntitle: Other\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 1}, condition: s}\n`,
    });
    const c = capture();
    expect(await main(['scan', '-r', join(d, 'r.yml'), join(dir, 'e.jsonl')], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/r\.yml:\d+:\d+: error: correlation 'Many' cannot run: it refers to rule 'failed_logon', which /);
  });
});

describe('rulec scan: correlations and --logsource', () => {
  it('a correlation whose rule --logsource leaves out is named, not silently idle', async () => {
    const rules = new URL('../../rules', import.meta.url).pathname;
    const d = temp({ 'e.jsonl': JSON.stringify({ '@timestamp': '2026-12-07T10:00:00Z', EventID: 4625, TargetUserName: 'alice' }) });
    const c = capture();
    expect(await main(['scan', '-r', rules, '--logsource', 'windows//security', join(d, 'e.jsonl')], c.io)).toBe(0);
    expect(c.err.filter((l) => l.includes('cannot hit'))).toEqual([
      "note: correlation 'Discovery Command Followed by an Encoded PowerShell Download' cannot hit: its rule 'Reconnaissance Command' is not of log source windows//security (--logsource), so it does not run",
    ]);
  });

  it('gives the same hits and detections on 2 threads as on 1, over events spread across batches', async () => {
    // 6,000 failed logons of 40 users, a second apart, with a few malformed lines between: the
    // correlation's input comes back from the workers in batches and must be fed in input order.
    const lines: string[] = [];
    const t0 = Date.parse('2024-05-01T10:00:00.000Z');
    for (let i = 0; i < 6000; i++) {
      lines.push(logon(new Date(t0 + i * 1000).toISOString(), `user${(i * 7) % 40}`));
      if (i % 997 === 0) lines.push('{not json');
    }
    const dir = temp({ 'g.yml': corr(true) });
    const big = join(dir, 'big.jsonl');
    writeFileSync(big, lines.join('\n') + '\n');
    const run = async (jobs: string, extra: string[]) => {
      const c = capture();
      const status = await main(['scan', ...extra, '--jobs', jobs, '-r', join(dir, 'g.yml'), big], c.io);
      return { status, out: c.out.join('\n'), err: c.err.filter((l) => !/ s \(/.test(l)).join('\n') };
    };
    for (const extra of [['--json'], ['--json', '--include-event'], []]) {
      const one = await run('1', extra);
      const two = await run('2', extra);
      expect(two).toEqual(one);
      expect(one.out).toMatch(/correlation|Many failed logons/);
    }
  }, 120_000);
});
