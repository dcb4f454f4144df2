/**
 * `rulec scan --jobs N`: worker threads evaluate the events, the main thread prints what they
 * found in input order; the output must be byte for byte that of one thread. (The workers run the
 * build, dist/eval/scan-worker.js: `npm test` builds first.)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchEvents, loadSamples } from '../../bench/events.js';
import { main } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const BIN = new URL('../../bin/rulec.js', import.meta.url).pathname;
const SHARED = new URL('../../../shared/sigmahq/', import.meta.url).pathname;

function capture(stdin?: Buffer[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l), json: (o) => out.push(JSON.stringify(o)) };
  if (stdin !== undefined) io.stdin = (async function* () { yield* stdin; })();
  return { out, err, io };
}

/** stdout, and stderr without its last line (timings and the thread count). */
async function scan(args: string[], jobs: number, stdin?: Buffer[]): Promise<{ status: number; out: string; err: string[] }> {
  const c = capture(stdin);
  const status = await main(['scan', '--jobs', String(jobs), ...args], c.io);
  expect(c.err.at(-1)).toMatch(jobs > 1 ? new RegExp(`events/s on ${jobs} threads\\)`) : /events\/s\)/);
  return { status, out: c.out.map((l) => l + '\n').join(''), err: c.err.slice(0, -1) };
}

const dir = mkdtempSync(join(tmpdir(), 'rulec-jobs-'));
const samples = readdirSync(`${SHARED}regression`).filter((f) => f.endsWith('.jsonl')).sort().map((f) => `${SHARED}regression/${f}`);
// Every regression sample in one file, then as one JSON array (over several lines), and malformed lines among them.
const lines = samples.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()));
writeFileSync(join(dir, 'samples.jsonl'), lines.flatMap((l, i) => (i % 17 === 5 ? ['{broken', l] : [l])).join('\r\n'));
writeFileSync(join(dir, 'samples.json'), `[\n${lines.join(',\n')}\n]\n`);

describe('rulec scan --jobs', () => {
  it('prints the same table, JSON and events with 2 threads as with 1, over the regression samples (JSON Lines and a JSON array)', async () => {
    const inputs = [join(dir, 'samples.jsonl'), join(dir, 'samples.json'), ...samples.slice(0, 20)];
    const rules = `${SHARED}rules/windows/process_creation`;
    for (const flags of [[], ['--json', '--include-event'], ['--no-index', '--min-level', 'high']]) {
      const one = await scan(['--rules', rules, ...flags, ...inputs], 1);
      const two = await scan(['--rules', rules, ...flags, ...inputs], 2);
      expect(two.out, flags.join(' ')).toBe(one.out);
      expect(two.err).toEqual(one.err);
      expect(two.status).toBe(one.status);
      expect(one.out.split('\n').length, 'detections to compare').toBeGreaterThan(50);
    }
  }, 120_000);

  it('reads standard input in batches, in order, with the malformed-event notes in place', async () => {
    const text = Buffer.from(lines.flatMap((l, i) => (i % 11 === 3 ? [l, '[1]'] : [l])).join('\n'));
    // Chunks that cut lines anywhere, as a pipe delivers them.
    const chunks = (): Buffer[] => Array.from({ length: Math.ceil(text.length / 4093) }, (_, i) => text.subarray(i * 4093, (i + 1) * 4093));
    const one = await scan(['--rules', `${SHARED}rules/windows/process_creation`, '--json', '-'], 1, chunks());
    const two = await scan(['--rules', `${SHARED}rules/windows/process_creation`, '--json', '-'], 2, chunks());
    expect(two.out).toBe(one.out);
    expect(two.err).toEqual(one.err);
    expect(one.err.filter((l) => l.includes('malformed event: not a JSON object (an array)')).length).toBeGreaterThan(5);
  }, 60_000);

  it('prints the same with 2 threads as with 1 over 20,000 generated events and the whole SigmaHQ corpus', async () => {
    const file = join(dir, 'events20k.jsonl');
    writeFileSync(file, [...benchEvents(loadSamples(`${SHARED}regression`), 20_000, 3)].join('\n') + '\n');
    const one = await scan(['--rules', `${SHARED}rules`, '--json', file], 1);
    const two = await scan(['--rules', `${SHARED}rules`, '--json', file], 2);
    expect(two.out).toBe(one.out);
    expect(two.err).toEqual(one.err);
    // Detections all through the file: batches of every worker were merged.
    const at = one.out.trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line);
    expect(at.length).toBeGreaterThan(10_000);
    expect(Math.max(...at)).toBeGreaterThan(19_000);
  }, 180_000);

  it('notes the first event without a log source once, at its line, when it is ranges into the file, as one thread does', async () => {
    // Windows events (with a Channel) for more than a range, then flat events for two more ranges.
    const windows: string[] = [];
    for (let size = 0; size < 1.5 * 1048576; ) for (const l of lines) if (l.startsWith('{')) (windows.push(l), (size += l.length + 1));
    const flat = Array.from({ length: 24_000 }, (_, i) => JSON.stringify({ Image: 'C:\\Windows\\System32\\whoami.exe', CommandLine: `whoami /all ${i}`, Computer: `pc${i % 7}` }));
    const file = join(dir, 'no-origin.jsonl');
    writeFileSync(file, [...windows, ...flat].join('\n') + '\n');
    const rules = `${SHARED}rules/windows/process_creation`;
    for (const flags of [['--json'], ['--json', '--logsource', 'windows/process_creation']]) {
      const one = await scan(['--rules', rules, ...flags, file], 1);
      const two = await scan(['--rules', rules, ...flags, file], 2);
      expect(two.out, flags.join(' ')).toBe(one.out);
      expect(two.err).toEqual(one.err);
      const notes = one.err.filter((l) => l.includes('carries no log source'));
      if (flags.includes('--logsource')) {
        expect(notes).toEqual([]);
        // The flat events match with the log source given: detections from all their ranges.
        expect(one.out.split('\n').filter((l) => l.includes(`"line":${windows.length + flat.length}`)).length).toBeGreaterThan(0);
      } else expect(notes.map((l) => l.split(': ')[1])).toEqual([`${file}:${windows.length + 1}`]);
    }
  }, 120_000);

  it('reads every kind of JSON Lines file in byte ranges as one thread reads it: empty, blank, one line, no final newline, CRLF, lines longer than a range', async () => {
    // A range is 1 MiB: the long lines and the 3 MiB file make lines start, end and straddle range edges.
    const event = lines[0]!;
    /** The event with a padding field, `length` bytes long in all. */
    const padded = (length: number): string => {
      const e = JSON.parse(event) as { Event: { EventData: Record<string, unknown> } };
      e.Event.EventData.Padding = '';
      const bare = Buffer.byteLength(JSON.stringify(e));
      e.Event.EventData.Padding = 'p'.repeat(length - bare);
      return JSON.stringify(e);
    };
    // Pairs of a padded line and the event, CRLF after each; the k-th pair ends 1 byte before, at
    // and 1 byte after the end of the k-th range.
    const edges: string[] = [];
    for (let k = 0, at = 0; k < 3; k++) {
      const end = (k + 1) * 1_048_576 + (k - 1);
      const line = padded(end - at - Buffer.byteLength(event) - 4);
      edges.push(line + '\r\n', event + '\r\n');
      at = end;
    }
    const files: Record<string, string> = {
      'empty.jsonl': '',
      'blank.jsonl': '\n\r\n  \n',
      'one.jsonl': event,
      'one-nl.jsonl': event + '\n',
      'crlf.jsonl': lines.slice(0, 40).join('\r\n'),
      'huge.jsonl': [event, padded(2_500_000), event, padded(1_048_000), event].join('\n'),
      'edges.jsonl': edges.join(''),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect(Buffer.byteLength(files['edges.jsonl']!)).toBe(3 * 1_048_576 + 1);
    const inputs = Object.keys(files).map((f) => join(dir, f));
    const rules = `${SHARED}rules/windows/process_creation`;
    const one = await scan(['--rules', rules, '--json', '--max-event-bytes', String(4 << 20), ...inputs], 1);
    const two = await scan(['--rules', rules, '--json', '--max-event-bytes', String(4 << 20), ...inputs], 2);
    expect(two.out).toBe(one.out);
    expect(two.err).toEqual(one.err);
    const seen = new Set(one.out.trim().split('\n').map((l) => { const d = JSON.parse(l) as { file: string; line: number }; return `${d.file.slice(dir.length + 1)}:${d.line}`; }));
    // The event matches, padded or not: every event of these files is found, at its line.
    const expected = ['one.jsonl:1', 'one-nl.jsonl:1', 'crlf.jsonl:1', 'huge.jsonl:1', 'huge.jsonl:2', 'huge.jsonl:3', 'huge.jsonl:4', 'huge.jsonl:5', ...[1, 2, 3, 4, 5, 6].map((n) => `edges.jsonl:${n}`)];
    for (const at of expected) expect(seen, at).toContain(at);
  }, 120_000);

  it('leaves out a rule that cannot be evaluated, reported once, and runs the rules after it as one thread does', async () => {
    const rule = (title: string, detection: string): string =>
      `title: ${title}\nlogsource: {product: windows, category: process_creation}\ndetection: {s: ${detection}, condition: s}\n`;
    const file = join(dir, 'refused.yml');
    // The middle rule's regex is too large for the linear-time engine: the workers keep it, unchecked,
    // and the rules after it must still be the ones they run.
    writeFileSync(file, [rule('Any image', "{Image|contains: '\\'}"), rule('Refused', "{CommandLine|re: '(a{1000}){1000}'}"), rule('Any command line', "{CommandLine|contains: ' '}")].join('---\n'));
    const one = await scan(['--rules', file, join(dir, 'samples.jsonl')], 1);
    const two = await scan(['--rules', file, join(dir, 'samples.jsonl')], 2);
    expect(two.out).toBe(one.out);
    expect(two.err).toEqual(one.err);
    expect(one.status).toBe(1);
    expect(one.err.filter((l) => l.includes("cannot evaluate rule 'Refused'"))).toHaveLength(1);
    expect(one.out).toMatch(/Any image[\s\S]*Any command line|Any command line[\s\S]*Any image/);
  }, 60_000);

  it('ends on a usage error found after the workers started (they never keep the process alive)', () => {
    // --min-level is checked after the workers are started (they load their code while the rules load).
    const r = spawnSync(process.execPath, [BIN, 'scan', '--jobs', '2', '--rules', RULES, '--min-level', 'severe', join(dir, 'samples.jsonl')], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--min-level: unknown level 'severe'");
  }, 40_000);

  it('refuses a --jobs that is not a positive whole number', async () => {
    const c = capture();
    expect(await main(['scan', '--rules', RULES, '--jobs', '0', join(dir, 'samples.jsonl')], c.io)).toBe(2);
    expect(c.err[0]).toContain("--jobs must be a positive whole number, got '0'");
  });
});
