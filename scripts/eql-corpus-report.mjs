#!/usr/bin/env node
// Rewrite the generated "SigmaHQ corpus" section of docs/targets/eql.md: conversion figures per
// platform and every rule that does not convert, with the reason. Run `npm run report:eql`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { corpusReport, reportMarkdown } from '../dist/targets/eql/report.js';

const corpus = new URL('../../shared/sigmahq/rules', import.meta.url).pathname;
const doc = new URL('../docs/targets/eql.md', import.meta.url).pathname;
if (!existsSync(corpus)) {
  console.error(`no corpus at ${corpus}`);
  process.exit(2);
}
const report = corpusReport(corpus);
const section = reportMarkdown(report, '`../shared/sigmahq/rules`');
const text = readFileSync(doc, 'utf8');
const begin = '<!-- corpus:begin -->';
const end = '<!-- corpus:end -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) {
  console.error(`${doc}: markers ${begin} / ${end} not found`);
  process.exit(2);
}
writeFileSync(doc, text.slice(0, a + begin.length) + '\n' + section + '\n' + text.slice(b));
const invalid = report.outcomes.filter((o) => o.invalid);
console.log(`plain ${report.plain.ok}/${report.plain.total}, keyword ${report.keyword.ok}/${report.keyword.total}, invalid queries ${invalid.length}`);
if (invalid.length) process.exit(1);
