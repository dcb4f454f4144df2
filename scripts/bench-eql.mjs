#!/usr/bin/env node
// Benchmark of the EQL target (a figure to watch, not a test): the whole-corpus CLI build, as the EQL
// issue measures it, and the compile phase alone. Run `npm run bench:eql`; on a shared machine the wall
// times are inflated by the other processes, so the CPU times are printed too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const corpus = new URL('../../shared/sigmahq/rules', import.meta.url).pathname;
if (!existsSync(corpus)) {
  console.error(`no corpus at ${corpus}`);
  process.exit(2);
}
const bin = new URL('../bin/rulec.js', import.meta.url).pathname;
const runs = Number(process.env.RUNS ?? 3);
for (const target of ['eql', 'ir']) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [bin, 'build', '--target', target, '--skip-unsupported', corpus], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${target} build exited ${r.status}: ${r.stderr}`);
    times.push(performance.now() - t);
  }
  console.log(`${target.padEnd(3)} whole-corpus build: best ${(Math.min(...times) / 1000).toFixed(2)} s of ${runs} (wall)`);
}

const { loadCollection } = await import('../dist/collection/load.js');
const { effectiveIr } = await import('../dist/collection/filters.js');
const { loadPlatformMapping } = await import('../dist/config/mapping.js');
const { compileEql } = await import('../dist/targets/eql/target.js');
const irs = effectiveIr(loadCollection([corpus]).rules);
const mapping = loadPlatformMapping('eql', 'ecs-windows');
for (let round = 0; round < 2; round++) {
  const c = process.cpuUsage();
  const t = performance.now();
  for (const [loaded, ir] of irs) compileEql({ path: loaded.path, rule: loaded.rule, ir }, { platform: 'ecs-windows', format: 'query', mapping });
  const d = process.cpuUsage(c);
  console.log(`eql compile of ${irs.size} rules (${round === 0 ? 'cold' : 'warm'}): ${(performance.now() - t).toFixed(0)} ms wall, ${((d.user + d.system) / 1000).toFixed(0)} ms CPU`);
}
