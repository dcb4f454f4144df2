#!/usr/bin/env node
/**
 * Sigma -> KQL -> Sigma (issue 13, "Proof"): for every case of the SigmaHQ regression manifest
 * (../shared/sigmahq/regression/manifest.json), build the case's rule with the Kusto target for
 * Defender XDR, import that KQL back with `rulec import --from kusto --fields sigma`, and run the
 * imported rule on the case's samples as `rulec test --manifest` runs the original. Prints, per
 * stage, how many cases get through and why the others stop, then how many imports pass their
 * samples as the original does.
 *
 *   npm run build && node scripts/import-sigma-roundtrip.mjs [--shared ../shared] [--keep DIR] [--json]
 *
 * Uses dist/ (run `npx tsc -p tsconfig.json` first) and the CLI for the test runs, so that both
 * rules are judged by the same runner. Nothing is written outside a temporary folder (or --keep DIR).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const dist = (p) => import(join(root, 'dist', p));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const shared = resolve(opt('--shared', join(root, '..', 'shared')));
const keep = opt('--keep', undefined);
const asJson = args.includes('--json');
const PLATFORM = 'defender-xdr';

const { loadCollection } = await dist('collection/load.js');
const { effectiveIr } = await dist('collection/filters.js');
const { loadPlatformMapping } = await dist('config/mapping.js');
const { kustoTarget } = await dist('targets/kusto/target.js');
const { importKusto } = await dist('import/kusto/index.js');

const manifestPath = join(shared, 'sigmahq', 'regression', 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const mapping = loadPlatformMapping('kusto', PLATFORM);
const work = keep ? resolve(keep) : mkdtempSync(join(tmpdir(), 'rulec-sigma-roundtrip-'));
mkdirSync(join(work, 'regression'), { recursive: true });

/** `rulec test --manifest M --json`: ok per case, by rule path. */
function runManifest(path) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'rulec.js'), 'test', '--manifest', path, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const out = new Map();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    out.set(rec.rule, rec);
  }
  return out;
}

const stages = { cases: manifest.cases.length, built: 0, imported: 0, passedAsOriginal: 0 };
const stops = { build: new Map(), import: new Map(), test: [] };
const count = (m, k, file) => m.set(k, [...(m.get(k) ?? []), file]);
const importedCases = [];

for (const c of manifest.cases) {
  const rulePath = join(shared, 'sigmahq', c.rule);
  const { rules } = loadCollection([rulePath]);
  const irs = [...effectiveIr(rules)];
  const hit = irs.find(([r]) => r.id === c.rule_id) ?? irs[0];
  if (!hit) {
    count(stops.build, 'the rule does not load', c.rule);
    continue;
  }
  const [loaded, ir] = hit;
  const built = kustoTarget.compile({ path: loaded.path, rule: loaded.rule, ir }, { platform: PLATFORM, format: 'query', mapping });
  if (!built.ok) {
    count(stops.build, `${built.kind ?? 'refused'}: ${String(built.error).replace(/'[^']*'/g, "'…'").slice(0, 90)}`, c.rule);
    continue;
  }
  stages.built++;
  const imp = importKusto(`${c.rule}.kql`, built.query, { fields: 'sigma', platform: PLATFORM });
  if (!imp.ok) {
    count(stops.import, `${imp.kind}: ${imp.construct ?? String(imp.error).replace(/^[^:]*:\d+:\d+: /, '').slice(0, 90)}`, c.rule);
    continue;
  }
  stages.imported++;
  const out = join(work, c.rule);
  mkdirSync(dirname(out), { recursive: true });
  // The imported rule keeps the original's id, so the case's rule_id still names it.
  writeFileSync(out, imp.rule.replace(/^id: .*$/m, `id: ${c.rule_id}`));
  try {
    symlinkSync(join(shared, 'sigmahq', 'regression', c.events), join(work, 'regression', c.events));
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  importedCases.push(c);
}

const importedManifest = join(work, 'regression', 'manifest.json');
writeFileSync(importedManifest, JSON.stringify({ ...manifest, cases: importedCases }, null, 1));
const original = runManifest(manifestPath);
const back = importedCases.length ? runManifest(importedManifest) : new Map();
for (const c of importedCases) {
  const a = original.get(c.rule);
  const b = back.get(c.rule);
  if (a && b && a.ok === b.ok) stages.passedAsOriginal++;
  else stops.test.push(`${c.rule}: original ${a?.ok ? 'passes' : 'fails'}, import ${b?.ok ? 'passes' : `fails${b?.message ? ` (${b.message.split('\n')[0]})` : ''}`}`);
}

const table = (m) => [...m].sort((x, y) => y[1].length - x[1].length).map(([k, v]) => ({ reason: k, cases: v.length, example: v[0] }));
const report = {
  ...stages,
  originalPasses: [...original.values()].filter((r) => r.ok).length,
  notBuilt: table(stops.build),
  notImported: table(stops.import),
  notAsOriginal: stops.test,
  work,
};
if (asJson) console.log(JSON.stringify(report, null, 1));
else {
  console.log(`SigmaHQ regression cases: ${stages.cases} (the originals pass ${report.originalPasses})`);
  console.log(`built for kusto/${PLATFORM}: ${stages.built}`);
  for (const r of report.notBuilt) console.log(`  not built ${r.cases}: ${r.reason} (e.g. ${r.example})`);
  console.log(`imported back with --fields sigma: ${stages.imported}`);
  for (const r of report.notImported) console.log(`  not imported ${r.cases}: ${r.reason} (e.g. ${r.example})`);
  console.log(`imports that pass their samples as the original does: ${stages.passedAsOriginal} of ${stages.imported}`);
  for (const t of stops.test) console.log(`  ${t}`);
}
if (!keep) rmSync(work, { recursive: true, force: true });
