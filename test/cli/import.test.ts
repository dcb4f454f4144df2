/** `rulec import --from kusto`: records, files under --out, standard input, exit statuses. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { decode, encode, readPack, writePack } from '../../src/collection/cache.js';
import type { Output } from '../../src/cli/output.js';

function capture(stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const json: Record<string, unknown>[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l), json: (o) => json.push(o as Record<string, unknown>) };
  if (stdin !== undefined) io.stdin = (async function* () { yield Buffer.from(stdin); })();
  return { io, out, err, json };
}

const GOOD = 'DeviceProcessEvents\n| where FileName =~ "whoami.exe"\n';
const BAD = 'DeviceProcessEvents\n| join (DeviceFileEvents) on DeviceId\n';

describe('rulec import', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-import-'));
  writeFileSync(join(dir, 'whoami-run.kql'), GOOD);
  writeFileSync(join(dir, 'joined.kql'), BAD);
  writeFileSync(join(dir, 'notes.txt'), 'not a query');

  it('--json: one record per input of a folder (a .txt only when named); exit 1 when one is refused', async () => {
    const c = capture();
    expect(await main(['import', '--from', 'kusto', '--json', dir], c.io)).toBe(1);
    expect(c.json.map((r) => [r.path, r.ok, r.kind])).toEqual([
      [join(dir, 'joined.kql'), false, 'unsupported'],
      [join(dir, 'whoami-run.kql'), true, undefined],
    ]);
    expect(c.json[0]!.error).toBe(`${join(dir, 'joined.kql')}:2:3: join: a join of two tables; a detection rule reads one log source`);
    expect(c.json[0]!.construct).toBe('join');
    expect(c.json[1]!.rule).toContain("title: Whoami run\n");
  });

  it('stdout: the rule as a YAML document; exit 0', async () => {
    const c = capture();
    expect(await main(['import', '--from', 'kusto', join(dir, 'whoami-run.kql')], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/^---\n# Imported by rulec import --from kusto from .*whoami-run.kql\n/);
    expect(c.out.join('\n')).toContain('    FileName: whoami.exe');
  });

  it('- reads a query from standard input', async () => {
    const c = capture(GOOD);
    expect(await main(['import', '--from', 'kusto', '--json', '-'], c.io)).toBe(0);
    expect(c.json[0]).toMatchObject({ path: '-', ok: true });
  });

  it('--out: one file named from the title; a file rulec did not write is never overwritten', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rulec-import-out-'));
    const c = capture();
    expect(await main(['import', '--from', 'kusto', '--out', out, join(dir, 'whoami-run.kql')], c.io)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.rulec-manifest.json', 'whoami_run.yml']);
    expect(readFileSync(join(out, 'whoami_run.yml'), 'utf8')).toContain('table: DeviceProcessEvents');
    writeFileSync(join(out, 'whoami_run.yml'), 'edited by hand\n');
    const again = capture();
    expect(await main(['import', '--from', 'kusto', '--out', out, join(dir, 'whoami-run.kql')], again.io)).toBe(1);
    expect(readFileSync(join(out, 'whoami_run.yml'), 'utf8')).toBe('edited by hand\n');
    expect(again.err.join('\n')).toContain('whoami_run.yml: not written: it was changed since rulec wrote it');
  });

  it('a native rule on a table no log source maps checks without warnings and builds with --validate', async () => {
    const src = join(dir, 'cef.kql');
    writeFileSync(src, 'CommonSecurityLog\n| where DeviceVendor == "Contrast Security" and AdditionalExtensions contains "SUSPICIOUS"\n');
    const out = mkdtempSync(join(tmpdir(), 'rulec-import-cef-'));
    expect(await main(['import', '--from', 'kusto', '--out', out, src], capture().io)).toBe(0);
    const check = capture();
    expect(await main(['check', '--warnings', out], check.io)).toBe(0);
    expect(check.out).toEqual([]);
    const build = capture();
    expect(await main(['build', '--target', 'kusto', '--validate', out], build.io)).toBe(0);
    expect(build.out.join('\n')).toContain('CommonSecurityLog\n| where DeviceVendor == "Contrast Security"');
  });

  it('--cache: a second run takes its results from the cache; an edited input is imported afresh', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'rulec-import-cache-'));
    const src = mkdtempSync(join(tmpdir(), 'rulec-import-cached-'));
    writeFileSync(join(src, 'whoami-run.kql'), GOOD);
    writeFileSync(join(src, 'joined.kql'), BAD);
    const first = capture();
    expect(await main(['import', '--from', 'kusto', '--cache', cache, '--json', src], first.io)).toBe(1);
    const [fp] = readdirSync(cache).filter((d) => /^[0-9a-f]{32}$/.test(d));
    const packs = readdirSync(join(cache, fp!)).filter((f) => f.startsWith('import-'));
    expect(packs).toHaveLength(1);
    // A result changed in the pack is what the next run prints: it was read, not computed again.
    const pack = join(cache, fp!, packs[0]!);
    const entries = readPack<null>(pack)!;
    expect(entries).toHaveLength(2);
    const refused = decode<{ ok: boolean; error: string }>(entries[0]!.blob);
    writePack(pack, [{ ...entries[0]!, blob: encode({ ...refused, error: 'from the cache' }) }, entries[1]!]);
    const second = capture();
    expect(await main(['import', '--from', 'kusto', '--cache', cache, '--json', src], second.io)).toBe(1);
    expect(second.json[0]!.error).toBe('from the cache');
    expect(second.json[1]).toEqual(first.json[1]);
    writeFileSync(join(src, 'joined.kql'), BAD + '| where FileName == "x"\n');
    const edited = capture();
    expect(await main(['import', '--from', 'kusto', '--cache', cache, '--json', src], edited.io)).toBe(1);
    expect(edited.json[0]!.error).toBe(first.json[0]!.error);
    const off = capture();
    expect(await main(['import', '--from', 'kusto', '--no-cache', '--json', src], off.io)).toBe(1);
    expect(off.json).toEqual(edited.json);
  });

  it('usage errors exit 2', async () => {
    expect(await main(['import', '--from', 'splunk', dir], capture().io)).toBe(2);
    expect(await main(['import', '--from', 'kusto', '--fields', 'ecs', dir], capture().io)).toBe(2);
    expect(await main(['import', '--from', 'kusto', join(dir, 'missing.kql')], capture().io)).toBe(2);
  });
});
