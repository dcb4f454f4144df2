import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture, walk } from '../helpers/cli.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'rulec-targets-'));

/** `build --target a,b` / `all`: the rules loaded once, each target built as its own build would. */
describe('rulec build with several targets', () => {
  it('--target all --out writes each target under DIR/<target>/<platform>/, the same files as one build each', async () => {
    const out = tmp();
    const c = capture();
    expect(await main(['build', '--no-cache', '--target', 'all', '--out', out, RULES], c.io)).toBe(0);
    const files = walk(out);
    for (const dir of ['kusto/sentinel', 'eql/ecs', 'spl/sysmon', 'ts/node']) {
      expect(files).toContain(`${dir}/.rulec-manifest.json`);
      const [target] = dir.split('/');
      const single = tmp();
      expect(await main(['build', '--no-cache', '--target', target!, '--out', single, RULES], capture().io)).toBe(0);
      const own = walk(single);
      expect(files.filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1))).toEqual(own);
      for (const f of own) expect(readFileSync(join(out, dir, f), 'utf8')).toBe(readFileSync(join(single, f), 'utf8'));
    }
    expect(files.some((f) => f.startsWith('ir/'))).toBe(false);
    expect(c.err.filter((l) => /^\w+\/[\w-]+: \d+ rules:/.test(l)).map((l) => l.split(':')[0])).toEqual(['kusto/sentinel', 'eql/ecs', 'spl/sysmon', 'ts/node']);
  }, 120_000);

  it('--platform and --format take target=value pairs; --json rows carry each target and platform', async () => {
    const c = capture();
    const args = ['build', '--no-cache', '--target', 'kusto,eql', '--platform', 'kusto=defender-xdr,eql=ecs-windows', '--json', join(RULES, 'seed')];
    expect(await main(args, c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l) as { target: string; platform: string });
    expect(rows.map((r) => `${r.target}/${r.platform}`)).toEqual(['kusto/defender-xdr', 'eql/ecs-windows']);
    const f = capture();
    expect(await main(['build', '--no-cache', '--target', 'kusto,eql', '--format', 'eql=elastic-ndjson', '--json', join(RULES, 'seed')], f.io)).toBe(0);
    expect(f.out.map((l) => (JSON.parse(l) as { format: string }).format)).toEqual(['query', 'elastic-ndjson']);
  });

  it('stdout holds each target in turn under a header', async () => {
    const c = capture();
    expect(await main(['build', '--no-cache', '--target', 'eql,spl', join(RULES, 'seed')], c.io)).toBe(0);
    const headers = c.out.filter((l) => l.includes('===='));
    expect(headers).toEqual(['// ==== eql/ecs (query) ====', "```==== spl/sysmon (query) ====```"]);
  });

  it('usage errors name the fix', async () => {
    const cases: [string[], RegExp][] = [
      [['--target', 'kusto,eql', '--platform', 'sentinel'], /unknown platform 'sentinel' for target eql; .*give target=platform pairs, as in --platform eql=ecs/],
      [['--target', 'kusto,eql', '--platform', 'spl=cim'], /--platform: 'spl' is not a target of this build; the targets are: kusto, eql/],
      [['--target', 'kusto,eql', '--platform', 'kusto'], /unknown platform 'kusto' for target kusto/],
      [['--target', 'kusto,eql', '--platform', 'kusto=a=b'], /'kusto=a=b' is not target=platform/],
      [['--target', 'kusto,nope'], /unknown target 'nope'; valid targets: ir, kusto, eql, spl, ts/],
      [['--target', ','], /no target given/],
      [['--target', 'kusto,eql', '-m', 'x.yml'], /--mapping extends one platform mapping: give it with a single --target/],
    ];
    for (const [args, message] of cases) {
      const c = capture();
      expect(await main(['build', '--no-cache', ...args, join(RULES, 'seed')], c.io)).toBe(2);
      expect(c.err.join('\n')).toMatch(message);
    }
  });
});

describe('rulec build --out: a rebuild that changes nothing', () => {
  it('rewrites no file (each keeps its inode), so watchers and deployments see no change', async () => {
    const out = tmp();
    expect(await main(['build', '--no-cache', '--target', 'eql', '--out', out, RULES], capture().io)).toBe(0);
    const files = walk(out).filter((f) => !f.startsWith('.'));
    const inodes = files.map((f) => statSync(join(out, f)).ino);
    expect(await main(['build', '--no-cache', '--target', 'eql', '--out', out, RULES], capture().io)).toBe(0);
    expect(files.map((f) => statSync(join(out, f)).ino)).toEqual(inodes);
  });
});

describe('rulec build --mapping', () => {
  it('a missing --mapping file is a usage error naming it, before any rule is loaded', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'kusto', '-m', '/nonexistent/extra.yml', join(RULES, 'seed')], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/cannot read mapping file \/nonexistent\/extra.yml: ENOENT/);
  });
});
