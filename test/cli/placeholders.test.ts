/**
 * Placeholders a rule does not declare (SigmaHQ's `%known_cdcs%` with `|expand`), filled in by the
 * deployment with --placeholders FILE / --placeholder name=value, through every command that loads
 * rules. The fixtures are shaped like SigmaHQ's 2026 win_security_adcs_certighost_* rules.
 * golden/placeholders/ is regenerated with `RULEC_UPDATE_GOLDEN=1 npx vitest run test/cli/placeholders.test.ts`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadTarget, targetNames } from '../../src/targets/registry.js';
import { capture } from '../helpers/cli.js';

const FIXTURES = new URL('../fixtures/placeholders', import.meta.url).pathname;
const RULES = join(FIXTURES, 'rules');
const VALUES = join(FIXTURES, 'known_cdcs.yml');
const SEED = new URL('../../rules/seed', import.meta.url).pathname;
const GOLDEN = new URL('../../golden/placeholders', import.meta.url).pathname;
const UPDATE = process.env.RULEC_UPDATE_GOLDEN === '1';
const REQUEST = 'win_security_adcs_certighost_request.yml';
const TEMPLATE = 'win_security_adcs_certighost_template.yml';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'rulec-placeholders-'));
}

/** The fixture rules with known_cdcs declared under `parameters:` (the values of known_cdcs.yml). */
function declaredCopies(): string {
  const dir = tempDir();
  for (const f of readdirSync(RULES)) {
    const text = readFileSync(join(RULES, f), 'utf8').replace(/^detection:/m, () => "parameters:\n  known_cdcs: ['CORP\\DC01$', 'CORP\\DC02$']\ndetection:");
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

async function run(args: string[]): Promise<{ status: number; out: string[]; err: string[]; json: () => Record<string, unknown>[] }> {
  const c = capture();
  const status = await main(args, c.io);
  return { status, out: c.out, err: c.err, json: () => c.out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const NEEDS = "placeholder '%known_cdcs%' has no value (it is not a parameter of this rule): give it with --placeholders FILE or --placeholder known_cdcs=VALUE; the rule is not compiled or run without it";

describe('rulec check', () => {
  it('accepts rules with undeclared placeholders, warning with the placeholder and both flags', async () => {
    const r = await run(['check', '--json', RULES]);
    expect(r.status).toBe(0);
    const rows = r.json();
    expect(rows.map((x) => x.ok)).toEqual([true, true]);
    // Only the placeholder warnings: check also warns of fields no platform maps (Requester, Attributes).
    const placeholderWarnings = (ws: unknown): unknown[] => (ws as { code: string }[]).filter((w) => w.code === 'placeholder-unfilled');
    expect(rows.map((x) => placeholderWarnings(x.warnings))).toEqual([
      [{ message: NEEDS, line: 22, column: 23, code: 'placeholder-unfilled' }],
      [{ message: NEEDS, line: 20, column: 32, code: 'placeholder-unfilled' }],
    ]);
    // Shown without --warnings too: a misspelt placeholder name leaves the rule out of every build.
    const plain = await run(['check', RULES]);
    expect(plain.out).toContain(`${join(RULES, REQUEST)}:22:23: warning: ${NEEDS}`);
    const human = await run(['check', '--warnings', RULES]);
    expect(human.status).toBe(0);
    expect(human.out).toContain(`${join(RULES, REQUEST)}:22:23: warning: ${NEEDS}`);
    expect(human.out).toContain(`${join(RULES, TEMPLATE)}:20:32: warning: ${NEEDS}`);
    expect(human.err.at(-1)).toMatch(/^2 rules checked: 2 valid, 0 invalid, \d+ warnings$/);
  });

  it('with the values, has nothing to warn about', async () => {
    const r = await run(['check', '--json', '--placeholders', VALUES, RULES]);
    expect(r.status).toBe(0);
    const codes = r.json().flatMap((x) => (x.warnings as { code: string }[]).map((w) => w.code));
    expect(codes).not.toContain('placeholder-unfilled');
  });
});

describe('rulec build', () => {
  it('refuses only the rule whose placeholder has no value: kind unsupported, located, naming the placeholder and both flags', async () => {
    // Refusals of kind unsupported are reported and skipped unless --fail-on names them.
    const r = await run(['build', '--target', 'kusto', '--json', '--fail-on', 'unsupported', SEED, RULES]);
    expect(r.status).toBe(1);
    const rows = r.json();
    expect(rows.map((x) => [x.ok, x.kind ?? null])).toEqual([
      [true, null],
      [false, 'unsupported'],
      [false, 'unsupported'],
    ]);
    expect(rows[1]!.error).toBe(NEEDS);
    const human = await run(['build', '--target', 'kusto', '--fail-on', 'unsupported', SEED, RULES]);
    expect(human.err).toContain(`${join(RULES, REQUEST)}:22:23: error (unsupported): ${NEEDS}`);
    expect(human.err.at(-1)).toBe('kusto/sentinel: 3 rules: 1 compiled, 2 failed (2 unsupported)');
    const skip = await run(['build', '--target', 'kusto', SEED, RULES]);
    expect(skip.status).toBe(0);
    expect(skip.err).toContain(`${join(RULES, REQUEST)}:22:23: skipped (unsupported): ${NEEDS}`);
    expect(skip.err.at(-1)).toBe('kusto/sentinel: 3 rules: 1 compiled, 2 skipped (2 unsupported)');
  });

  it('KQL names the given list with let, as it does a declared parameter', async () => {
    const r = await run(['build', '--target', 'kusto', '--placeholders', VALUES, join(RULES, REQUEST)]);
    expect(r.status).toBe(0);
    expect(r.out.join('\n')).toContain('let known_cdcs = dynamic([@"CORP\\DC01$", @"CORP\\DC02$"]);\nSecurityEvent\n');
    expect(r.out.join('\n')).toContain('| where not(Requester in~ (known_cdcs))');
  });

  it("a file entry's description becomes the comment of its KQL list", async () => {
    const file = join(tempDir(), 'values.yml');
    writeFileSync(file, "known_cdcs:\n  description: the forest's domain controllers\n  values: ['CORP\\DC01$']\n");
    const r = await run(['build', '--target', 'kusto', '--placeholders', file, join(RULES, REQUEST)]);
    expect(r.status).toBe(0);
    // out[0] is the comment naming the rule.
    expect(r.out[1]).toMatch(/^\/\/ the forest's domain controllers\nlet known_cdcs = dynamic\(\[@"CORP\\DC01\$"\]\);\n/);
  });

  it('--placeholder replaces the file list of its name, and repeats make a list', async () => {
    const r = await run(['build', '--target', 'kusto', '--placeholders', VALUES, '--placeholder', 'known_cdcs=CORP\\DC9?$', '--placeholder', 'known_cdcs=EDGE01$', join(RULES, REQUEST)]);
    expect(r.status).toBe(0);
    const q = r.out.join('\n');
    expect(q).not.toContain('DC01');
    expect(q).toContain('EDGE01$');
    expect(q).toMatch(/DC9/);
  });

  // Every target and platform: the values given on the command line compile to exactly the query
  // of the same rule with those values declared as its parameters.
  for (const name of targetNames()) {
    it(`${name}: every platform gives the query of the rule with the values declared as parameters`, async () => {
      const target = await loadTarget(name);
      const declared = declaredCopies();
      let compiled = 0;
      for (const platform of target.platforms) {
        const given = await run(['build', '--target', name, '--platform', platform, '--json', '--placeholders', VALUES, RULES]);
        const same = await run(['build', '--target', name, '--platform', platform, '--json', declared]);
        const queries = (rows: Record<string, unknown>[]): unknown[] => rows.map((x) => x.query ?? `${String(x.kind)}: ${String(x.error)}`);
        expect(queries(given.json()), platform).toEqual(queries(same.json()));
        compiled += given.json().filter((x) => x.ok).length;
      }
      // Some platforms have no Security-log data; the others must compile the fixtures.
      expect(compiled).toBeGreaterThan(0);
    }, 60_000);
  }

  it('golden: the queries of the fixtures on the default platforms (RULEC_UPDATE_GOLDEN=1 rewrites them; read the diff)', async () => {
    for (const name of ['kusto', 'eql', 'spl']) {
      const r = await run(['build', '--target', name, '--placeholders', VALUES, RULES]);
      expect(r.status).toBe(0);
      const file = join(GOLDEN, `${name}.txt`);
      // The comment naming each rule holds its path: written relative, so the golden file does not depend on the checkout.
      const text = r.out.join('\n').replaceAll(FIXTURES, 'test/fixtures/placeholders') + '\n';
      if (UPDATE) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text, file).toBe(readFileSync(file, 'utf8'));
    }
  });

  it('a placeholder file with a problem is a usage error located file:line:col; nothing is built', async () => {
    const dir = tempDir();
    const bad = join(dir, 'values.yml');
    writeFileSync(bad, 'known_cdcs: []\nother:\n  - x\n  - ~\n');
    const r = await run(['build', '--target', 'kusto', '--placeholders', bad, RULES]);
    expect(r.status).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `rulec: ${bad}:1:13: error: placeholder 'known_cdcs' has an empty list; give at least one value\n` +
        `${bad}:4:5: error: placeholder 'other' has an empty (null) value; write the value, quoted if needed ('' for the empty string)`,
    ]);
    const missing = await run(['build', '--target', 'kusto', '--placeholders', join(dir, 'nope.yml'), RULES]);
    expect(missing.status).toBe(2);
    expect(missing.err).toEqual([`rulec: --placeholders ${join(dir, 'nope.yml')}: cannot read the file: no such file`]);
    const pair = await run(['build', '--target', 'kusto', '--placeholder', 'known_cdcs', RULES]);
    expect(pair.status).toBe(2);
    expect(pair.err).toEqual(["rulec: --placeholder 'known_cdcs' needs a value: write --placeholder known_cdcs=VALUE"]);
  });
});

describe('rulec scan', () => {
  const events = (): string => {
    const f = join(tempDir(), 'events.jsonl');
    writeFileSync(f, ['{"EventID":4887,"Requester":"CORP\\\\WKS042$"}', '{"EventID":4887,"Requester":"CORP\\\\DC01$"}'].join('\n') + '\n');
    return f;
  };

  it('reports each rule whose placeholder has no value, runs the others, and exits 1', async () => {
    const r = await run(['scan', '--json', '--rules', SEED, '--rules', RULES, events()]);
    expect(r.status).toBe(1);
    expect(r.err.slice(0, 2)).toEqual([`${join(RULES, REQUEST)}:22:23: error: ${NEEDS}`, `${join(RULES, TEMPLATE)}:20:32: error: ${NEEDS}`]);
    expect(r.err.at(-1)).toMatch(/^2 events in 1 input: 0 detections by 0 of 1 rules/);
  });

  it('matches with the values given', async () => {
    // The events carry no Channel: --logsource says what they are.
    const r = await run(['scan', '--json', '--logsource', 'windows//security', '--rules', RULES, '--placeholders', VALUES, events()]);
    expect(r.status).toBe(0);
    expect(r.json().map((x) => [x.rule_id, x.line])).toEqual([['3f6b1c52-8e0a-4d27-9a51-0c7d2e9b4a11', 1]]);
    const one = await run(['scan', '--json', '--rules', RULES, '--placeholder', 'known_cdcs=*$', events()]);
    expect(one.json()).toEqual([]);
  });
});

describe('rulec test', () => {
  it('inline tests of a rule whose placeholder has no value fail with the message; with the values they run', async () => {
    const r = await run(['test', '--json', join(RULES, REQUEST)]);
    expect(r.status).toBe(1);
    expect(r.json()).toEqual([{ suite: 'inline', name: `${join(RULES, REQUEST)}: placeholders`, rule: `${join(RULES, REQUEST)}:22`, ok: false, message: NEEDS }]);
    const ok = await run(['test', '--placeholders', VALUES, join(RULES, REQUEST)]);
    expect(ok.status).toBe(0);
    expect(ok.err.at(-1)).toBe('2 test cases in 1 suite: 2 passed, 0 failed');
  });

  it('a regression case of such a rule fails with the message instead of testing another rule; with the values it passes', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'rules'));
    mkdirSync(join(root, 'regression'));
    copyFileSync(join(RULES, REQUEST), join(root, 'rules', REQUEST));
    writeFileSync(join(root, 'regression', 'events.jsonl'), '{"EventID":4887,"Requester":"CORP\\\\WKS042$"}\n');
    const manifest = join(root, 'regression', 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ cases: [{ rule: `rules/${REQUEST}`, events: 'events.jsonl' }] }));
    const r = await run(['test', '--json', '--manifest', manifest]);
    expect(r.status).toBe(1);
    expect(r.json()[0]).toMatchObject({ ok: false, message: `the rule is not run: ${NEEDS}` });
    const ok = await run(['test', '--json', '--manifest', manifest, '--placeholder', 'known_cdcs=CORP\\DC01$']);
    expect(ok.status).toBe(0);
    expect(ok.json()[0]).toMatchObject({ ok: true });
  });
});

describe('rulec ir', () => {
  it('says why a rule has no IR, and prints it with the values', async () => {
    const r = await run(['ir', join(RULES, REQUEST)]);
    expect(r.status).toBe(1);
    expect(r.err).toEqual([`${join(RULES, REQUEST)}:22:23: error: ${NEEDS}`]);
    const ok = await run(['ir', '--placeholders', VALUES, join(RULES, REQUEST)]);
    expect(ok.status).toBe(0);
    expect(ok.out[0]).toContain('"param":{"name":"known_cdcs"}');
  });
});
