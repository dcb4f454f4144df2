#!/usr/bin/env node
// Figures of the SPL target over a rule folder (default: the SigmaHQ corpus), per platform: how many
// queries start with a bare `*` (they read every event of the time range), how many need `| where`,
// and every field name an emitted query holds with a character outside Splunk's field-name set
// (letters, digits, `_`, `.`, `:`), read back from the query by rulec's SPL parser.
// Run after `npm run build`: `node scripts/spl-field-report.mjs [folder]`.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { effectiveIr } from '../dist/collection/filters.js';
import { loadCollection } from '../dist/collection/load.js';
import { loadPlatformMapping } from '../dist/config/mapping.js';
import { queryFields } from '../dist/targets/spl/ast.js';
import { parseQuery } from '../dist/targets/spl/parser.js';
import { splTarget } from '../dist/targets/spl/target.js';

const corpus = process.argv[2] ?? new URL('../../shared/sigmahq/rules', import.meta.url).pathname;
if (!existsSync(corpus)) {
  console.error(`no rules at ${corpus}`);
  process.exit(2);
}
const SPLUNK_FIELD = /^[A-Za-z0-9_.:]+$/;

const { rules } = loadCollection([corpus]);
const irs = [...effectiveIr(rules)];
console.log(`${irs.length} rules in ${corpus}`);
console.log('| platform | converted | bare * | with \\| where | fields outside the set (rule, field) pairs | distinct such fields |');
console.log('| --- | --- | --- | --- | --- | --- |');
const examples = [];
for (const platform of splTarget.platforms) {
  const mapping = loadPlatformMapping('spl', platform);
  let ok = 0;
  let star = 0;
  let where = 0;
  let bad = 0;
  const badNames = new Set();
  for (const [l, ir] of irs) {
    const r = splTarget.compile({ path: l.path, rule: l.rule, ir }, { platform, format: 'query', mapping });
    if (!r.ok) continue;
    ok++;
    if (/^\*(\n|$)/.test(r.query)) star++;
    if (/^\| where /m.test(r.query)) where++;
    // Read back from the text, as Splunk would read it.
    for (const f of queryFields(parseQuery(r.query))) {
      if (SPLUNK_FIELD.test(f)) continue;
      bad++;
      badNames.add(f);
      if (examples.length < 10) examples.push(`${platform} ${relative(corpus, l.path)}: '${f}'`);
    }
  }
  console.log(`| ${platform} | ${ok} | ${star} | ${where} | ${bad} | ${badNames.size} |`);
}
if (examples.length) console.log(`\nfirst fields outside the set:\n${examples.join('\n')}`);
