#!/usr/bin/env node
// Imports every file of the public Sentinel corpus (../shared/sentinel-kql/dev, classed in its
// index.tsv) with `rulec import --from kusto` in native mode, and prints per class: imported, refused
// (by kind), crashes (must be 0), refusals without a construct and a line:col (must be 0), the top
// refused constructs, and the time to import the corpus against the time to build the imports back
// to KQL. Reads dist/ (run `npx tsc -p tsconfig.json` first). Exit 1 on a crash or an unnamed refusal.
//
//   node scripts/import-corpus-report.mjs [--fields native|sigma] [--corpus DIR]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const fields = opt('--fields', 'native');
const corpus = opt('--corpus', join(root, '..', 'shared', 'sentinel-kql'));

const { importKusto } = await import(join(root, 'dist/import/kusto/index.js'));
const { loadText } = await import(join(root, 'dist/collection/load.js'));
const { loadPlatformMapping } = await import(join(root, 'dist/config/mapping.js'));
const { kustoTarget } = await import(join(root, 'dist/targets/kusto/target.js'));

const classes = new Map();
for (const line of readFileSync(join(corpus, 'index.tsv'), 'utf8').split('\n').slice(1)) {
  const c = line.split('\t');
  if (c.length >= 6) classes.set(c[1], c[5]);
}
const dir = join(corpus, 'dev');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();

const rows = new Map();
const row = (cls) => {
  if (!rows.has(cls)) rows.set(cls, { files: 0, imported: 0, refused: { unsupported: 0, mapping: 0, invalid: 0 }, crashes: 0, unnamed: 0 });
  return rows.get(cls);
};
const constructs = new Map();
const crashes = [];
const unnamed = [];
const imported = [];
// CPU time (user + system) of this process: the machine is shared, and wall time says more about the neighbours.
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const t0 = cpu();
for (const f of files) {
  const cls = classes.get(f) ?? 'unclassed';
  const r = row(cls);
  r.files++;
  const path = join(dir, f);
  let res;
  try {
    res = importKusto(path, readFileSync(path, 'utf8'), { fields });
  } catch (e) {
    r.crashes++;
    crashes.push(`${f}: ${e.stack ?? e}`);
    continue;
  }
  if (res.ok) {
    r.imported++;
    imported.push(res);
    continue;
  }
  r.refused[res.kind] = (r.refused[res.kind] ?? 0) + 1;
  // A refusal names a construct and where it is (file:line:col, or the Sentinel key's line).
  if (!res.construct || !/\d+:\d+/.test(res.error)) {
    r.unnamed++;
    unnamed.push(`${f}: ${res.error}`);
  }
  // Constructs are counted by their head (`let x = <table>` and `join` as themselves, `extend X = ...` as extend).
  const head = (res.construct ?? '?').replace(/^let \S+ = \(\.\.\.\) \{\.\.\.\}$/, 'let function').replace(/^let \S+ = <table>$/, 'let <table>').replace(/^let \S+ = (\(|externaldata|datatable|materialize).*$/, 'let <table>').replace(/^extend .*$/, 'extend (computed column used in a predicate)').replace(/^\(?union.*$/, 'union').replace(/^triggerOperator.*$/, 'triggerThreshold > 0').replace(/^\w+\(.*$/, (m) => `${m.slice(0, m.indexOf('('))}()`);
  const key = `${head} [${res.kind}]`;
  constructs.set(key, (constructs.get(key) ?? 0) + 1);
}
const importMs = cpu() - t0;

// Building the imports back to KQL: load (parse + lower) and compile each, as `rulec build` does.
const t1 = cpu();
const mappings = new Map();
let built = 0;
const queries = [];
const buildFailures = [];
for (const r of imported) {
  const [l] = loadText(r.path, r.rule);
  if (!l.ir) {
    buildFailures.push(`${basename(r.path)}: ${l.diagnostics.map((d) => d.message).join('; ')}`);
    continue;
  }
  const platform = l.rule.native?.platform ?? 'sentinel';
  if (!mappings.has(platform)) mappings.set(platform, loadPlatformMapping('kusto', platform));
  const c = kustoTarget.compile({ path: r.path, rule: l.rule, ir: l.ir }, { platform, format: 'query', mapping: mappings.get(platform) });
  if (c.ok) {
    built++;
    queries.push({ platform, query: c.query, table: l.rule.native?.table });
  } else buildFailures.push(`${basename(r.path)}: ${c.error}`);
}
const buildMs = cpu() - t1;
// --validate of the built queries, as `rulec build --validate` runs it (Kusto.Language is loaded already).
const t2 = cpu();
const { KustoAnalyzer } = await import(join(root, 'dist/targets/kusto/validate.js'));
const { kustoMapping } = await import(join(root, 'dist/targets/kusto/mapping.js'));
let invalid = 0;
for (const q of queries) {
  const m = kustoMapping(mappings.get(q.platform), q.platform);
  // A sigma-mode import names no table (its log source does): the query is checked against them all.
  const a = new KustoAnalyzer(q.table ? new Map([[q.table, m.tables.get(q.table)]]) : m.tables);
  if (a.analyze(q.query).length) invalid++;
}
const validateMs = cpu() - t2;

const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
console.log(`rulec import --from kusto --fields ${fields}: ${files.length} files of ${dir}\n`);
console.log('| class | files | imported | refused (unsupported / mapping / invalid) | crashes | refusals without construct or line:col |');
console.log('| --- | ---: | ---: | --- | ---: | ---: |');
const order = ['single', 'aggregate', 'multi', 'other', 'unclassed'];
const total = row('all');
for (const [cls, r] of [...rows].filter(([c]) => c !== 'all').sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))) {
  console.log(`| ${cls} | ${r.files} | ${r.imported} (${pct(r.imported, r.files)}) | ${r.refused.unsupported} / ${r.refused.mapping} / ${r.refused.invalid} | ${r.crashes} | ${r.unnamed} |`);
  total.files += r.files;
  total.imported += r.imported;
  for (const k of Object.keys(r.refused)) total.refused[k] += r.refused[k];
  total.crashes += r.crashes;
  total.unnamed += r.unnamed;
}
console.log(`| all | ${total.files} | ${total.imported} (${pct(total.imported, total.files)}) | ${total.refused.unsupported} / ${total.refused.mapping} / ${total.refused.invalid} | ${total.crashes} | ${total.unnamed} |`);
console.log('\nTop refused constructs:\n\n| construct | rules |\n| --- | ---: |');
for (const [k, n] of [...constructs].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 15)) console.log(`| \`${k}\` | ${n} |`);
console.log(`\nCPU time: importing the ${files.length} files ${importMs.toFixed(0)} ms (${(importMs / files.length).toFixed(1)} ms a file, Kusto.Language's load included); building the ${imported.length} imports back to KQL ${buildMs.toFixed(0)} ms (${built} built, ${(buildMs / Math.max(built, 1)).toFixed(1)} ms a rule), validating them with Kusto.Language ${validateMs.toFixed(0)} ms (${invalid} rejected)`);
for (const f of buildFailures) console.log(`build-back failure: ${f}`);
for (const c of crashes) console.log(`CRASH ${c}`);
for (const u of unnamed) console.log(`UNNAMED ${u}`);
process.exit(crashes.length || unnamed.length ? 1 : 0);
