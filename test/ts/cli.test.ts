import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture } from '../helpers/cli.js';
import { loadModule, type BundleModule } from './load.js';
import { SLOW } from './typescript.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const FIXTURE_RULES = new URL('../fixtures/rules', import.meta.url).pathname;

const tmp = (): string => mkdtempSync(join(tmpdir(), 'rulec-ts-cli-'));

describe('rulec build --target ts', { timeout: SLOW }, () => {
  it('writes one module per rule by default (format module), mirroring the rule tree', async () => {
    const out = tmp();
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--out', out, RULES], c.io)).toBe(0);
    expect(c.err.at(-1)).toMatch(/^ts\/node: 20 rules: 20 compiled -> /);
    const m = loadModule(readFileSync(join(out, 'windows/proc_creation_win_recon_command.ts'), 'utf8'));
    expect(m.rule.title).toBe('Reconnaissance Command');
    expect(m.match({ Image: 'C:\\Windows\\System32\\WHOAMI.exe' })).toBe(true);
    // the filter rule of rules/ that names this rule is part of its module
    expect(m.match({ Image: 'C:\\Windows\\System32\\whoami.exe', ParentImage: 'C:\\x\\inventory-agent.exe' })).toBe(false);
  });

  it('--format bundle writes one module with every rule', async () => {
    const out = tmp();
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--format', 'bundle', '--out', out, RULES], c.io)).toBe(0);
    const m = loadModule<BundleModule>(readFileSync(join(out, 'rules.ts'), 'utf8'));
    expect(m.rules).toHaveLength(15);
    expect(m.detect({ Image: 'C:\\Windows\\System32\\whoami.exe' }).map((r) => r.title)).toEqual(['Reconnaissance Command']);
    expect(existsSync(join(out, 'windows'))).toBe(false);
  });

  it('--json prints each rule with its module as the query', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows).toHaveLength(20);
    for (const r of rows) {
      expect(r).toMatchObject({ target: 'ts', platform: 'node', format: 'query', ok: true });
      // A correlation's module exports its engine instead of one rule's match.
      expect(r.query).toContain(r.path.includes('/correlation/corr_') ? 'export function createCorrelationEngine(' : 'export function match(event: object): boolean');
    }
  });

  it('--validate type-checks the modules', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--validate', '--json', RULES], c.io)).toBe(0);
    expect(c.out.map((l) => JSON.parse(l).ok)).toEqual(Array(20).fill(true));
  });

  it('correlation rules compile to modules that carry their rules and the correlation engine', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--fail-on', 'unsupported', '--json', RULES, FIXTURE_RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.map((r) => r.ok)).toEqual(Array(21).fill(true));
    const burst = rows.find((r) => r.path.endsWith('correlation_recon_burst.yml'));
    const m = loadModule<{ correlation: { title: string }; createCorrelationEngine(): { push(e: object): unknown[]; flush(): unknown[] } }>(burst.query);
    expect(m.correlation.title).toBeTruthy();
    expect(typeof m.createCorrelationEngine().push).toBe('function');
  });

  it('--mapping renames fields; a bad mapping fails every rule with a mapping error', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'ecs.yml'), 'fields:\n  Image: process.executable\n');
    writeFileSync(join(dir, 'bad.yml'), 'fields: [Image]\n');
    const out = join(dir, 'out');
    const c = capture();
    expect(await main(['build', '--target', 'ts', '--mapping', join(dir, 'ecs.yml'), '--out', out, '--', join(RULES, 'windows/proc_creation_win_recon_command.yml')], c.io)).toBe(0);
    const m = loadModule(readFileSync(join(out, 'proc_creation_win_recon_command.ts'), 'utf8'));
    expect(m.match({ process: { executable: 'C:\\x\\net.exe' } })).toBe(true);
    const b = capture();
    expect(await main(['build', '--target', 'ts', '--mapping', join(dir, 'bad.yml'), '--', RULES], b.io)).toBe(1);
    expect(b.err[0]).toMatch(/skipped \(mapping\): (referenced rule .* did not compile: )?ts mapping: `fields` must map Sigma field names to event field names/);
  });

  it('usage errors name the valid formats and platforms', async () => {
    const f = capture();
    expect(await main(['build', '--target', 'ts', '--format', 'x', RULES], f.io)).toBe(2);
    expect(f.err[0]).toContain("unknown format 'x' for target ts; valid formats: module, bundle, query");
    const p = capture();
    expect(await main(['build', '--target', 'ts', '--platform', 'x', RULES], p.io)).toBe(2);
    expect(p.err[0]).toContain('valid platforms: node');
  });
});
