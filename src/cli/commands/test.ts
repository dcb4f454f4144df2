/**
 * `rulec test [paths...] [--manifest FILE] [--junit FILE] [--json]`: run the inline `tests` of
 * rules, and regression manifests (SigmaHQ's layout: each case names a rule, relative to the
 * parent of the manifest's folder, an events file beside the manifest, and `min_matches`). Every
 * case goes through the same engine as `rulec scan` (shapes, routing, index). Exit 1 on any
 * failure; JUnit XML for CI.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadCollection, type LoadedRule, type LoadOptions } from '../../collection/load.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { progress } from '../progress.js';
import { formatDiagnostic } from '../../diag/diagnostic.js';
import { Engine, type CompiledRule } from '../../eval/engine.js';
import type { JsonObject } from '../../eval/event.js';
import { READ_CHUNK_BYTES, readEvents } from '../../eval/reader.js';
import { defaultRoutingData, originOf } from '../../eval/route.js';
import { eventFields } from '../../eval/shape.js';
import type { CorrelationRule, DetectionRule, ExpectedHit } from '../../model/types.js';
import { correlateWith, correlationSetup, ruleKey, type CorrelationHit } from '../../correlate/index.js';
import type { EventView } from '../../eval/event.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { isFile } from '../../util/files.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';

export interface TestOptions extends PlaceholderOptions, CacheOptions {
  manifest?: string[];
  junit?: string;
  json?: boolean;
}

export interface TestCase {
  /** `inline` for a rule's own tests, else the manifest path. */
  suite: string;
  name: string;
  rule: string;
  ok: boolean;
  message?: string;
  seconds: number;
}

export async function runTest(paths: string[], opts: TestOptions, io: Output): Promise<number> {
  const manifests = opts.manifest ?? [];
  const rulePaths = paths.length > 0 ? paths : manifests.length > 0 ? [] : ['rules/'];
  const cases: TestCase[] = [];
  const cache = ruleCache(opts);
  const load: LoadOptions = { placeholders: placeholderValues(opts), ...(cache ? { cache } : {}) };
  if (rulePaths.length > 0) cases.push(...inlineTests(rulePaths, load));
  for (const m of manifests) cases.push(...(await manifestTests(m, load)));
  cache?.close();
  if (cases.length === 0) throw new UsageError(`no tests found: the rules in ${rulePaths.join(', ')} have no inline tests; give --manifest FILE to run a regression manifest`);

  for (const c of cases) {
    if (opts.json) io.json({ suite: c.suite, name: c.name, rule: c.rule, ok: c.ok, ...(c.message !== undefined ? { message: c.message } : {}) });
    else if (!c.ok) io.out(`FAIL ${c.name}\n     ${c.rule}\n     ${c.message ?? ''}`);
  }
  if (opts.junit) writeFileAtomic(opts.junit, junitXml(cases));
  const failed = cases.filter((c) => !c.ok).length;
  const suites = new Set(cases.map((c) => c.suite)).size;
  io.err(`${cases.length} test case${cases.length === 1 ? '' : 's'} in ${suites} suite${suites === 1 ? '' : 's'}: ${cases.length - failed} passed, ${failed} failed`);
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

function inlineTests(paths: string[], load: LoadOptions): TestCase[] {
  const bar = progress('loading rules');
  const { rules, pathErrors } = loadCollection(paths, (d, t) => bar.update(d, t), load);
  bar.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  const out: TestCase[] = [];
  for (const r of rules) {
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      out.push({ suite: 'inline', name: `${r.path}: loads`, rule: r.path, ok: false, message: errors.map((d) => formatDiagnostic(r.path, d)).join('\n'), seconds: 0 });
    }
  }
  const { engine, problems } = Engine.fromLoaded(rules);
  for (const p of problems) out.push({ suite: 'inline', name: `${p.path}: compiles`, rule: p.path, ok: false, message: p.message, seconds: 0 });
  const bySource = new Map<LoadedRule, CompiledRule>(engine.rules.map((c) => [c.source, c]));
  for (const r of rules) {
    const refused = unfilledRefusal(r);
    if (refused) {
      out.push({ suite: 'inline', name: `${r.path}: placeholders`, rule: `${r.path}:${refused.at.line}`, ok: false, message: refused.error, seconds: 0 });
      continue;
    }
    if (r.rule?.kind !== 'detection' || !r.ir) continue;
    const compiled = bySource.get(r);
    (r.rule as DetectionRule).tests.forEach((t, i) => {
      const name = `${r.path} › ${t.name ?? `test ${i + 1}`}`;
      const started = process.hrtime.bigint();
      if (!compiled) {
        out.push({ suite: 'inline', name, rule: r.path, ok: false, message: 'the rule could not be compiled (see above)', seconds: 0 });
        return;
      }
      const matched = engine.matches(t.event).includes(compiled);
      const ok = matched === t.match;
      out.push({
        suite: 'inline',
        name,
        rule: `${r.path}:${t.at.line}`,
        ok,
        ...(ok ? {} : { message: t.match ? 'expected the rule to match the event; it did not' : 'expected no match; the rule matched the event' }),
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
  }
  out.push(...correlationTests(rules, engine, bySource));
  return out;
}

/** The inline tests of correlation rules: each a stream of events and exactly the hits it must give. */
function correlationTests(rules: readonly LoadedRule[], engine: Engine, bySource: ReadonlyMap<LoadedRule, CompiledRule>): TestCase[] {
  const withTests = rules.filter((r) => r.rule?.kind === 'correlation' && r.rule.tests.length > 0);
  if (withTests.length === 0) return [];
  const setup = correlationSetup(rules, (r) => bySource.has(r));
  const out: TestCase[] = [];
  for (const r of withTests) {
    const rule = r.rule as CorrelationRule;
    const key = ruleKey(r);
    const problem = setup.problems.find((p) => p.rule === r);
    rule.tests.forEach((t, i) => {
      const name = `${r.path} › ${t.name ?? `test ${i + 1}`}`;
      const where = `${r.path}:${t.at.line}`;
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      if (!setup.rules.has(key)) {
        out.push({ suite: 'inline', name, rule: where, ok: false, message: problem?.message ?? 'the correlation cannot run (see its errors)', seconds: 0 });
        return;
      }
      let hits: CorrelationHit<EventView>[];
      try {
        hits = correlateWith(engine, setup.specs, t.events).filter((h) => h.rule === key);
      } catch (e) {
        out.push({ suite: 'inline', name, rule: where, ok: false, message: (e as Error).message, seconds: seconds() });
        return;
      }
      const message = compareHits(t.hits, hits);
      out.push({ suite: 'inline', name, rule: where, ok: message === undefined, ...(message === undefined ? {} : { message }), seconds: seconds() });
    });
  }
  return out;
}

/** Whether the hits are exactly the expected ones (any order); if not, which are missing and which are not expected. */
function compareHits(expected: readonly ExpectedHit[], hits: readonly CorrelationHit<EventView>[]): string | undefined {
  const left = [...hits];
  const missing: ExpectedHit[] = [];
  for (const e of expected) {
    const i = left.findIndex((h) => h.window.end === e.endMs && sameGroup(h.group, e.group) && (e.value === undefined || h.value === e.value));
    if (i < 0) missing.push(e);
    else left.splice(i, 1);
  }
  if (missing.length === 0 && left.length === 0) return undefined;
  const text = (group: Record<string, string>, end: number, value: number | undefined): string =>
    `${JSON.stringify(group)} at ${new Date(end).toISOString()}${value === undefined ? '' : ` (value ${value})`}`;
  return [
    ...missing.map((e) => `expected hit ${text(e.group, e.endMs, e.value)} (line ${e.at.line}): none`),
    ...left.map((h) => `unexpected hit ${text(h.group, h.window.end, h.value)}`),
  ].join('\n');
}

function sameGroup(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

interface ManifestCase {
  rule: string;
  events: string;
  min_matches?: number;
  rule_id?: string;
  title?: string;
}

function readManifest(path: string): ManifestCase[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${path}: cannot read the manifest: ${(e as Error).message}`);
  }
  const cases = (data as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases)) throw new UsageError(`${path}: a manifest is a JSON object with a "cases" list`);
  cases.forEach((c: unknown, i) => {
    const x = c as Record<string, unknown>;
    if (typeof x?.rule !== 'string' || typeof x.events !== 'string') {
      throw new UsageError(`${path}: cases[${i}] needs "rule" (path relative to the parent of the manifest's folder) and "events" (file beside the manifest)`);
    }
    if (x.min_matches !== undefined && (!Number.isInteger(x.min_matches) || (x.min_matches as number) < 0)) {
      throw new UsageError(`${path}: cases[${i}].min_matches must be a whole number >= 0, got ${JSON.stringify(x.min_matches)}`);
    }
  });
  return cases as ManifestCase[];
}

async function manifestTests(manifest: string, load: LoadOptions): Promise<TestCase[]> {
  const cases = readManifest(manifest);
  const ruleRoot = dirname(dirname(resolve(manifest)));
  const eventRoot = dirname(resolve(manifest));
  const loaded = new Map<string, LoadedRule[]>();
  const out: TestCase[] = [];
  const bar = progress(`running ${manifest}`);
  for (const [i, c] of cases.entries()) {
    bar.update(i, cases.length);
    const started = process.hrtime.bigint();
    const rulePath = resolve(ruleRoot, c.rule);
    const name = `${c.title ?? c.rule}${c.rule_id ? ` (${c.rule_id})` : ''}`;
    const fail = (message: string): void => {
      out.push({ suite: manifest, name, rule: c.rule, ok: false, message, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    };
    let rules = loaded.get(rulePath);
    if (!rules) {
      rules = isFile(rulePath) ? loadCollection([rulePath], undefined, load).rules : [];
      loaded.set(rulePath, rules);
    }
    if (rules.length === 0) {
      fail(`rule file not found: ${rulePath}`);
      continue;
    }
    const errors = rules.flatMap((r) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(r.path, d)));
    if (errors.length > 0) {
      fail(`the rule does not load:\n${errors.join('\n')}`);
      continue;
    }
    const correlation = c.rule_id === undefined ? undefined : rules.find((r) => r.rule?.kind === 'correlation' && r.id === c.rule_id);
    if (correlation) {
      const result = await correlationCase(correlation, rules, resolve(eventRoot, c.events), c.events, c.min_matches ?? 1);
      if (result === undefined) out.push({ suite: manifest, name, rule: c.rule, ok: true, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      else fail(result);
      continue;
    }
    // The case's rule must not be passed over for the next one because its placeholders have no value.
    const named = rules.find((r) => r.rule?.kind === 'detection' && (c.rule_id === undefined || r.id === c.rule_id));
    const refused = named && unfilledRefusal(named);
    if (refused) {
      fail(`the rule is not run: ${refused.error}`);
      continue;
    }
    const { engine, problems } = Engine.fromLoaded(rules);
    if (problems.length > 0) {
      fail(`the rule cannot be evaluated: ${problems.map((p) => p.message).join('; ')}`);
      continue;
    }
    const rule = c.rule_id ? engine.rules.find((r) => r.id === c.rule_id) : engine.rules[0];
    if (!rule) {
      fail(c.rule_id ? `no detection rule with id ${c.rule_id} in ${c.rule}` : `no detection rule in ${c.rule}`);
      continue;
    }
    const eventsPath = resolve(eventRoot, c.events);
    if (!isFile(eventsPath)) {
      fail(`events file not found: ${eventsPath}`);
      continue;
    }
    let matches = 0;
    let total = 0;
    const malformed: string[] = [];
    const unmatched: JsonObject[] = [];
    await readEvents(createReadStream(eventsPath, { highWaterMark: READ_CHUNK_BYTES }), (item) => {
      if (item.kind === 'malformed') {
        malformed.push(`${c.events}:${item.line}: ${item.reason}`);
        return;
      }
      total++;
      if (engine.matches(item.event).includes(rule)) matches++;
      else unmatched.push(item.event);
    });
    const min = c.min_matches ?? 1;
    if (malformed.length > 0) fail(`${malformed.length} malformed event${malformed.length === 1 ? '' : 's'}: ${malformed.slice(0, 3).join('; ')}`);
    else if (matches < min) fail(`matched ${matches} of ${total} event${total === 1 ? '' : 's'}, expected at least ${min}${whyNot(rule, rules, unmatched)}`);
    else out.push({ suite: manifest, name, rule: c.rule, ok: true, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
  }
  bar.done();
  return out;
}

/**
 * A manifest case naming a correlation (`rule_id`): the events (in time order) must give at least
 * `min` of its hits. Returns why not, or undefined when they do.
 */
async function correlationCase(rule: LoadedRule, rules: LoadedRule[], eventsPath: string, shown: string, min: number): Promise<string | undefined> {
  if (!isFile(eventsPath)) return `events file not found: ${eventsPath}`;
  const { engine, problems } = Engine.fromLoaded(rules);
  const compiled = new Set(engine.rules.map((r) => r.source));
  const setup = correlationSetup(rules, (r) => compiled.has(r));
  const problem = setup.problems.find((p) => p.rule === rule) ?? (problems.length > 0 && !setup.rules.has(ruleKey(rule)) ? { message: problems.map((p) => p.message).join('; ') } : undefined);
  if (problem) return problem.message;
  const events: JsonObject[] = [];
  const malformed: string[] = [];
  await readEvents(createReadStream(eventsPath, { highWaterMark: READ_CHUNK_BYTES }), (item) => {
    if (item.kind === 'malformed') malformed.push(`${shown}:${item.line}: ${item.reason}`);
    else events.push(item.event);
  });
  if (malformed.length > 0) return `${malformed.length} malformed event${malformed.length === 1 ? '' : 's'}: ${malformed.slice(0, 3).join('; ')}`;
  let hits: number;
  try {
    hits = correlateWith(engine, setup.specs, events).filter((h) => h.rule === ruleKey(rule)).length;
  } catch (e) {
    return `${shown}: ${(e as Error).message}`;
  }
  return hits >= min ? undefined : `the correlation gave ${hits} hit${hits === 1 ? '' : 's'} over the ${events.length} events, expected at least ${min}`;
}

/** For a failure report: would the rule have matched without log-source routing? */
function whyNot(rule: CompiledRule, rules: LoadedRule[], events: JsonObject[]): string {
  if (events.length === 0) return '';
  const unrouted = Engine.fromLoaded(rules, { routing: false }).engine;
  const same = unrouted.rules.find((r) => r.source === rule.source);
  const hits = events.filter((e) => same !== undefined && unrouted.matches(e).includes(same));
  if (hits.length === 0) return ' (the detection does not match the events: no log-source question)';
  const o = originOf(eventFields(hits[0]!), defaultRoutingData());
  const ls = Object.entries(rule.logsource)
    .filter(([k]) => k !== 'definition')
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return ` (the detection matches ${hits.length} of them, but the rule's log source {${ls}} does not serve their channel '${o.channel ?? '-'}' / EventID ${o.eventIds.join(',') || '-'})`;
}


function xml(s: string): string {
  // XML 1.0 cannot hold most control characters, even escaped.
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function junitXml(cases: readonly TestCase[]): string {
  const suites = new Map<string, TestCase[]>();
  for (const c of cases) {
    let list = suites.get(c.suite);
    if (!list) suites.set(c.suite, (list = []));
    list.push(c);
  }
  const failures = cases.filter((c) => !c.ok).length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="rulec test" tests="${cases.length}" failures="${failures}">`];
  for (const [suite, list] of suites) {
    const f = list.filter((c) => !c.ok).length;
    const time = list.reduce((a, c) => a + c.seconds, 0);
    lines.push(`  <testsuite name="${xml(suite)}" tests="${list.length}" failures="${f}" errors="0" time="${time.toFixed(3)}">`);
    for (const c of list) {
      const open = `    <testcase classname="${xml(c.rule)}" name="${xml(c.name)}" time="${c.seconds.toFixed(3)}"`;
      if (c.ok) lines.push(`${open}/>`);
      else {
        lines.push(`${open}>`);
        lines.push(`      <failure message="${xml((c.message ?? '').split('\n')[0]!)}">${xml(c.message ?? '')}</failure>`);
        lines.push('    </testcase>');
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
