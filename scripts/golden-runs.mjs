/**
 * The golden runs of every target: golden/<target>/runs.json lists `{out, args}`; each run is
 * `rulec build --target <target> <args> --out golden/<target>/<out> --json rules/`, and the rules it
 * could not compile are listed, with the reason, in golden/<target>/<out>/FAILURES.txt. A target
 * adds its goldens by adding its runs.json; scripts/golden.mjs and test/golden/golden.test.ts pick it up.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const GOLDEN = 'golden';
export const RULES = 'rules/';

/** Every run of every target: {target, out, args}. */
export function goldenRuns(root = '.') {
  const dir = join(root, GOLDEN);
  if (!existsSync(dir)) return [];
  const runs = [];
  for (const target of readdirSync(dir).sort()) {
    const file = join(dir, target, 'runs.json');
    if (!existsSync(file)) continue;
    for (const r of JSON.parse(readFileSync(file, 'utf8'))) runs.push({ target, out: r.out, args: r.args });
  }
  return runs;
}

/** The CLI arguments of a run writing under `outDir`. */
export function buildArgs(run, outDir) {
  return ['build', '--target', run.target, ...run.args, '--out', outDir, '--json', RULES];
}

/** FAILURES.txt: one `path: kind: error` line per rule the run did not compile (from --json lines). */
export function failuresText(jsonLines) {
  const lines = jsonLines
    .map((l) => JSON.parse(l))
    .filter((r) => !r.ok)
    .map((r) => `${r.path}${r.document ? `#${r.document}` : ''}: ${r.kind}: ${r.error}`);
  return lines.length ? lines.sort().join('\n') + '\n' : '';
}
