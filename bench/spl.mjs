// Benchmark of the SPL target (run after `npm run build`): the whole-corpus CLI build, whose target
// is under 4 s on an idle machine, and the printing alone (loading excluded), first and warm pass.
// Timings on a shared machine are inflated by the other processes: compare with `--target ir`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadCollection } from '../dist/collection/load.js';
import { effectiveIr } from '../dist/collection/filters.js';
import { loadPlatformMapping } from '../dist/config/mapping.js';
import { splTarget } from '../dist/targets/spl/target.js';

const corpus = fileURLToPath(new URL('../../shared/sigmahq/rules', import.meta.url));
const bin = fileURLToPath(new URL('../bin/rulec.js', import.meta.url));

function cli(target) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, 'build', '--target', target, '--skip-unsupported', corpus], { encoding: 'utf8' });
  const ms = performance.now() - t;
  return { ms, summary: r.stderr.trim().split('\n').at(-1) };
}

for (const target of ['spl', 'ir']) {
  const { ms, summary } = cli(target);
  console.log(`rulec build --target ${target}: ${(ms / 1000).toFixed(2)} s  (${summary})`);
}

const { rules } = loadCollection([corpus]);
const irs = [...effectiveIr(rules)];
for (const platform of splTarget.platforms) {
  const mapping = loadPlatformMapping('spl', platform);
  const pass = () => {
    const t = performance.now();
    let ok = 0;
    for (const [l, ir] of irs) if (splTarget.compile({ path: l.path, rule: l.rule, ir }, { platform, format: 'query', mapping }).ok) ok++;
    return [performance.now() - t, ok];
  };
  const [first, ok] = pass();
  const [warm] = pass();
  console.log(`printing ${irs.length} rules (${ok} compiled) on ${platform}: first pass ${first.toFixed(0)} ms, warm ${warm.toFixed(0)} ms`);
}
