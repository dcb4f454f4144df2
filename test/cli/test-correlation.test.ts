import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture } from '../helpers/cli.js';

const RULES = `title: Failed logon
name: failed_logon
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4625}
  condition: selection
---
title: Many failed logons
id: 22222222-2222-4222-8222-222222222222
correlation: {type: event_count, rules: [failed_logon], group-by: [TargetUserName], timespan: 5m, condition: {gte: 2}}
tests:
  - name: two in a minute
    events:
      - {'@timestamp': '2026-12-07T10:00:00Z', EventID: 4625, TargetUserName: alice}
      - {'@timestamp': '2026-12-07T10:01:00Z', EventID: 4625, TargetUserName: alice}
    hits:
      - {group: {TargetUserName: alice}, end: '2026-12-07T10:01:00Z', value: 2}
  - name: wrong expectation
    events:
      - {'@timestamp': '2026-12-07T10:00:00Z', EventID: 4625, TargetUserName: alice}
      - {'@timestamp': '2026-12-07T10:01:00Z', EventID: 4625, TargetUserName: alice}
      - {'@timestamp': '2026-12-07T10:01:00Z', EventID: 4625, TargetUserName: bob}
    hits:
      - {group: {TargetUserName: alice}, end: '2026-12-07T10:00:00Z'}
  - name: no time
    events:
      - {EventID: 4625, TargetUserName: alice}
    hits: []
`;

describe('rulec test: correlation rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-test-corr-'));
  writeFileSync(join(dir, 'r.yml'), RULES);

  it('runs inline tests: a stream of events and exactly the expected hits', async () => {
    const c = capture();
    expect(await main(['test', '--json', join(dir, 'r.yml')], c.io)).toBe(1);
    const cases = c.out.map((l) => JSON.parse(l)).map((x) => [x.name.split(' › ')[1], x.ok, x.message]);
    expect(cases).toEqual([
      ['two in a minute', true, undefined],
      [
        'wrong expectation',
        false,
        'expected hit {"TargetUserName":"alice"} at 2026-12-07T10:00:00.000Z (line 24): none\nunexpected hit {"TargetUserName":"alice"} at 2026-12-07T10:01:00.000Z (value 2)',
      ],
      ['no time', false, 'event 1: it has no time field (looked for @timestamp, TimeGenerated, Timestamp, UtcTime, timestamp, _time, EventTime; name another with --time-field)'],
    ]);
  });

  it('runs manifest cases that name a correlation: at least min_matches hits', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rulec-manifest-corr-'));
    mkdirSync(join(root, 'rules'));
    mkdirSync(join(root, 'regression'));
    writeFileSync(join(root, 'rules', 'r.yml'), RULES);
    const ev = (t: string, u: string) => JSON.stringify({ '@timestamp': t, EventID: 4625, TargetUserName: u });
    writeFileSync(join(root, 'regression', 'e.jsonl'), [ev('2026-12-07T10:00:00Z', 'a'), ev('2026-12-07T10:00:01Z', 'a'), ev('2026-12-07T10:00:02Z', 'b')].join('\n'));
    const manifest = join(root, 'regression', 'manifest.json');
    const id = '22222222-2222-4222-8222-222222222222';
    writeFileSync(manifest, JSON.stringify({ cases: [{ rule: 'rules/r.yml', rule_id: id, events: 'e.jsonl' }, { rule: 'rules/r.yml', rule_id: id, events: 'e.jsonl', min_matches: 2, title: 'two' }] }));
    const c = capture();
    expect(await main(['test', '--json', '--manifest', manifest], c.io)).toBe(1);
    expect(c.out.map((l) => JSON.parse(l)).map((x) => [x.ok, x.message])).toEqual([
      [true, undefined],
      [false, 'the correlation gave 1 hit over the 3 events, expected at least 2'],
    ]);
  });
});
