/**
 * The ts target's correlations: a generated module's createCorrelationEngine() gives the hits the
 * evaluator gives (src/correlate, the reference of docs/semantics.md section 8), on the inline tests
 * of rules/correlation/ and on generated streams.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadCollection } from '../../src/collection/load.js';
import { correlate } from '../../src/correlate/index.js';
import type { CorrelationRule } from '../../src/model/types.js';
import { capture } from '../helpers/cli.js';
import { loadModule } from './load.js';

const RULES = new URL('../../rules', import.meta.url).pathname;

interface Hit {
  rule: string;
  group: Record<string, string>;
  window: { start: number; end: number };
  value: number;
  events: unknown[];
}
interface CorrelationModule {
  correlations: { key: string; title: string; type: string }[];
  correlation?: { key: string; title: string };
  createCorrelationEngine(options?: { timeFields?: readonly string[]; reorder?: number }): { push(event: object): Hit[]; flush(): Hit[] };
}

function run(m: CorrelationModule, events: readonly object[]): string[] {
  const engine = m.createCorrelationEngine();
  const hits: Hit[] = [];
  for (const e of events) hits.push(...engine.push(e));
  hits.push(...engine.flush());
  return hits.map((h) => `${h.rule} ${JSON.stringify(h.group)} ${h.window.start}..${h.window.end} =${h.value} (${h.events.length} events)`).sort();
}

const { rules } = loadCollection([RULES]);
const reference = (events: readonly Record<string, unknown>[]): string[] =>
  correlate(rules, events).map((h) => `${h.rule} ${JSON.stringify(h.group)} ${h.window.start}..${h.window.end} =${h.value} (${h.events.length} events)`).sort();

async function bundle(): Promise<CorrelationModule> {
  const out = mkdtempSync(join(tmpdir(), 'rulec-ts-corr-'));
  const c = capture();
  expect(await main(['build', '--target', 'ts', '--format', 'bundle', '--out', out, RULES], c.io), c.err.join('\n')).toBe(0);
  return loadModule<CorrelationModule>(readFileSync(join(out, 'rules.ts'), 'utf8'));
}

describe('ts target: correlation rules', { timeout: 60_000 }, () => {
  const tests = rules.flatMap((r) => (r.rule?.kind === 'correlation' ? r.rule.tests.map((t) => ({ rule: r.rule as CorrelationRule, path: r.path, test: t })) : []));

  it('the bundle carries every correlation of rules/ and gives the evaluator\'s hits on their inline tests', async () => {
    const m = await bundle();
    expect(m.correlations.map((c) => c.title).sort()).toEqual(rules.filter((r) => r.rule?.kind === 'correlation').map((r) => r.rule!.title).sort());
    expect(tests.length).toBeGreaterThanOrEqual(10);
    let hits = 0;
    for (const t of tests) {
      const want = reference(t.test.events);
      hits += want.length;
      expect(run(m, t.test.events), `${t.path}: ${t.test.name}`).toEqual(want);
    }
    expect(hits).toBeGreaterThanOrEqual(5);
  });

  it('a module per correlation holds its rules and the correlations it chains, and runs alone', async () => {
    const c = capture();
    const file = join(RULES, 'correlation/corr_win_brute_force_then_success.yml');
    expect(await main(['build', '--target', 'ts', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l)).filter((r) => r.path === file);
    expect(rows.map((r) => r.ok)).toEqual([true, true]);
    const outer = loadModule<CorrelationModule>(rows[1].query);
    expect(outer.correlation!.title).toBe('Brute Force Followed by a Successful Logon');
    expect(outer.correlations.map((x) => x.title)).toEqual(['Many Failed Logons for One Account', 'Brute Force Followed by a Successful Logon']);
    const t = tests.find((x) => x.rule.title === outer.correlation!.title)!.test;
    expect(run(outer, t.events).filter((h) => h.startsWith(outer.correlation!.key))).toEqual([
      `${outer.correlation!.key} {"TargetUserName":"alice"} ${Date.parse('2026-12-07T09:56:00Z')}..${Date.parse('2026-12-07T10:06:00Z')} =2 (2 events)`,
    ]);
  });

  it('generated engine == evaluator on 300 generated streams of logon events', async () => {
    const m = await bundle();
    const event = fc.record({
      dt: fc.constantFrom(0, 0, 1, 30, 60, 120, 299, 300, 301),
      EventID: fc.constantFrom(4625, 4625, 4625, 4624, 4720, 4732),
      TargetUserName: fc.constantFrom('alice', 'bob', 'Alice', ''),
      IpAddress: fc.constantFrom('203.0.113.7', '198.51.100.2'),
      LogonType: fc.constantFrom(3, 10, 2),
      sid: fc.constantFrom('S-1-5-21-1-1104', 'S-1-5-21-1-1105'),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (stream) => {
        let t = Date.parse('2026-12-07T10:00:00Z');
        const events = stream.map(({ dt, sid, ...e }) => {
          t += dt * 1000;
          const sids = e.EventID === 4720 ? { TargetSid: sid } : e.EventID === 4732 ? { TargetSid: 'S-1-5-32-544', MemberSid: sid } : {};
          return { '@timestamp': new Date(t).toISOString(), ...e, ...sids };
        });
        expect(run(m, events)).toEqual(reference(events));
      }),
      { numRuns: 300 },
    );
  });

  it('an event a correlation needs without a time is refused, not dropped', async () => {
    const m = await bundle();
    const engine = m.createCorrelationEngine();
    expect(() => engine.push({ EventID: 4625, TargetUserName: 'alice' })).toThrow(/it has no time field \(looked for @timestamp/);
    expect(engine.push({ EventID: 1, TargetUserName: 'alice' })).toEqual([]);
  });
});
