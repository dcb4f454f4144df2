/**
 * The build record's check of files stamped within the change window (build-record.ts): such a
 * file is trusted only when its bytes still hash to what the build left in it, and once checked
 * the record is stamped again so that the next rebuild trusts its stat.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildRecorder, recheck, replayBuild } from '../../src/cli/build-record.js';
import { decode, RuleCache, stampOf, unchanged, type FileStamp } from '../../src/collection/cache.js';
import { capture } from '../helpers/cli.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'rulec-record-'));
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('build record: files stamped within the change window', () => {
  it('recheck trusts a file by its content only when it hashes to the recorded SHA-256 and its stat is the recorded one', () => {
    const f = join(tmp(), 'a.kql');
    writeFileSync(f, 'SecurityEvent | where EventID == 4688\n');
    const before = Date.now();
    // stamped as a build stamps what it has just written: inside the window, so its stat alone is not trusted
    const stamp = stampOf(statSync(f), statSync(f).mtimeMs, sha('SecurityEvent | where EventID == 4688\n'));
    expect(unchanged(statSync(f), stamp)).toBe(false);
    const buffer = { bytes: Buffer.alloc(4) }; // smaller than the file: read in several pieces
    const again = recheck(f, stamp, buffer);
    expect(again).toMatchObject({ size: stamp.size, mtimeMs: stamp.mtimeMs, ino: stamp.ino, sha: stamp.sha });
    expect(again!.read).toBeGreaterThanOrEqual(before);
    // the same stat with other bytes (what a change within the file system's timestamp tick looks like)
    expect(recheck(f, { ...stamp, sha: sha('SecurityEvent | where EventID == 4689\n') }, buffer)).toBeUndefined();
    // no hash recorded: only a build can say
    expect(recheck(f, { ...stamp, sha: '' }, buffer)).toBeUndefined();
    // another stat
    expect(recheck(f, { ...stamp, size: stamp.size + 1 }, buffer)).toBeUndefined();
    expect(recheck(join(f, '..', 'gone.kql'), stamp, buffer)).toBeUndefined();
  });

  it('a record whose file in the window holds other bytes is not replayed; one whose file holds the same is, and is stamped again', () => {
    const dir = tmp();
    const rules = join(dir, 'rules');
    const rule = join(rules, 'r.yml');
    const out = join(dir, 'q.kql');
    mkdirSync(rules, { recursive: true });
    writeFileSync(rule, 'title: t\n');
    writeFileSync(out, 'query\n');
    const cache = new RuleCache(join(dir, 'cache'));
    const record = (outSha: string): void => {
      const printed = capture();
      // stamped when they were written, as a build stamps its outputs: inside the window
      const recorder = new BuildRecorder(cache, 'key', statSync(out).mtimeMs, printed.io);
      recorder.io.err('kusto/sentinel: 1 rule: 1 compiled');
      recorder.watch(out, undefined, outSha);
      recorder.save([rule], 0, new Map([[rule, stampOf(statSync(rule), statSync(rule).mtimeMs, sha('title: t\n'))]]));
    };
    const replay = (): { status: number | undefined; err: string[] } => {
      const c = capture();
      return { status: replayBuild(cache, 'key', [rules], c.io), err: c.err };
    };
    record(sha('other query\n'));
    expect(replay()).toEqual({ status: undefined, err: [] });
    record(sha('query\n'));
    expect(replay()).toEqual({ status: 0, err: ['kusto/sentinel: 1 rule: 1 compiled'] });
    // stamped again: both files' stamps now say when the replay checked them
    const [entry] = cache.read<0>(cache.path('build', 'key'))!;
    const watched = new Map(decode<{ watched: [string, FileStamp][] }>(entry!.blob).watched);
    expect(watched.get(out)!.read).toBeGreaterThan(statSync(out).mtimeMs);
    expect(watched.get(rule)!.read).toBeGreaterThan(statSync(rule).mtimeMs);
    expect(replay().status).toBe(0);
  });
});
