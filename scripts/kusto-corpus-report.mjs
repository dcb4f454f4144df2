#!/usr/bin/env node
/**
 * `npm run kusto:corpus`: compile the SigmaHQ corpus (../shared/sigmahq/rules) for both Kusto
 * platforms and write the summary table into docs/targets/kusto.md. test/kusto/corpus.test.ts
 * fails when the committed table is not the one this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { effectiveIr } from '../dist/collection/filters.js';
import { loadCollection } from '../dist/collection/load.js';
import { loadPlatformMapping } from '../dist/config/mapping.js';
import { logSourceName } from '../dist/targets/kusto/mapping.js';
import { kustoTarget } from '../dist/targets/kusto/target.js';
import { corpusTable, withTable } from './kusto-corpus-table.mjs';

const CORPUS = new URL('../../shared/sigmahq/rules', import.meta.url).pathname;
const DOC = new URL('../docs/targets/kusto.md', import.meta.url);

const { rules } = loadCollection([CORPUS]);
const irs = effectiveIr(rules);
const opts = (platform) => ({ platform, format: 'query', mapping: loadPlatformMapping('kusto', platform) });
const sentinel = opts('sentinel');
const defender = opts('defender-xdr');
const outcomes = [];
for (const [loaded, ir] of irs) {
  const input = { path: loaded.path, rule: loaded.rule, ir };
  const s = kustoTarget.compile(input, sentinel);
  const d = kustoTarget.compile(input, defender);
  outcomes.push({
    path: loaded.path,
    logsource: logSourceName(loaded.rule.logsource),
    sentinel: s.ok ? { ok: true, source: s.source } : { ok: false, error: s.error },
    defender: d.ok ? { ok: true } : { ok: false, error: d.error },
  });
}
const table = corpusTable(outcomes);
writeFileSync(DOC, withTable(readFileSync(DOC, 'utf8'), table));
console.log(table.split('\n').slice(2, 5).join('\n'));
