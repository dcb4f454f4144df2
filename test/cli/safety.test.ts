import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { SIGMAHQ } from '../helpers/corpus.js';

/**
 * A hostile rule or event must not hang or crash a scan. These tests have no time limits of their
 * own beyond vitest's (a backtracking engine would not finish them at all).
 */

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), json: (o: unknown) => out.push(JSON.stringify(o)) } };
}

let n = 0;
const rule = (title: string, detection: string) => `title: ${title}
id: 00000000-0000-4000-8000-${String(++n).padStart(12, '0')}
logsource: {product: windows, category: process_creation}
detection:
${detection}
---
`;

const HOSTILE_RULES = [
  rule('nested quantifier', "  sel: {CommandLine|re: '(a+)+$'}\n  condition: sel"),
  rule('alternation loop', "  sel: {CommandLine|re|i: '(A|a)*(a|b)*c'}\n  condition: sel"),
  rule('counted repetition', "  sel: {CommandLine|re: '(a{1,30}){1,30}b'}\n  condition: sel"),
  rule('many stars', "  sel: {CommandLine: '*a*a*a*a*a*a*a*a*a*b'}\n  condition: sel"),
  rule('keyword stars', "  kw: ['a*a*a*a*a*a*a*a*a*a*b']\n  condition: kw"),
  rule('matches', "  sel: {CommandLine|re: '(a+)+!$'}\n  condition: sel"),
].join('');

function temp(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-safety-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('hostile rules', () => {
  it('catastrophic-backtracking patterns run in linear time', async () => {
    const ev = JSON.stringify({ Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, CommandLine: 'a'.repeat(300_000) + '!' });
    const dir = temp({ 'r.yml': HOSTILE_RULES, 'e.jsonl': ev + '\n' });
    const c = capture();
    expect(await main(['scan', '--logsource', 'windows/process_creation', '--rules', join(dir, 'r.yml'), '--json', join(dir, 'e.jsonl')], c.io)).toBe(0);
    expect(c.out.map((l) => JSON.parse(l).title)).toEqual(['matches']);
  }, 120_000);

  it('a pattern no linear-time engine can run is refused at load, with its place; the others still run', async () => {
    const dir = temp({
      'r.yml': rule('lookahead', "  sel: {CommandLine|re: 'a(?=b)'}\n  condition: sel") + rule('plain', "  sel: {CommandLine|contains: 'ab'}\n  condition: sel"),
      'e.jsonl': JSON.stringify({ CommandLine: 'ab' }) + '\n',
    });
    const c = capture();
    expect(await main(['scan', '--logsource', 'windows/process_creation', '--rules', join(dir, 'r.yml'), '--json', join(dir, 'e.jsonl')], c.io)).toBe(1);
    expect(c.err[0]).toBe(
      `${join(dir, 'r.yml')}:5:25: error: invalid regular expression /a(?=b)/: lookahead and lookbehind are not supported (RE2, which KQL uses, has neither; the evaluator matches in linear time)`,
    );
    expect(c.out.map((l) => JSON.parse(l).title)).toEqual(['plain']);
  });
});

describe('hostile events', () => {
  const RULES = rule('whoami', "  sel: {CommandLine|contains: 'whoami'}\n  condition: sel");
  const good = JSON.stringify({ CommandLine: 'whoami /all' });

  it('deep nesting is refused before parsing, and the scan goes on', async () => {
    const deep = '{"a":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}';
    const dir = temp({ 'r.yml': RULES, 'e.jsonl': `${deep}\n${good}\n` });
    const c = capture();
    expect(await main(['scan', '--logsource', 'windows/process_creation', '--rules', join(dir, 'r.yml'), '--json', '--max-event-bytes', String(4 << 20), join(dir, 'e.jsonl')], c.io)).toBe(0);
    expect(c.err).toContain(`${join(dir, 'e.jsonl')}:1: malformed event: nested deeper than 32 levels`);
    expect(c.out.map((l) => JSON.parse(l).line)).toEqual([2]);
  }, 120_000);

  it('invalid UTF-8 is read as U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from('{"CommandLine":"whoami '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}\n')]);
    const dir = temp({ 'r.yml': RULES, 'e.jsonl': bytes });
    const c = capture();
    expect(await main(['scan', '--logsource', 'windows/process_creation', '--rules', join(dir, 'r.yml'), '--json', '--include-event', join(dir, 'e.jsonl')], c.io)).toBe(0);
    expect(JSON.parse(c.out[0]!).event.CommandLine).toBe('whoami \ufffd(\ufffd');
  });

  it('a 10 MB string is skipped by default, and evaluated when allowed', async () => {
    const big = JSON.stringify({ Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd /c whoami & '.repeat(655_360) });
    const dir = temp({ 'r.yml': RULES, 'e.jsonl': `${big}\n${good}\n` });
    const c = capture();
    expect(await main(['scan', '--logsource', 'windows/process_creation', '--rules', join(dir, 'r.yml'), '--json', join(dir, 'e.jsonl')], c.io)).toBe(0);
    expect(c.err).toContain(`${join(dir, 'e.jsonl')}:1: malformed event: event longer than 1048576 bytes (skipped; raise --max-event-bytes to read it)`);
    expect(c.out.map((l) => JSON.parse(l).line)).toEqual([2]);
    const rules = existsSync(SIGMAHQ) ? SIGMAHQ : join(dir, 'r.yml');
    const all = capture();
    expect(await main(['scan', '--logsource', 'windows/process_creation', '--rules', rules, '--json', '--max-event-bytes', String(16 << 20), join(dir, 'e.jsonl')], all.io)).toBe(0);
    expect(all.err.at(-1)).toMatch(/^2 events in 1 input: /);
  }, 300_000);

  it.skipIf(!existsSync(SIGMAHQ))('endless channel and EventID variety stays cheap (one index per log source, not per EventID)', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const channel = ['Security', 'System', 'Microsoft-Windows-Sysmon/Operational', `Custom-${i % 50}`][i % 4];
      lines.push(JSON.stringify({ Channel: channel, EventID: 10_000 + i, CommandLine: 'whoami /all', TargetUserName: 'bob' }));
    }
    const dir = temp({ 'e.jsonl': lines.join('\n') + '\n' });
    const c = capture();
    expect(await main(['scan', '--rules', SIGMAHQ, '--json', join(dir, 'e.jsonl')], c.io)).toBe(0);
    expect(c.err.at(-1)).toMatch(/^3,000 events in 1 input: /);
  }, 300_000);
});
