#!/usr/bin/env node
/**
 * `npm run golden:import`: regenerate golden/import/<native|sigma>/ through the CLI (dist/, built
 * first by the npm script): `rulec import --from kusto` of the seed query, of rulec's own
 * sentinel-yaml and defender-json artifacts (golden/kusto/), and of the `single` class of the public
 * Sentinel corpus (../shared/sentinel-kql). Each imported rule is a file named from its title, and
 * REFUSED.txt lists every refused input with the construct and its place. test/import/golden.test.ts
 * compares a fresh import with these files; read the diff by eye before committing.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(fileURLToPath(import.meta.url), '..', '..');

/** The inputs, relative to the repository root (the import names them in each rule's header). */
export function goldenImportInputs(root = ROOT) {
  const corpus = join(root, '..', 'shared', 'sentinel-kql');
  const single = readFileSync(join(corpus, 'index.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((c) => c[5] === 'single')
    .map((c) => `../shared/sentinel-kql/${c[0]}/${c[1]}`)
    .sort();
  return ['../shared/seed/custom-script-extension-executable-drop.kql', 'golden/kusto/sentinel-yaml', 'golden/kusto/defender-json', ...single];
}

/** One mode's golden files (rule file name -> text, and REFUSED.txt), through `main` (the CLI of dist/ or src/). */
export async function goldenImport(mode, main, root = ROOT) {
  const cwd = process.cwd();
  process.chdir(root);
  const lines = [];
  const io = { out: () => {}, err: () => {}, json: (o) => lines.push(o) };
  try {
    await main(['import', '--from', 'kusto', '--fields', mode, '--json', ...goldenImportInputs(root)], io);
  } finally {
    process.chdir(cwd);
  }
  const files = new Map();
  const refused = [];
  for (const r of lines) {
    if (!r.ok) {
      refused.push(`${r.error} [${r.kind}]`);
      continue;
    }
    let name = (r.rule.match(/^title: (.*)$/m)?.[1] ?? 'rule').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') + '.yml';
    for (let i = 2; files.has(name); i++) name = name.replace(/(_\d+)?\.yml$/, `_${i}.yml`);
    files.set(name, r.rule);
  }
  files.set('REFUSED.txt', refused.join('\n') + '\n');
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { main } = await import('../dist/cli/main.js');
  for (const mode of ['native', 'sigma']) {
    const dir = join(ROOT, 'golden', 'import', mode);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = await goldenImport(mode, main);
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    console.log(`${dir}: ${files.size - 1} rules imported, ${files.get('REFUSED.txt').trim().split('\n').filter(Boolean).length} refused`);
  }
}
