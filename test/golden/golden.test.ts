import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildArgs, failuresText, goldenRuns } from '../../scripts/golden-runs.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      // The build's manifest (tested in test/cli) is not kept with the goldens: its hashes would change with any of them.
      else if (e.name !== '.rulec-manifest.json') out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/**
 * Every golden run of every target (golden/<target>/runs.json) rebuilt through the CLI must give the
 * committed files byte for byte. To accept a change: `npm run golden`, then read the diff.
 */
describe('golden files', () => {
  const runs = goldenRuns(ROOT);

  it('there are golden runs', () => {
    expect(runs.length).toBeGreaterThan(0);
  });

  for (const run of runs) {
    it(`${run.target}/${run.out} matches a fresh build (regenerate with npm run golden)`, async () => {
      const cwd = process.cwd();
      const out = mkdtempSync(join(tmpdir(), `rulec-golden-${run.target}-`));
      const lines: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: () => {}, json: (o: unknown) => lines.push(JSON.stringify(o)) };
      process.chdir(ROOT);
      try {
        await main(buildArgs(run, out), io);
      } finally {
        process.chdir(cwd);
      }
      const failures = failuresText(lines);
      if (failures) writeFileSync(join(out, 'FAILURES.txt'), failures);
      const fresh = tree(out);
      const golden = tree(join(ROOT, 'golden', run.target, run.out));
      expect([...fresh.keys()].sort()).toEqual([...golden.keys()].sort());
      for (const [file, text] of golden) expect(fresh.get(file), file).toBe(text);
    }, 60_000);
  }
});
