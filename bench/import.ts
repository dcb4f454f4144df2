/**
 * `npm run bench:import` (and the end of `npm run bench`): the performance bar of issue 13, as a
 * user runs it, each step a fresh `node bin/rulec.js` process:
 *
 * - `rulec import --from kusto --out DIR ../shared/sentinel-kql` (248 Sentinel analytic rules),
 *   with an empty cache, and again with the cache of a previous run (nothing changed);
 * - building the imports back: `rulec build --target kusto` with an empty rule cache (what a first
 *   build of fresh imports costs; the default build does not validate), and with `--validate`
 *   (every query parsed and analyzed by Kusto.Language, as the importer parses every input);
 * - the same steps by a baseline rulec in the same run, when RULEC_BASELINE_DIR=<a built checkout>.
 *
 * Every run is printed: wall seconds, and user+system CPU seconds of the child (less sensitive to
 * other processes on a shared machine) when /usr/bin/time is there. docs/performance.md#import.
 *
 *   npm run bench:import [-- --runs N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, rulec, type Run } from './process.js';

const ROOT = new URL('../', import.meta.url).pathname;
const CORPUS = new URL('../../shared/sentinel-kql', import.meta.url).pathname;

function line(label: string, runs: Run[]): void {
  const walls = runs.map((r) => r.wall.toFixed(2)).join(' ');
  const cpus = runs.every((r) => r.cpu !== undefined) ? `; CPU ${runs.map((r) => r.cpu!.toFixed(2)).join(' ')}` : '';
  console.log(`${label.padEnd(34)} wall ${walls}${cpus} s (median wall ${median(runs.map((r) => r.wall)).toFixed(2)}${cpus ? `, CPU ${median(runs.map((r) => r.cpu!)).toFixed(2)}` : ''} s)`);
}

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i < 0 ? 3 : Number(process.argv[i + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number, at least 1');
  if (!existsSync(join(CORPUS, 'dev'))) throw new Error(`${CORPUS}: the Sentinel corpus is not there`);
  const tmp = mkdtempSync(join(tmpdir(), 'rulec-bench-import-'));
  let n = 0;
  const fresh = (what: string): string => join(tmp, `${what}-${n++}`);
  try {
    const rulecs: [string, string][] = [['', join(ROOT, 'bin/rulec.js')]];
    const base = process.env.RULEC_BASELINE_DIR;
    if (base) rulecs.push(['baseline ', join(base, 'bin/rulec.js')]);
    console.log(`import bench: ${readdirSync(join(CORPUS, 'dev')).length} files of ${CORPUS}, ${runs} runs per line, load average ${loadavg()[0]!.toFixed(1)}`);
    for (const [label, bin] of rulecs) {
      // A rulec whose import has no cache (the baseline before it had one) runs it without.
      const cached = /--no-cache/.test(spawnSync(process.execPath, [bin, 'import', '--help'], { encoding: 'utf8' }).stdout);
      const importOnce = (cache: string[]): Run & { out: string; summary: string } => {
        const out = fresh('import');
        const run = rulec(bin, ['import', '--from', 'kusto', ...cache, '--out', out, CORPUS], [0, 1]);
        const summary = /imported \d+ of \d+/.exec(run.stderr)?.[0] ?? '';
        if (!summary) throw new Error(`rulec import printed no summary:\n${run.stderr.slice(-2000)}`);
        return { ...run, out, summary };
      };
      const imports = Array.from({ length: runs }, () => importOnce(cached ? ['--cache', fresh('cache')] : []));
      const out = imports[0]!.out;
      line(`${label}import (${imports[0]!.summary})`, imports);
      if (cached) {
        const warm = ['--cache', fresh('cache')];
        importOnce(warm);
        line(`${label}import, warm cache`, Array.from({ length: runs }, () => importOnce(warm)));
      }
      const build = (extra: string[]): Run[] => Array.from({ length: runs }, () => rulec(bin, ['build', '--target', 'kusto', ...extra, '--cache', fresh('cache'), '--out', fresh('back'), out]));
      const back = build([]);
      line(`${label}build back`, back);
      const validated = build(['--validate']);
      line(`${label}build back --validate`, validated);
      const cpu = (xs: Run[]): number => median(xs.map((r) => r.cpu ?? r.wall));
      console.log(`${`${label}import / build back (${imports.every((r) => r.cpu !== undefined) ? 'CPU' : 'wall'})`.padEnd(34)} ${(cpu(imports) / cpu(back)).toFixed(2)}x; / build back --validate ${(cpu(imports) / cpu(validated)).toFixed(2)}x (medians)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
