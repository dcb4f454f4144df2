/**
 * `npm run bench:build` (and the second half of `npm run bench`): corpus builds as a user runs
 * them, each a fresh `node bin/rulec.js build` process, on a copy of ../shared/sigmahq/rules:
 *
 * - cold, one target at a time (an empty rule cache, every core: the default; --no-cache; --jobs 1;
 *   the baseline's: interleaved run by run) and all four targets in one run;
 * - the same builds by a baseline rulec in the same run, when RULEC_BASELINE=<commit> (built from
 *   `git archive` in a temporary folder) or RULEC_BASELINE_DIR=<a built checkout> is set;
 * - warm: all four targets again with nothing changed, and with one rule file changed (a comment
 *   appended, then its title changed);
 * - rules loaded per second in this process, without a cache and from a warm one.
 *
 * Every run is printed, not only the best: wall seconds, and user+system CPU seconds of the child
 * (less sensitive to other processes on a shared machine) when /usr/bin/time is there.
 *
 *   npm run bench:build [-- --runs N] [--targets kusto,eql,spl,ts] [--warm-only | --cold-only]
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleCache } from '../dist/collection/cache.js';
import { loadCollection } from '../dist/collection/load.js';
import { median, rulec, type Run } from './process.js';

const ROOT = new URL('../', import.meta.url).pathname;
const SHARED = new URL('../../shared/sigmahq/rules', import.meta.url).pathname;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const fmt = (runs: Run[]): string => {
  const walls = runs.map((r) => r.wall.toFixed(2)).join(' ');
  const cpus = runs.every((r) => r.cpu !== undefined) ? `; CPU ${runs.map((r) => r.cpu!.toFixed(2)).join(' ')}` : '';
  return `wall ${walls}${cpus} s (median ${median(runs.map((r) => r.wall)).toFixed(2)} s)`;
};

function line(label: string, runs: Run[]): void {
  console.log(`${label.padEnd(40)} ${fmt(runs)}`);
}

/** A baseline rulec built from a commit (git archive, this checkout's node_modules) or given built. */
function baseline(tmp: string): string | undefined {
  const dir = process.env.RULEC_BASELINE_DIR;
  if (dir) return join(dir, 'bin/rulec.js');
  const commit = process.env.RULEC_BASELINE;
  if (!commit) return undefined;
  const out = join(tmp, 'baseline');
  execFileSync('sh', ['-c', `mkdir -p "${out}" && git -C "${ROOT}" archive "${commit}" | tar -x -C "${out}"`]);
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(out, 'tsconfig.json')], { stdio: 'inherit' });
  return join(out, 'bin/rulec.js');
}

function main(): void {
  const runs = Number(arg('runs') ?? 3);
  const targets = (arg('targets') ?? 'kusto,eql,spl,ts').split(',');
  const [one] = loadavg();
  console.log(`machine                                  load average ${one!.toFixed(2)} on ${availableParallelism()} cores`);
  const tmp = mkdtempSync(join(tmpdir(), 'rulec-bench-build-'));
  try {
    const rules = join(tmp, 'rules');
    cpSync(SHARED, rules, { recursive: true });
    const bin = join(ROOT, 'bin/rulec.js');
    const base = baseline(tmp);
    let n = 0;
    const fresh = (what: string): string => join(tmp, `${what}-${n++}`);
    const times = (f: () => Run): Run[] => Array.from({ length: runs }, f);

    // Cold: an empty cache and an empty --out every run.
    const cold = new Map<string, Run[]>();
    const baseCold = new Map<string, Run[]>();
    const warmOnly = process.argv.includes('--warm-only');
    for (const t of warmOnly ? [] : targets) {
      // Interleaved, round by round (baseline, empty cache, --no-cache, one thread), so that every
      // variant meets the machine's load alike; printed by variant.
      const variants: [string, string | undefined, () => string[]][] = [
        [`baseline cold ${t}`, base, () => ['build', '--target', t, '--out', fresh('out'), rules]],
        [`cold ${t}`, bin, () => ['build', '--target', t, '--cache', fresh('cache'), '--out', fresh('out'), rules]],
        [`--no-cache ${t}`, bin, () => ['build', '--target', t, '--no-cache', '--out', fresh('out'), rules]],
        // The default above runs on every core (build workers, docs/performance.md); this is the same cold build on one thread.
        [`cold ${t} --jobs 1`, bin, () => ['build', '--target', t, '--jobs', '1', '--cache', fresh('cache'), '--out', fresh('out'), rules]],
      ];
      const measured = variants.map((): Run[] => []);
      for (let r = 0; r < runs; r++) variants.forEach(([, b, args], i) => b && measured[i]!.push(rulec(b, args())));
      variants.forEach(([label, b], i) => b && line(label, measured[i]!));
      if (base) baseCold.set(t, measured[0]!);
      cold.set(t, measured[1]!);
      const nocache = measured[2]!;
      if (base) {
        const ratio = (of: (r: Run) => number | undefined, runs: Run[]): string => {
          const base = baseCold.get(t)!.map(of);
          const ours = runs.map(of);
          if ([...base, ...ours].some((x) => x === undefined)) return '-';
          return `${(median(base as number[]) / median(ours as number[])).toFixed(2)}x`;
        };
        const wall = (r: Run): number => r.wall;
        const cpu = (r: Run): number | undefined => r.cpu;
        console.log(
          `${`  speed-up over baseline ${t}`.padEnd(40)} wall ${ratio(wall, cold.get(t)!)} cold, ${ratio(wall, nocache)} --no-cache; CPU ${ratio(cpu, cold.get(t)!)} cold, ${ratio(cpu, nocache)} --no-cache (medians)`,
        );
      }
    }
    const all = targets.join(',');
    if (!warmOnly) {
      const coldAll = times(() => rulec(bin, ['build', '--target', all, '--cache', fresh('cache'), '--out', fresh('out'), rules]));
      line(`cold ${all}`, coldAll);
      const slowest = Math.max(...targets.map((t) => median(cold.get(t)!.map((r) => r.wall))));
      const slowestCpu = Math.max(...targets.map((t) => median(cold.get(t)!.map((r) => r.cpu ?? NaN))));
      const allCpu = median(coldAll.map((r) => r.cpu ?? NaN));
      console.log(`${'  all targets / slowest one target'.padEnd(40)} wall ${(median(coldAll.map((r) => r.wall)) / slowest).toFixed(2)}x, CPU ${(allCpu / slowestCpu).toFixed(2)}x (medians)`);
    }

    if (process.argv.includes('--cold-only')) return;
    // Warm: one cache and one --out, built once before measuring.
    const cache = fresh('cache');
    const out = fresh('out');
    rulec(bin, ['build', '--target', all, '--cache', cache, '--out', out, rules]);
    line(`warm ${all}, nothing changed`, times(() => rulec(bin, ['build', '--target', all, '--cache', cache, '--out', out, rules])));
    const changed = join(rules, 'windows/process_creation/proc_creation_win_renamed_whoami.yml');
    let edit = 0;
    line(
      `warm ${all}, one file changed`,
      times(() => {
        appendFileSync(changed, `# bench edit ${edit++}\n`);
        return rulec(bin, ['build', '--target', all, '--cache', cache, '--out', out, rules]);
      }),
    );
    // A comment leaves the rule's documents as they were, so nothing is compiled; a new title is compiled for every target.
    line(
      `warm ${all}, one rule retitled`,
      times(() => {
        writeFileSync(changed, readFileSync(changed, 'utf8').replace(/^title: .*$/m, `title: Renamed Whoami, bench edit ${edit++}`));
        return rulec(bin, ['build', '--target', all, '--cache', cache, '--out', out, rules]);
      }),
    );
    for (const t of targets) {
      const c = fresh('cache');
      const o = fresh('out');
      rulec(bin, ['build', '--target', t, '--cache', c, '--out', o, rules]);
      line(`warm ${t}, nothing changed`, times(() => rulec(bin, ['build', '--target', t, '--cache', c, '--out', o, rules])));
    }

    // Rules loaded per second, in this process (no start-up): parsed and lowered, and from the cache.
    const rate = (f: () => number): string => {
      const t = process.hrtime.bigint();
      const count = f();
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      return `${Math.round(count / s).toLocaleString('en')} rules/s (${count.toLocaleString('en')} in ${s.toFixed(2)} s)`;
    };
    console.log(`${'rules loaded, no cache'.padEnd(40)} ${rate(() => loadCollection([rules]).rules.length)}`);
    const loadCache = fresh('cache');
    loadCollection([rules], undefined, { cache: new RuleCache(loadCache) });
    console.log(`${'rules loaded, warm cache'.padEnd(40)} ${rate(() => loadCollection([rules], undefined, { cache: new RuleCache(loadCache) }).rules.length)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
