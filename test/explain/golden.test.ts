/**
 * Golden files: golden/explain/<rule path>.txt and .json, `rulec explain` of every detection rule
 * of rules/ (default target kusto, corpus the rule's folder). Regenerate with
 * `npm run golden:explain` and read the diff.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/collection/load.js';
import { main } from '../../src/cli/main.js';
import { capture, walk } from '../helpers/cli.js';
import { RULES_DIR } from '../harness/equivalence.js';

const GOLDEN = new URL('../../golden/explain/', import.meta.url).pathname;
const UPDATE = process.env.RULEC_UPDATE_GOLDEN === '1';
const ROOT = new URL('../../', import.meta.url).pathname;

/** Rule files with a detection rule, relative to the repository (the path the page prints). */
function ruleFiles(): string[] {
  const files = new Set<string>();
  for (const r of loadCollection([RULES_DIR]).rules) if (r.rule?.kind === 'detection') files.add(relative(ROOT, r.path));
  return [...files].sort();
}

async function expectedFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const f of ruleFiles()) {
    const stem = relative('rules', f).replace(/\.ya?ml$/, '');
    const text = capture();
    expect(await main(['explain', f], text.io), text.err.join('\n')).toBe(0);
    files.set(`${stem}.txt`, text.out.join('\n') + '\n');
    const json = capture();
    expect(await main(['explain', '--json', f], json.io), json.err.join('\n')).toBe(0);
    files.set(`${stem}.json`, json.out.map((l) => JSON.stringify(JSON.parse(l), null, 2)).join('\n') + '\n');
  }
  return files;
}

describe('explain golden files', () => {
  it('golden/explain matches rulec explain of every rule of rules/ (regenerate with npm run golden:explain)', async () => {
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const expected = await expectedFiles();
      expect(expected.size).toBeGreaterThanOrEqual(2 * 8);
      if (UPDATE) {
        rmSync(GOLDEN, { recursive: true, force: true });
        for (const [f, content] of expected) {
          mkdirSync(dirname(join(GOLDEN, f)), { recursive: true });
          writeFileSync(join(GOLDEN, f), content);
        }
      }
      const actual = existsSync(GOLDEN) ? walk(GOLDEN) : [];
      expect(actual).toEqual([...expected.keys()].sort());
      for (const [f, content] of expected) expect(readFileSync(join(GOLDEN, f), 'utf8'), f).toBe(content);
    } finally {
      process.chdir(cwd);
    }
  }, 120_000);
});
