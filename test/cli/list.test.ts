import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CATALOG_TARGETS, loadTarget, targetNames } from '../../src/targets/registry.js';
import { capture } from '../helpers/cli.js';

describe('rulec list', () => {
  it('targets, platforms and formats come from the targets themselves', async () => {
    const c = capture();
    expect(await main(['list', 'targets', '--json'], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.map((r) => r.target)).toEqual(targetNames());
    const kusto = await loadTarget('kusto');
    expect(rows.find((r) => r.target === 'kusto')).toEqual({ target: 'kusto', platforms: kusto.platforms, formats: kusto.formats });
    const p = capture();
    expect(await main(['list', 'platforms', '--target', 'spl'], p.io)).toBe(0);
    expect(p.out).toEqual(['spl/sysmon  (default)', 'spl/windows', 'spl/cim']);
    const f = capture();
    expect(await main(['list', 'formats', '--target', 'eql', '--json'], f.io)).toBe(0);
    expect(f.out.map((l) => JSON.parse(l).format)).toEqual(['query', 'elastic-ndjson', 'elastic-toml']);
  });

  it('logsources names the platforms that map each; fields lists what they map for one', async () => {
    const c = capture();
    expect(await main(['list', 'logsources', '--json'], c.io)).toBe(0);
    const pc = c.out.map((l) => JSON.parse(l)).find((r) => r.logsource.product === 'windows' && r.logsource.category === 'process_creation' && !r.logsource.service);
    expect(pc.platforms).toEqual(expect.arrayContaining(['kusto/sentinel', 'kusto/defender-xdr', 'spl/sysmon', 'sigma/taxonomy']));
    const f = capture();
    expect(await main(['list', 'fields', 'windows/process_creation', '--platform', 'defender-xdr'], f.io)).toBe(0);
    expect(f.out).toContain('CommandLine  kusto/defender-xdr');
    expect(f.out.every((l) => l.endsWith('  kusto/defender-xdr'))).toBe(true);
  });

  it('an unknown subject or log source is a usage error with did you mean', async () => {
    const c = capture();
    expect(await main(['list', 'field'], c.io)).toBe(2);
    expect(c.err[0]).toBe("rulec: unknown list 'field' (did you mean 'fields'?); valid: targets, platforms, formats, logsources, fields");
    const l = capture();
    expect(await main(['list', 'fields', 'windows/proccess_creation'], l.io)).toBe(2);
    expect(l.err[0]).toBe('rulec: no platform maps log source windows/proccess_creation; did you mean windows/process_creation? (rulec list logsources)');
  });

  it('CATALOG_TARGETS are exactly the targets with a catalog', async () => {
    const withCatalog = [];
    for (const n of targetNames()) if ((await loadTarget(n)).catalog) withCatalog.push(n);
    expect(withCatalog.sort()).toEqual([...CATALOG_TARGETS].sort());
  });
});

describe('command line papercuts', () => {
  it('-m FILE does not take the rule paths after it', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'rulec-m-'));
    writeFileSync(join(dir, 'map.yml'), 'fields:\n  Image: process.executable\n');
    writeFileSync(join(dir, 'r.yml'), 'title: r\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image: x}\n  condition: sel\n');
    const c = capture();
    expect(await main(['build', '-t', 'ts', '-m', join(dir, 'map.yml'), join(dir, 'r.yml'), '--json'], c.io)).toBe(0);
    expect(c.out).toHaveLength(1);
    expect(JSON.parse(c.out[0]!).query).toContain('process.executable');
  });

  /** Commander writes help to process.stdout itself. */
  async function help(args: string[]): Promise<string> {
    const chunks: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => (chunks.push(s), true)) as typeof process.stdout.write;
    try {
      expect(await main(args, capture().io)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    return chunks.join('');
  }

  it('build --help and list --help list every target with its platforms and formats; scan --help what --mapping reads back', async () => {
    for (const cmd of ['build', 'list']) {
      const text = await help([cmd, '--help']);
      for (const n of targetNames()) {
        const t = await loadTarget(n);
        expect(text).toContain(`${t.name.padEnd(5)}  --platform ${t.platforms.join('|')}  --format ${t.formats.join('|')}`);
      }
    }
    expect(await help(['scan', '--help'])).toContain('--mapping TARGET/PLATFORM reads back: kusto/sentinel, kusto/defender-xdr');
  });
});
