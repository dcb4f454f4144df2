#!/usr/bin/env node
/**
 * `npm run golden`: regenerate every target's golden files through the CLI (dist/, built first by
 * the npm script). Review the diff by eye before committing: a regenerated golden proves nothing
 * until someone has read it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../dist/cli/main.js';
import { buildArgs, failuresText, GOLDEN, goldenRuns } from './golden-runs.mjs';

for (const run of goldenRuns()) {
  const dir = join(GOLDEN, run.target, run.out);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const lines = [];
  const io = { out: (l) => lines.push(l), err: () => {}, json: (o) => lines.push(JSON.stringify(o)) };
  await main(buildArgs(run, dir), io);
  // The build's manifest holds a hash of every file: it would change with any golden, so it is left out.
  rmSync(join(dir, '.rulec-manifest.json'), { force: true });
  const failures = failuresText(lines);
  if (failures) writeFileSync(join(dir, 'FAILURES.txt'), failures);
  console.log(`${dir}: ${lines.length} rules, ${failures ? failures.trimEnd().split('\n').length : 0} not compiled`);
}
