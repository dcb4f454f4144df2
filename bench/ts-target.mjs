#!/usr/bin/env node
/**
 * The generated TypeScript bundle against the evaluator, on the same rules and events: builds the
 * `ts` bundle of the whole SigmaHQ corpus with `rulec build`, transpiles and imports it, then times
 * its `detect(event)` and the evaluator's compiled rules (`compileNode`, one EventView per event) over
 * Sysmon-shaped events. Both sides run every rule on every event (no log-source routing, no index),
 * and their matches must be identical. Runs on the compiled code: `npm run build` first.
 *
 *   node bench/ts-target.mjs [--events N] [--rounds R] [--rules DIR] [--regression DIR]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { main } from '../dist/cli/main.js';
import { loadCollection } from '../dist/collection/load.js';
import { effectiveIr } from '../dist/collection/filters.js';
import { compileNode, EventView } from '../dist/eval/index.js';
import { regressionEvents, variedEvents } from './evtx.mjs';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    rules: { type: 'string', default: join(here, '../../shared/sigmahq/rules') },
    regression: { type: 'string', default: join(here, '../../shared/sigmahq/regression') },
  },
});
const N = Number(args.events);
const ROUNDS = Number(args.rounds);
const ms = (t0) => performance.now() - t0;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

// Build the bundle through the CLI, as a user would.
const out = mkdtempSync(join(tmpdir(), 'rulec-ts-bench-'));
let t0 = performance.now();
const quiet = { out() {}, err() {}, json() {} };
const status = await main(['build', '--target', 'ts', '--format', 'bundle', '--out', out, args.rules], quiet);
if (status !== 0) throw new Error(`rulec build failed (exit ${status})`);
const buildMs = ms(t0);
const source = readFileSync(join(out, 'rules.ts'), 'utf8');
t0 = performance.now();
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
const transpileMs = ms(t0);
writeFileSync(join(out, 'rules.mjs'), js);
t0 = performance.now();
const bundle = await import(pathToFileURL(join(out, 'rules.mjs')).href);
const importMs = ms(t0);
rmSync(out, { recursive: true, force: true });

// The evaluator on the same rules (filters applied, as the build does).
t0 = performance.now();
const { rules } = loadCollection([args.rules]);
const matchers = [...effectiveIr(rules).values()].map(compileNode);
const compileMs = ms(t0);
if (matchers.length !== bundle.rules.length) throw new Error(`${matchers.length} evaluator rules, ${bundle.rules.length} bundled`);

const events = variedEvents(regressionEvents(args.regression), N);

function runEvaluator() {
  const hits = [];
  for (const e of events) {
    const ev = new EventView(e);
    let n = 0;
    for (const m of matchers) if (m(ev)) n++;
    hits.push(n);
  }
  return hits;
}
function runBundle() {
  return events.map((e) => bundle.detect(e).length);
}

// CPU time of this process rather than wall time: the machine may be shared. A warm-up pass each
// (JIT), then rounds that alternate which side goes first; the median round counts.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function timed(run) {
  const c0 = cpuMs();
  const w0 = performance.now();
  const hits = run();
  return { hits, cpu: cpuMs() - c0, wall: performance.now() - w0 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
runEvaluator();
runBundle();
const evalRuns = [];
const bundleRuns = [];
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2) bundleRuns.push(timed(runBundle)), evalRuns.push(timed(runEvaluator));
  else evalRuns.push(timed(runEvaluator)), bundleRuns.push(timed(runBundle));
}
const evalHits = evalRuns[0].hits;
const bundleHits = bundleRuns[0].hits;
const differ = evalHits.filter((h, i) => h !== bundleHits[i]).length;
const matches = evalHits.reduce((a, b) => a + b, 0);

const line = (name, runs) => {
  const cpu = median(runs.map((r) => r.cpu));
  const wall = median(runs.map((r) => r.wall));
  return `${name.padEnd(24)} ${fmt((N / cpu) * 1000).padStart(7)} events/s  ${((N * matchers.length) / cpu / 1000).toFixed(2).padStart(6)} M rule evaluations/s  (median of ${runs.length}: ${fmt(cpu)} ms CPU, ${fmt(wall)} ms wall)`;
};
console.log(`rules: ${matchers.length}, events: ${fmt(N)} (from ${args.regression}), matches: ${fmt(matches)}, events whose match counts differ: ${differ}`);
console.log(`bundle: rulec build ${fmt(buildMs)} ms, ${fmt(source.length / 1024)} KiB; transpile ${fmt(transpileMs)} ms; import ${fmt(importMs)} ms; evaluator compile ${fmt(compileMs)} ms`);
console.log(line('evaluator (compileNode)', evalRuns));
console.log(line('generated bundle', bundleRuns));
if (differ) process.exitCode = 1;
