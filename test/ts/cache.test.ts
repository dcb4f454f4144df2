import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult } from '../../src/cli/commands/build.js';
import { main } from '../../src/cli/main.js';
import { tsTarget } from '../../src/targets/ts/target.js';
import { capture, walk } from '../helpers/cli.js';
import { load, ruleYaml } from '../helpers/rules.js';
import { SLOW } from './typescript.js';

// Detection rules only: a correlation's module is compiled on every build, not kept.
const RULES = new URL('../../rules/windows', import.meta.url).pathname;

describe('the output cache and ts modules', { timeout: SLOW }, () => {
  it('keeps a module once (its query is its output) and gives the same result back', () => {
    const r = load(ruleYaml('sel:\n  Image|endswith: \\x.exe\ncondition: sel'));
    const result = tsTarget.compile({ path: r.path, rule: r.rule as never, ir: r.ir! }, { platform: 'node', format: 'module', mapping: undefined });
    if (!result.ok) throw new Error(result.error);
    expect(result.query).toBe(result.output);
    const blob = encodeResult(result);
    expect(blob.length).toBeLessThan(result.output.length * 1.1);
    expect(decodeResult(blob)).toEqual(result);
    // other results as they were
    const other = { ok: true as const, query: 'a', output: 'a\n', ext: 'kql' };
    expect(decodeResult(encodeResult(other))).toEqual(other);
    const failure = { ok: false as const, kind: 'unsupported' as const, error: 'no' };
    expect(decodeResult(encodeResult(failure))).toEqual(failure);
  });

  it('a warm --json build reads the modules a cold build kept: the rows of a build without a cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-ts-cache-'));
    const cache = join(dir, 'cache');
    const none = capture();
    expect(await main(['build', '--target', 'ts', '--no-cache', '--json', RULES], none.io)).toBe(0);
    expect(await main(['build', '--target', 'ts', '--cache', cache, '--out', join(dir, 'out'), RULES], capture().io)).toBe(0);
    const warm = capture();
    expect(await main(['build', '--target', 'ts', '--cache', cache, '--json', RULES], warm.io)).toBe(0);
    expect(warm.out).toEqual(none.out);
    const size = (root: string, re: RegExp): number => walk(root).filter((f) => re.test(f)).reduce((n, f) => n + statSync(join(root, f)).size, 0);
    expect(size(cache, /\/out-[^/]*\.bin$/)).toBeLessThan(1.5 * size(join(dir, 'out'), /\.ts$/));
    expect(readdirSync(cache).length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'out', 'proc_creation_win_recon_command.ts'), 'utf8')).toBe(JSON.parse(none.out.find((l) => l.includes('proc_creation_win_recon_command'))!).query);
  });
});
