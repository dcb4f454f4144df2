#!/usr/bin/env node
// Regenerate golden/eql/: the EQL query of every rule in rules/ for each golden platform (or the
// reason it is not expressible), plus the Elastic artifacts of a few rules, and the default platform ecs over
// the mixed folder test/fixtures/eql-ecs-rules. Run `npm run golden:eql`
// (compiles first), then review the diff by eye. test/eql/golden.test.ts compares the same output.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { goldenFiles } from '../dist/targets/eql/golden.js';

const root = new URL('../golden/eql/', import.meta.url).pathname;
rmSync(root, { recursive: true, force: true });
const files = goldenFiles(new URL('../rules', import.meta.url).pathname, new URL('../test/fixtures/eql-ecs-rules', import.meta.url).pathname);
for (const f of files) {
  const path = join(root, f.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, f.content);
}
console.log(`golden/eql: ${files.length} files written`);
