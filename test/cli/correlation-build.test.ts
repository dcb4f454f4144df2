import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture } from '../helpers/cli.js';

const FIXTURES = new URL('../fixtures/correlation', import.meta.url).pathname;

/** A copy of the correlation fixtures with some files replaced, for the failure cases. */
function fixtureCopy(replace: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-corr-'));
  for (const f of readdirSync(FIXTURES)) writeFileSync(join(dir, f), readFileSync(join(FIXTURES, f), 'utf8'));
  for (const [f, text] of Object.entries(replace)) writeFileSync(join(dir, f), text);
  return dir;
}

describe('rulec build: correlation rules', () => {
  it('a target without a correlation compiler refuses them by name, and compiles their base rules', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--json', FIXTURES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    const byTitle = new Map(rows.map((r) => [r.title, r]));
    expect(byTitle.get('Failed logon')).toMatchObject({ ok: true });
    expect(byTitle.get('Many failed logons for one user')).toMatchObject({ ok: false, kind: 'unsupported', error: 'correlation rules are not compiled to ir' });
  });

  it('a correlation fails with the reason of a referenced rule that did not compile, through chains too', async () => {
    const dir = fixtureCopy({
      'failed_logon.yml': readFileSync(join(FIXTURES, 'failed_logon.yml'), 'utf8').replace('EventID: 4625', 'EventID|nope: 4625'),
    });
    const c = capture();
    await main(['build', '--target', 'ir', '--json', dir], c.io);
    const rows = new Map(c.out.map((l) => JSON.parse(l)).map((r) => [r.title, r]));
    expect(rows.get('Many failed logons for one user')).toMatchObject({ ok: false, kind: 'invalid', error: expect.stringMatching(/^referenced rule 'failed_logon' \(.*failed_logon\.yml:1\) did not compile: unknown modifier 'nope'/) });
    expect(rows.get('Failed logons then a success')).toMatchObject({ ok: false, kind: 'invalid', error: expect.stringMatching(/^referenced rule 'brute_force' .* did not compile: referenced rule 'failed_logon'/) });
  });

  it('a cycle of correlations is an invalid rule, not a hang', async () => {
    const dir = fixtureCopy({
      'brute_force.yml': readFileSync(join(FIXTURES, 'brute_force.yml'), 'utf8').replace('- failed_logon', '- failed_logon\n    - loop'),
      'loop.yml': 'title: Loop\nname: loop\ncorrelation:\n  type: temporal\n  rules: [brute_force, successful_logon]\n  group-by: [TargetUserName]\n  timespan: 5m\n',
    });
    const c = capture();
    expect(await main(['build', '--target', 'ir', '--json', dir], c.io)).toBe(1);
    const rows = new Map(c.out.map((l) => JSON.parse(l)).map((r) => [r.title, r]));
    expect(rows.get('Many failed logons for one user')).toMatchObject({ ok: false, kind: 'invalid', error: expect.stringContaining('a cycle of correlations') });
    expect(rows.get('Loop')).toMatchObject({ ok: false, kind: 'invalid' });
  });
});
