import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ruleYaml } from '../helpers/rules.js';

const BIN = new URL('../../bin/rulec.js', import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), json: (o: unknown) => out.push(JSON.stringify(o)) },
  };
}

function tempRules(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-check-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const GOOD = ruleYaml('selection: {Image: x}\ncondition: selection');
const BAD = ruleYaml('selection:\n  F|contians: x\ncondition: selection').replace(/^id: .*$/m, 'id: 6f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40');

describe('rulec check', () => {
  it('exits 0 when every rule is valid', async () => {
    const c = capture();
    expect(await main(['check', tempRules({ 'a.yml': GOOD })], c.io)).toBe(0);
    expect(c.out).toEqual([]);
    expect(c.err).toEqual(['1 rule checked: 1 valid, 0 invalid']);
  });

  it('prints path:line:col: message and exits 1 on an invalid rule', async () => {
    const dir = tempRules({ 'a.yml': GOOD, 'b.yml': BAD });
    const c = capture();
    expect(await main(['check', dir], c.io)).toBe(1);
    expect(c.out).toEqual([`${join(dir, 'b.yml')}:8:7: error: unknown modifier 'contians'; did you mean 'contains'?`]);
    expect(c.err.at(-1)).toBe('2 rules checked: 1 valid, 1 invalid');
  });

  it('--json prints one object per rule document', async () => {
    const dir = tempRules({ 'a.yml': GOOD, 'b.yml': BAD });
    const c = capture();
    expect(await main(['check', '--json', dir], c.io)).toBe(1);
    const lines = c.out.map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ id: '5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40', title: 'Test rule', ok: true, errors: [] });
    expect(lines[1]).toMatchObject({
      ok: false,
      errors: [{ message: "unknown modifier 'contians'; did you mean 'contains'?", line: 8, column: 7 }],
    });
    expect(Object.keys(lines[1])).toEqual(expect.arrayContaining(['path', 'id', 'title', 'ok', 'errors']));
  });

  it('warns, with did you mean, about a log source or field that no platform maps and the Sigma taxonomy does not know; --strict makes them errors', async () => {
    const typo = 'title: t\nlogsource:\n  product: windows\n  category: proccess_creation\ndetection:\n  sel:\n    CommandLine|contains: x\n  condition: sel\n';
    const field = 'title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image: x\n    CommandLin|contains: x\n  condition: sel\n';
    const dir = tempRules({ 'a.yml': typo, 'b.yml': field, 'c.yml': GOOD });
    const c = capture();
    expect(await main(['check', dir], c.io)).toBe(0);
    expect(c.out).toEqual([
      `${join(dir, 'a.yml')}:4:13: warning: log source category 'proccess_creation' is not one any platform maps; did you mean 'process_creation'? (rulec list logsources; --strict makes this an error)`,
      `${join(dir, 'b.yml')}:6:5: warning: field 'CommandLin' is not a field any platform maps for this log source; did you mean 'CommandLine'? (--strict makes this an error)`,
    ]);
    expect(c.err.at(-1)).toBe('3 rules checked: 3 valid, 0 invalid, 2 warnings');
    const s = capture();
    expect(await main(['check', '--strict', '--json', dir], s.io)).toBe(1);
    const rows = s.out.map((l) => JSON.parse(l));
    expect(rows.map((r) => r.ok)).toEqual([false, false, true]);
    expect(rows[1].errors).toEqual([{ code: 'unknown-field', line: 6, column: 5, message: "field 'CommandLin' is not a field any platform maps for this log source; did you mean 'CommandLine'?" }]);
  });

  it('suggests a field only from the fields of the rule\'s own log source', async () => {
    // Requester (ADCS events of the Security log) is one edit from no Security field; requestURI of web logs must not be offered.
    const adcs = 'title: t\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4887\n    Requester|endswith: $\n  condition: sel\n';
    const c = capture();
    expect(await main(['check', '--warnings', tempRules({ 'a.yml': adcs })], c.io)).toBe(0);
    expect(c.out.filter((l) => l.includes("field 'Requester'"))).toEqual([expect.stringMatching(/field 'Requester' is not a field any platform maps for this log source \(--strict/)]);
  });

  it('exits 2 on usage errors', async () => {
    const c = capture();
    expect(await main(['check', '/nonexistent/rules'], c.io)).toBe(2);
    expect(c.err[0]).toContain('/nonexistent/rules: no such file or directory');
  });

  it('the installed executable never prints a stack trace, and exits 2 on an unknown option', () => {
    const dir = tempRules({ 'x.yml': 'title: [unclosed\n' });
    const r = spawnSync(process.execPath, [BIN, 'check', dir], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/x\.yml:\d+:\d+: error: YAML syntax error/);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    const u = spawnSync(process.execPath, [BIN, 'check', '--bogus'], { encoding: 'utf8' });
    expect(u.status).toBe(2);
    expect(u.stderr).toContain("unknown option '--bogus'");
  });
});
